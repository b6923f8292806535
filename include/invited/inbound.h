/*
 * inbound.h: acting on one message that came back to us, once.
 *
 * The message is classified (classify.h), matched to what we sent by its
 * tagged address or the returned Message-ID, acted on, and recorded in
 * the store, all in one transaction that also advances the mailbox's last
 * UID: a message is either handled and recorded, or neither. A message
 * already recorded (same mailbox, UIDVALIDITY and UID, or the same
 * Message-ID after a UIDVALIDITY change) is not acted on again.
 *
 * What is done, by class and tag, and the action recorded:
 *   permanent bounce of an invitation     -> invitation bounced, inviter
 *                                            mailed             "bounced"
 *   permanent bounce of a verification    -> verification bounced "bounced"
 *   delayed or temporary bounce, bounce of
 *   a notice, or of something closed     -> recorded        "bounce_noted"
 *   auto-reply (to any of our addresses)  -> recorded, never answered
 *                                                             "auto_reply"
 *   reply to verify+CODE, from the contact,
 *   authenticated                         -> contact verified "verified"
 *   reply to verify+CODE otherwise        -> recorded with why
 *                                                         "verify_ignored"
 *   reply to reply+CODE from the invited
 *   address, authenticated, within the
 *   day's relays                          -> relayed to the inviter
 *                                                                "relayed"
 *   reply to reply+CODE otherwise (another
 *   sender, not authenticated, over
 *   relay_per_day), or the inviter has no
 *   contact address                       -> recorded with why "reply_kept"
 *   anything else                         -> "unmatched"
 * Unmatched messages belong in the unmatched folder, the rest in the
 * processed folder.
 */
#ifndef INVITED_INBOUND_H
#define INVITED_INBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "enroll.h"
#include "store.h"

struct inbound_opts {
	/* authserv-ids whose Authentication-Results we believe, separated by
	 * blanks or commas (our own receiving MTA's; it must remove such
	 * headers that arrive with its id) */
	const char *trusted_authserv;
	int trust_relay;  /* replies prove the address without DKIM/DMARC */
	int relay_per_day; /* replies relayed per invitation in 24 hours */
};

/* Where a message is in the IMAP server. */
struct inbound_where {
	const char *mailbox;
	uint32_t uidvalidity;
	uint32_t uid;
};

struct inbound_outcome {
	struct inbound_row row;  /* what was recorded (or found recorded) */
	int duplicate;           /* 1: already handled before; nothing done */
	int unmatched;           /* 1: belongs in the unmatched folder */
};

/*
 * Handle one message. env->now is the time recorded. Returns 0 (see
 * out), or -1 with *error_r when the store failed: then nothing was
 * recorded and the message should be tried again later.
 */
int inbound_handle(const struct verifier_env *env, const struct inbound_opts *opts,
		   const struct inbound_where *where, const char *data, size_t len,
		   struct inbound_outcome *out, const char **error_r);

/*
 * The same in a transaction the caller opened (store_begin) and commits,
 * so that a batch of messages costs one commit. Nothing is committed or
 * rolled back here; after -1 the caller must roll back the transaction,
 * which may hold part of this message's work.
 */
int inbound_handle_in_tx(const struct verifier_env *env, const struct inbound_opts *opts,
			 const struct inbound_where *where, const char *data, size_t len,
			 struct inbound_outcome *out, const char **error_r);

/* Record a message that is not read at all (too large, say) as unmatched,
 * with the reason; the same duplicate rules apply. */
int inbound_skip(const struct verifier_env *env, const struct inbound_where *where,
		 const char *reason, struct inbound_outcome *out,
		 const char **error_r);

/*
 * Whether the Authentication-Results show that from_addr's domain sent
 * this reply: a dkim=pass whose header.d is that domain or a parent of it,
 * or a dmarc=pass for it, given by a trusted authserv-id. Only the
 * topmost results of a trusted server count. *why_r says what was found.
 */
int inbound_authentic(const struct classify_result *res, const char *trusted_authserv,
		      const char **why_r);

#endif
