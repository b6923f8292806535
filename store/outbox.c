/*
 * outbox.c: the durable queue of rendered messages. A message is written
 * here, in the transaction of the change that caused it, before anyone
 * tries to send it; claiming and recording outcomes are single statements.
 */
#include <stdlib.h>

#include "store_int.h"

#define OUTBOX_COLUMNS                                                         \
	"id, code, message_id, kind, coalesce(invitation_id, 0),"              \
	" coalesce(verification_id, 0), coalesce(org_id, 0), env_from, rcpt,"  \
	" status, attempts, next_attempt_at, expires_at, created_at,"          \
	" coalesce(sent_at, 0), last_code, last_reply"

void outbox_msg_clear(struct outbox_msg *m)
{
	free(m->data);
	m->data = NULL;
	m->len = 0;
}

static void read_msg(struct stmt *s, struct outbox_msg *m)
{
	char status[16];
	memset(m, 0, sizeof(*m));
	m->id = col_int64(s, 0);
	col_text(s, 1, m->code, sizeof(m->code));
	col_text(s, 2, m->message_id, sizeof(m->message_id));
	char kind[24];
	col_text(s, 3, kind, sizeof(kind));
	outbox_kind_parse(kind, &m->kind);
	m->invitation_id = col_int64(s, 4);
	m->verification_id = col_int64(s, 5);
	m->org_id = col_int64(s, 6);
	col_text(s, 7, m->env_from, sizeof(m->env_from));
	col_text(s, 8, m->rcpt, sizeof(m->rcpt));
	col_text(s, 9, status, sizeof(status));
	outbox_status_parse(status, &m->status);
	m->attempts = col_int(s, 10);
	m->next_attempt_at = col_int64(s, 11);
	m->expires_at = col_int64(s, 12);
	m->created_at = col_int64(s, 13);
	m->sent_at = col_int64(s, 14);
	m->last_code = col_int(s, 15);
	col_text(s, 16, m->last_reply, sizeof(m->last_reply));
}

