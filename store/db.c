/*
 * db.c: opening the database, migrations, transactions and the
 * per-connection cache of prepared statements.
 * WAL lets the HTTP threads read while the sender and reader write;
 * synchronous=FULL makes every commit durable before we act on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

extern const char *const store_migrations[];
extern const int store_migration_count;

int store_schema_version(void)
{
	return store_migration_count;
}

const char *store_err(struct store *st, const char *what)
{
	return errorf("store: %s: %s", what, sqlite3_errmsg(st->db));
}

int store_reprepares(struct store *st, const char **sql_r)
{
	int n = 0;
	for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
		const struct stmt_slot *slot = &st->cache[i];
		int k = slot->sql ? sqlite3_stmt_status(slot->stmt, SQLITE_STMTSTATUS_REPREPARE, 0) : 0;
		if (k > 0 && sql_r != NULL)
			*sql_r = slot->sql;
		n += k;
	}
	return n;
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql,
			 const char **error_r)
{
	uintptr_t h = (uintptr_t)sql;
	size_t i = (size_t)((h >> 3) ^ (h >> 11)) & (STMT_CACHE_SIZE - 1);

	for (size_t probe = 0; probe < STMT_CACHE_SIZE; probe++) {
		struct stmt_slot *slot = &st->cache[(i + probe) & (STMT_CACHE_SIZE - 1)];
		if (slot->sql == sql) {
			sqlite3_reset(slot->stmt);
			sqlite3_clear_bindings(slot->stmt);
			return slot->stmt;
		}
		if (slot->sql == NULL) {
			if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					       &slot->stmt, NULL) != SQLITE_OK) {
				*error_r = store_err(st, "prepare");
				msg_error("%s in: %s", *error_r, sql);
				slot->stmt = NULL;
				return NULL;
			}
			slot->sql = sql;
			return slot->stmt;
		}
	}
	msg_panic("store: statement cache full");
}

int store_exec_stmt(struct store *st, sqlite3_stmt *s, const char *what,
		    const char **error_r)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_CONSTRAINT) {
		*error_r = store_err(st, what);
		return STORE_CONFLICT;
	}
	*error_r = store_err(st, what);
	return STORE_ERROR;
}

int store_one_row(struct store *st, sqlite3_stmt *s, store_row_fn *read, void *out,
		  const char *what, const char **error_r)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read(s, out);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return STORE_NOT_FOUND;
	if (rc != SQLITE_ROW) {
		*error_r = store_err(st, what);
		return STORE_ERROR;
	}
	return STORE_OK;
}

void store_read_int64(sqlite3_stmt *s, void *out)
{
	*(int64_t *)out = sqlite3_column_int64(s, 0);
}

int store_counts_by(struct store *st, const char *sql, int (*index_of)(const char *s),
		    int64_t *out, int n, const char *what, const char **error_r)
{
	sqlite3_stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	memset(out, 0, (size_t)n * sizeof(out[0]));
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		int i = name != NULL ? index_of(name) : -1;
		if (i >= 0 && i < n)
			out[i] = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		*error_r = store_err(st, what);
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_count(struct store *st, sqlite3_stmt *s, int64_t *n_r, const char *what,
		const char **error_r)
{
	*n_r = 0;
	int rc = store_one_row(st, s, store_read_int64, n_r, what, error_r);
	return rc == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

char *col_strdup(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	size_t n = v ? (size_t)sqlite3_column_bytes(s, i) : 0;
	char *out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	if (n > 0)
		memcpy(out, v, n);
	out[n] = '\0';
	return out;
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

static int exec_sql(struct store *st, const char *sql, const char **error_r)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*error_r = errorf("store: %s", msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_version(struct store *st, int *version_r, const char **error_r)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK) {
		*error_r = store_err(st, "user_version");
		return STORE_ERROR;
	}
	*version_r = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return STORE_OK;
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
	struct store st = {0};
	pthread_once(&sqlite_once, sqlite_setup);
	int rc = STORE_ERROR;
	if (sqlite3_open_v2(path, &st.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) ==
	    SQLITE_OK)
		rc = store_version(&st, version_r, error_r);
	else
		*error_r = errorf("store: cannot open %s: %s", path,
				  st.db ? sqlite3_errmsg(st.db) : "out of memory");
	sqlite3_close(st.db);
	return rc;
}

/* Apply each migration above the database's version in its own
 * transaction, bumping user_version with it; or, without migrate, refuse
 * a database that needs one. A new (empty) database is created whole
 * without a line per step. */
