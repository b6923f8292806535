/*
 * pg.c: the PostgreSQL backend, through libpq, for more than one server
 * on one database: its connection, transactions and locks (its
 * statements are in pg_stmt.c).
 *
 * Write transactions are serialized, as SQLite's BEGIN IMMEDIATE does:
 * each takes one transaction-level advisory lock (PG_WRITE_LOCK) first,
 * so that the read-then-write steps of the lifecycles (an invitation's
 * transition, a redemption) see the state they change, across every
 * server, with READ COMMITTED's plain snapshots. Single statements outside
 * a transaction (the outbox's claims with FOR UPDATE SKIP LOCKED, reads)
 * do not take it.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define PG_WRITE_LOCK "1768846953"    /* "invi": the write transactions' lock */
#define PG_CONNECT_TIMEOUT "10"       /* seconds, unless the URL says */
#define PG_LOCK_TIMEOUT "10s"         /* a lock waited for longer: an error */

static int session_setup(struct store *st, const char **error_r);

void pg_set_err(struct store *st, const char *msg)
{
	snprintf(STATE(st)->err, sizeof(STATE(st)->err), "%s", msg ? msg : "unknown error");
	size_t n = strlen(STATE(st)->err);
	while (n > 0 && (STATE(st)->err[n - 1] == '\n' || STATE(st)->err[n - 1] == ' '))
		STATE(st)->err[--n] = '\0';
}

/*
 * The connection was lost (the server restarted, a failover, an idle
 * connection cut): connect again, outside a transaction only (one that
 * was open is lost, and its caller told so). The statements are prepared
 * again at their next use.
 */
int pg_reconnect(struct store *st)
{
	const char *err;
	if (st->in_tx || PQstatus(CONN(st)) != CONNECTION_BAD)
		return 0;
	PQreset(CONN(st));
	if (PQstatus(CONN(st)) != CONNECTION_OK)
		return 0;
	STATE(st)->epoch++; /* a new session: nothing prepared, no lock held */
	if (session_setup(st, &err) < 0)
		return 0;
	msg_warn("store: %s: connection lost; connected again", st->where);
	return 1;
}

static int64_t pg_changes(struct store *st)
{
	return STATE(st)->changes;
}

static const char *pg_errmsg(struct store *st)
{
	return STATE(st)->err;
}

static int pg_exec(struct store *st, const char *sql, const char **error_r)
{
	pg_reconnect(st);
	PGresult *r = PQexec(CONN(st), sql);
	ExecStatusType t = PQresultStatus(r);
	if (t == PGRES_COMMAND_OK && strcmp(sql, "COMMIT") == 0 &&
	    strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		t = PGRES_FATAL_ERROR;
		pg_set_err(st, "the transaction was rolled back: a statement in it failed");
	} else if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		pg_set_err(st, r ? PQresultErrorMessage(r) : PQerrorMessage(CONN(st)));
	}
	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		PQclear(r);
		*error_r = errorf("store: %s", STATE(st)->err);
		return STORE_ERROR;
	}
	PQclear(r);
	return STORE_OK;
}

static int pg_in_tx(struct store *st)
{
	PGTransactionStatusType t = PQtransactionStatus(CONN(st));
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* The schema version: one row of invited_schema (made by the first
 * migration), 0 before it. */
static int pg_get_version(struct store *st, int *version_r, const char **error_r)
{
	PGresult *r = PQexec(CONN(st), "SELECT to_regclass('invited_schema') IS NOT NULL");
	int have = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
	*version_r = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && have) {
		PQclear(r);
		r = PQexec(CONN(st), "SELECT version FROM invited_schema");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
			*version_r = atoi(PQgetvalue(r, 0, 0));
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_set_err(st, PQresultErrorMessage(r));
		PQclear(r);
		*error_r = store_err(st, "schema version");
		return STORE_ERROR;
	}
	PQclear(r);
	return STORE_OK;
}

static int pg_set_version(struct store *st, int version, const char **error_r)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS invited_schema (version INTEGER NOT NULL);"
		 "DELETE FROM invited_schema; INSERT INTO invited_schema VALUES (%d)",
		 version);
	return pg_exec(st, sql, error_r);
}

