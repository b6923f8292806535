/*
 * pg.c: the PostgreSQL backend, through libpq, for more than one server
 * on one database. The query files' SQL is turned into PostgreSQL's at
 * prepare time (`?` and `?N` become `$N`); every statement is prepared
 * once per connection and executed with its parameters as text (blobs as
 * binary), its results read as text.
 *
 * Write transactions are serialized, as SQLite's BEGIN IMMEDIATE does:
 * each takes one transaction-level advisory lock (PG_WRITE_LOCK) first,
 * so that the read-then-write steps of the lifecycles (an invitation's
 * transition, a redemption) see the state they change, across every
 * server, with READ COMMITTED's plain snapshots. Single statements outside
 * a transaction (the outbox's claims with FOR UPDATE SKIP LOCKED, reads)
 * do not take it.
 */
#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invited/text.h"
#include "store_int.h"

#define PG_MAX_PARAMS 32              /* the most a statement binds */
#define PG_WRITE_LOCK "1768846953"    /* "invi": the write transactions' lock */
#define PG_CONNECT_TIMEOUT "10"       /* seconds, unless the URL says */
#define PG_LOCK_TIMEOUT "10s"         /* a lock waited for longer: an error */
#define BOOL_OID 16
#define BYTEA_OID 17
#define INT8_OID 20
#define INT2_OID 21
#define INT4_OID 23
#define TEXT_OID 25

struct pg_conn {
	char err[512];   /* the last failed statement's message */
	int64_t changes; /* rows the last statement changed */
	unsigned next;   /* the next statement's name */
	unsigned epoch;  /* connections made so far: a statement prepared in an
			  * earlier one is prepared again */
	int64_t lock_key; /* the advisory lock held, on connection lock_epoch */
	unsigned lock_epoch;
};

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

#define CONN(st) ((PGconn *)(st)->conn)
#define STATE(st) ((struct pg_conn *)(st)->be_state)

static void set_err(struct store *st, const char *msg)
{
	snprintf(STATE(st)->err, sizeof(STATE(st)->err), "%s", msg ? msg : "unknown error");
	size_t n = strlen(STATE(st)->err);
	while (n > 0 && (STATE(st)->err[n - 1] == '\n' || STATE(st)->err[n - 1] == ' '))
		STATE(st)->err[--n] = '\0';
}

static int session_setup(struct store *st, const char **error_r);

/*
 * The connection was lost (the server restarted, a failover, an idle
 * connection cut): connect again, outside a transaction only (one that
 * was open is lost, and its caller told so). The statements are prepared
 * again at their next use.
 */
static int reconnect(struct store *st)
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
static void *pg_prepare(struct store *st, const char *sql, const char **error_r)
{
	int nparams;
	struct pg_stmt *s = calloc(1, sizeof(*s));
	char *text = translate(sql, &nparams);
	if (text != NULL && nparams > PG_MAX_PARAMS) {
		free(text);
		*error_r = errorf("store: prepare: more than %d parameters", PG_MAX_PARAMS);
		return NULL;
	}
	if (text == NULL || s == NULL) {
		free(text);
		free(s);
		*error_r = "store: out of memory";
		return NULL;
	}
	if (nparams > PG_MAX_PARAMS) {
		free(text);
		free(s);
		*error_r = errorf("store: prepare: %d parameters, more than %d", nparams,
				  PG_MAX_PARAMS);
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
		set_err(st, PQresultErrorMessage(r));
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

static void pg_finalize(void *h)
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

static int pg_step(struct store *st, void *h)
{
	struct pg_stmt *s = h;
	if (s->res == NULL) {
		/* A connection found lost is made again before anything is sent;
		 * one lost under a statement is made again, and the statement run
		 * again, only when running it twice cannot change anything: it
		 * never ran (it failed to prepare), or it only reads. A write that
		 * may have committed is the caller's error to handle. */
		reconnect(st);
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
					set_err(st, PQerrorMessage(CONN(st)));
			}
			if (!again || (ran && !s->reads) || !reconnect(st))
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
				set_err(st, "the transaction was rolled back: a statement in it "
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
				set_err(st, "out of memory");
				s->rows = s->ncols = 0;
				return STEP_ERROR;
			}
			s->row = 0;
			return s->rows > 0 ? STEP_ROW : STEP_DONE;
		default:
			set_err(st, PQresultErrorMessage(s->res));
			return is_conflict(s->res) ? STEP_CONFLICT : STEP_ERROR;
		}
	}
	if (s->rows == 0 || s->row >= s->rows)
		return STEP_DONE;
	clear_row(s);
	return ++s->row < s->rows ? STEP_ROW : STEP_DONE;
}

static void pg_reset(void *h)
{
	struct pg_stmt *s = h;
	clear_result(s);
	pg_unbind(s);
}

static void pg_bind_int64(void *h, int i, int64_t v)
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

static void pg_bind_text(void *h, int i, const char *v)
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

static void pg_bind_blob(void *h, int i, const void *p, size_t n)
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
static void pg_bind_null(void *h, int i)
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

static int64_t pg_col_int64(void *h, int i)
{
	struct pg_stmt *s = h;
	const char *v = value(s, i);
	if (v == NULL)
		return 0;
	if (PQftype(s->res, i) == BOOL_OID)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static const char *pg_col_text(void *h, int i)
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

static size_t pg_col_bytes(void *h, int i)
{
	struct pg_stmt *s = h;
	size_t n;
	if (value(s, i) == NULL)
		return 0;
	if (PQftype(s->res, i) == BYTEA_OID)
		return blob(s, i, &n) ? n : 0;
	return (size_t)PQgetlength(s->res, s->row, i);
}

static const void *pg_col_blob(void *h, int i)
{
	struct pg_stmt *s = h;
	size_t n;
	if (value(s, i) == NULL)
		return NULL;
	if (PQftype(s->res, i) == BYTEA_OID)
		return blob(s, i, &n);
	return value(s, i);
}

static int pg_col_count(void *h)
{
	struct pg_stmt *s = h;
	return s->res != NULL ? PQnfields(s->res) : 0;
}

static const char *pg_col_name(void *h, int i)
{
	struct pg_stmt *s = h;
	return s->res != NULL ? PQfname(s->res, i) : NULL;
}

static int pg_col_type(void *h, int i)
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

static int pg_reprepares(void *h)
{
	(void)h;
	return 0; /* a statement is planned per execution or cached by the server */
}

/* ----------------------------------------------------------- connections */

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
	reconnect(st);
	PGresult *r = PQexec(CONN(st), sql);
	ExecStatusType t = PQresultStatus(r);
	if (t == PGRES_COMMAND_OK && strcmp(sql, "COMMIT") == 0 &&
	    strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		t = PGRES_FATAL_ERROR;
		set_err(st, "the transaction was rolled back: a statement in it failed");
	} else if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		set_err(st, r ? PQresultErrorMessage(r) : PQerrorMessage(CONN(st)));
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
		set_err(st, PQresultErrorMessage(r));
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
		set_err(st, "cannot start a transaction within a transaction");
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
		set_err(st, PQresultErrorMessage(r));
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
	reconnect(st);
	if (c->lock_epoch == c->epoch && c->lock_key == key && PQstatus(CONN(st)) == CONNECTION_OK) {
		*held_r = 1;
		return STORE_OK;
	}
	snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%lld)", (long long)key);
	PGresult *r = PQexec(CONN(st), sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		set_err(st, PQresultErrorMessage(r));
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
		set_err(st, PQresultErrorMessage(r));
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
