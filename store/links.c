/*
 * links.c: the server-side state of link tokens. A token proves what it
 * says; this row says whether it may still be used, and makes redeeming
 * happen once: live -> used is a single conditional UPDATE.
 */
#include "store_int.h"

static const char *const link_states[] = {NULL, "live", "used", "revoked"};

int store_link_insert(struct store *st, const struct link_row *l,
		      const char **error_r)
{
	static const char sql[] =
		"INSERT INTO links (jti, purpose, subject_id, kid, token, issued_at,"
		" expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'live')";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, l->jti);
	bind_text(s, 2, l->purpose);
	bind_int64(s, 3, l->subject_id);
	bind_text(s, 4, l->kid);
	bind_text(s, 5, l->token);
	bind_int64(s, 6, l->issued_at);
	bind_int64(s, 7, l->expires_at);
	return store_exec_stmt(st, s, "insert link", error_r);
}

int store_link_get(struct store *st, const char *jti, struct link_row *l,
		   const char **error_r)
{
	static const char sql[] =
		"SELECT jti, purpose, subject_id, kid, token, issued_at, expires_at,"
		" state, coalesce(used_at, 0) FROM links WHERE jti = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, jti);
	int rc = store_step(s);
	if (rc == STEP_ROW) {
		char state[16];
		memset(l, 0, sizeof(*l));
		col_text(s, 0, l->jti, sizeof(l->jti));
		col_text(s, 1, l->purpose, sizeof(l->purpose));
		l->subject_id = col_int64(s, 2);
		col_text(s, 3, l->kid, sizeof(l->kid));
		col_text(s, 4, l->token, sizeof(l->token));
		l->issued_at = col_int64(s, 5);
		l->expires_at = col_int64(s, 6);
		col_text(s, 7, state, sizeof(state));
		for (int i = 1; i <= 3; i++)
			if (strcmp(state, link_states[i]) == 0)
				l->state = (enum link_state)i;
		l->used_at = col_int64(s, 8);
	}
	store_reset(s);
	if (rc == STEP_DONE)
		return STORE_NOT_FOUND;
	if (rc != STEP_ROW) {
		*error_r = store_err(st, "get link");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_link_use(struct store *st, const char *jti, int64_t now,
		   const char **error_r)
{
	static const char sql[] =
		"UPDATE links SET state = 'used', used_at = ?, token = ''"
		" WHERE jti = ? AND state = 'live'";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_text(s, 2, jti);
	int rc = store_exec_stmt(st, s, "use link", error_r);
	if (rc != STORE_OK)
		return rc;
	if (store_changes(st) != 1) {
		*error_r = "link is no longer live";
		return STORE_CONFLICT;
	}
	return STORE_OK;
}

int store_link_revoke(struct store *st, const char *jti, int64_t now,
		      const char **error_r)
{
	static const char sql[] =
		"UPDATE links SET state = 'revoked', used_at = ?, token = ''"
		" WHERE jti = ? AND state = 'live'";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_text(s, 2, jti);
	return store_exec_stmt(st, s, "revoke link", error_r);
}

int store_link_revoke_subject(struct store *st, const char *purpose, int64_t subject_id,
			      int64_t now, const char **error_r)
{
	static const char sql[] =
		"UPDATE links SET state = 'revoked', used_at = ?, token = ''"
		" WHERE purpose = ? AND subject_id = ? AND state = 'live'";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_text(s, 2, purpose);
	bind_int64(s, 3, subject_id);
	return store_exec_stmt(st, s, "revoke links", error_r);
}
