/*
 * invitation.h: the invitation lifecycle. An organization invites by
 * email; the server stores the invitation, issues its link, renders the
 * mail and either queues it (delivery "send") or keeps it as a draft the
 * inviter may edit, send, or hand off to its own mail client. Each change
 * is one transaction with the mail it causes and its audit line.
 */
#ifndef INVITED_INVITATION_H
#define INVITED_INVITATION_H

#include <stdint.h>

#include "fault.h"
#include "keys.h"
#include "mailer.h"
#include "outbox.h"
#include "store.h"

/*
 * The lifecycle (links/invitation_state.c owns it): what may happen to an
 * invitation, and the status each event leads to from each status.
 *   send      draft -> queued            (the inviter sends the draft)
 *   hand_off  draft -> handed_off        (the inviter sent it itself)
 *   resend    queued, sent, handed_off, bounced, expired -> queued
 *   deliver   queued -> sent             (the outbox: SMTP took the mail)
 *   bounce    queued, sent -> bounced    (the outbox or a DSN: it failed)
 *   accept    draft, queued, sent, handed_off -> accepted
 *   decline   the same -> declined
 *   expire    the same -> expired        (its link's lifetime is over)
 *   revoke    draft, queued, sent, handed_off, bounced -> revoked
 *   remind    sent -> sent               (one reminder mail, same link)
 * Anything else is refused. Accepted, declined and revoked are final.
 */
enum inv_event {
	INV_EV_SEND = 1,
	INV_EV_HAND_OFF,
	INV_EV_RESEND,
	INV_EV_DELIVER,
	INV_EV_BOUNCE,
	INV_EV_ACCEPT,
	INV_EV_DECLINE,
	INV_EV_EXPIRE,
	INV_EV_REVOKE,
	INV_EV_REMIND,
	INV_EV_COUNT
};

/* The event's name in the event log: "invitation.sent" for deliver… */
const char *inv_event_name(enum inv_event ev);
/* The status an invitation in `from` goes to on ev; -1: refused. */
int invitation_transition(enum inv_status from, enum inv_event ev);
/* 1 while an invitation may still be accepted or declined (it can expire). */
int invitation_open(enum inv_status status);

/* What every operation needs; filled per request by the caller. */
struct inv_env {
	struct store *st;
	const struct keyring *keys;
	const struct mailer *mailer;
	int64_t lifetime;  /* seconds an invitation link lives */
	int64_t now;
	const char *actor; /* for the audit log, e.g. "apikey:3" or "cli" */
};

struct inv_request {
	enum inv_kind kind;
	int64_t inviter_org_id;
	int64_t provider_org_id; /* reseller_with_provider only */
	const char *email;
	const char *name;        /* may be NULL */
	const char *locale;      /* NULL for the default */
	const char *message;     /* the inviter's note, may be NULL */
	int draft;               /* 1: keep as draft; 0: send now */
};

/* Create; on success inv_r holds the invitation with its bodies (free with
 * invitation_clear). */
int invitation_create(const struct inv_env *env, const struct inv_request *req,
		      struct invitation *inv_r, struct fault *f);

/* Queue inv's invitation mail from its stored subject and bodies, in the
 * caller's transaction, as create and send do; *outbox_id_r (may be NULL)
 * gets its outbox row. */
int invitation_queue_mail(const struct inv_env *env, const struct invitation *inv,
			  int64_t *outbox_id_r, const char **error_r);

/* Load an invitation of org (its inviter; org_id 0: any); 404 otherwise.
 * The provider named in a reseller_with_provider invitation does not see
 * it: it hears the outcome by mail and sees the customer in its lists. */
int invitation_load(const struct inv_env *env, int64_t org_id, int64_t id,
		    int with_bodies, struct invitation *inv_r, struct fault *f);

/* Edit a draft's subject and/or text (NULL leaves it). The text must still
 * hold the personalized link, else 422 "link_required". */
int invitation_edit(const struct inv_env *env, int64_t org_id, int64_t id,
		    const char *subject, const char *text, struct fault *f);

/* draft -> queued (the server sends it). */
int invitation_send(const struct inv_env *env, int64_t org_id, int64_t id,
		    struct fault *f);
/* draft -> handed_off (the inviter sent it itself). */
int invitation_handed_off(const struct inv_env *env, int64_t org_id, int64_t id,
			  struct fault *f);
/* A new link replaces the old one (which dies), and the mail goes again. */
int invitation_resend(const struct inv_env *env, int64_t org_id, int64_t id,
		      struct fault *f);
/* Any open invitation -> revoked; its link dies. */
int invitation_revoke(const struct inv_env *env, int64_t org_id, int64_t id,
		      struct fault *f);

/*
 * The one way to change an invitation's status, in the caller's
 * transaction: the conditional UPDATE, the link revoked when the
 * invitation closes, queued mail cancelled when it is revoked, the event
 * (with details, else the reason), and the mail the change causes (the
 * inviter hears of a bounce; a reminder goes to the invitee). Returns 0,
 * 1 when the table refuses (or the invitation is unknown) with *error_r
 * saying why, or -1 on a store error.
 */
int invitation_apply(const struct inv_env *env, int64_t id, enum inv_event ev,
		     const char *reason, const char *details, const char **error_r);

/* A reply to the invitation was relayed to the inviter: the event, no
 * change (1 when the invitation is unknown). */
int invitation_replied(const struct inv_env *env, int64_t id, const char *details,
		       const char **error_r);

/*
 * The invitee, on an expired link's page, asks the inviter for a new link:
 * the inviter's primary contact is mailed (where to resend it) and the
 * event written, in the caller's transaction. At most once per
 * ASK_NEW_LINK_INTERVAL per invitation, and only while it can still be
 * sent again: 0 when asked now, 1 when not (the page says the same
 * either way), -1 on a store error.
 */
#define ASK_NEW_LINK_INTERVAL 86400
int invitation_ask_new_link(const struct inv_env *env, int64_t id, const char **error_r);

/*
 * What became of a mail to the invitee (the invitation's or its
 * reminder's), as the outbox or the IMAP reader reports it: sent ->
 * deliver, failed or bounced -> bounce, replied -> the event only. A mail
 * older than the invitation's newest (a resend replaced it) changes
 * nothing. 0, 1 (nothing changed, *error_r says why) or -1.
 */
int invitation_mail_outcome(const struct inv_env *env, const struct mail_report *r,
			    const char **error_r);

/* Expire up to limit open invitations whose time is over, in one
 * transaction of its own: *n_r how many. */
int invitation_expire_due(const struct inv_env *env, int limit, size_t *n_r,
			  const char **error_r);
/* Remind up to limit sent invitations that expire within `before` seconds
 * and were not reminded yet (before 0: none), in one transaction. */
int invitation_remind_due(const struct inv_env *env, int64_t before, int limit, size_t *n_r,
			  const char **error_r);

/* The link of an invitation while it is usable, malloc'd; NULL otherwise. */
char *invitation_link(const struct inv_env *env, const struct invitation *inv);

/*
 * What an inviter may see of inv: the link (malloc'd) only while inv is a
 * draft or handed off, when the inviter itself sends it, and only to an
 * admin. Otherwise NULL, and the link is cut out of inv's bodies ("[link]"):
 * a mailed link must stay proof that its holder reads the invitee's mail
 * (SPEC "Who may accept").
 */
char *invitation_reveal(const struct inv_env *env, struct invitation *inv, int admin);

#endif
