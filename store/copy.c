/*
 * copy.c: a whole database into an empty one of either backend (`invited
 * db copy`): every table, in the order their foreign keys need, each row
 * as it is (ids kept), from one read snapshot of the source (read a batch
 * at a time), in one transaction of the destination; then each table's
 * rows counted on both sides and the destination checked whole.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store_int.h"

/* Every table, parents before children. */
static const char *const tables[] = {
	"orgs",    "org_domains", "api_keys", "invitations", "links",  "relationships",
	"verifications", "outbox", "outbox_data", "imap_state", "inbound", "events",
	"users",   "sessions",    "webhooks", "deliveries",
};

/* A statement made for this copy only (its SQL is not a literal, so it is
 * not cached by address): prepared on st, finalized by stmt_free. */
static struct stmt *stmt_new(struct store *st, const char *sql, const char **error_r)
{
	struct stmt *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		*error_r = "store: out of memory";
		return NULL;
	}
	s->st = st;
	s->sql = sql;
	s->h = st->be->prepare(st, sql, error_r);
	if (s->h == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

static void stmt_free(struct stmt *s)
{
	if (s != NULL) {
		s->st->be->finalize(s->h);
		free(s);
	}
}

/* An identifier as SQL, quoted. */
static void quoted(FILE *out, const char *name)
{
	fputc('"', out);
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

int store_count_rows(struct store *st, const char *table, int64_t *n_r, const char **error_r)
{
	char sql[96];
	size_t k = 0;
	while (k < sizeof(tables) / sizeof(tables[0]) && strcmp(tables[k], table) != 0)
		k++;
	if (k == sizeof(tables) / sizeof(tables[0])) { /* only ours go into SQL */
		*error_r = errorf("store: no table %s", table);
		return STORE_ERROR;
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	struct stmt *s = stmt_new(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	int rc = store_step(s);
	*n_r = rc == STEP_ROW ? col_int64(s, 0) : 0;
	if (rc != STEP_ROW)
		*error_r = store_err(st, "count");
	stmt_free(s);
	return rc == STEP_ROW ? STORE_OK : STORE_ERROR;
}

/* The INSERT for the columns of from's current row. */
static char *insert_sql(struct stmt *from, const char *table)
{
	char *sql = NULL;
	size_t len;
	FILE *out = open_memstream(&sql, &len);
	if (out == NULL)
		return NULL;
	int n = from->st->be->col_count(from->h);
	fprintf(out, "INSERT INTO %s (", table);
	for (int i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", out);
		quoted(out, from->st->be->col_name(from->h, i));
	}
	fputs(") VALUES (", out);
	for (int i = 0; i < n; i++)
		fprintf(out, "%s?%d", i > 0 ? ", " : "", i + 1);
	fputc(')', out);
	fclose(out);
	return sql;
}

/*
 * One table's rows. SQLite steps through a table as it reads it; libpq
 * holds a statement's whole result in memory, so from PostgreSQL the rows
 * come through a cursor, STORE_COPY_BATCH at a time: a copy's memory is
 * one batch, whatever the table's size.
 */
static int copy_table(struct store *from, struct store *to, const char *table, int64_t *n_r,
		      const char **error_r)
{
	char select[128];
	int cursor = from->be->shared;
	*n_r = 0;
	if (cursor) {
		snprintf(select, sizeof(select),
			 "DECLARE invited_copy NO SCROLL CURSOR FOR SELECT * FROM %s", table);
		if (store_exec_sql(from, select, error_r) != STORE_OK)
			return STORE_ERROR;
		snprintf(select, sizeof(select), "FETCH %d FROM invited_copy", STORE_COPY_BATCH);
	} else {
		snprintf(select, sizeof(select), "SELECT * FROM %s", table);
	}
	struct stmt *s = stmt_new(from, select, error_r), *ins = NULL;
	char *sql = NULL;
	int rc = STEP_DONE;
	int64_t batch = 0;
	if (s == NULL)
		return STORE_ERROR;
	for (;;) {
		rc = store_step(s);
		if (rc == STEP_DONE && cursor && batch == STORE_COPY_BATCH) {
			store_reset(s); /* the next batch */
			batch = 0;
			continue;
		}
		if (rc != STEP_ROW)
			break;
		batch++;
		int n = from->be->col_count(s->h);
		if (ins == NULL && ((sql = insert_sql(s, table)) == NULL ||
				    (ins = stmt_new(to, sql, error_r)) == NULL)) {
			rc = STEP_ERROR;
			*error_r = *error_r ? *error_r : "store: out of memory";
			break;
		}
		for (int i = 0; i < n; i++)
			switch (from->be->col_type(s->h, i)) {
			case COL_NULL:
				bind_null(ins, i + 1);
				break;
			case COL_INT:
				bind_int64(ins, i + 1, col_int64(s, i));
				break;
			case COL_BLOB:
				bind_blob(ins, i + 1, col_blob(s, i), col_bytes(s, i));
				break;
			default:
				bind_text(ins, i + 1, col_str(s, i));
			}
		int r = store_step(ins);
		store_reset(ins);
		if (r != STEP_DONE && r != STEP_ROW) {
			*error_r = errorf("store: copy %s: %s", table, to->be->errmsg(to));
			rc = STEP_ERROR;
			break;
		}
		(*n_r)++;
	}
	if (rc != STEP_DONE && rc != STEP_ERROR)
		rc = STEP_ERROR;
	if (rc == STEP_ERROR && *error_r == NULL)
		*error_r = store_err(from, "copy");
	stmt_free(ins);
	stmt_free(s);
	free(sql);
	if (cursor && rc != STEP_ERROR &&
	    store_exec_sql(from, "CLOSE invited_copy", error_r) != STORE_OK)
		return STORE_ERROR;
	if (rc == STEP_ERROR)
		return STORE_ERROR;
	return to->be->copied(to, table, error_r);
}

int store_copy(struct store *from, struct store *to, store_copy_cb *cb, void *ctx,
	       const char **error_r)
{
	int from_v, to_v;
	int64_t rows, n;
	*error_r = NULL;
	if (store_version(from, &from_v, error_r) != STORE_OK ||
	    store_version(to, &to_v, error_r) != STORE_OK)
		return STORE_ERROR;
	if (from_v != store_schema_version() || to_v != store_schema_version()) {
		*error_r = errorf("store: both databases must be at schema version %d (%s is at "
				  "%d, %s at %d): run `invited db migrate`",
				  store_schema_version(), from->where, from_v, to->where, to_v);
		return STORE_ERROR;
	}
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (store_count_rows(to, tables[i], &n, error_r) != STORE_OK)
			return STORE_ERROR;
		if (n > 0) {
			*error_r = errorf("store: %s is not empty (%s holds %lld rows): copy into "
					  "a new database only",
					  to->where, tables[i], (long long)n);
			return STORE_ERROR;
		}
	}
	if (store_begin_read(from, error_r) != STORE_OK)
		return STORE_ERROR;
	if (store_begin(to, error_r) != STORE_OK) {
		store_rollback(from);
		return STORE_ERROR;
	}
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (copy_table(from, to, tables[i], &rows, error_r) != STORE_OK) {
			store_rollback(to);
			store_rollback(from);
			return STORE_ERROR;
		}
		if (cb != NULL)
			cb(ctx, tables[i], rows);
	}
	int rc = store_commit(to, error_r);
	store_rollback(from);
	return rc;
}

int store_copy_tables(const char *const **tables_r)
{
	*tables_r = tables;
	return (int)(sizeof(tables) / sizeof(tables[0]));
}
