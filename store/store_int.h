/*
 * store_int.h: what the store's files share and nobody else sees: the
 * connection, the prepared-statement cache, and bind/column helpers.
 */
#ifndef INVITED_STORE_INT_H
#define INVITED_STORE_INT_H

#include <sqlite3.h>
#include <sys/types.h>
#include <string.h>

#include "invited/log.h"
#include "invited/store.h"

#define STMT_CACHE_SIZE 256 /* power of two; well above the statement count */

struct stmt_slot {
	const char *sql; /* the literal's address is the key */
	sqlite3_stmt *stmt;
};

/* WAL pages at which a commit checkpoints, without a checkpointer. */
#define STORE_AUTOCHECKPOINT 250

struct store {
	sqlite3 *db;
	int in_tx;
	dev_t dev;      /* the database file opened (0 for :memory:) */
	ino_t ino;
	struct stmt_slot cache[STMT_CACHE_SIZE];
};

/*
 * The prepared statement for sql (a string literal: cached by address),
 * reset and with bindings cleared. NULL with *error_r on failure.
 */
sqlite3_stmt *store_stmt(struct store *st, const char *sql,
			 const char **error_r);

/* An error message carrying SQLite's own words. */
const char *store_err(struct store *st, const char *what);

/* Step a statement that returns no rows and reset it. */
int store_exec_stmt(struct store *st, sqlite3_stmt *s, const char *what,
		    const char **error_r);

static inline int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* NULL when 0: optional foreign keys. */
static inline int bind_id(sqlite3_stmt *s, int i, int64_t id)
{
	if (id == 0)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_int64(s, i, id);
}

/* Copy a text column into a fixed buffer ("" for NULL), truncating. */
static inline void col_text(sqlite3_stmt *s, int i, char *buf, size_t size)
{
	const unsigned char *v = sqlite3_column_text(s, i);
	size_t n = v ? (size_t)sqlite3_column_bytes(s, i) : 0;
	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(buf, v, n);
	buf[n] = '\0';
}

/* Step s for at most one row, which read(s, out) reads; s is reset.
 * STORE_OK, STORE_NOT_FOUND, or STORE_ERROR with "store: what: …". */
typedef void store_row_fn(sqlite3_stmt *s, void *out);
int store_one_row(struct store *st, sqlite3_stmt *s, store_row_fn *read, void *out,
		  const char *what, const char **error_r);
/* A store_row_fn: the first column as an int64_t at out. */
void store_read_int64(sqlite3_stmt *s, void *out);
/* A "SELECT status, count(*) … GROUP BY status" (sql, a literal) into
 * out[0..n): out[index_of(status)], 0 for the statuses not there. */
int store_counts_by(struct store *st, const char *sql, int (*index_of)(const char *s),
		    int64_t *out, int n, const char *what, const char **error_r);
/* The first column of a count or EXISTS query's one row, in *n_r. */
int store_count(struct store *st, sqlite3_stmt *s, int64_t *n_r, const char *what,
		const char **error_r);

/* The columns store_read_org() reads, each prefixed with p ("o." or ""). */
#define ORG_COLUMNS_OF(p)                                                      \
	p "id, " p "kind, " p "status, " p "legal_name, " p "address, "        \
	p "country, " p "partner_id, " p "contact_name, " p "contact_email, "  \
	p "contact_phone, " p "support_email, " p "support_phone, "            \
	p "support_url, " p "locale, " p "status_reason, "                     \
	p "contact_verified, " p "created_at, " p "updated_at"

/* Read an org from ORG_COLUMNS_OF starting at column base (no domains). */
void store_read_org(sqlite3_stmt *s, int base, struct org *o);
int store_load_domains(struct store *st, struct org *o, const char **error_r);

/* A malloc'd copy of a text column; NULL column gives "". */
char *col_strdup(sqlite3_stmt *s, int i);

/* "claimed" for anything unknown: a state read is never more than claimed. */
enum domain_state store_domain_state_parse(const char *s);

#endif
