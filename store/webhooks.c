/*
 * webhooks.c: webhook endpoints and their durable deliveries.
 */
#include "store_int.h"

#define WEBHOOK_COLUMNS "id, coalesce(org_id, 0), url, events, secret, created_at," \
			" coalesce(deleted_at, 0)"

static void read_webhook(struct stmt *s, void *out)
{
	struct webhook *w = out;
	memset(w, 0, sizeof(*w));
	w->id = col_int64(s, 0);
	w->org_id = col_int64(s, 1);
	col_text(s, 2, w->url, sizeof(w->url));
	col_text(s, 3, w->events, sizeof(w->events));
	if (col_bytes(s, 4) == WEBHOOK_SECRET_LEN)
		memcpy(w->secret, col_blob(s, 4), WEBHOOK_SECRET_LEN);
	w->created_at = col_int64(s, 5);
	w->deleted_at = col_int64(s, 6);
}

int store_webhook_insert(struct store *st, struct webhook *w, const char **error_r)
{
	static const char sql[] = "INSERT INTO webhooks (org_id, url, events, secret, created_at)"
				  " VALUES (?, ?, ?, ?, ?) RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_id(s, 1, w->org_id);
	bind_text(s, 2, w->url);
	bind_text(s, 3, w->events);
	bind_blob(s, 4, w->secret, WEBHOOK_SECRET_LEN);
	bind_int64(s, 5, w->created_at);
	int rc = store_insert(st, s, &w->id, "insert webhook", error_r);
	return rc;
}

int store_webhook_get(struct store *st, int64_t id, struct webhook *w, const char **error_r)
{
	static const char sql[] = "SELECT " WEBHOOK_COLUMNS " FROM webhooks WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	return store_one_row(st, s, read_webhook, w, "get webhook", error_r);
}

/* org_id 0 is the operator's: NULL in the table. */
#define OF_ORG " (org_id = ?1 OR (?1 = 0 AND org_id IS NULL)) AND deleted_at IS NULL"

