/*
 * sqlite.c: the SQLite backend, the embedded default. WAL lets the HTTP
 * threads read while the sender and reader write; synchronous=FULL makes
 * every commit durable before we act on it. One writer at a time: a write
 * transaction (BEGIN IMMEDIATE) waits for the one before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

/* Waits for another connection's lock: */
#define BUSY_FIRST_US 50L         /* 50, */
#define BUSY_DOUBLINGS 5          /* 100, 200, 400, 800 us, */
#define BUSY_STEP_MAX_US 1000L    /* then 1 ms each, */
#define BUSY_TIMEOUT_US 10000000L /* for 10 s in all; then SQLITE_BUSY */

#define DB(st) ((sqlite3 *)(st)->conn)

/* ------------------------------------------------------------ statements */

static void *lite_prepare(struct store *st, const char *sql, const char **error_r)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v3(DB(st), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
	    SQLITE_OK) {
		*error_r = store_err(st, "prepare");
		return NULL;
	}
	return s;
}

static void lite_finalize(void *h)
{
	sqlite3_finalize(h);
}

static int lite_step(struct store *st, void *h)
{
	(void)st;
	switch (sqlite3_step(h)) {
	case SQLITE_ROW:
		return STEP_ROW;
	case SQLITE_DONE:
		return STEP_DONE;
	case SQLITE_CONSTRAINT:
		return STEP_CONFLICT;
	default:
		return STEP_ERROR;
	}
}

static void lite_reset(void *h)
{
	sqlite3_reset(h);
	sqlite3_clear_bindings(h);
}

static void lite_bind_int64(void *h, int i, int64_t v)
{
	sqlite3_bind_int64(h, i, v);
}

static void lite_bind_text(void *h, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(h, i);
	else
		sqlite3_bind_text(h, i, v, -1, SQLITE_STATIC);
}

static void lite_bind_blob(void *h, int i, const void *p, size_t n)
{
	sqlite3_bind_blob64(h, i, p, n, SQLITE_STATIC);
}

static void lite_bind_null(void *h, int i)
{
	sqlite3_bind_null(h, i);
}

static int64_t lite_col_int64(void *h, int i)
{
	return sqlite3_column_int64(h, i);
}

static const char *lite_col_text(void *h, int i)
{
	return (const char *)sqlite3_column_text(h, i);
}

static size_t lite_col_bytes(void *h, int i)
{
	return (size_t)sqlite3_column_bytes(h, i);
}

static const void *lite_col_blob(void *h, int i)
{
	return sqlite3_column_blob(h, i);
}

static int lite_col_count(void *h)
{
	return sqlite3_column_count(h);
}

static const char *lite_col_name(void *h, int i)
{
	return sqlite3_column_name(h, i);
}

static int lite_col_type(void *h, int i)
{
	switch (sqlite3_column_type(h, i)) {
	case SQLITE_NULL:
		return COL_NULL;
	case SQLITE_INTEGER:
		return COL_INT;
	case SQLITE_BLOB:
		return COL_BLOB;
	default:
		return COL_TEXT;
	}
}

static int lite_reprepares(void *h)
{
	return sqlite3_stmt_status(h, SQLITE_STMTSTATUS_REPREPARE, 0);
}

/* ----------------------------------------------------------- connections */

static int64_t lite_changes(struct store *st)
{
	return sqlite3_changes64(DB(st));
}

static const char *lite_errmsg(struct store *st)
{
	return sqlite3_errmsg(DB(st));
}

