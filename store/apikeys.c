/*
 * apikeys.c: API keys, stored as an id and a hash of the secret, never
 * the secret itself.
 */
#include "store_int.h"

int store_apikey_insert(struct store *st, struct apikey *k, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO api_keys (key_id, hash, org_id, role, label, created_at)"
		" VALUES (?, ?, ?, ?, ?, ?) RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, k->key_id);
	bind_blob(s, 2, k->hash, APIKEY_HASH_LEN);
	bind_id(s, 3, k->org_id);
	bind_text(s, 4, key_role_str(k->role));
	bind_text(s, 5, k->label);
	bind_int64(s, 6, k->created_at);
	int rc = store_insert(st, s, &k->id, "insert api key", error_r);
	return rc;
}

#define APIKEY_COLUMNS                                                          \
	"id, key_id, hash, coalesce(org_id, 0), role, label, created_at,"       \
	" revoked_at IS NOT NULL"

static void read_apikey(struct stmt *s, void *out)
{
	struct apikey *k = out;
	char role[32];
	memset(k, 0, sizeof(*k));
	k->id = col_int64(s, 0);
	col_text(s, 1, k->key_id, sizeof(k->key_id));
	if (col_bytes(s, 2) == APIKEY_HASH_LEN)
		memcpy(k->hash, col_blob(s, 2), APIKEY_HASH_LEN);
	k->org_id = col_int64(s, 3);
	col_text(s, 4, role, sizeof(role));
	key_role_parse(role, &k->role);
	col_text(s, 5, k->label, sizeof(k->label));
	k->created_at = col_int64(s, 6);
	k->revoked = col_int(s, 7);
}

int store_apikey_find(struct store *st, const char *key_id, struct apikey *k,
		      const char **error_r)
{
	static const char sql[] = "SELECT " APIKEY_COLUMNS " FROM api_keys WHERE key_id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, key_id);
	return store_one_row(st, s, read_apikey, k, "find api key", error_r);
}

int store_apikey_list(struct store *st, int64_t org_id, store_apikey_cb *cb, void *ctx,
		      const char **error_r)
{
	static const char sql[] = "SELECT " APIKEY_COLUMNS " FROM api_keys"
				  " WHERE (org_id = ?1 OR (?1 = 0 AND org_id IS NULL))"
				  " AND revoked_at IS NULL ORDER BY id DESC LIMIT 200";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	int rc;
	struct apikey k;
	while ((rc = store_step(s)) == STEP_ROW) {
		read_apikey(s, &k);
		if (cb(ctx, &k) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "list api keys");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_apikey_revoke(struct store *st, int64_t org_id, int64_t id, int64_t now,
			const char **error_r)
{
	static const char sql[] = "UPDATE api_keys SET revoked_at = ? WHERE id = ?"
				  " AND coalesce(org_id, 0) = ? AND revoked_at IS NULL";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, id);
	bind_int64(s, 3, org_id);
	int rc = store_exec_stmt(st, s, "revoke api key", error_r);
	if (rc == STORE_OK && store_changes(st) == 0)
		return STORE_NOT_FOUND;
	return rc;
}
