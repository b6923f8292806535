/*
 * verifications.c: primary-contact verifications. A new one supersedes
 * the pending ones of the same organization and kills their links, so
 * that only the newest mail can verify.
 */
#include "store_int.h"

#define VERIF_COLUMNS                                                          \
	"id, org_id, email, reply_code, jti, status, method, status_reason,"   \
	" expires_at, created_at, coalesce(verified_at, 0)"

static void read_verif(struct stmt *s, void *out)
{
	struct verification *v = out;
	char status[16];
	memset(v, 0, sizeof(*v));
	v->id = col_int64(s, 0);
	v->org_id = col_int64(s, 1);
	col_text(s, 2, v->email, sizeof(v->email));
	col_text(s, 3, v->reply_code, sizeof(v->reply_code));
	col_text(s, 4, v->jti, sizeof(v->jti));
	col_text(s, 5, status, sizeof(status));
	if (verif_status_parse(status, &v->status) < 0)
		v->status = 0;
	col_text(s, 6, v->method, sizeof(v->method));
	col_text(s, 7, v->status_reason, sizeof(v->status_reason));
	v->expires_at = col_int64(s, 8);
	v->created_at = col_int64(s, 9);
	v->verified_at = col_int64(s, 10);
}

static int get_one(struct store *st, struct stmt *s, struct verification *v,
		   const char **error_r)
{
	return store_one_row(st, s, read_verif, v, "get verification", error_r);
}

int store_verif_insert(struct store *st, struct verification *v, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO verifications (org_id, email, reply_code, jti, status,"
		" expires_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?) RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, v->org_id);
	bind_text(s, 2, v->email);
	bind_text(s, 3, v->reply_code);
	bind_text(s, 4, v->jti);
	bind_int64(s, 5, v->expires_at);
	bind_int64(s, 6, v->created_at);
	int rc = store_insert(st, s, &v->id, "insert verification", error_r);
	if (rc == STORE_OK)
		v->status = VERIF_PENDING;
	return rc;
}

int store_verif_get(struct store *st, int64_t id, struct verification *v,
		    const char **error_r)
{
	static const char sql[] = "SELECT " VERIF_COLUMNS " FROM verifications WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	return get_one(st, s, v, error_r);
}

int store_verif_by_reply_code(struct store *st, const char *code, struct verification *v,
			      const char **error_r)
{
	static const char sql[] =
		"SELECT " VERIF_COLUMNS " FROM verifications WHERE reply_code = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, code);
	return get_one(st, s, v, error_r);
}

int store_verif_latest(struct store *st, int64_t org_id, struct verification *v,
		       const char **error_r)
{
	static const char sql[] = "SELECT " VERIF_COLUMNS " FROM verifications"
				  " WHERE org_id = ? ORDER BY id DESC LIMIT 1";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	return get_one(st, s, v, error_r);
}

int store_verif_count_to(struct store *st, const char *email, int64_t since, int *n_r,
			 const char **error_r)
{
	static const char sql[] = "SELECT count(*) FROM verifications"
				  " WHERE email = ? AND created_at >= ?";
	int64_t n;
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, email);
	bind_int64(s, 2, since);
	int rc = store_count(st, s, &n, "count verifications", error_r);
	*n_r = (int)n;
	return rc;
}


int store_verif_set_jti(struct store *st, int64_t id, const char *jti, const char **error_r)
{
	static const char sql[] = "UPDATE verifications SET jti = ? WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, jti);
	bind_int64(s, 2, id);
	return store_exec_stmt(st, s, "set verification link", error_r);
}

int store_verif_finish(struct store *st, int64_t id, enum verif_status from,
		       enum verif_status to, const char *method, const char *reason,
		       int64_t now, const char **error_r)
{
	static const char sql[] =
		"UPDATE verifications SET status = ?, method = ?, status_reason = ?,"
		" verified_at = CASE WHEN ? = 'verified' THEN ? END"
		" WHERE id = ? AND status = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, verif_status_str(to));
	bind_text(s, 2, method ? method : "");
	bind_text(s, 3, reason ? reason : "");
	bind_text(s, 4, verif_status_str(to));
	bind_int64(s, 5, now);
	bind_int64(s, 6, id);
	bind_text(s, 7, verif_status_str(from));
	int rc = store_exec_stmt(st, s, "finish verification", error_r);
	if (rc == STORE_OK && store_changes(st) == 0) {
		*error_r = errorf("the verification is no longer %s", verif_status_str(from));
		return STORE_CONFLICT;
	}
	return rc;
}

int store_verif_pending(struct store *st, int64_t org_id, struct verification *v,
			const char **error_r)
{
	static const char sql[] = "SELECT " VERIF_COLUMNS " FROM verifications"
				  " WHERE org_id = ? AND status = 'pending' ORDER BY id DESC LIMIT 1";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	return get_one(st, s, v, error_r);
}
