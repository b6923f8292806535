/*
 * users.c: an organization's people and their sessions. A session row is
 * found by a hash of the session id; the id itself lives only in the
 * person's cookie, so a copy of the database signs no one in.
 */
#include "store_int.h"

#define USER_COLUMNS                                                          \
	"id, coalesce(org_id, 0), email, name, role, status, locale, created_at, updated_at"

static void user_row(struct stmt *s, void *out)
{
	struct user *u = out;
	char role[32], status[32];
	memset(u, 0, sizeof(*u));
	u->id = col_int64(s, 0);
	u->org_id = col_int64(s, 1);
	col_text(s, 2, u->email, sizeof(u->email));
	col_text(s, 3, u->name, sizeof(u->name));
	col_text(s, 4, role, sizeof(role));
	col_text(s, 5, status, sizeof(status));
	col_text(s, 6, u->locale, sizeof(u->locale));
	u->created_at = col_int64(s, 7);
	u->updated_at = col_int64(s, 8);
	if (key_role_parse(role, &u->role) < 0)
		u->role = ROLE_SALES_AGENT; /* the table's CHECK allows no other */
	if (user_status_parse(status, &u->status) < 0)
		u->status = USER_REMOVED;
	if (u->org_id == 0 && u->role != ROLE_OPERATOR)
		u->status = USER_REMOVED; /* the CHECK allows no such row either */
}

/* One user from a bound statement. */
static int one_user(struct store *st, struct stmt *s, struct user *u, const char **error_r)
{
	return store_one_row(st, s, user_row, u, "get user", error_r);
}

int store_user_insert(struct store *st, struct user *u, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO users (org_id, email, name, role, status, locale, created_at,"
		" updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_id(s, 1, u->org_id); /* NULL for an operator */
	bind_text(s, 2, u->email);
	bind_text(s, 3, u->name);
	bind_text(s, 4, key_role_str(u->role));
	bind_text(s, 5, user_status_str(u->status));
	bind_text(s, 6, u->locale);
	bind_int64(s, 7, u->created_at);
	bind_int64(s, 8, u->updated_at);
	int rc = store_insert(st, s, &u->id, "insert user", error_r);
	return rc;
}

int store_user_get(struct store *st, int64_t id, struct user *u, const char **error_r)
{
	static const char sql[] = "SELECT " USER_COLUMNS " FROM users WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	return one_user(st, s, u, error_r);
}

int store_user_by_email(struct store *st, int64_t org_id, const char *email,
			struct user *u, const char **error_r)
{
	static const char sql[] =
		"SELECT " USER_COLUMNS " FROM users WHERE coalesce(org_id, 0) = ? AND email = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_text(s, 2, email);
	return one_user(st, s, u, error_r);
}

int store_user_list(struct store *st, int64_t org_id, const char *email, store_user_cb *cb,
		    void *ctx, const char **error_r)
{
	static const char sql[] =
		"SELECT " USER_COLUMNS " FROM users WHERE (?1 = 0 OR coalesce(org_id, 0) = ?1"
		" OR (?1 = -1 AND org_id IS NULL))"
		" AND (?2 IS NULL OR email = ?2) AND (?1 != 0 OR ?2 IS NOT NULL) ORDER BY id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_text(s, 2, email);
	int rc;
	while ((rc = store_step(s)) == STEP_ROW) {
		struct user u;
		user_row(s, &u);
		if (cb(ctx, &u) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "list users");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_user_set(struct store *st, int64_t id, enum user_status from, enum key_role role,
		   enum user_status to, int64_t now, const char **error_r)
{
	static const char sql[] = "UPDATE users SET role = ?, status = ?, updated_at = ?"
				  " WHERE id = ? AND status = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, key_role_str(role));
	bind_text(s, 2, user_status_str(to));
	bind_int64(s, 3, now);
	bind_int64(s, 4, id);
	bind_text(s, 5, user_status_str(from));
	int rc = store_exec_stmt(st, s, "change user", error_r);
	if (rc == STORE_OK && store_changes(st) != 1) {
		*error_r = "the user changed meanwhile";
		return STORE_CONFLICT;
	}
	return rc;
}

int store_session_insert(struct store *st, const struct session *x, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO sessions (hash, user_id, created_at, seen_at, expires_at)"
		" VALUES (?, ?, ?, ?, ?)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_blob(s, 1, x->hash, SESSION_HASH_LEN);
	bind_int64(s, 2, x->user_id);
	bind_int64(s, 3, x->created_at);
	bind_int64(s, 4, x->seen_at);
	bind_int64(s, 5, x->expires_at);
	return store_exec_stmt(st, s, "insert session", error_r);
}

static void session_row(struct stmt *s, void *out)
{
	struct session *x = out;
	memset(x, 0, sizeof(*x));
	x->user_id = col_int64(s, 0);
	x->created_at = col_int64(s, 1);
	x->seen_at = col_int64(s, 2);
	x->expires_at = col_int64(s, 3);
	x->ended = col_int(s, 4);
}

int store_session_get(struct store *st, const unsigned char hash[SESSION_HASH_LEN],
		      struct session *x, const char **error_r)
{
	static const char sql[] =
		"SELECT user_id, created_at, seen_at, expires_at, ended_at IS NOT NULL"
		" FROM sessions WHERE hash = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_blob(s, 1, hash, SESSION_HASH_LEN);
	int rc = store_one_row(st, s, session_row, x, "get session", error_r);
	if (rc == STORE_OK)
		memcpy(x->hash, hash, SESSION_HASH_LEN);
	return rc;
}

/* An UPDATE of one live session by its hash, with `now` bound first. */
static int session_update(struct store *st, const char *sql, const unsigned char *hash,
			  int64_t now, const char *what, const char **error_r)
{
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_blob(s, 2, hash, SESSION_HASH_LEN);
	int rc = store_exec_stmt(st, s, what, error_r);
	if (rc == STORE_OK && store_changes(st) != 1) {
		*error_r = "no such live session";
		return STORE_NOT_FOUND;
	}
	return rc;
}

int store_session_touch(struct store *st, const unsigned char hash[SESSION_HASH_LEN],
			int64_t now, const char **error_r)
{
	static const char sql[] =
		"UPDATE sessions SET seen_at = ? WHERE hash = ? AND ended_at IS NULL";
	return session_update(st, sql, hash, now, "touch session", error_r);
}

int store_session_end(struct store *st, const unsigned char hash[SESSION_HASH_LEN],
		      int64_t now, const char **error_r)
{
	static const char sql[] =
		"UPDATE sessions SET ended_at = ? WHERE hash = ? AND ended_at IS NULL";
	return session_update(st, sql, hash, now, "end session", error_r);
}

int store_session_end_all(struct store *st, int64_t user_id, int64_t now, size_t *n_r,
			  const char **error_r)
{
	static const char sql[] =
		"UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, user_id);
	int rc = store_exec_stmt(st, s, "end sessions", error_r);
	*n_r = rc == STORE_OK ? (size_t)store_changes(st) : 0;
	return rc;
}

int store_user_admins(struct store *st, int64_t org_id, int64_t except_id, int64_t *n_r,
		      const char **error_r)
{
	static const char sql[] = "SELECT count(*) FROM users WHERE org_id = ? AND id != ?"
				  " AND role = 'admin_agent' AND status = 'active'";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_int64(s, 2, except_id);
	return store_count(st, s, n_r, "count admins", error_r);
}