/*
 * A write transaction takes the one write lock (see the top) until its
 * end; a read transaction is one snapshot (REPEATABLE READ), read only.
 */
static int pg_begin(struct store *st, int write, const char **error_r)
{
	/* PostgreSQL only warns of a BEGIN within a transaction; SQLite
	 * refuses it, and so do we: the caller thinks it starts afresh. */
	if (pg_in_tx(st)) {
		pg_set_err(st, "cannot start a transaction within a transaction");
		*error_r = store_err(st, "begin");
		return STORE_ERROR;
	}
	if (!write)
		return pg_exec(st, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", error_r);
	/* The lock may not come (lock_timeout): then the transaction that
	 * waited for it ends here, not at the caller's next BEGIN. */
	if (pg_exec(st, "BEGIN", error_r) < 0)
		return STORE_ERROR;
	if (pg_exec(st, "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")", error_r) < 0) {
		PGresult *r = PQexec(CONN(st), "ROLLBACK");
		PQclear(r);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static void pg_close(struct store *st)
{
	PQfinish(CONN(st));
	free(st->be_state);
}

static int pg_backup(struct store *st, const char *dest, const char **error_r)
{
	(void)st;
	(void)dest;
	*error_r = "a PostgreSQL database is backed up with pg_dump (or copied to an SQLite "
		   "file with `invited db copy`)";
	return STORE_ERROR;
}

static int pg_ping(struct store *st, const char **error_r)
{
	return store_probe(st, "SELECT 1", error_r);
}

static int pg_bulk_load(struct store *st, const char **error_r)
{
	/* Commits that wait for no flush: a crash loses the last ones, which
	 * a bulk load starts again anyway. */
	return pg_exec(st, "SET synchronous_commit = off", error_r);
}

static int pg_sync_relaxed(struct store *st, const char **error_r)
{
	return pg_exec(st, "SET synchronous_commit = off", error_r);
}

/*
 * PostgreSQL checks its constraints at every write and its pages' checksums
 * (when the cluster has them) at every read; what is left to look at is
 * that every row of every table can be read: a damaged page fails the
 * count. "ok" then, as SQLite's integrity_check says.
 */
static int pg_integrity_check(struct store *st, char **result_r, const char **error_r)
{
	static const char *const tables[] = {
		"orgs", "org_domains", "api_keys", "invitations", "links", "relationships",
		"verifications", "outbox", "outbox_data", "imap_state", "inbound", "events",
		"users", "sessions", "webhooks", "deliveries",
	};
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		char sql[96];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
		if (pg_exec(st, sql, error_r) < 0) {
			*result_r = strdup(STATE(st)->err);
			return *result_r ? STORE_OK : STORE_ERROR;
		}
	}
	*result_r = strdup("ok");
	return *result_r ? STORE_OK : STORE_ERROR;
}

/* Rows copied with their ids: an identity column goes on after the
 * largest, not from 1. */
static int pg_copied(struct store *st, const char *table, const char **error_r)
{
	char sql[400];
	snprintf(sql, sizeof(sql),
		 "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
		 " AND table_name = '%s' AND column_name = 'id' AND is_identity = 'YES'",
		 table);
	PGresult *r = PQexec(CONN(st), sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_set_err(st, PQresultErrorMessage(r));
		PQclear(r);
		*error_r = store_err(st, "copy");
		return STORE_ERROR;
	}
	int identity = PQntuples(r) == 1;
	PQclear(r);
	if (!identity)
		return STORE_OK;
	snprintf(sql, sizeof(sql),
		 "SELECT setval(pg_get_serial_sequence('%s', 'id'), max(id)) FROM %s"
		 " HAVING max(id) IS NOT NULL",
		 table, table);
	return pg_exec(st, sql, error_r);
}

/* A session advisory lock: held until the connection ends (a holder that
 * dies lets it go as its connection closes). One connection holds one. */
static int pg_lock_hold(struct store *st, int64_t key, int *held_r, const char **error_r)
{
	struct pg_conn *c = STATE(st);
	char sql[80];
	pg_reconnect(st);
	if (c->lock_epoch == c->epoch && c->lock_key == key && PQstatus(CONN(st)) == CONNECTION_OK) {
		*held_r = 1;
		return STORE_OK;
	}
	snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)", (long long)key);
	PGresult *r = PQexec(CONN(st), sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_set_err(st, PQresultErrorMessage(r));
		PQclear(r);
		*error_r = store_err(st, "lock");
		return STORE_ERROR;
	}
	*held_r = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (*held_r) {
		c->lock_key = key;
		c->lock_epoch = c->epoch;
	}
	return STORE_OK;
}

/* The database server's clock: the one clock every server shares. */
static int pg_now(struct store *st, int64_t *now_r, const char **error_r)
{
	static const char sql[] = "SELECT CAST(extract(epoch FROM clock_timestamp()) AS BIGINT)";
	struct stmt *s = store_stmt(st, sql, error_r);
	*now_r = 0;
	if (s == NULL || store_one_row(st, s, store_read_int64, now_r, "clock", error_r) != STORE_OK)
		return STORE_ERROR;
	return STORE_OK;
}

const struct backend store_pg = {
	.name = "postgresql",
	.shared = 1,
	/* See the top: every write transaction takes the one lock. */
	.begin = pg_begin,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.step = pg_step,
	.reset = pg_reset,
	.bind_int64 = pg_bind_int64,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.bind_null = pg_bind_null,
	.col_int64 = pg_col_int64,
	.col_text = pg_col_text,
	.col_bytes = pg_col_bytes,
	.col_blob = pg_col_blob,
	.reprepares = pg_reprepares,
	.col_count = pg_col_count,
	.col_name = pg_col_name,
	.col_type = pg_col_type,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.exec = pg_exec,
	.in_tx = pg_in_tx,
	.get_version = pg_get_version,
	.set_version = pg_set_version,
	.close = pg_close,
	.backup = pg_backup,
	.ping = pg_ping,
	.bulk_load = pg_bulk_load,
	.sync_relaxed = pg_sync_relaxed,
	.integrity_check = pg_integrity_check,
	.copied = pg_copied,
	.lock_hold = pg_lock_hold,
	.now = pg_now,
};

/* The URL without its password, for messages. */
static void where_of(const char *url, char *out, size_t size)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	const char *host = NULL, *port = NULL, *db = NULL;
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "dbname") == 0)
			db = o->val;
	}
	snprintf(out, size, "postgresql://%s%s%s/%s", host ? host : "", port ? ":" : "",
		 port ? port : "", db ? db : "");
	PQconninfoFree(opts);
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Text is UTF-8 whatever the server says; notices (an index that exists
 * already) are not ours to log; a lock or a statement never waits for
 * ever (SQLite's busy timeout). */
static int session_setup(struct store *st, const char **error_r)
{
	PQsetNoticeProcessor(CONN(st), ignore_notice, NULL);
	PGresult *r = PQexec(CONN(st), "SET client_encoding = 'UTF8';"
				       "SET client_min_messages = warning;"
				       "SET lock_timeout = '" PG_LOCK_TIMEOUT "'");
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		pg_set_err(st, PQresultErrorMessage(r));
		*error_r = errorf("store: %s", STATE(st)->err);
	}
	PQclear(r);
	return ok ? STORE_OK : STORE_ERROR;
}

int store_pg_open(struct store *st, const char *url, int flags, const char **error_r)
{
	(void)flags; /* the database exists: PostgreSQL's own tools make it */
	/* The URL comes last: what it says wins over these defaults. */
	const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *vals[] = {PG_CONNECT_TIMEOUT, "invited", url, NULL};
	where_of(url, st->where, sizeof(st->where));
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		char why[256];
		snprintf(why, sizeof(why), "%s", c ? PQerrorMessage(c) : "out of memory");
		why[strcspn(why, "\n")] = '\0';
		*error_r = errorf("store: cannot connect to %s: %s", st->where, why);
		PQfinish(c);
		return STORE_ERROR;
	}
	st->be_state = calloc(1, sizeof(struct pg_conn));
	if (st->be_state == NULL) {
		PQfinish(c);
		*error_r = "store: out of memory";
		return STORE_ERROR;
	}
	st->be = &store_pg;
	st->conn = c;
	STATE(st)->epoch = 1;
	return session_setup(st, error_r);
}
