/*
 * pg_stmt.c: the PostgreSQL backend's statements. The query files' SQL
 * is turned into PostgreSQL's at prepare time (`?` and `?N` become `$N`);
 * every statement is prepared once per connection and executed with its
 * parameters as text (blobs as binary), its results read as text.
 */
#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invited/text.h"
#include "pg_int.h"

#define BOOL_OID 16
#define BYTEA_OID 17
#define INT8_OID 20
#define INT2_OID 21
#define INT4_OID 23
#define TEXT_OID 25

struct pg_stmt {
	struct store *st;
	char name[16];
	char *text;      /* PostgreSQL's SQL */
	int reads;       /* a SELECT: safe to run again */
	int commits;     /* COMMIT: must say COMMIT */
	unsigned epoch;  /* the connection it was prepared on; 0: not yet */
	int nparams;
	Oid types[PG_MAX_PARAMS]; /* as the binds say */
	char *vals[PG_MAX_PARAMS];
	int lens[PG_MAX_PARAMS];
	int fmts[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][24]; /* integers as text */
	PGresult *res;
	int row, rows;
	unsigned char **blobs; /* decoded bytea columns of the current row */
	size_t *blob_lens;
	int ncols;
};

/*
 * SQLite's SQL to PostgreSQL's: `?N` is `$N`, a bare `?` one more than
 * the largest so far (SQLite's rule), an `INDEXED BY name` hint is
 * dropped, and SKIP_LOCKED is FOR UPDATE SKIP LOCKED. Quoted text and
 * identifiers are copied as they are. The largest parameter number in
 * *max_r.
 */
