/*
 * db_fixture.h: a fresh database for one test, of the backend the test
 * runs against, and raw SQL on it from a connection of the test's own.
 * SQLite (the default): a file in /tmp. PostgreSQL, when ctest sets
 * INVITED_TEST_BACKEND=postgresql: a new database in the test cluster
 * that scripts/pgstack started (its URL in $INVITED_PGSTACK_DIR/env).
 */
#ifndef INVITED_TEST_DB_FIXTURE_H
#define INVITED_TEST_DB_FIXTURE_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

static char test_db[512];

static int test_db_is_pg(void)
{
	const char *b = getenv("INVITED_TEST_BACKEND");
	return b != NULL && strcmp(b, "postgresql") == 0;
}

/* The test cluster's URL without a database: "postgresql://u:p@h:port". */
static const char *test_pg_base(void)
{
	static char url[256];
	char path[512], line[300];
	const char *dir = getenv("INVITED_PGSTACK_DIR");
	if (url[0] != '\0')
		return url;
	test_assert(dir != NULL);
	snprintf(path, sizeof(path), "%s/env", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s is missing: is the test cluster running?\n", path);
		abort();
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "PGSTACK_URL=", 12) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(url, sizeof(url), "%s", line + 12);
		}
	fclose(f);
	test_assert(url[0] != '\0');
	return url;
}

static void test_pg_admin(const char *sql)
{
	char url[300];
	snprintf(url, sizeof(url), "%s/postgres", test_pg_base());
	PGconn *c = PQconnectdb(url);
	test_assert(PQstatus(c) == CONNECTION_OK);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
	test_assert(PQresultStatus(r) == PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(c);
}

/* A new, empty database: its path or URL in test_db. */
static const char *test_db_new(void)
{
	static int n;
	if (test_db_is_pg()) {
		char name[64], sql[96];
		snprintf(name, sizeof(name), "t_%ld_%d", (long)getpid(), n++);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
		test_pg_admin(sql);
		snprintf(test_db, sizeof(test_db), "%s/%s", test_pg_base(), name);
	} else {
		snprintf(test_db, sizeof(test_db), "/tmp/invited-store-XXXXXX");
		int fd = mkstemp(test_db);
		close(fd);
		unlink(test_db);
	}
	return test_db;
}

static void test_db_drop(void)
{
	if (test_db_is_pg()) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
			 strrchr(test_db, '/') + 1);
		test_pg_admin(sql);
		return;
	}
	char more[600];
	unlink(test_db);
	snprintf(more, sizeof(more), "%s-wal", test_db);
	unlink(more);
	snprintf(more, sizeof(more), "%s-shm", test_db);
	unlink(more);
}

/* The first column of sql's one row, as a second connection sees it. */
__attribute__((unused)) static int64_t test_db_int(const char *sql)
{
	int64_t n;
	if (test_db_is_pg()) {
		PGconn *c = PQconnectdb(test_db);
		test_assert(PQstatus(c) == CONNECTION_OK);
		PGresult *r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
		test_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
		n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		PQfinish(c);
		return n;
	}
	sqlite3 *db;
	sqlite3_stmt *s;
	test_assert_int(sqlite3_open_v2(test_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	test_assert_int(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	test_assert_int(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* Run sql (statements without parameters) on a second connection. */
__attribute__((unused)) static void test_db_exec(const char *sql)
{
	if (test_db_is_pg()) {
		PGconn *c = PQconnectdb(test_db);
		test_assert(PQstatus(c) == CONNECTION_OK);
		PGresult *r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
			fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
		test_assert(PQresultStatus(r) == PGRES_COMMAND_OK ||
			    PQresultStatus(r) == PGRES_TUPLES_OK);
		PQclear(r);
		PQfinish(c);
		return;
	}
	sqlite3 *db;
	test_assert_int(sqlite3_open(test_db, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, msg);
	test_assert(msg == NULL);
	sqlite3_close(db);
}

#endif
