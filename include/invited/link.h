/*
 * link.h: link tokens as the server issues and checks them.
 * A link is {public_url}/l/{token}; the token is a PASETO v4.public token
 * whose claims are jti (128 random bits), pur (the purpose), iat and exp
 * (RFC 3339) and aud (the public URL), with footer {"kid": …}. It carries
 * no personal data: the links row in the store says what it is for and
 * whether it may still be used.
 */
#ifndef INVITED_LINK_H
#define INVITED_LINK_H

#include <stdint.h>

#include "keys.h"
#include "limits.h"
#include "store.h"
#include "token.h"

enum link_purpose {
	PUR_INDIRECT_PROVIDER = 1,
	PUR_RESELLER,
	PUR_RESELLER_WITH_PROVIDER,
	PUR_VERIFY_CONTACT,
	PUR_CONFIRM_ACCEPT, /* a confirmation mailed to an invitee (subject: invitation) */
	PUR_SIGN_IN,        /* a one-time sign-in (subject: user) */
	PUR_JOIN_ORG,       /* an admin's invitation to become a user (subject: user) */
};

const char *link_purpose_str(enum link_purpose pur);
int link_purpose_parse(const char *s, enum link_purpose *pur_r);
/* The purpose of an invitation kind's link. */
enum link_purpose link_purpose_of(enum inv_kind kind);

struct link_claims {
	char jti[MAX_CODE_LEN + 1];
	enum link_purpose purpose;
	int64_t iat;
	int64_t exp;
	char kid[MAX_KID_LEN + 1];
};

/* Mint a token without storing it. *token_r is malloc'd. */
int link_mint(const struct keyring *keys, const char *public_url,
	      enum link_purpose pur, int64_t now, int64_t lifetime,
	      struct link_claims *claims_r, char **token_r,
	      const char **error_r);

/*
 * Mint a token and record it in the store as live for subject_id (an
 * invitation or verification id), in the caller's transaction. row_r gets
 * the stored row (jti, token, kid, times).
 */
int link_issue(struct store *st, const struct keyring *keys,
	       const char *public_url, enum link_purpose pur,
	       int64_t subject_id, int64_t now, int64_t lifetime,
	       struct link_row *row_r, const char **error_r);

/*
 * Check a token's signature and claims: audience, issue and expiry times.
 * TOKEN_EXPIRED is reported only for a token that is otherwise valid, so
 * that an expired page never names a forged link as ours.
 */
enum token_status link_check(const struct keyring *keys, const char *public_url,
			     const char *token, int64_t now,
			     struct link_claims *claims_r, const char **error_r);

/* "{public_url}/l/{token}", malloc'd. */
char *link_url(const char *public_url, const char *token);

#endif