static int migrate(struct store *st, const char *path, int flags, const char **error_r)
{
	int version, migrate = (flags & STORE_MIGRATE) != 0;
	if (store_version(st, &version, error_r) < 0)
		return STORE_ERROR;
	if (flags & STORE_ANY_VERSION) /* a backup copies pages, whatever they hold */
		return STORE_OK;
	if (version > store_migration_count) {
		*error_r = errorf("store: %s has schema version %d, newer than this build's "
				  "(%d): upgrade invited",
				  path, version, store_migration_count);
		return STORE_ERROR;
	}
	if (version < store_migration_count && !migrate) {
		*error_r = errorf("store: %s has schema version %d and this build needs %d: "
				  "run `invited db migrate` first (it takes a moment; back up "
				  "with `invited db backup FILE` before)",
				  path, version, store_migration_count);
		return STORE_ERROR;
	}
	for (int v = version; v < store_migration_count; v++) {
		char bump[64];
		int now;
		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
		if (exec_sql(st, "BEGIN IMMEDIATE", error_r) < 0)
			return STORE_ERROR;
		/* Another process (db migrate, a restarted serve) may have
		 * applied it meanwhile: under the write lock, look again. */
		if (store_version(st, &now, error_r) != STORE_OK) {
			exec_sql(st, "ROLLBACK", error_r);
			return STORE_ERROR;
		}
		if (now > v) {
			exec_sql(st, "COMMIT", error_r);
			v = now - 1;
			continue;
		}
		if (exec_sql(st, store_migrations[v], error_r) < 0 ||
		    exec_sql(st, bump, error_r) < 0) {
			exec_sql(st, "ROLLBACK", error_r);
			*error_r = errorf("store: migration %d failed (the database stays at "
					  "version %d): %s",
					  v + 1, v, *error_r);
			return STORE_ERROR;
		}
		if (exec_sql(st, "COMMIT", error_r) < 0)
			return STORE_ERROR;
		if (version > 0)
			msg_info("store: %s: migration %d of %d applied", path, v + 1,
				 store_migration_count);
	}
	return STORE_OK;
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

int store_open(const char *path, int flags, struct store **st_r, const char **error_r)
{
	pthread_once(&sqlite_once, sqlite_setup);
	int create = (flags & STORE_CREATE) != 0;
	if (create && strcmp(path, ":memory:") != 0 && create_private(path, error_r) < 0)
		return STORE_ERROR;
	struct store *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		*error_r = "store: out of memory";
		return STORE_ERROR;
	}
	int open_flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
			 (create ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &st->db, open_flags, NULL) != SQLITE_OK) {
		*error_r = errorf("store: cannot open %s: %s", path,
				  st->db ? sqlite3_errmsg(st->db) : "out of memory");
		store_close(st);
		return STORE_ERROR;
	}
	struct stat sb;
	if (strcmp(path, ":memory:") != 0 && stat(path, &sb) == 0)
		st->dev = sb.st_dev, st->ino = sb.st_ino;
	sqlite3_busy_handler(st->db, busy_wait, NULL);
	/* The query planner's stability guarantee: a bound value never decides
	 * the plan, so no statement is prepared again because of a new bind
	 * (`status = ?` beside an index WHERE status = 'queued' was, at every
	 * call). Queries that need such an index write its value out. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, (int *)NULL);
	sqlite3_extended_result_codes(st->db, 0);
	trace_slow(st->db);
	/* Unless a checkpointer takes over (store_checkpoint_by), the commit
	 * that fills the WAL past this many pages copies them into the
	 * database itself: 1000 pages (SQLite's default) took 10-15 ms, 250
	 * take 2-4 ms. */
	sqlite3_wal_autocheckpoint(st->db, STORE_AUTOCHECKPOINT);
	if (exec_sql(st, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
		     error_r) < 0 ||
	    migrate(st, path, flags, error_r) < 0) {
		store_close(st);
		return STORE_ERROR;
	}
	*st_r = st;
	return STORE_OK;
}