int store_webhook_list(struct store *st, int64_t org_id, store_webhook_cb *cb, void *ctx,
		       const char **error_r)
{
	/* without the secrets: a list needs none */
	static const char sql[] = "SELECT id, coalesce(org_id, 0), url, events, NULL, created_at,"
				  " 0 FROM webhooks WHERE" OF_ORG " ORDER BY id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	int rc;
	struct webhook w;
	/* The callback must not use the store: rows are read live. */
	while ((rc = store_step(s)) == STEP_ROW) {
		read_webhook(s, &w);
		if (cb(ctx, &w) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "list webhooks");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_webhook_count(struct store *st, int64_t org_id, int64_t *n_r, const char **error_r)
{
	static const char sql[] = "SELECT count(*) FROM webhooks WHERE" OF_ORG;
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	return store_count(st, s, n_r, "count webhooks", error_r);
}

int store_webhook_delete(struct store *st, int64_t org_id, int64_t id, const char *why,
			 int64_t now, const char **error_r)
{
	static const char sql[] = "UPDATE webhooks SET deleted_at = ?2 WHERE id = ?3 AND" OF_ORG;
	static const char fail[] =
		"UPDATE deliveries SET status = 'failed', last_error = ?, done_at = ?"
		" WHERE webhook_id = ? AND status = 'pending'";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_int64(s, 2, now);
	bind_int64(s, 3, id);
	int rc = store_exec_stmt(st, s, "delete webhook", error_r);
	if (rc != STORE_OK)
		return rc;
	if (store_changes(st) == 0)
		return STORE_NOT_FOUND;
	if ((s = store_stmt(st, fail, error_r)) == NULL)
		return STORE_ERROR;
	bind_text(s, 1, why);
	bind_int64(s, 2, now);
	bind_int64(s, 3, id);
	return store_exec_stmt(st, s, "fail deliveries", error_r);
}

/* ---------------------------------------------------------- deliveries */

static const char *const delivery_statuses[] = {NULL, "pending", "sending", "delivered",
						"failed"};

const char *delivery_status_str(enum delivery_status s)
{
	return s >= DELIVERY_PENDING && s <= DELIVERY_FAILED ? delivery_statuses[s] : "unknown";
}

static int delivery_status_index(const char *s)
{
	for (int i = DELIVERY_PENDING; i <= DELIVERY_FAILED; i++)
		if (strcmp(s, delivery_statuses[i]) == 0)
			return i;
	return -1;
}

int store_delivery_due(struct store *st, int64_t now, int *due_r, const char **error_r)
{
	static const char sql[] = "SELECT EXISTS (SELECT 1 FROM deliveries"
				  " WHERE status = 'pending' AND next_attempt_at <= ?)";
	struct stmt *s = store_stmt(st, sql, error_r);
	int64_t n = 0;
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	int rc = store_count(st, s, &n, "deliveries due", error_r);
	*due_r = n != 0;
	return rc;
}

int store_delivery_claim(struct store *st, int64_t now, size_t max, struct delivery *out,
			 size_t *n_r, const char **error_r)
{
	static const char sql[] =
		"WITH due AS MATERIALIZED (SELECT id FROM deliveries WHERE status = 'pending'"
		" AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2" SKIP_LOCKED ")"
		" UPDATE deliveries SET status = 'sending', attempts = attempts + 1, claimed_by = ?3"
		" WHERE id IN (SELECT id FROM due) AND status = 'pending'"
		" RETURNING id, webhook_id, event_id, attempts, next_attempt_at, expires_at,"
		" created_at";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, (int64_t)max);
	bind_text(s, 3, store_process_id());
	int rc;
	*n_r = 0;
	while ((rc = store_step(s)) == STEP_ROW) {
		if (*n_r == max) /* the CTE picks at most max: see store_outbox_claim */
			msg_panic("store: a claim of %zu deliveries returned more", max);
		struct delivery *d = &out[(*n_r)++];
		memset(d, 0, sizeof(*d));
		d->id = col_int64(s, 0);
		d->webhook_id = col_int64(s, 1);
		d->event_id = col_int64(s, 2);
		d->status = DELIVERY_SENDING;
		d->attempts = col_int(s, 3);
		d->next_attempt_at = col_int64(s, 4);
		d->expires_at = col_int64(s, 5);
		d->created_at = col_int64(s, 6);
	}
	store_reset(s);
	if (rc != STEP_DONE) {
		*n_r = 0;
		*error_r = store_err(st, "claim deliveries");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_delivery_result(struct store *st, int64_t id, enum delivery_status from,
			  enum delivery_status to, int http_status, const char *error,
			  int64_t next_at, int64_t now, const char **error_r)
{
	static const char sql[] =
		"UPDATE deliveries SET status = ?1, last_status = ?2, last_error = ?3,"
		" next_attempt_at = ?4,"
		" done_at = CASE WHEN ?1 IN ('delivered','failed') THEN ?5 END"
		" WHERE id = ?6 AND status = ?7 AND (status <> 'sending' OR claimed_by = ?8)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, delivery_status_str(to));
	bind_int64(s, 2, http_status);
	bind_text(s, 3, error ? error : "");
	bind_int64(s, 4, next_at);
	bind_int64(s, 5, now);
	bind_int64(s, 6, id);
	bind_text(s, 7, delivery_status_str(from));
	bind_text(s, 8, store_process_id());
	int rc = store_exec_stmt(st, s, "record delivery", error_r);
	if (rc == STORE_OK && store_changes(st) == 0) {
		*error_r = errorf("delivery %lld is no longer %s", (long long)id,
				  delivery_status_str(from));
		return STORE_CONFLICT;
	}
	return rc;
}

int store_delivery_recover(struct store *st, int64_t now, int64_t alive_since, size_t *n_r,
			   const char **error_r)
{
	static const char sql[] =
		"UPDATE deliveries SET status = 'pending', next_attempt_at = ?1, claimed_by = ''"
		" WHERE status = 'sending' AND claimed_by <> ?2 AND claimed_by NOT IN"
		" (SELECT id FROM servers WHERE seen_at >= ?3)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_text(s, 2, store_process_id());
	bind_int64(s, 3, alive_since);
	int rc = store_exec_stmt(st, s, "recover deliveries", error_r);
	*n_r = rc == STORE_OK ? (size_t)store_changes(st) : 0;
	return rc;
}

int store_delivery_list(struct store *st, int64_t webhook_id, int64_t before_id, int limit,
			store_delivery_cb *cb, void *ctx, const char **error_r)
{
	static const char sql[] =
		"SELECT d.id, d.webhook_id, d.event_id, e.name, d.status, d.attempts,"
		" d.next_attempt_at, d.expires_at, d.last_status, d.last_error, d.created_at,"
		" coalesce(d.done_at, 0) FROM deliveries d JOIN events e ON e.id = d.event_id"
		" WHERE d.webhook_id = ?1 AND d.id < ?2 ORDER BY d.id DESC LIMIT ?3";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, webhook_id);
	bind_int64(s, 2, before_id > 0 ? before_id : INT64_MAX);
	bind_int64(s, 3, limit > 0 ? limit : 50);
	int rc;
	struct delivery d;
	while ((rc = store_step(s)) == STEP_ROW) {
		char status[16];
		memset(&d, 0, sizeof(d));
		d.id = col_int64(s, 0);
		d.webhook_id = col_int64(s, 1);
		d.event_id = col_int64(s, 2);
		col_text(s, 3, d.event_name, sizeof(d.event_name));
		col_text(s, 4, status, sizeof(status));
		int i = delivery_status_index(status);
		d.status = i > 0 ? (enum delivery_status)i : DELIVERY_FAILED;
		d.attempts = col_int(s, 5);
		d.next_attempt_at = col_int64(s, 6);
		d.expires_at = col_int64(s, 7);
		d.last_status = col_int(s, 8);
		col_text(s, 9, d.last_error, sizeof(d.last_error));
		d.created_at = col_int64(s, 10);
		d.done_at = col_int64(s, 11);
		if (cb(ctx, &d) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "list deliveries");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_delivery_counts(struct store *st, int64_t out[5], const char **error_r)
{
	static const char sql[] = "SELECT status, count(*) FROM deliveries GROUP BY status";
	return store_counts_by(st, sql, delivery_status_index, out, 5, "count deliveries",
			       error_r);
}