static int lite_exec(struct store *st, const char *sql, const char **error_r)
{
	char *msg = NULL;
	if (sqlite3_exec(DB(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
		*error_r = errorf("store: %s", msg ? msg : sqlite3_errmsg(DB(st)));
		sqlite3_free(msg);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int lite_in_tx(struct store *st)
{
	return sqlite3_get_autocommit(DB(st)) == 0;
}

static int version_of(sqlite3 *db, int *version_r, const char **error_r)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) {
		*error_r = errorf("store: user_version: %s", sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	*version_r = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return STORE_OK;
}

static int lite_get_version(struct store *st, int *version_r, const char **error_r)
{
	return version_of(DB(st), version_r, error_r);
}

static int lite_set_version(struct store *st, int version, const char **error_r)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	return lite_exec(st, sql, error_r);
}

/* BEGIN of either kind, through the statement cache. */
static int lite_begin(struct store *st, int write, const char **error_r)
{
	static const char immediate[] = "BEGIN IMMEDIATE";
	static const char deferred[] = "BEGIN DEFERRED";
	struct stmt *s = store_stmt(st, write ? immediate : deferred, error_r);
	if (s == NULL)
		return STORE_ERROR;
	return store_exec_stmt(st, s, "begin", error_r);
}

static void lite_close(struct store *st)
{
	sqlite3_close(DB(st));
}


/*
 * Wait for another connection's lock in short steps. SQLite's own handler
 * sleeps 1, 2, 5… ms, long after an outbox sender's transaction of a
 * millisecond is over: a request that met one waited up to 8 ms more.
 */
static int busy_wait(void *ctx, int n)
{
	(void)ctx;
	long waited, step;
	if (n < BUSY_DOUBLINGS) {
		waited = BUSY_FIRST_US * ((1L << n) - 1);
		step = BUSY_FIRST_US << n;
	} else {
		waited = BUSY_FIRST_US * ((1L << BUSY_DOUBLINGS) - 1) +
			 (long)(n - BUSY_DOUBLINGS) * BUSY_STEP_MAX_US;
		step = BUSY_STEP_MAX_US;
	}
	if (waited >= BUSY_TIMEOUT_US)
		return 0;
	struct timespec ts = {0, step * 1000};
	nanosleep(&ts, NULL);
	return 1;
}

/*
 * Once per process, before SQLite starts: no count of the memory it uses
 * (nothing here reads it), which would take a global mutex around every
 * allocation of every connection.
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); /* refused if started: harmless */
}

int store_file_version(const char *path, int *version_r, const char **error_r)
{
	if (store_is_pg(path)) {
		struct store *st;
		if (store_open(path, STORE_ANY_VERSION, &st, error_r) != STORE_OK)
			return STORE_ERROR;
		int rc = store_version(st, version_r, error_r);
		store_close(st);
		return rc;
	}
	sqlite3 *db = NULL;
	pthread_once(&sqlite_once, sqlite_setup);
	int rc = STORE_ERROR;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) ==
	    SQLITE_OK)
		rc = version_of(db, version_r, error_r);
	else
		*error_r = errorf("store: cannot open %s: %s", path,
				  db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_close(db);
	return rc;
}

/*
 * The database holds partner contacts and live link tokens: it is created
 * 0600 whatever the umask, before SQLite opens it, and SQLite gives its
 * -wal and -shm files the database's mode. (umask() itself would change
 * the mode of files that other threads create meanwhile.)
 */
static int create_private(const char *path, const char **error_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) {
		*error_r = errorf("store: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	/* One made readable by an older version, or by hand: ours, so 0600. */
	struct stat sb;
	if (fd < 0)
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_uid == geteuid() && (sb.st_mode & 077) != 0) {
		msg_warn("store: %s was readable by others; now 0600", path);
		fchmod(fd, 0600);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/*
 * INVITED_SLOW_SQL_MS=N: every statement that ran N ms or longer (0:
 * every statement, as PostgreSQL's log_min_duration_statement) is
 * logged with its SQL text (never its bound values, which may be
 * addresses or tokens), to find what holds a transaction up.
 */
static int slow_sql(unsigned type, void *ctx, void *p, void *x)
{
	long long ms = *(const long long *)x / 1000000, limit = (long long)(intptr_t)ctx;
	if (type == SQLITE_TRACE_PROFILE && ms >= limit)
		msg_warn("store: slow statement (%lld ms): %.300s", ms,
			 sqlite3_sql((sqlite3_stmt *)p));
	return 0;
}

static void trace_slow(sqlite3 *db)
{
	const char *v = getenv("INVITED_SLOW_SQL_MS");
	char *end = NULL;
	long ms = v != NULL && *v != '\0' ? strtol(v, &end, 10) : -1;
	if (ms >= 0 && *end == '\0')
		sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, slow_sql, (void *)(intptr_t)ms);
}

int store_sqlite_open(struct store *st, const char *path, int flags, const char **error_r)
{
	pthread_once(&sqlite_once, sqlite_setup);
	int create = (flags & STORE_CREATE) != 0;
	if (create && strcmp(path, ":memory:") != 0 && create_private(path, error_r) < 0)
		return STORE_ERROR;
	sqlite3 *db = NULL;
	int open_flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
			 (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &db, open_flags, NULL) != SQLITE_OK) {
		*error_r = errorf("store: cannot open %s: %s", path,
				  db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return STORE_ERROR;
	}
	st->be = &store_sqlite;
	st->conn = db;
	snprintf(st->where, sizeof(st->where), "%s", path);
	struct stat sb;
	if (strcmp(path, ":memory:") != 0 && stat(path, &sb) == 0)
		st->dev = sb.st_dev, st->ino = sb.st_ino;
	sqlite3_busy_handler(db, busy_wait, NULL);
	/* The query planner's stability guarantee: a bound value never decides
	 * the plan, so no statement is prepared again because of a new bind
	 * (`status = ?` beside an index WHERE status = 'queued' was, at every
	 * call). Queries that need such an index write its value out. */
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, (int *)NULL);
	sqlite3_extended_result_codes(db, 0);
	trace_slow(db);
	/* Unless a checkpointer takes over (store_checkpoint_by), the commit
	 * that fills the WAL past this many pages copies them into the
	 * database itself: 1000 pages (SQLite's default) took 10-15 ms, 250
	 * take 2-4 ms. */
	sqlite3_wal_autocheckpoint(db, STORE_AUTOCHECKPOINT);
	return lite_exec(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			     "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
			 error_r);
}

static int lite_copied(struct store *st, const char *table, const char **error_r)
{
	(void)st, (void)table, (void)error_r; /* INTEGER PRIMARY KEY goes on from the largest */
	return STORE_OK;
}

static int lite_lock_hold(struct store *st, int64_t key, int *held_r, const char **error_r)
{
	(void)st, (void)key, (void)error_r;
	*held_r = 1; /* one server per SQLite file */
	return STORE_OK;
}

static int lite_now(struct store *st, int64_t *now_r, const char **error_r)
{
	(void)st, (void)error_r;
	*now_r = (int64_t)time(NULL); /* one machine: its clock */
	return STORE_OK;
}

static int lite_backup(struct store *st, const char *dest, const char **error_r)
{
	sqlite3 *to = NULL;
	int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = errorf("cannot create %s: %s", dest, strerror(errno));
		return STORE_ERROR;
	}
	close(fd);
	int rc = sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(to, "main", DB(st), "main")
					    : NULL;
	/* One step: one read transaction, so one consistent snapshot; in WAL
	 * mode the server's writers go on meanwhile. */
	if (b != NULL) {
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
	}
	if (b == NULL || rc != SQLITE_DONE) {
		*error_r = errorf("backup to %s: %s", dest, sqlite3_errmsg(to ? to : DB(st)));
		sqlite3_close(to);
		unlink(dest);
		return STORE_ERROR;
	}
	sqlite3_close(to);
	return STORE_OK;
}

