/*
 * link.c: issuing and checking link tokens. The claims are built and read
 * with jansson; the store row made in link_issue() is what makes a token
 * usable once and revocable.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "invited/link.h"
#include "invited/log.h"
#include "invited/rfc3339.h"

static const char *const purposes[] = {NULL, "indirect_provider", "reseller",
				       "reseller_with_provider", "verify_contact",
				       "confirm_accept", "sign_in", "join_org"};

const char *link_purpose_str(enum link_purpose pur)
{
	return pur >= PUR_INDIRECT_PROVIDER && pur <= PUR_JOIN_ORG
		       ? purposes[pur]
		       : "unknown";
}

int link_purpose_parse(const char *s, enum link_purpose *pur_r)
{
	for (int i = PUR_INDIRECT_PROVIDER; i <= PUR_JOIN_ORG; i++) {
		if (strcmp(s, purposes[i]) == 0) {
			*pur_r = (enum link_purpose)i;
			return 0;
		}
	}
	return -1;
}

enum link_purpose link_purpose_of(enum inv_kind kind)
{
	switch (kind) {
	case INV_INDIRECT_PROVIDER:
		return PUR_INDIRECT_PROVIDER;
	case INV_RESELLER:
		return PUR_RESELLER;
	case INV_RESELLER_WITH_PROVIDER:
		return PUR_RESELLER_WITH_PROVIDER;
	}
	msg_panic("link: unknown invitation kind %d", (int)kind);
}

char *link_url(const char *public_url, const char *token)
{
	size_t n = strlen(public_url) + strlen(token) + 4;
	char *url = malloc(n);
	if (url != NULL)
		snprintf(url, n, "%s/l/%s", public_url, token);
	return url;
}

/* 128 random bits as unpadded base64url: 22 characters. */
static void new_jti(char jti[MAX_CODE_LEN + 1])
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(jti, MAX_CODE_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int link_mint(const struct keyring *keys, const char *public_url,
	      enum link_purpose pur, int64_t now, int64_t lifetime,
	      struct link_claims *claims_r, char **token_r, const char **error_r)
{
	char iat[RFC3339_LEN + 1], exp[RFC3339_LEN + 1];
	memset(claims_r, 0, sizeof(*claims_r));
	new_jti(claims_r->jti);
	claims_r->purpose = pur;
	claims_r->iat = now;
	claims_r->exp = now + lifetime;

	json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:s}", "jti", claims_r->jti,
				   "pur", link_purpose_str(pur), "iat",
				   rfc3339_format(now, iat), "exp",
				   rfc3339_format(now + lifetime, exp), "aud", public_url);
	if (claims == NULL) {
		*error_r = "link: cannot build claims";
		return -1;
	}
	char payload[1024];
	size_t len = json_dumpb(claims, payload, sizeof(payload),
				JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(claims);
	if (len == 0 || len > sizeof(payload)) {
		*error_r = "link: claims too long";
		return -1;
	}
	if (keyring_sign(keys, (const unsigned char *)payload, len, token_r, error_r) < 0)
		return -1;
	const struct key_info *signer = keyring_key(keys, 0);
	snprintf(claims_r->kid, sizeof(claims_r->kid), "%s", signer->kid);
	return 0;
}

int link_issue(struct store *st, const struct keyring *keys,
	       const char *public_url, enum link_purpose pur, int64_t subject_id,
	       int64_t now, int64_t lifetime, struct link_row *row_r,
	       const char **error_r)
{
	struct link_claims claims;
	char *token;
	if (link_mint(keys, public_url, pur, now, lifetime, &claims, &token, error_r) < 0)
		return -1;
	memset(row_r, 0, sizeof(*row_r));
	if (strlen(token) > MAX_TOKEN_LEN) {
		free(token);
		*error_r = "link: token too long";
		return -1;
	}
	snprintf(row_r->jti, sizeof(row_r->jti), "%s", claims.jti);
	snprintf(row_r->purpose, sizeof(row_r->purpose), "%s", link_purpose_str(pur));
	snprintf(row_r->kid, sizeof(row_r->kid), "%s", claims.kid);
	snprintf(row_r->token, sizeof(row_r->token), "%s", token);
	free(token);
	row_r->subject_id = subject_id;
	row_r->issued_at = now;
	row_r->expires_at = now + lifetime;
	row_r->state = LINK_LIVE;
	return store_link_insert(st, row_r, error_r) == STORE_OK ? 0 : -1;
}

/* Read one claim that must be a string. */
static const char *claim_str(json_t *claims, const char *name)
{
	json_t *v = json_object_get(claims, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

enum token_status link_check(const struct keyring *keys, const char *public_url,
			     const char *token, int64_t now,
			     struct link_claims *claims_r, const char **error_r)
{
	unsigned char *payload;
	size_t len;
	memset(claims_r, 0, sizeof(*claims_r));
	enum token_status ts = keyring_verify(keys, token, &payload, &len,
					      claims_r->kid, error_r);
	if (ts != TOKEN_OK)
		return ts;

	json_error_t jerr;
	json_t *claims = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
	free(payload);
	const char *jti = NULL, *pur = NULL, *iat = NULL, *exp = NULL, *aud = NULL;
	if (claims != NULL && json_is_object(claims)) {
		jti = claim_str(claims, "jti");
		pur = claim_str(claims, "pur");
		iat = claim_str(claims, "iat");
		exp = claim_str(claims, "exp");
		aud = claim_str(claims, "aud");
	}
	ts = TOKEN_OK;
	if (jti == NULL || pur == NULL || iat == NULL || exp == NULL || aud == NULL ||
	    strlen(jti) > MAX_CODE_LEN || rfc3339_parse(iat, &claims_r->iat) < 0 ||
	    rfc3339_parse(exp, &claims_r->exp) < 0) {
		*error_r = "the token's claims are not those of an invited link";
		ts = TOKEN_BAD_CLAIMS;
	} else if (strcmp(aud, public_url) != 0) {
		*error_r = errorf("the token is for %s, not this server", aud);
		ts = TOKEN_WRONG_AUDIENCE;
	} else if (link_purpose_parse(pur, &claims_r->purpose) < 0) {
		*error_r = errorf("unknown purpose \"%s\"", pur);
		ts = TOKEN_WRONG_PURPOSE;
	} else if (claims_r->iat > now + LINK_CLOCK_SKEW) {
		*error_r = "the token was issued in the future";
		ts = TOKEN_NOT_YET_VALID;
	} else if (claims_r->exp <= now) {
		*error_r = "the token has expired";
		ts = TOKEN_EXPIRED;
	}
	if (jti != NULL && strlen(jti) <= MAX_CODE_LEN)
		snprintf(claims_r->jti, sizeof(claims_r->jti), "%s", jti);
	json_decref(claims);
	return ts;
}
