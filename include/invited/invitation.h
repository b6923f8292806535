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
#include "store.h"

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
