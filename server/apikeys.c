/*
 * apikeys.c: API keys. The secret half is random and shown once; the
 * store keeps only its BLAKE2b hash, compared in constant time.
 */
#include <sodium.h>
#include <string.h>

#include "invited/api.h"
#include "invited/log.h"

#define SECRET_RAW 32

static void hash_secret(const char *secret, unsigned char out[APIKEY_HASH_LEN])
{
	crypto_generichash(out, APIKEY_HASH_LEN, (const unsigned char *)secret,
			   strlen(secret), NULL, 0);
}

static int key_event(struct store *st, int64_t org_id, int64_t id, const char *actor,
		     const char *name, const char *details, int64_t now, const char **error_r)
{
	return store_event_on(st, now, org_id, 0, actor, name, "apikey", id, details, error_r) ==
			       STORE_OK
		       ? 0
		       : -1;
}

int apikey_create(struct store *st, int64_t org_id, enum key_role role,
		  const char *label, const char *actor, int64_t now,
		  char text[APIKEY_TEXT_LEN + 1], int64_t *id_r, const char **error_r)
{
	unsigned char raw_id[APIKEY_ID_LEN / 2], raw[SECRET_RAW];
	char secret[sodium_base64_ENCODED_LEN(SECRET_RAW,
					      sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	struct apikey k = {.org_id = org_id, .role = role, .created_at = now};

	randombytes_buf(raw_id, sizeof(raw_id));
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(k.key_id, sizeof(k.key_id), raw_id, sizeof(raw_id));
	sodium_bin2base64(secret, sizeof(secret), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	hash_secret(secret, k.hash);
	snprintf(k.label, sizeof(k.label), "%s", label ? label : "");
	if (store_apikey_insert(st, &k, error_r) != STORE_OK ||
	    key_event(st, org_id, k.id, actor, "apikey.created",
		      errorf("role=%s%s%s", key_role_str(role), k.label[0] ? " label=" : "",
			     k.label),
		      now, error_r) < 0)
		return -1;
	snprintf(text, APIKEY_TEXT_LEN + 1, "ik_%s_%s", k.key_id, secret);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(raw, sizeof(raw));
	if (id_r != NULL)
		*id_r = k.id;
	return 0;
}

int apikey_revoke(struct store *st, int64_t org_id, int64_t id, const char *actor,
		  int64_t now, const char **error_r)
{
	int rc = store_apikey_revoke(st, org_id, id, now, error_r);
	if (rc == STORE_NOT_FOUND) {
		*error_r = "no such key";
		return 1;
	}
	if (rc != STORE_OK)
		return -1;
	return key_event(st, org_id, id, actor, "apikey.revoked", NULL, now, error_r);
}

static int unauthorized(struct fault *f, const char *why)
{
	return fault_set(f, 401, "unauthorized", NULL, why);
}

int apikey_check(struct store *st, const char *authorization, struct caller *c,
		 struct fault *f)
{
	char key_id[APIKEY_ID_LEN + 1];
	unsigned char hash[APIKEY_HASH_LEN];
	struct apikey k;
	const char *err;

	memset(c, 0, sizeof(*c));
	if (authorization == NULL)
		return unauthorized(f, "an API key is required: Authorization: Bearer <key>");
	if (strncmp(authorization, "Bearer ", 7) != 0)
		return unauthorized(f, "use Authorization: Bearer <key>");
	const char *text = authorization + 7;
	if (strlen(text) != APIKEY_TEXT_LEN ||
	    strncmp(text, "ik_", 3) != 0 || text[3 + APIKEY_ID_LEN] != '_')
		return unauthorized(f, "that is not an invited API key");
	memcpy(key_id, text + 3, APIKEY_ID_LEN);
	key_id[APIKEY_ID_LEN] = '\0';
	int rc = store_apikey_find(st, key_id, &k, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	hash_secret(text + 4 + APIKEY_ID_LEN, hash);
	if (rc != STORE_OK || sodium_memcmp(hash, k.hash, APIKEY_HASH_LEN) != 0)
		return unauthorized(f, "unknown API key");
	if (k.revoked)
		return unauthorized(f, "this API key was revoked");
	c->authenticated = 1;
	c->role = k.role;
	c->org_id = k.org_id;
	snprintf(c->actor, sizeof(c->actor), "apikey:%lld", (long long)k.id);
	return 0;
}
