/*
 * invitations.c: invitation rows. Status changes are conditional on the
 * current status, so that two racing actors (a redeem and a revoke, say)
 * cannot both win.
 */
#include <stdlib.h>

#include "store_int.h"

#define INV_COLUMNS                                                            \
	"id, kind, status, inviter_org_id, coalesce(provider_org_id, 0),"      \
	" coalesce(accepted_org_id, 0), email, name, locale, message,"         \
	" status_reason, reply_code, jti, subject, edited, expires_at,"        \
	" created_at, updated_at"

void invitation_clear(struct invitation *inv)
{
	free(inv->body_text);
	free(inv->body_html);
	inv->body_text = inv->body_html = NULL;
}

static void read_invitation(struct stmt *s, struct invitation *inv)
{
	char buf[32];
	memset(inv, 0, sizeof(*inv));
	inv->id = col_int64(s, 0);
	col_text(s, 1, buf, sizeof(buf));
	inv_kind_parse(buf, &inv->kind);
	col_text(s, 2, buf, sizeof(buf));
	inv_status_parse(buf, &inv->status);
	inv->inviter_org_id = col_int64(s, 3);
	inv->provider_org_id = col_int64(s, 4);
	inv->accepted_org_id = col_int64(s, 5);
	col_text(s, 6, inv->email, sizeof(inv->email));
	col_text(s, 7, inv->name, sizeof(inv->name));
	col_text(s, 8, inv->locale, sizeof(inv->locale));
	col_text(s, 9, inv->message, sizeof(inv->message));
	col_text(s, 10, inv->status_reason, sizeof(inv->status_reason));
	col_text(s, 11, inv->reply_code, sizeof(inv->reply_code));
	col_text(s, 12, inv->jti, sizeof(inv->jti));
	col_text(s, 13, inv->subject, sizeof(inv->subject));
	inv->edited = col_int(s, 14);
	inv->expires_at = col_int64(s, 15);
	inv->created_at = col_int64(s, 16);
	inv->updated_at = col_int64(s, 17);
}

int store_invitation_insert(struct store *st, struct invitation *inv,
			    const char **error_r)
{
	static const char sql[] =
		"INSERT INTO invitations (kind, status, inviter_org_id,"
		" provider_org_id, email, name, locale, message, reply_code, jti,"
		" subject, body_text, body_html, expires_at, created_at, updated_at)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, inv_kind_str(inv->kind));
	bind_text(s, 2, inv_status_str(inv->status));
	bind_int64(s, 3, inv->inviter_org_id);
	bind_id(s, 4, inv->provider_org_id);
	bind_text(s, 5, inv->email);
	bind_text(s, 6, inv->name);
	bind_text(s, 7, inv->locale);
	bind_text(s, 8, inv->message);
	bind_text(s, 9, inv->reply_code);
	bind_text(s, 10, inv->jti);
	bind_text(s, 11, inv->subject);
	bind_text(s, 12, inv->body_text ? inv->body_text : "");
	bind_text(s, 13, inv->body_html ? inv->body_html : "");
	bind_int64(s, 14, inv->expires_at);
	bind_int64(s, 15, inv->created_at);
	bind_int64(s, 16, inv->created_at);
	int rc = store_insert(st, s, &inv->id, "insert invitation", error_r);
	return rc;
}

