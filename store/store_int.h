/*
 * store_int.h: what the store's files share and nobody else sees: the
 * connection, its backend (SQLite or PostgreSQL), the prepared-statement
 * cache, and the bind/column helpers every query file uses. The query
 * files speak only through these: the SQL they write is the dialect both
 * backends accept (numbered `?N` or plain `?` parameters, RETURNING,
 * ON CONFLICT), and what differs is in the backend's file.
 */
#ifndef INVITED_STORE_INT_H
#define INVITED_STORE_INT_H

#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "invited/log.h"
#include "invited/store.h"

/* The schema version this build writes: the count of migrations, the
 * same for every backend (schema.c, schema_pg.c). */
#define STORE_SCHEMA_VERSION 15

#define STMT_CACHE_SIZE 256 /* power of two; well above the statement count */

/* WAL pages at which a commit checkpoints, without a checkpointer. */
#define STORE_AUTOCHECKPOINT 250

/* A column's type in a row, for copying rows whatever they hold. */
enum { COL_NULL, COL_INT, COL_TEXT, COL_BLOB };

/* Written after the subquery that picks rows to claim: PostgreSQL locks
 * them and skips rows another server is claiming (FOR UPDATE SKIP
 * LOCKED), so that each is claimed by one; SQLite, one writer, has no
 * such clause and the backend drops it. */
#define SKIP_LOCKED " /*+skip_locked*/"

/* What stepping a statement gave. */
enum { STEP_ERROR = -1, STEP_DONE = 0, STEP_ROW = 1, STEP_CONFLICT = 2 };

struct store;

/* A prepared statement of either backend, cached per connection. */
struct stmt {
	struct store *st;
	const char *sql; /* the literal's address is the cache key */
	void *h;         /* the backend's own statement */
};

/*
 * A backend: one database engine's statements and connections. Column
 * and bind indexes are as in SQLite: binds from 1, columns from 0. A text
 * column's pointer lives until the next step or reset; NULL reads as
 * NULL (col_text) or 0.
 */
struct backend {
	const char *name;
	int shared; /* other servers may use the database at once */
	/* Start a write transaction (one writer at a time) or a read one
	 * (one snapshot). */
	int (*begin)(struct store *st, int write, const char **error_r);
	void *(*prepare)(struct store *st, const char *sql, const char **error_r);
	void (*finalize)(void *h);
	int (*step)(struct store *st, void *h); /* STEP_… */
	void (*reset)(void *h);
	void (*bind_int64)(void *h, int i, int64_t v);
	void (*bind_text)(void *h, int i, const char *v);
	void (*bind_blob)(void *h, int i, const void *p, size_t n);
	void (*bind_null)(void *h, int i);
	int64_t (*col_int64)(void *h, int i);
	const char *(*col_text)(void *h, int i);
	size_t (*col_bytes)(void *h, int i);
	const void *(*col_blob)(void *h, int i);
	int (*reprepares)(void *h);
	/* The current row's columns: how many, their names and types. */
	int (*col_count)(void *h);
	const char *(*col_name)(void *h, int i);
	int (*col_type)(void *h, int i);
	/* The rows the last statement changed; the connection's last error. */
	int64_t (*changes)(struct store *st);
	const char *(*errmsg)(struct store *st);
	/* Run a script of statements without parameters. */
	int (*exec)(struct store *st, const char *sql, const char **error_r);
	int (*in_tx)(struct store *st);
	int (*get_version)(struct store *st, int *version_r, const char **error_r);
	int (*set_version)(struct store *st, int version, const char **error_r);
	void (*close)(struct store *st);
	/* What store.h offers of the database as a whole. */
	int (*backup)(struct store *st, const char *dest, const char **error_r);
	int (*ping)(struct store *st, const char **error_r);
	int (*bulk_load)(struct store *st, const char **error_r);
	int (*sync_relaxed)(struct store *st, const char **error_r);
	int (*integrity_check)(struct store *st, char **result_r, const char **error_r);
	/* After store_copy filled table: what the backend must then do (the
	 * next id of PostgreSQL's identity columns). */
	int (*copied)(struct store *st, const char *table, const char **error_r);
	/* store_lock_hold, store_now */
	int (*lock_hold)(struct store *st, int64_t key, int *held_r, const char **error_r);
	int (*now)(struct store *st, int64_t *now_r, const char **error_r);
};

extern const struct backend store_sqlite;
extern const struct backend store_pg;

struct store {
	const struct backend *be;
	void *conn;     /* sqlite3 *, PGconn * */
	void *be_state; /* the backend's per-connection state */
	int in_tx;
	dev_t dev;      /* SQLite: the database file opened (0 for :memory:) */
	ino_t ino;
	char where[128]; /* the database, for messages (no password) */
	struct stmt cache[STMT_CACHE_SIZE];
};

/* Open the backend's connection into st (st->be, st->conn set). */
int store_sqlite_open(struct store *st, const char *path, int flags, const char **error_r);
int store_pg_open(struct store *st, const char *url, int flags, const char **error_r);