int store_backup(struct store *st, const char *dest, const char **error_r)
{
	sqlite3 *to = NULL;
	int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = errorf("cannot create %s: %s", dest, strerror(errno));
		return STORE_ERROR;
	}
	close(fd);
	int rc = sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(to, "main", st->db, "main")
					    : NULL;
	/* One step: one read transaction, so one consistent snapshot; in WAL
	 * mode the server's writers go on meanwhile. */
	if (b != NULL) {
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
	}
	if (b == NULL || rc != SQLITE_DONE) {
		*error_r = errorf("backup to %s: %s", dest, sqlite3_errmsg(to ? to : st->db));
		sqlite3_close(to);
		unlink(dest);
		return STORE_ERROR;
	}
	sqlite3_close(to);
	return STORE_OK;
}

int store_ping(struct store *st, const char **error_r)
{
	/* A database file removed or replaced under a running server takes
	 * its writes to a file nobody will read again. */
	const char *path = sqlite3_db_filename(st->db, "main");
	struct stat sb;
	if (st->ino != 0 && path != NULL && path[0] != '\0' &&
	    (stat(path, &sb) < 0 || sb.st_dev != st->dev || sb.st_ino != st->ino)) {
		*error_r = errorf("the database file %s was removed or replaced", path);
		return -1;
	}
	sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM sqlite_schema", error_r);
	if (s == NULL)
		return -1;
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		*error_r = store_err(st, "ping");
		return -1;
	}
	return 0;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < STMT_CACHE_SIZE; i++)
		if (st->cache[i].stmt != NULL)
			sqlite3_finalize(st->cache[i].stmt);
	sqlite3_close(st->db);
	free(st);
}

/* BEGIN of either kind, through the statement cache. */
static int begin(struct store *st, const char *sql, const char **error_r)
{
	sqlite3_stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	if (store_exec_stmt(st, s, "begin", error_r) != STORE_OK)
		return STORE_ERROR;
	st->in_tx = 1;
	return STORE_OK;
}

int store_begin(struct store *st, const char **error_r)
{
	return begin(st, "BEGIN IMMEDIATE", error_r);
}

int store_begin_read(struct store *st, const char **error_r)
{
	return begin(st, "BEGIN DEFERRED", error_r);
}

int store_commit(struct store *st, const char **error_r)
{
	static const char sql[] = "COMMIT";
	sqlite3_stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	if (store_exec_stmt(st, s, "commit", error_r) != STORE_OK) {
		store_rollback(st);
		return STORE_ERROR;
	}
	st->in_tx = 0;
	return STORE_OK;
}

void store_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db) == 0)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_tx = 0;
}

int store_savepoint(struct store *st, const char **error_r)
{
	static const char sql[] = "SAVEPOINT part";
	sqlite3_stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	return store_exec_stmt(st, s, "savepoint", error_r);
}

int store_savepoint_end(struct store *st, int keep, const char **error_r)
{
	static const char undo[] = "ROLLBACK TO part";
	static const char release[] = "RELEASE part";
	sqlite3_stmt *s;
	if (!keep && ((s = store_stmt(st, undo, error_r)) == NULL ||
		      store_exec_stmt(st, s, "undo savepoint", error_r) != STORE_OK))
		return STORE_ERROR;
	if ((s = store_stmt(st, release, error_r)) == NULL)
		return STORE_ERROR;
	return store_exec_stmt(st, s, "release savepoint", error_r);
}

int store_in_tx(struct store *st)
{
	return sqlite3_get_autocommit(st->db) == 0;
}

int store_bulk_load(struct store *st, const char **error_r)
{
	return exec_sql(st,
			"PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = OFF;"
			"PRAGMA synchronous = OFF; PRAGMA ignore_check_constraints = ON;"
			"PRAGMA cache_size = -262144;"    /* 256 MiB */
			"PRAGMA mmap_size = 2147418112;", /* SQLite's most, 2 GiB */
			error_r);
}

int store_sync_relaxed(struct store *st, const char **error_r)
{
	return exec_sql(st, "PRAGMA synchronous = NORMAL;", error_r) < 0 ? STORE_ERROR
									 : STORE_OK;
}

int store_integrity_check(struct store *st, char **result_r,
			  const char **error_r)
{
	static const char sql[] = "PRAGMA integrity_check";
	sqlite3_stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	if (sqlite3_step(s) != SQLITE_ROW) {
		*error_r = store_err(st, "integrity_check");
		sqlite3_reset(s);
		return STORE_ERROR;
	}
	*result_r = col_strdup(s, 0);
	sqlite3_reset(s);
	return *result_r ? STORE_OK : STORE_ERROR;
}