static int lite_ping(struct store *st, const char **error_r)
{
	/* A database file removed or replaced under a running server takes
	 * its writes to a file nobody will read again. */
	const char *path = sqlite3_db_filename(DB(st), "main");
	struct stat sb;
	if (st->ino != 0 && path != NULL && path[0] != '\0' &&
	    (stat(path, &sb) < 0 || sb.st_dev != st->dev || sb.st_ino != st->ino)) {
		*error_r = errorf("the database file %s was removed or replaced", path);
		return -1;
	}
	return store_probe(st, "SELECT count(*) FROM sqlite_schema", error_r);
}

static int lite_bulk_load(struct store *st, const char **error_r)
{
	return lite_exec(st,
			"PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = OFF;"
			"PRAGMA synchronous = OFF; PRAGMA ignore_check_constraints = ON;"
			"PRAGMA cache_size = -262144;"    /* 256 MiB */
			"PRAGMA mmap_size = 2147418112;", /* SQLite's most, 2 GiB */
			error_r);
}

static int lite_sync_relaxed(struct store *st, const char **error_r)
{
	return lite_exec(st, "PRAGMA synchronous = NORMAL;", error_r) < 0 ? STORE_ERROR
									 : STORE_OK;
}

static int lite_integrity_check(struct store *st, char **result_r,
			  const char **error_r)
{
	static const char sql[] = "PRAGMA integrity_check";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	if (store_step(s) != STEP_ROW) {
		*error_r = store_err(st, "integrity_check");
		store_reset(s);
		return STORE_ERROR;
	}
	*result_r = col_strdup(s, 0);
	store_reset(s);
	return *result_r ? STORE_OK : STORE_ERROR;
}

const struct backend store_sqlite = {
	.name = "sqlite",
	.shared = 0,
	.begin = lite_begin,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.step = lite_step,
	.reset = lite_reset,
	.bind_int64 = lite_bind_int64,
	.bind_text = lite_bind_text,
	.bind_blob = lite_bind_blob,
	.bind_null = lite_bind_null,
	.col_int64 = lite_col_int64,
	.col_text = lite_col_text,
	.col_bytes = lite_col_bytes,
	.col_blob = lite_col_blob,
	.reprepares = lite_reprepares,
	.col_count = lite_col_count,
	.col_name = lite_col_name,
	.col_type = lite_col_type,
	.changes = lite_changes,
	.errmsg = lite_errmsg,
	.exec = lite_exec,
	.in_tx = lite_in_tx,
	.get_version = lite_get_version,
	.set_version = lite_set_version,
	.close = lite_close,
	.backup = lite_backup,
	.ping = lite_ping,
	.bulk_load = lite_bulk_load,
	.sync_relaxed = lite_sync_relaxed,
	.integrity_check = lite_integrity_check,
	.copied = lite_copied,
	.lock_hold = lite_lock_hold,
	.now = lite_now,
};