/*
 * The prepared statement for sql (a string literal: cached by address),
 * reset and with bindings cleared. NULL with *error_r on failure.
 */
struct stmt *store_stmt(struct store *st, const char *sql, const char **error_r);
/* Finalize every cached statement (before the connection closes). */
void store_stmt_cache_free(struct store *st);

/* An error message carrying the database's own words. */
const char *store_err(struct store *st, const char *what);

/* Run a script of statements without parameters. */
static inline int store_exec_sql(struct store *st, const char *sql, const char **error_r)
{
	return st->be->exec(st, sql, error_r);
}

static inline int store_step(struct stmt *s)
{
	return s->st->be->step(s->st, s->h);
}
static inline void store_reset(struct stmt *s)
{
	s->st->be->reset(s->h);
}
static inline int64_t store_changes(struct store *st)
{
	return st->be->changes(st);
}

static inline void bind_int64(struct stmt *s, int i, int64_t v)
{
	s->st->be->bind_int64(s->h, i, v);
}
static inline void bind_text(struct stmt *s, int i, const char *v)
{
	s->st->be->bind_text(s->h, i, v);
}
static inline void bind_blob(struct stmt *s, int i, const void *p, size_t n)
{
	s->st->be->bind_blob(s->h, i, p, n);
}
static inline void bind_null(struct stmt *s, int i)
{
	s->st->be->bind_null(s->h, i);
}
/* NULL when 0: optional foreign keys. */
static inline void bind_id(struct stmt *s, int i, int64_t id)
{
	if (id == 0)
		bind_null(s, i);
	else
		bind_int64(s, i, id);
}

static inline int64_t col_int64(struct stmt *s, int i)
{
	return s->st->be->col_int64(s->h, i);
}
static inline int col_int(struct stmt *s, int i)
{
	return (int)col_int64(s, i);
}
/* A text column, NUL-terminated; NULL for NULL. */
static inline const char *col_str(struct stmt *s, int i)
{
	return s->st->be->col_text(s->h, i);
}
static inline size_t col_bytes(struct stmt *s, int i)
{
	return s->st->be->col_bytes(s->h, i);
}
static inline const void *col_blob(struct stmt *s, int i)
{
	return s->st->be->col_blob(s->h, i);
}

/* Copy a text column into a fixed buffer ("" for NULL), truncating. */
static inline void col_text(struct stmt *s, int i, char *buf, size_t size)
{
	const char *v = col_str(s, i);
	size_t n = v ? col_bytes(s, i) : 0;
	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(buf, v, n);
	buf[n] = '\0';
}

/* A read the database must answer with a row (sql, a literal): 0, or -1
 * with why (store_ping). */
int store_probe(struct store *st, const char *sql, const char **error_r);

/* Step a statement that returns no rows and reset it. */
int store_exec_stmt(struct store *st, struct stmt *s, const char *what,
		    const char **error_r);

/* Step an INSERT … RETURNING id: the new row's id in *id_r. STORE_OK,
 * STORE_CONFLICT (a uniqueness rule), or STORE_ERROR. */
int store_insert(struct store *st, struct stmt *s, int64_t *id_r, const char *what,
		 const char **error_r);

/* Step s for at most one row, which read(s, out) reads; s is reset.
 * STORE_OK, STORE_NOT_FOUND, or STORE_ERROR with "store: what: …". */
typedef void store_row_fn(struct stmt *s, void *out);
int store_one_row(struct store *st, struct stmt *s, store_row_fn *read, void *out,
		  const char *what, const char **error_r);
/* A store_row_fn: the first column as an int64_t at out. */
void store_read_int64(struct stmt *s, void *out);
/* A "SELECT status, count(*) … GROUP BY status" (sql, a literal) into
 * out[0..n): out[index_of(status)], 0 for the statuses not there. */
int store_counts_by(struct store *st, const char *sql, int (*index_of)(const char *s),
		    int64_t *out, int n, const char *what, const char **error_r);
/* The first column of a count or EXISTS query's one row, in *n_r. */
int store_count(struct store *st, struct stmt *s, int64_t *n_r, const char *what,
		const char **error_r);

/* The columns store_read_org() reads, each prefixed with p ("o." or ""). */
#define ORG_COLUMNS_OF(p)                                                      \
	p "id, " p "kind, " p "status, " p "legal_name, " p "address, "        \
	p "country, " p "partner_id, " p "contact_name, " p "contact_email, "  \
	p "contact_phone, " p "support_email, " p "support_phone, "            \
	p "support_url, " p "locale, " p "status_reason, "                     \
	p "contact_verified, " p "created_at, " p "updated_at"

/* Read an org from ORG_COLUMNS_OF starting at column base (no domains). */
void store_read_org(struct stmt *s, int base, struct org *o);
int store_load_domains(struct store *st, struct org *o, const char **error_r);

/* A malloc'd copy of a text column; NULL column gives "". */
char *col_strdup(struct stmt *s, int i);

/* "claimed" for anything unknown: a state read is never more than claimed. */
enum domain_state store_domain_state_parse(const char *s);

#endif
