/*
 * verify.h: proving that an enrolling organization's primary contact
 * address is real and theirs. A verification is a row with a link (purpose
 * verify_contact) and a reply code (verify+CODE@reply_domain): following
 * the link and confirming, or an authenticated reply, verifies it once.
 * A new verification supersedes the pending ones, so only the newest mail
 * works. Verifying moves the enrollment to in_review and tells the contact.
 */
#ifndef INVITED_VERIFY_H
#define INVITED_VERIFY_H

#include <stdint.h>

#include "enroll.h"
#include "fault.h"
#include "store.h"

/*
 * The lifecycle (verifier/verification_state.c owns it): only a pending
 * verification moves, and every move is final.
 *   verify     pending -> verified    (its link, or an authenticated reply)
 *   supersede  pending -> superseded  (a newer mail, or the enrollment ended)
 *   bounce     pending -> bounced     (its mail did not arrive)
 */
enum verif_event { VERIF_EV_VERIFY = 1, VERIF_EV_SUPERSEDE, VERIF_EV_BOUNCE, VERIF_EV_COUNT };

const char *verif_event_name(enum verif_event ev);
/* The status a verification in `from` goes to on ev; -1: refused. */
int verification_transition(enum verif_status from, enum verif_event ev);

/*
 * The one way to change a verification's status, in the caller's
 * transaction: the conditional UPDATE (with how it was proven, or why it
 * ended), its link revoked, the event. v (loaded in this transaction)
 * follows. 0; 1 when refused, with *error_r; -1 on a store error.
 */
int verification_apply(const struct verifier_env *env, struct verification *v,
		       enum verif_event ev, const char *method, const char *reason,
		       const char **error_r);

/* Its mail did not arrive (reason: the server's words): verification_apply
 * with bounce, on the verification's id. */
int verification_bounced(const struct verifier_env *env, int64_t id, const char *reason,
			 const char **error_r);

/* Supersede every pending verification of the organization; *n_r how
 * many. */
int verification_supersede_all(const struct verifier_env *env, int64_t org_id, size_t *n_r,
			       const char **error_r);

/*
 * Start a verification for org (pending_verification): supersede the
 * pending ones, store a new one with its link, queue the mail. Runs in the
 * caller's transaction. v_r (may be NULL) gets the new row.
 */
int verify_start(const struct verifier_env *env, const struct org *o,
		 struct verification *v_r, const char **error_r);

/*
 * Whether one more verification mail may go to email now: at most
 * env->recipient_limit an hour, from all enrollments. 0 when it may, else
 * the seconds to wait (at least 1); -1 on a store error.
 */
int64_t verify_recipient_wait(const struct verifier_env *env, const char *email,
			      const char **error_r);

/*
 * POST /enrollments/{id}/resend-verification: a new mail and link, the
 * old link dead, when the enrollment still waits for its contact, its last
 * mail is older than the resend interval and its address is under its
 * hourly limit. Anyone may ask, so the answer says nothing of the
 * enrollment: 0 whether or not a mail was queued (*queued_r tells the
 * caller, for the log), -1 with a 500 fault on a store error.
 */
int verify_resend(const struct verifier_env *env, int64_t org_id, int *queued_r,
		  struct fault *f);

/* Why a verification link cannot be used. */
enum verify_status {
	VERIFY_OK = 0,
	VERIFY_UNKNOWN,  /* well signed but not in our store */
	VERIFY_USED,     /* the address is already verified */
	VERIFY_REPLACED, /* a newer mail was sent: its link is the one */
	VERIFY_CLOSED,   /* the enrollment was decided, or the mail bounced */
	VERIFY_EXPIRED,  /* too late: ask for a new mail */
	VERIFY_REFUSED,  /* a reply that does not prove the address */
	VERIFY_INTERNAL,
};

const char *verify_status_code(enum verify_status s); /* for the error page */
int verify_status_http(enum verify_status s);

/* What the verification page shows. */
struct verify_view {
	struct verification v;
	struct org org;
};

/* Read only: is the link behind jti usable, and for whom. */
enum verify_status verify_inspect(const struct verifier_env *env,
				  const char *jti, struct verify_view *view);

/* Use the link once: the contact is verified, the enrollment in review,
 * the contact mailed. */
enum verify_status verify_confirm(const struct verifier_env *env,
				  const char *jti, struct verify_view *view);

/*
 * A reply to verify+CODE: verifies when from_addr is the contact address
 * and the caller found the reply authentic. Returns VERIFY_OK when this
 * reply verified it; otherwise why not (reason_r says it in words). Runs
 * in the caller's transaction (the IMAP reader records the message in the
 * same one); on VERIFY_INTERNAL the caller rolls back.
 */
enum verify_status verify_by_reply(const struct verifier_env *env,
				   const char *code, const char *from_addr,
				   struct verify_view *view,
				   const char **reason_r);

#endif