/* Run a one-row SELECT bound to an id or a text key. */
static int get_one(struct store *st, struct stmt *s, int with_bodies,
		   struct invitation *inv, const char **error_r)
{
	int rc = store_step(s);
	if (rc == STEP_ROW) {
		read_invitation(s, inv);
		if (with_bodies) {
			inv->body_text = col_strdup(s, 18);
			inv->body_html = col_strdup(s, 19);
		}
	}
	store_reset(s);
	if (rc == STEP_DONE)
		return STORE_NOT_FOUND;
	if (rc != STEP_ROW) {
		*error_r = store_err(st, "get invitation");
		return STORE_ERROR;
	}
	if (with_bodies && (inv->body_text == NULL || inv->body_html == NULL)) {
		invitation_clear(inv);
		*error_r = "out of memory";
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_invitation_get(struct store *st, int64_t id, int with_bodies,
			 struct invitation *inv, const char **error_r)
{
	static const char sql[] = "SELECT " INV_COLUMNS ", body_text, body_html"
				  " FROM invitations WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	return get_one(st, s, with_bodies, inv, error_r);
}

int store_invitation_by_reply_code(struct store *st, const char *code,
				   struct invitation *inv, const char **error_r)
{
	static const char sql[] = "SELECT " INV_COLUMNS ", body_text, body_html"
				  " FROM invitations WHERE reply_code = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, code);
	return get_one(st, s, 0, inv, error_r);
}

/*
 * The status names in a mask as ",draft,queued,": a status is in the mask
 * when instr() finds ",status," in it. (A json_each() subquery here built
 * a temporary table on every call.)
 */
static void mask_list(unsigned mask, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, ",");
	for (int i = INV_DRAFT; i <= INV_HANDED_OFF && n < size; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(buf + n, size - n, "%s,",
					      inv_status_str((enum inv_status)i));
}

int store_invitation_set_status(struct store *st, int64_t id, unsigned from_mask,
				enum inv_status to, const char *reason,
				int64_t now, const char **error_r)
{
	static const char sql[] =
		"UPDATE invitations SET status = ?, status_reason = ?, updated_at = ?"
		" WHERE id = ? AND instr(?, ',' || status || ',') > 0";
	char from[256];
	mask_list(from_mask, from, sizeof(from));
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, inv_status_str(to));
	bind_text(s, 2, reason ? reason : "");
	bind_int64(s, 3, now);
	bind_int64(s, 4, id);
	bind_text(s, 5, from);
	int rc = store_exec_stmt(st, s, "set invitation status", error_r);
	if (rc != STORE_OK)
		return rc;
	if (store_changes(st) == 0) {
		*error_r = "invitation is not in a state that allows this";
		return STORE_CONFLICT;
	}
	return STORE_OK;
}

int store_invitation_set_accepted_org(struct store *st, int64_t id,
				      int64_t org_id, const char **error_r)
{
	static const char sql[] =
		"UPDATE invitations SET accepted_org_id = ? WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_int64(s, 2, id);
	return store_exec_stmt(st, s, "set accepted org", error_r);
}

int store_invitation_set_content(struct store *st, int64_t id,
				 const char *subject, const char *text,
				 const char *html, int edited, const char *jti,
				 int64_t expires_at, int64_t now,
				 const char **error_r)
{
	static const char sql[] =
		"UPDATE invitations SET subject = ?, body_text = ?, body_html = ?,"
		" edited = ?, jti = coalesce(?, jti),"
		" expires_at = CASE WHEN ? > 0 THEN ? ELSE expires_at END,"
		" updated_at = ? WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, subject);
	bind_text(s, 2, text != NULL ? text : "");
	bind_text(s, 3, html != NULL ? html : "");
	bind_int64(s, 4, edited);
	bind_text(s, 5, jti);
	bind_int64(s, 6, expires_at);
	bind_int64(s, 7, expires_at);
	bind_int64(s, 8, now);
	bind_int64(s, 9, id);
	return store_exec_stmt(st, s, "set invitation content", error_r);
}

/*
 * Newest first, below the cursor. Each shape has its own statement, so
 * that it walks its index from the cursor down: one statement with
 * "(?2 IS NULL OR status = ?2) AND (?3 = 0 OR id < ?3)" could use neither
 * the status nor the cursor, and read an inviter's rows from the newest
 * on for every page.
 */
int store_invitation_list(struct store *st, const struct inv_filter *f,
			  store_inv_cb *cb, void *ctx, const char **error_r)
{
	static const char sql_any[] =
		"SELECT " INV_COLUMNS " FROM invitations WHERE inviter_org_id = ?1"
		" AND id < ?3 ORDER BY id DESC LIMIT ?4";
	static const char sql_status[] =
		"SELECT " INV_COLUMNS " FROM invitations WHERE inviter_org_id = ?1"
		" AND status = ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4";
	struct stmt *s = store_stmt(st, f->status > 0 ? sql_status : sql_any, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, f->inviter_org_id);
	bind_text(s, 2, f->status > 0 ? inv_status_str((enum inv_status)f->status) : NULL);
	bind_int64(s, 3, f->before_id > 0 ? f->before_id : INT64_MAX);
	bind_int64(s, 4, f->limit > 0 ? f->limit : 50);
	int rc;
	struct invitation inv;
	/* The callback must not use this connection: rows are read live. */
	while ((rc = store_step(s)) == STEP_ROW) {
		read_invitation(s, &inv);
		if (cb(ctx, &inv) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "list invitations");
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* Up to max ids a statement (bound: ?1 now, ?2 limit, ?3 extra) returns. */
static int ids_of(struct store *st, struct stmt *s, size_t max, int64_t *ids, size_t *n_r,
		  const char *what, const char **error_r)
{
	int rc;
	*n_r = 0;
	while (*n_r < max && (rc = store_step(s)) == STEP_ROW)
		ids[(*n_r)++] = col_int64(s, 0);
	if (*n_r == max)
		rc = STEP_DONE;
	store_reset(s);
	if (rc != STEP_DONE) {
		*error_r = store_err(st, what);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/*
 * The open statuses are the invitation lifecycle's (links/), spelled here
 * as the partial index invitations_open spells them, so that the sweep
 * reads only open invitations; tests/unit/test_lifecycle.c checks that
 * the two agree.
 */
int store_invitation_expiring(struct store *st, int64_t now, size_t max, int64_t *ids,
			      size_t *n_r, const char **error_r)
{
	static const char sql[] =
		"SELECT id FROM invitations WHERE expires_at <= ?1"
		" AND status IN ('draft','queued','sent','handed_off') LIMIT ?2";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, (int64_t)max);
	return ids_of(st, s, max, ids, n_r, "expiring invitations", error_r);
}

int store_invitation_reminding(struct store *st, int64_t now, int64_t before, size_t max,
			       int64_t *ids, size_t *n_r, const char **error_r)
{
	static const char sql[] =
		"SELECT id FROM invitations WHERE expires_at > ?1 AND expires_at <= ?1 + ?3"
		" AND status = 'sent' AND reminded_at IS NULL LIMIT ?2";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, (int64_t)max);
	bind_int64(s, 3, before);
	return ids_of(st, s, max, ids, n_r, "invitations to remind", error_r);
}

int store_invitation_set_reminded(struct store *st, int64_t id, int64_t now,
				  const char **error_r)
{
	static const char sql[] = "UPDATE invitations SET reminded_at = ? WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, id);
	return store_exec_stmt(st, s, "set reminded", error_r);
}

int store_invitation_reset_asks(struct store *st, int64_t id, const char **error_r)
{
	static const char sql[] =
		"UPDATE invitations SET reminded_at = NULL, asked_at = NULL WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	return store_exec_stmt(st, s, "reset asks", error_r);
}

int store_invitation_set_asked(struct store *st, int64_t id, int64_t now, int64_t interval,
			       const char **error_r)
{
	static const char sql[] = "UPDATE invitations SET asked_at = ?1 WHERE id = ?2"
				  " AND (asked_at IS NULL OR asked_at <= ?1 - ?3)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, id);
	bind_int64(s, 3, interval);
	int rc = store_exec_stmt(st, s, "set asked", error_r);
	if (rc == STORE_OK && store_changes(st) == 0)
		return STORE_CONFLICT;
	return rc;
}