static char *translate(const char *sql, int *max_r)
{
	/* A `?` (1 byte) grows to at most "$32" (3), a SKIP_LOCKED marker
	 * keeps its length or less: 3n bounds the text. */
	size_t n = strlen(sql);
	char *out = malloc(n * 3 + sizeof(" FOR UPDATE SKIP LOCKED")), *o = out;
	int max = 0;
	if (out == NULL)
		return NULL;
	for (const char *p = sql; *p != '\0';) {
		if (*p == '\'' || *p == '"') {
			char q = *p;
			*o++ = *p++;
			while (*p != '\0' && *p != q)
				*o++ = *p++;
			if (*p != '\0')
				*o++ = *p++;
		} else if (strncmp(p, SKIP_LOCKED, sizeof(SKIP_LOCKED) - 1) == 0) {
			p += sizeof(SKIP_LOCKED) - 1;
			o += sprintf(o, " FOR UPDATE SKIP LOCKED");
		} else if (strncmp(p, " INDEXED BY ", 12) == 0) {
			/* SQLite's index hint: PostgreSQL's planner chooses */
			p += 12;
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
		} else if (*p == '?') {
			int k = 0;
			p++;
			if (isdigit((unsigned char)*p))
				while (isdigit((unsigned char)*p) && k <= PG_MAX_PARAMS)
					k = k * 10 + (*p++ - '0');
			else
				k = max + 1;
			if (k > PG_MAX_PARAMS) { /* refused by the caller */
				*max_r = PG_MAX_PARAMS + 1;
				free(out);
				return strdup("");
			}
			if (k > max)
				max = k;
			o += sprintf(o, "$%d", k);
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	*max_r = max;
	return out;
}

/* ------------------------------------------------------------ statements */

static void clear_row(struct pg_stmt *s)
{
	for (int i = 0; s->blobs != NULL && i < s->ncols; i++) {
		PQfreemem(s->blobs[i]);
		s->blobs[i] = NULL;
	}
}

static void clear_result(struct pg_stmt *s)
{
	clear_row(s);
	free(s->blobs);
	free(s->blob_lens);
	s->blobs = NULL;
	s->blob_lens = NULL;
	s->ncols = 0;
	PQclear(s->res);
	s->res = NULL;
	s->row = s->rows = 0;
}

/*
 * The server prepares the statement at its first execution, when the
 * binds say each parameter's type: a parameter PostgreSQL cannot type
 * from the SQL alone (`?2 IS NULL OR status = ?2`, `?3 = 0`) takes the
 * type of what the query file binds (bind_int64 and bind_id: bigint,
 * bind_text: text, bind_blob: bytea), as SQLite takes any.
 */
void *pg_prepare(struct store *st, const char *sql, const char **error_r)
{
	int nparams;
	struct pg_stmt *s = calloc(1, sizeof(*s));
	char *text = translate(sql, &nparams);
	if (text == NULL || s == NULL) {
		free(text);
		free(s);
		*error_r = "store: out of memory";
		return NULL;
	}
	if (nparams > PG_MAX_PARAMS) {
		free(text);
		free(s);
		*error_r = errorf("store: prepare: more than %d parameters", PG_MAX_PARAMS);
		return NULL;
	}
	s->st = st;
	s->text = text;
	s->nparams = nparams;
	s->reads = strncmp(sql, "SELECT", 6) == 0;
	s->commits = strcmp(sql, "COMMIT") == 0;
	snprintf(s->name, sizeof(s->name), "s%u", STATE(st)->next++);
	return s;
}

static int server_prepare(struct store *st, struct pg_stmt *s)
{
	PGresult *r = PQprepare(CONN(st), s->name, s->text, s->nparams, s->types);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		pg_set_err(st, PQresultErrorMessage(r));
	PQclear(r);
	if (ok)
		s->epoch = STATE(st)->epoch;
	return ok;
}

static void pg_unbind(struct pg_stmt *s)
{
	for (int i = 0; i < s->nparams; i++) {
		if (s->vals[i] != NULL && s->vals[i] != s->num[i])
			free(s->vals[i]);
		s->vals[i] = NULL;
		s->lens[i] = 0;
		s->fmts[i] = 0;
	}
}

void pg_finalize(void *h)
{
	struct pg_stmt *s = h;
	clear_result(s);
	pg_unbind(s);
	/* The connection's end drops the prepared statement. */
	free(s->text);
	free(s);
}

/* Whether a failed statement broke a rule of the schema (class 23). */
static int is_conflict(const PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	return state != NULL && strncmp(state, "23", 2) == 0;
}

int pg_step(struct store *st, void *h)
{
	struct pg_stmt *s = h;
	if (s->res == NULL) {
		/* A connection found lost is made again before anything is sent;
		 * one lost under a statement is made again, and the statement run
		 * again, only when running it twice cannot change anything: it
		 * never ran (it failed to prepare), or it only reads. A write that
		 * may have committed is the caller's error to handle. */
		pg_reconnect(st);
		for (int again = 1;; again = 0) {
			int ran = 0;
			if (s->epoch == STATE(st)->epoch || server_prepare(st, s)) {
				ran = 1;
				s->res = PQexecPrepared(CONN(st), s->name, s->nparams,
							(const char *const *)s->vals, s->lens,
							s->fmts, 0);
				ExecStatusType t = PQresultStatus(s->res);
				if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK)
					break;
				if (s->res == NULL)
					pg_set_err(st, PQerrorMessage(CONN(st)));
			}
			if (!again || (ran && !s->reads) || !pg_reconnect(st))
				break;
			PQclear(s->res);
			s->res = NULL;
		}
		if (s->res == NULL) /* not prepared or not sent: its error is set */
			return STEP_ERROR;
		switch (PQresultStatus(s->res)) {
		case PGRES_COMMAND_OK:
			STATE(st)->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
			/* COMMIT of a transaction an error ended says ROLLBACK, and
			 * succeeds: not for us (SQLite would have committed). */
			if (s->commits && strcmp(PQcmdStatus(s->res), "COMMIT") != 0) {
				pg_set_err(st, "the transaction was rolled back: a statement in it "
					    "failed");
				return STEP_ERROR;
			}
			return STEP_DONE;
		case PGRES_TUPLES_OK:
			STATE(st)->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
			s->rows = PQntuples(s->res);
			s->ncols = PQnfields(s->res);
			s->blobs = calloc((size_t)s->ncols + 1, sizeof(*s->blobs));
			s->blob_lens = calloc((size_t)s->ncols + 1, sizeof(*s->blob_lens));
			if (s->blobs == NULL || s->blob_lens == NULL) {
				pg_set_err(st, "out of memory");
				s->rows = s->ncols = 0;
				return STEP_ERROR;
			}
			s->row = 0;
			return s->rows > 0 ? STEP_ROW : STEP_DONE;
		default:
			pg_set_err(st, PQresultErrorMessage(s->res));
			return is_conflict(s->res) ? STEP_CONFLICT : STEP_ERROR;
		}
	}
	if (s->rows == 0 || s->row >= s->rows)
		return STEP_DONE;
	clear_row(s);
	return ++s->row < s->rows ? STEP_ROW : STEP_DONE;
}

void pg_reset(void *h)
{
	struct pg_stmt *s = h;
	clear_result(s);
	pg_unbind(s);
}

void pg_bind_int64(void *h, int i, int64_t v)
{
	struct pg_stmt *s = h;
	if (i < 1 || i > s->nparams)
		return;
	if (s->vals[i - 1] != NULL && s->vals[i - 1] != s->num[i - 1])
		free(s->vals[i - 1]);
	snprintf(s->num[i - 1], sizeof(s->num[i - 1]), "%lld", (long long)v);
	s->vals[i - 1] = s->num[i - 1];
	s->fmts[i - 1] = 0;
	s->types[i - 1] = INT8_OID;
}

/*
 * A copy of v that PostgreSQL takes as text: each byte that is not part of
 * well-formed UTF-8 (a reply cut in the middle of a character, a stray
 * Latin-1 byte) becomes '?'. SQLite keeps any bytes; PostgreSQL would
 * refuse the whole statement, and with it the outcome it records.
 */
static char *utf8_copy(const char *v)
{
	size_t n = strlen(v);
	char *out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq((const unsigned char *)v + i, n - i);
		if (len == 0) {
			out[i++] = '?';
			continue;
		}
		memcpy(out + i, v + i, len);
		i += len;
	}
	out[n] = '\0';
	return out;
}