/* The message's bytes, from outbox_data, into m->data. */
static int read_data(struct store *st, struct outbox_msg *m, const char **error_r)
{
	static const char sql[] = "SELECT data FROM outbox_data WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, m->id);
	int rc = store_step(s);
	if (rc != STEP_ROW) {
		*error_r = rc == STEP_DONE ? errorf("store: message %lld has no data",
						      (long long)m->id)
					     : store_err(st, "read message data");
		store_reset(s);
		return STORE_ERROR;
	}
	const void *blob = col_blob(s, 0);
	size_t n = col_bytes(s, 0);
	m->data = malloc(n + 1);
	if (m->data != NULL) {
		if (n > 0)
			memcpy(m->data, blob, n);
		m->data[n] = '\0';
		m->len = n;
	}
	store_reset(s);
	if (m->data == NULL) {
		*error_r = "store: out of memory";
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int add(struct store *st, struct outbox_msg *m, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO outbox (code, message_id, kind, invitation_id,"
		" verification_id, org_id, env_from, rcpt, status,"
		" next_attempt_at, expires_at, created_at)"
		" VALUES (?,?,?,?,?,?,?,?,'queued',?,?,?) RETURNING id";
	static const char sql_data[] = "INSERT INTO outbox_data (id, data) VALUES (?,?)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, m->code);
	bind_text(s, 2, m->message_id);
	bind_text(s, 3, outbox_kind_str(m->kind));
	bind_id(s, 4, m->invitation_id);
	bind_id(s, 5, m->verification_id);
	bind_id(s, 6, m->org_id);
	bind_text(s, 7, m->env_from);
	bind_text(s, 8, m->rcpt);
	bind_int64(s, 9, m->created_at);
	bind_int64(s, 10, m->expires_at);
	bind_int64(s, 11, m->created_at);
	int64_t id;
	int rc = store_insert(st, s, &id, "queue message", error_r);
	if (rc != STORE_OK)
		return rc;
	if ((s = store_stmt(st, sql_data, error_r)) == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	bind_blob(s, 2, m->data, (int)m->len);
	if ((rc = store_exec_stmt(st, s, "queue message data", error_r)) != STORE_OK)
		return rc;
	m->id = id;
	m->status = OUTBOX_QUEUED;
	return STORE_OK;
}

/* Two rows: in the caller's transaction, or in one of its own. */
int store_outbox_add(struct store *st, struct outbox_msg *m, const char **error_r)
{
	int own_tx = !st->in_tx;
	if (own_tx && store_begin(st, error_r) != STORE_OK)
		return STORE_ERROR;
	int rc = add(st, m, error_r);
	if (own_tx && rc == STORE_OK && store_commit(st, error_r) != STORE_OK)
		rc = STORE_ERROR;
	if (own_tx && rc != STORE_OK)
		store_rollback(st);
	return rc;
}

int store_outbox_due(struct store *st, int64_t now, int *due_r, const char **error_r)
{
	static const char sql[] =
		"SELECT EXISTS (SELECT 1 FROM outbox INDEXED BY outbox_due"
		" WHERE status = 'queued' AND next_attempt_at <= ?)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	int rc = store_step(s);
	*due_r = rc == STEP_ROW && col_int(s, 0) != 0;
	store_reset(s);
	if (rc != STEP_ROW) {
		*error_r = store_err(st, "look for due messages");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_outbox_claim(struct store *st, int64_t now, size_t max,
		       struct outbox_msg *out, size_t *n_r, const char **error_r)
{
	/* INDEXED BY: left to itself the planner walks outbox_status and reads
	 * next_attempt_at, stored after the mail's bytes, from every queued
	 * row: each claim read the whole queue (bench/smtp.py showed it).
	 * MATERIALIZED: the rows picked are picked once. PostgreSQL may run an
	 * `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` more than once in
	 * one UPDATE, each time skipping what it locked before: more than n
	 * rows were claimed, and those past n left `sending` (the first
	 * PostgreSQL run of the suite showed it). */
	static const char sql[] =
		"WITH due AS MATERIALIZED (SELECT id FROM outbox INDEXED BY outbox_due"
		" WHERE status = 'queued'"
		" AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2" SKIP_LOCKED ")"
		" UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_by = ?3"
		" WHERE id IN (SELECT id FROM due) AND status = 'queued'"
		" RETURNING " OUTBOX_COLUMNS;
	*n_r = 0;
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, (int64_t)max);
	bind_text(s, 3, store_process_id());
	int rc;
	while ((rc = store_step(s)) == STEP_ROW && *n_r < max)
		read_msg(s, &out[(*n_r)++]);
	if (rc == STEP_ROW)
		msg_panic("store: a claim of %zu messages returned more", max);
	store_reset(s);
	if (rc != STEP_DONE) {
		*n_r = 0;
		*error_r = store_err(st, "claim messages");
		return STORE_ERROR;
	}
	/* The bytes of a claimed message never change: read them after the
	 * claim's own (single-statement) transaction, which stays short. A
	 * failure leaves the claimed messages `sending`, for recovery. */
	for (size_t i = 0; i < *n_r; i++) {
		if (read_data(st, &out[i], error_r) != STORE_OK) {
			for (size_t j = 0; j < *n_r; j++)
				outbox_msg_clear(&out[j]);
			*n_r = 0;
			return STORE_ERROR;
		}
	}
	return STORE_OK;
}

int store_outbox_result(struct store *st, int64_t id, enum outbox_status from,
			enum outbox_status to, int code, const char *reply, int64_t next_at,
			int64_t now, const char **error_r)
{
	static const char sql[] =
		"UPDATE outbox SET status = ?, last_code = ?, last_reply = ?,"
		" next_attempt_at = ?, sent_at = CASE WHEN ? = 'sent' THEN ?"
		" ELSE sent_at END WHERE id = ? AND status = ?"
		/* a claim taken back and claimed again is the new holder's */
		" AND (status <> 'sending' OR claimed_by = ?)";
	const char *status = outbox_status_str(to);
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, status);
	bind_int64(s, 2, code);
	bind_text(s, 3, reply ? reply : "");
	bind_int64(s, 4, next_at);
	bind_text(s, 5, status);
	bind_int64(s, 6, now);
	bind_int64(s, 7, id);
	bind_text(s, 8, outbox_status_str(from));
	bind_text(s, 9, store_process_id());
	int rc = store_exec_stmt(st, s, "record attempt", error_r);
	if (rc == STORE_OK && store_changes(st) == 0) {
		*error_r = errorf("message %lld is no longer %s", (long long)id,
				  outbox_status_str(from));
		return STORE_CONFLICT;
	}
	return rc;
}

int store_outbox_recover(struct store *st, int64_t now, int64_t alive_since, size_t *n_r,
			 const char **error_r)
{
	static const char sql[] =
		"UPDATE outbox SET status = 'queued', next_attempt_at = ?1, claimed_by = ''"
		" WHERE status = 'sending' AND claimed_by <> ?2 AND claimed_by NOT IN"
		" (SELECT id FROM servers WHERE seen_at >= ?3)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_text(s, 2, store_process_id());
	bind_int64(s, 3, alive_since);
	int rc = store_exec_stmt(st, s, "recover messages", error_r);
	*n_r = rc == STORE_OK ? (size_t)store_changes(st) : 0;
	return rc;
}

int store_outbox_retry(struct store *st, int64_t id, int64_t now,
		       int64_t expires_at, const char **error_r)
{
	static const char sql[] =
		"UPDATE outbox SET status = 'queued', next_attempt_at = ?,"
		" expires_at = ? WHERE id = ? AND status = 'failed'";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, expires_at);
	bind_int64(s, 3, id);
	int rc = store_exec_stmt(st, s, "retry message", error_r);
	if (rc == STORE_OK && store_changes(st) == 0) {
		*error_r = "message is not failed";
		return STORE_CONFLICT;
	}
	return rc;
}

int store_outbox_count_to(struct store *st, enum outbox_kind kind, const char *rcpt, int64_t since,
			  int *n_r, const char **error_r)
{
	/* One statement per kind, so that each uses its partial index. */
	static const char confirm[] = "SELECT count(*) FROM outbox WHERE kind = 'confirm'"
				      " AND rcpt = ? AND created_at >= ?";
	static const char signin[] = "SELECT count(*) FROM outbox WHERE kind = 'signin'"
				     " AND rcpt = ? AND created_at >= ?";
	if (kind != OUTBOX_CONFIRM && kind != OUTBOX_SIGNIN) {
		*error_r = "store: no count of that kind of mail";
		return STORE_ERROR;
	}
	struct stmt *s = store_stmt(st, kind == OUTBOX_CONFIRM ? confirm : signin, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, rcpt);
	bind_int64(s, 2, since);
	int64_t n;
	int rc = store_count(st, s, &n, "count mails to an address", error_r);
	*n_r = (int)n;
	return rc;
}

int store_outbox_prune(struct store *st, int64_t before, size_t max, size_t *n_r,
		       const char **error_r)
{
	/* What a bounced invitation or verification carried stays, as
	 * long as they do: the inviter may ask what was sent. */
	static const char mark[] =
		"UPDATE outbox SET data_kept = CASE WHEN EXISTS (SELECT 1 FROM invitations i"
		" WHERE i.id = outbox.invitation_id AND i.status = 'bounced')"
		" OR EXISTS (SELECT 1 FROM verifications v WHERE v.id = outbox.verification_id"
		" AND v.status = 'bounced') THEN 2 ELSE 0 END"
		" WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_prunable"
		" WHERE status = 'sent' AND data_kept = 1"
		" AND sent_at <= ?1 ORDER BY sent_at LIMIT ?2) AND data_kept = 1"
		" RETURNING id, data_kept";
	static const char drop[] = "DELETE FROM outbox_data WHERE id = ?";
	int64_t *ids = calloc(max ? max : 1, sizeof(*ids));
	size_t n = 0;
	int rc;
	*n_r = 0;
	if (ids == NULL) {
		*error_r = "out of memory";
		return STORE_ERROR;
	}
	struct stmt *s = store_stmt(st, mark, error_r);
	if (s == NULL) {
		free(ids);
		return STORE_ERROR;
	}
	bind_int64(s, 1, before);
	bind_int64(s, 2, (int64_t)max);
	while ((rc = store_step(s)) == STEP_ROW)
		if (col_int(s, 1) == 0 && n < max)
			ids[n++] = col_int64(s, 0);
	store_reset(s);
	if (rc != STEP_DONE) {
		free(ids);
		*error_r = store_err(st, "mark old mail");
		return STORE_ERROR;
	}
	rc = STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		if ((s = store_stmt(st, drop, error_r)) == NULL) {
			rc = STORE_ERROR;
			break;
		}
		bind_int64(s, 1, ids[i]);
		rc = store_exec_stmt(st, s, "drop mail bytes", error_r);
	}
	free(ids);
	*n_r = rc == STORE_OK ? n : 0;
	return rc;
}

static void read_newest(struct stmt *s, void *out)
{
	int64_t *v = out;
	v[0] = col_int64(s, 0);
	v[1] = col_int64(s, 1);
}

int store_outbox_newest(struct store *st, int64_t invitation_id, enum outbox_kind kind,
			int64_t *id_r, int64_t *at_r, const char **error_r)
{
	/* The kind written out, not bound: bound, it would decide whether the
	 * partial indexes on kind apply, and SQLite would prepare the
	 * statement again at every call (store_reprepares). */
	static const char invitation[] = "SELECT coalesce(max(id), 0), coalesce(max(created_at), 0)"
					 " FROM outbox WHERE invitation_id = ? AND kind = 'invitation'";
	static const char confirm[] = "SELECT coalesce(max(id), 0), coalesce(max(created_at), 0)"
				      " FROM outbox WHERE invitation_id = ? AND kind = 'confirm'";
	int64_t v[2] = {0, 0};
	if (kind != OUTBOX_INVITATION && kind != OUTBOX_CONFIRM) {
		*error_r = "store: no newest message of that kind";
		return STORE_ERROR;
	}
	struct stmt *s = store_stmt(st, kind == OUTBOX_INVITATION ? invitation : confirm, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, invitation_id);
	int rc = store_one_row(st, s, read_newest, v, "newest message", error_r);
	if (id_r != NULL)
		*id_r = v[0];
	if (at_r != NULL)
		*at_r = v[1];
	return rc == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

static int get_by(struct store *st, struct stmt *s, int with_data,
		  struct outbox_msg *m, const char **error_r)
{
	int rc = store_step(s);
	if (rc == STEP_ROW)
		read_msg(s, m);
	store_reset(s);
	if (rc == STEP_DONE)
		return STORE_NOT_FOUND;
	if (rc != STEP_ROW) {
		*error_r = store_err(st, "get message");
		return STORE_ERROR;
	}
	return with_data ? read_data(st, m, error_r) : STORE_OK;
}

int store_outbox_get(struct store *st, int64_t id, int with_data,
		     struct outbox_msg *m, const char **error_r)
{
	static const char sql[] =
		"SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	return get_by(st, s, with_data, m, error_r);
}

int store_outbox_by_code(struct store *st, const char *code,
			 struct outbox_msg *m, const char **error_r)
{
	static const char sql[] =
		"SELECT " OUTBOX_COLUMNS " FROM outbox WHERE code = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, code);
	return get_by(st, s, 0, m, error_r);
}

int store_outbox_by_message_id(struct store *st, const char *message_id,
			       struct outbox_msg *m, const char **error_r)
{
	static const char sql[] =
		"SELECT " OUTBOX_COLUMNS " FROM outbox WHERE message_id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, message_id);
	return get_by(st, s, 0, m, error_r);
}

/*
 * Newest first, below the cursor, through the index that fits the filter
 * (an invitation's messages, a status, or all): a single statement with
 * "(?2 = 0 OR invitation_id = ?2)" can use none, and read the whole
 * outbox to list one invitation's mail.
 */
static const char *outbox_list_sql(const struct outbox_filter *f)
{
	static const char sql_invitation[] =
		"SELECT " OUTBOX_COLUMNS " FROM outbox WHERE invitation_id = ?2"
		" AND (?1 IS NULL OR status = ?1) AND id < ?3 ORDER BY id DESC LIMIT ?4";
	static const char sql_status[] =
		"SELECT " OUTBOX_COLUMNS " FROM outbox WHERE status = ?1"
		" AND id < ?3 ORDER BY id DESC LIMIT ?4";
	static const char sql_any[] =
		"SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id < ?3"
		" ORDER BY id DESC LIMIT ?4";
	if (f->invitation_id != 0)
		return sql_invitation;
	return f->status > 0 ? sql_status : sql_any;
}

int store_outbox_list(struct store *st, const struct outbox_filter *f,
		      store_outbox_cb *cb, void *ctx, const char **error_r)
{
	struct stmt *s = store_stmt(st, outbox_list_sql(f), error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, f->status > 0 ? outbox_status_str((enum outbox_status)f->status) : NULL);
	bind_int64(s, 2, f->invitation_id);
	bind_int64(s, 3, f->before_id > 0 ? f->before_id : INT64_MAX);
	bind_int64(s, 4, f->limit > 0 ? f->limit : 100);
	int rc;
	struct outbox_msg m;
	/* The callback must not use this connection: rows are read live. */
	while ((rc = store_step(s)) == STEP_ROW) {
		read_msg(s, &m);
		if (cb(ctx, &m) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "list messages");
		return STORE_ERROR;
	}
	return STORE_OK;
}

static int outbox_status_index(const char *s)
{
	enum outbox_status v;
	return outbox_status_parse(s, &v) == 0 ? (int)v : -1;
}

int store_outbox_counts(struct store *st, int64_t out[5], const char **error_r)
{
	static const char sql[] = "SELECT status, count(*) FROM outbox GROUP BY status";
	return store_counts_by(st, sql, outbox_status_index, out, 5, "count messages", error_r);
}

int store_outbox_oldest_queued(struct store *st, int64_t *at_r, const char **error_r)
{
	/* The lowest id still queued is the oldest one (ids grow with time):
	 * one step down the (status, id) index. */
	struct stmt *s = store_stmt(st,
				     "SELECT created_at FROM outbox WHERE status = 'queued' "
				     "ORDER BY id LIMIT 1",
				     error_r);
	if (s == NULL)
		return STORE_ERROR;
	int rc = store_step(s);
	*at_r = rc == STEP_ROW ? col_int64(s, 0) : 0;
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "oldest queued message");
		return STORE_ERROR;
	}
	return STORE_OK;
}
