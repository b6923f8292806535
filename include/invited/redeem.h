/*
 * redeem.h: what happens behind /l/{token} for invitations.
 * redeem_inspect() reads only: it checks the token and says what the page
 * should offer (a GET must never change state, or link scanners would
 * consume links). redeem_batch() accepts and declines: it uses each link
 * once, in one transaction with the relationships it creates and the
 * mails it queues.
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
	REDEEM_NOT_ADMIN,     /* the invitee address is not an admin address of
			         the organization that would accept */
	REDEEM_INVITER_INACTIVE, /* an organization of the invitation is not
				    approved (suspended, in review…) */
	REDEEM_CONFIRM_SENT,  /* not accepted yet: a confirmation link was
			         mailed to the invitee (a success: committed) */
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
	/* Accepting binds the acceptor only on proof that the person controls
	 * the invitee address (SPEC "Who may accept"): a confirmation link, or
	 * the invitation's own link while only the mail ever held it (queued or
	 * sent: the API shows the links of drafts and handed-off invitations
	 * only; and no reply, which may quote it, was relayed to the inviter).
	 * Otherwise accepting mails a confirmation first. A signed-in session
	 * of an admin user of the acceptor proves it too (by_session). */
	int proven;
	int by_session;
};

/*
 * An expired invitation link (claims from link_check's TOKEN_EXPIRED, or
 * an invitation past its time): o gets the invitation and its inviter
 * when the inviter can still send a new link (0), for the expired page's
 * "ask for a new link"; 1 when not (used, revoked, unknown); -1 on a
 * store error. Never writes.
 */
int redeem_expired_offer(const struct inv_env *env, const struct link_claims *claims,
			 struct offer *o, const char **error_r);

/*
 * Check the link row and invitation behind claims that link_check()
 * accepted; fill o. session_user: the user signed in on this request (0
 * for none). Never writes.
 */
enum redeem_status redeem_inspect(const struct inv_env *env,
				  const struct link_claims *claims, int64_t session_user,
				  struct offer *o, const char **detail_r);

struct accept_input {
	const char *customer_name; /* legal name for a new customer org */
};

/* One accept or decline of a batch. Accepting creates the relationship(s);
 * offer is filled as by redeem_inspect (with the acceptor org). */
struct redeem_item {
	struct link_claims claims;
	int accept;              /* else decline */
	int64_t session_user;    /* the signed-in user of the request, or 0 */
	struct accept_input in;  /* for accept; points into the caller's memory */
	int64_t now;
	enum redeem_status status; /* out */
	struct offer offer;        /* out */
	char detail[256];          /* out: what went wrong, for the log */
};

/*
 * Group commit: redeem every item in ONE transaction, each in a savepoint
 * of its own (one refused leaves the others as if it had not been tried,
 * and a link twice in a batch is used once), with one durable commit for
 * all. env->now is replaced by each item's. Should the commit fail, no
 * item succeeds.
 */
void redeem_batch(const struct inv_env *env, struct redeem_item *const *items, size_t n);

#endif