void pg_bind_text(void *h, int i, const char *v)
{
	struct pg_stmt *s = h;
	if (i < 1 || i > s->nparams)
		return;
	if (s->vals[i - 1] != NULL && s->vals[i - 1] != s->num[i - 1])
		free(s->vals[i - 1]);
	s->vals[i - 1] = v != NULL ? utf8_copy(v) : NULL;
	s->fmts[i - 1] = 0;
	s->types[i - 1] = TEXT_OID;
}

void pg_bind_blob(void *h, int i, const void *p, size_t n)
{
	struct pg_stmt *s = h;
	if (i < 1 || i > s->nparams)
		return;
	if (s->vals[i - 1] != NULL && s->vals[i - 1] != s->num[i - 1])
		free(s->vals[i - 1]);
	s->vals[i - 1] = malloc(n > 0 ? n : 1);
	if (s->vals[i - 1] != NULL && n > 0)
		memcpy(s->vals[i - 1], p, n);
	s->lens[i - 1] = (int)n;
	s->fmts[i - 1] = 1;
	s->types[i - 1] = BYTEA_OID;
}

/* bind_id's NULL: an id's type. */
void pg_bind_null(void *h, int i)
{
	struct pg_stmt *s = h;
	if (i < 1 || i > s->nparams)
		return;
	if (s->vals[i - 1] != NULL && s->vals[i - 1] != s->num[i - 1])
		free(s->vals[i - 1]);
	s->vals[i - 1] = NULL;
	s->fmts[i - 1] = 0;
	s->types[i - 1] = INT8_OID;
}

static const char *value(struct pg_stmt *s, int i)
{
	if (s->res == NULL || s->row >= s->rows || i < 0 || i >= s->ncols ||
	    PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

int64_t pg_col_int64(void *h, int i)
{
	struct pg_stmt *s = h;
	const char *v = value(s, i);
	if (v == NULL)
		return 0;
	if (PQftype(s->res, i) == BOOL_OID)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

const char *pg_col_text(void *h, int i)
{
	return value(h, i);
}

/* A bytea column, decoded from its text form once per row. */
static const unsigned char *blob(struct pg_stmt *s, int i, size_t *n_r)
{
	const char *v = value(s, i);
	*n_r = 0;
	if (v == NULL)
		return NULL;
	if (s->blobs[i] == NULL)
		s->blobs[i] = PQunescapeBytea((const unsigned char *)v, &s->blob_lens[i]);
	*n_r = s->blob_lens[i];
	return s->blobs[i];
}

size_t pg_col_bytes(void *h, int i)
{
	struct pg_stmt *s = h;
	size_t n;
	if (value(s, i) == NULL)
		return 0;
	if (PQftype(s->res, i) == BYTEA_OID)
		return blob(s, i, &n) ? n : 0;
	return (size_t)PQgetlength(s->res, s->row, i);
}

const void *pg_col_blob(void *h, int i)
{
	struct pg_stmt *s = h;
	size_t n;
	if (value(s, i) == NULL)
		return NULL;
	if (PQftype(s->res, i) == BYTEA_OID)
		return blob(s, i, &n);
	return value(s, i);
}

int pg_col_count(void *h)
{
	struct pg_stmt *s = h;
	return s->res != NULL ? PQnfields(s->res) : 0;
}

const char *pg_col_name(void *h, int i)
{
	struct pg_stmt *s = h;
	return s->res != NULL ? PQfname(s->res, i) : NULL;
}

int pg_col_type(void *h, int i)
{
	struct pg_stmt *s = h;
	if (value(s, i) == NULL)
		return COL_NULL;
	switch (PQftype(s->res, i)) {
	case BYTEA_OID:
		return COL_BLOB;
	case INT8_OID:
	case INT4_OID:
	case INT2_OID:
	case BOOL_OID:
		return COL_INT;
	default:
		return COL_TEXT;
	}
}

int pg_reprepares(void *h)
{
	(void)h;
	return 0; /* a statement is planned per execution or cached by the server */
}
