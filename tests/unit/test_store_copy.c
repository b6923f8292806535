/* link: invited_store */
/*
 * test_store_copy.c: `invited db copy`'s store_copy takes every row once,
 * from either backend, across the edges of the batches PostgreSQL's rows
 * are read in (STORE_COPY_BATCH): none, exactly a batch, a batch and one.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "store_fixture.h"

/* count(*), count(DISTINCT subject) and sum(id) of the events in an
 * SQLite file. */
static void sqlite_events(const char *path, int64_t out[3])
{
	sqlite3 *db;
	sqlite3_stmt *s;
	test_assert_int(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	test_assert_int(sqlite3_prepare_v2(db,
					   "SELECT count(*), count(DISTINCT subject), "
					   "coalesce(sum(id), 0) FROM events",
					   -1, &s, NULL),
			SQLITE_OK);
	test_assert_int(sqlite3_step(s), SQLITE_ROW);
	for (int i = 0; i < 3; i++)
		out[i] = sqlite3_column_int64(s, i);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* n events more in a fresh database of the backend under test, copied
 * into a new SQLite file: the same rows there, by count, subject and id. */
static void copy_with_events(int64_t n)
{
	struct store *st = fresh(), *to;
	char sql[400], path[] = "/tmp/invited-copy-XXXXXX";
	const char *err = NULL;
	int64_t got[3], rows = 0;
	int64_t before = test_db_int("SELECT count(*) FROM events");
	if (n > 0) {
		snprintf(sql, sizeof(sql),
			 "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < "
			 "%lld) INSERT INTO events (at, actor, name, subject) "
			 "SELECT 1, 'test', 'test.bulk', 'row ' || x FROM g",
			 (long long)n);
		test_db_exec(sql);
	}
	test_assert_int(test_db_int("SELECT count(*) FROM events"), before + n);
	int64_t subjects = test_db_int("SELECT count(DISTINCT subject) FROM events");
	int64_t ids = test_db_int("SELECT coalesce(sum(id), 0) FROM events");
	close(mkstemp(path));
	unlink(path);
	test_assert_int(store_open(path, STORE_CREATE | STORE_MIGRATE, &to, &err), STORE_OK);
	if (store_copy(st, to, NULL, NULL, &err) != STORE_OK)
		fprintf(stderr, "copy: %s\n", err);
	test_assert_int(store_count_rows(to, "events", &rows, &err), STORE_OK);
	store_close(to);
	sqlite_events(path, got);
	unlink(path);
	test_assert_int(rows, before + n);
	test_assert_int(got[0], before + n);
	test_assert_int(got[1], subjects);
	test_assert_int(got[2], ids);
	done(st);
}

TEST(copy_takes_every_row_across_the_batch_edges)
{
	copy_with_events(0);
	copy_with_events(STORE_COPY_BATCH);
	copy_with_events(STORE_COPY_BATCH + 1);
	copy_with_events(2 * STORE_COPY_BATCH);
}

TEST_MAIN()
