/*
 * redeem.h: what happens behind /l/{token} for invitations.
 * redeem_inspect() reads only: it checks the token and says what the page
 * should offer (a GET must never change state, or link scanners would
 * consume links). redeem_accept() and redeem_decline() use the link once,
 * in one transaction with the relationships they create and the mails
 * they queue.
 */
#ifndef INVITED_REDEEM_H
#define INVITED_REDEEM_H

#include <stdint.h>

#include "invitation.h"
#include "link.h"

/* Why a link cannot be used, one per page the visitor may see. */
enum redeem_status {
	REDEEM_OK = 0,
	REDEEM_MALFORMED,     /* not a link of ours, or damaged */
	REDEEM_TAMPERED,      /* signature does not match */
	REDEEM_UNKNOWN_KEY,   /* signed by a key we do not hold */
	REDEEM_WRONG_PURPOSE, /* a link for something else */
	REDEEM_EXPIRED,
	REDEEM_USED,          /* already accepted or declined */
	REDEEM_REVOKED,       /* withdrawn by the inviter, or replaced by a resend */
	REDEEM_UNKNOWN,       /* well signed but not in our store */
	REDEEM_CLOSED,        /* the invitation is no longer open (bounced…) */
	REDEEM_NO_ACCEPTOR,   /* indirect_provider: no approved reseller yet */
	REDEEM_NOT_ALLOWED,   /* a rule forbids it now (relationship gone…) */
	REDEEM_BAD_INPUT,     /* the form lacks what accepting needs */
	REDEEM_INTERNAL,
};

const char *redeem_status_code(enum redeem_status s); /* "expired", … */
int redeem_status_http(enum redeem_status s);         /* 400, 404, 409, 410, 500 */

/* Map a token check to a redeem status. */
enum redeem_status redeem_from_token(enum token_status ts);

/* Everything a consent page shows. */
struct offer {
	struct link_claims claims;
	struct invitation inv;    /* without bodies */
	struct org inviter;
	struct org provider;      /* reseller_with_provider */
	struct org acceptor;      /* the org that would accept, when known */
	int has_acceptor;
};

/*
 * Check the link row and invitation behind claims that link_check()
 * accepted; fill o. Never writes.
 */
enum redeem_status redeem_inspect(const struct inv_env *env,
				  const struct link_claims *claims,
				  struct offer *o, const char **detail_r);

struct accept_input {
	const char *customer_name; /* legal name for a new customer org */
};

/* Accept: uses the link and creates the relationship(s). o is filled as by
 * redeem_inspect (with the acceptor org). */
enum redeem_status redeem_accept(const struct inv_env *env,
				 const struct link_claims *claims,
				 const struct accept_input *in, struct offer *o,
				 const char **detail_r);
enum redeem_status redeem_decline(const struct inv_env *env,
				  const struct link_claims *claims,
				  struct offer *o, const char **detail_r);

#endif
