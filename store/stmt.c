/*
 * stmt.c: the per-connection cache of prepared statements and the ways
 * the query files step them, the same for every backend.
 */
#include <stdint.h>
#include <stdlib.h>

#include "store_int.h"

const char *store_err(struct store *st, const char *what)
{
	return errorf("store: %s: %s", what, st->be->errmsg(st));
}

int store_reprepares(struct store *st, const char **sql_r)
{
	int n = 0;
	for (size_t i = 0; i < STMT_CACHE_SIZE; i++) {
		const struct stmt *slot = &st->cache[i];
		int k = slot->sql ? st->be->reprepares(slot->h) : 0;
		if (k > 0 && sql_r != NULL)
			*sql_r = slot->sql;
		n += k;
	}
	return n;
}

struct stmt *store_stmt(struct store *st, const char *sql, const char **error_r)
{
	uintptr_t h = (uintptr_t)sql;
	size_t i = (size_t)((h >> 3) ^ (h >> 11)) & (STMT_CACHE_SIZE - 1);

	for (size_t probe = 0; probe < STMT_CACHE_SIZE; probe++) {
		struct stmt *slot = &st->cache[(i + probe) & (STMT_CACHE_SIZE - 1)];
		if (slot->sql == sql) {
			st->be->reset(slot->h);
			return slot;
		}
		if (slot->sql == NULL) {
			slot->h = st->be->prepare(st, sql, error_r);
			if (slot->h == NULL) {
				msg_error("%s in: %s", *error_r, sql);
				return NULL;
			}
			slot->st = st;
			slot->sql = sql;
			return slot;
		}
	}
	msg_panic("store: statement cache full");
}

void store_stmt_cache_free(struct store *st)
{
	for (size_t i = 0; i < STMT_CACHE_SIZE; i++)
		if (st->cache[i].sql != NULL) {
			st->be->finalize(st->cache[i].h);
			st->cache[i].sql = NULL;
		}
}

int store_exec_stmt(struct store *st, struct stmt *s, const char *what,
		    const char **error_r)
{
	int rc = store_step(s);
	if (rc == STEP_ERROR || rc == STEP_CONFLICT)
		*error_r = store_err(st, what);
	store_reset(s);
	if (rc == STEP_DONE || rc == STEP_ROW)
		return STORE_OK;
	return rc == STEP_CONFLICT ? STORE_CONFLICT : STORE_ERROR;
}

int store_insert(struct store *st, struct stmt *s, int64_t *id_r, const char *what,
		 const char **error_r)
{
	int rc = store_step(s);
	if (rc == STEP_ROW)
		*id_r = col_int64(s, 0);
	else
		*error_r = store_err(st, what);
	store_reset(s);
	if (rc == STEP_ROW)
		return STORE_OK;
	return rc == STEP_CONFLICT ? STORE_CONFLICT : STORE_ERROR;
}

int store_one_row(struct store *st, struct stmt *s, store_row_fn *read, void *out,
		  const char *what, const char **error_r)
{
	int rc = store_step(s);
	if (rc == STEP_ROW)
		read(s, out);
	else if (rc != STEP_DONE)
		*error_r = store_err(st, what);
	store_reset(s);
	if (rc == STEP_DONE)
		return STORE_NOT_FOUND;
	return rc == STEP_ROW ? STORE_OK : STORE_ERROR;
}

void store_read_int64(struct stmt *s, void *out)
{
	*(int64_t *)out = col_int64(s, 0);
}

int store_counts_by(struct store *st, const char *sql, int (*index_of)(const char *s),
		    int64_t *out, int n, const char *what, const char **error_r)
{
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	memset(out, 0, (size_t)n * sizeof(out[0]));
	int rc;
	while ((rc = store_step(s)) == STEP_ROW) {
		const char *name = col_str(s, 0);
		int i = name != NULL ? index_of(name) : -1;
		if (i >= 0 && i < n)
			out[i] = col_int64(s, 1);
	}
	if (rc != STEP_DONE)
		*error_r = store_err(st, what);
	store_reset(s);
	return rc == STEP_DONE ? STORE_OK : STORE_ERROR;
}

int store_count(struct store *st, struct stmt *s, int64_t *n_r, const char *what,
		const char **error_r)
{
	*n_r = 0;
	int rc = store_one_row(st, s, store_read_int64, n_r, what, error_r);
	return rc == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

char *col_strdup(struct stmt *s, int i)
{
	const char *v = col_str(s, i);
	size_t n = v ? col_bytes(s, i) : 0;
	char *out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	if (n > 0)
		memcpy(out, v, n);
	out[n] = '\0';
	return out;
}

int store_probe(struct store *st, const char *sql, const char **error_r)
{
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return -1;
	int rc = store_step(s);
	if (rc != STEP_ROW)
		*error_r = store_err(st, "ping");
	store_reset(s);
	return rc == STEP_ROW ? 0 : -1;
}
