/*
 * invitation_state.c: the invitation lifecycle's one owner. The table
 * says which status each event leads to from each status; every change
 * of an invitation's status goes through invitation_apply, which makes
 * the conditional UPDATE, kills the link of a closed invitation, writes
 * the event and sends the mail the change causes, in the caller's
 * transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "invitation_int.h"
#include "invited/log.h"
#include "invited/outbox.h"
#include "invited/transition.h"

static const char *const event_names[INV_EV_COUNT] = {
	[INV_EV_SEND] = "invitation.queued",     [INV_EV_HAND_OFF] = "invitation.handed_off",
	[INV_EV_RESEND] = "invitation.resent",   [INV_EV_DELIVER] = "invitation.sent",
	[INV_EV_BOUNCE] = "invitation.bounced",  [INV_EV_ACCEPT] = "invitation.accepted",
	[INV_EV_DECLINE] = "invitation.declined", [INV_EV_EXPIRE] = "invitation.expired",
	[INV_EV_REVOKE] = "invitation.revoked",  [INV_EV_REMIND] = "invitation.reminded",
};

/* (status, event) -> status; 0: refused. */
#define OPEN_EXITS                                                             \
	[INV_EV_ACCEPT] = INV_ACCEPTED, [INV_EV_DECLINE] = INV_DECLINED,       \
	[INV_EV_EXPIRE] = INV_EXPIRED, [INV_EV_REVOKE] = INV_REVOKED
static const unsigned char table[INV_HANDED_OFF + 1][INV_EV_COUNT] = {
	[INV_DRAFT] = {[INV_EV_SEND] = INV_QUEUED, [INV_EV_HAND_OFF] = INV_HANDED_OFF,
		       OPEN_EXITS},
	[INV_QUEUED] = {[INV_EV_RESEND] = INV_QUEUED, [INV_EV_DELIVER] = INV_SENT,
			[INV_EV_BOUNCE] = INV_BOUNCED, OPEN_EXITS},
	[INV_SENT] = {[INV_EV_RESEND] = INV_QUEUED, [INV_EV_BOUNCE] = INV_BOUNCED,
		      [INV_EV_REMIND] = INV_SENT, OPEN_EXITS},
	[INV_HANDED_OFF] = {[INV_EV_RESEND] = INV_QUEUED, OPEN_EXITS},
	[INV_BOUNCED] = {[INV_EV_RESEND] = INV_QUEUED, [INV_EV_REVOKE] = INV_REVOKED},
	[INV_EXPIRED] = {[INV_EV_RESEND] = INV_QUEUED},
	/* accepted, declined, revoked: final */
};
#undef OPEN_EXITS

const char *inv_event_name(enum inv_event ev)
{
	return ev > 0 && ev < INV_EV_COUNT ? event_names[ev] : "invitation.unknown";
}

int invitation_transition(enum inv_status from, enum inv_event ev)
{
	return from < INV_DRAFT ? -1 : TRANSITION(table, from, ev);
}

/* Open: it may still be accepted, declined or expire. */
int invitation_open(enum inv_status status)
{
	return invitation_transition(status, INV_EV_EXPIRE) > 0;
}

int invitation_event(const struct inv_env *env, const struct invitation *inv,
		     const char *name, const char *details, const char **error_r)
{
	return store_event_on(env->st, env->now, inv->inviter_org_id, 0, env->actor, name,
			      "invitation", inv->id, details, error_r) == STORE_OK
		       ? 0
		       : -1;
}

/* The inviter's primary contact hears that the mail did not arrive. */
static int tell_bounced(const struct inv_env *env, const struct invitation *inv,
			const char *reason, const char **error_r)
{
	struct inv_mail_vars v;
	if (mailer_invitation_vars(env->mailer, env->st, inv, &v, error_r) < 0)
		return -1;
	if (v.inviter.contact_email[0] == '\0')
		return 0;
	tpl_vars_set(&v.vars, "reason", reason);
	struct mail_job job = {
		.kind = OUTBOX_NOTICE,
		.to = {v.inviter.contact_name, v.inviter.contact_email},
		.auto_submitted = 1,
		.invitation_id = inv->id,
		.org_id = inv->inviter_org_id,
	};
	return mailer_queue_template(env->mailer, env->st, "invitation_bounced",
				     v.inviter.locale, &v.vars, &job, env->now, error_r);
}

/* The invitee gets the same link (url) again before it expires. */
static int remind(const struct inv_env *env, const struct invitation *inv, const char *url,
		  const char **error_r)
{
	struct inv_mail_vars v;
	if (mailer_invitation_vars(env->mailer, env->st, inv, &v, error_r) < 0)
		return -1;
	tpl_vars_set(&v.vars, "link", url);
	struct mail_job job = {
		.kind = OUTBOX_REMINDER,
		.to = {inv->name[0] ? inv->name : NULL, inv->email},
		.reply_tag = "reply",
		.reply_code = inv->reply_code,
		.invitation_id = inv->id,
		.org_id = inv->inviter_org_id,
	};
	return mailer_queue_template(env->mailer, env->st, "invitation_reminder", inv->locale,
				     &v.vars, &job, env->now, error_r);
}

/* The change itself: status, link, queued mail, event. */
static int invitation_change(const struct inv_env *env, struct invitation *inv,
			     enum inv_event ev, int to, const char *reason, const char *details,
			     const char **error_r)
{
	int rc = ev == INV_EV_REMIND
			 ? store_invitation_set_reminded(env->st, inv->id, env->now, error_r)
			 : store_invitation_set_status(env->st, inv->id, 1u << inv->status,
						       (enum inv_status)to, reason, env->now,
						       error_r);
	if (rc == STORE_CONFLICT)
		return 1;
	if (rc != STORE_OK)
		return -1;
	inv->status = (enum inv_status)to;
	if (!invitation_open(inv->status) && inv->jti[0] != '\0' &&
	    store_link_revoke(env->st, inv->jti, env->now, error_r) != STORE_OK)
		return -1;
	/* Mail still queued to the invitee would carry a dead link, or (on
	 * a resend) the old one beside the new. */
	const char *said = details ? details : reason;
	if (!invitation_open(inv->status) || ev == INV_EV_RESEND) {
		size_t n = 0;
		if (outbox_cancel_invitation(env->st, inv->id,
					     errorf("cancelled: the invitation was %s",
						    strchr(inv_event_name(ev), '.') + 1),
					     env->now, &n, error_r) < 0)
			return -1;
		if (n > 0)
			said = said ? errorf("%.400s (queued mail cancelled)", said)
				    : "queued mail cancelled";
	}
	/* A new link starts a new lifetime: its own reminder, its own asks. */
	if ((ev == INV_EV_RESEND || ev == INV_EV_SEND) &&
	    store_invitation_reset_asks(env->st, inv->id, error_r) != STORE_OK)
		return -1;
	return invitation_event(env, inv, inv_event_name(ev), said, error_r);
}

int invitation_apply_loaded(const struct inv_env *env, struct invitation *inv,
			    enum inv_event ev, const char *reason, const char *details,
			    const char **error_r)
{
	int to = invitation_transition(inv->status, ev);
	if (to < 0) {
		*error_r = errorf("invitation %lld is %s: it cannot be %s", (long long)inv->id,
				  inv_status_str(inv->status), strchr(inv_event_name(ev), '.') + 1);
		return 1;
	}
	char *url = NULL;
	if (ev == INV_EV_REMIND && (url = invitation_link(env, inv)) == NULL) {
		*error_r = errorf("invitation %lld has no live link to remind of",
				  (long long)inv->id);
		return 1;
	}
	int rc = invitation_change(env, inv, ev, to, reason, details, error_r);
	if (rc == 0 && ev == INV_EV_BOUNCE)
		rc = tell_bounced(env, inv, reason ? reason : "", error_r);
	if (rc == 0 && ev == INV_EV_REMIND)
		rc = remind(env, inv, url, error_r);
	free(url);
	return rc;
}

/* 0 with the invitation (without bodies), 1 when there is none, -1. */
static int load(const struct inv_env *env, int64_t id, struct invitation *inv,
		const char **error_r)
{
	int rc = store_invitation_get(env->st, id, 0, inv, error_r);
	if (rc == STORE_NOT_FOUND)
		*error_r = errorf("no invitation %lld", (long long)id);
	return rc == STORE_OK ? 0 : rc == STORE_NOT_FOUND ? 1 : -1;
}

int invitation_apply(const struct inv_env *env, int64_t id, enum inv_event ev,
		     const char *reason, const char *details, const char **error_r)
{
	struct invitation inv;
	int rc = load(env, id, &inv, error_r);
	return rc != 0 ? rc : invitation_apply_loaded(env, &inv, ev, reason, details, error_r);
}

/* Sweep up to limit invitations with `ev` due, each in the transaction. */
static int sweep(const struct inv_env *env, enum inv_event ev, int64_t remind_before,
		 int limit, size_t *n_r, const char **error_r)
{
	int64_t *ids = calloc((size_t)limit, sizeof(*ids));
	size_t n = 0;
	*n_r = 0;
	if (ids == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (store_begin(env->st, error_r) != STORE_OK) {
		free(ids);
		return -1;
	}
	int rc = ev == INV_EV_EXPIRE
			 ? store_invitation_expiring(env->st, env->now, (size_t)limit, ids, &n,
						     error_r)
			 : store_invitation_reminding(env->st, env->now, remind_before,
						      (size_t)limit, ids, &n, error_r);
	int ret = rc == STORE_OK ? 0 : -1;
	/* Each in a savepoint: one that fails (a reminder whose mail cannot
	 * be made) is logged and passed over, and must not hold up the rest
	 * sweep after sweep. */
	for (size_t i = 0; ret == 0 && i < n; i++) {
		if (store_savepoint(env->st, error_r) != STORE_OK) {
			ret = -1;
			break;
		}
		rc = invitation_apply(env, ids[i], ev, NULL, NULL, error_r);
		if (rc < 0 && store_in_tx(env->st)) {
			msg_warn("invitation %lld: %s failed: %s", (long long)ids[i],
				 inv_event_name(ev), *error_r);
			rc = store_savepoint_end(env->st, 0, error_r) == STORE_OK ? 1 : -1;
		} else if (rc >= 0 && store_savepoint_end(env->st, 1, error_r) != STORE_OK) {
			rc = -1;
		}
		if (rc < 0)
			ret = -1;
		else if (rc == 0)
			(*n_r)++;
		else if (ev == INV_EV_REMIND && store_invitation_set_reminded(
							 env->st, ids[i], env->now, error_r) != STORE_OK)
			ret = -1; /* no live link, or its mail failed: never again */
	}
	free(ids);
	if (ret == 0 && store_commit(env->st, error_r) == STORE_OK)
		return 0;
	store_rollback(env->st);
	*n_r = 0;
	return -1;
}

int invitation_expire_due(const struct inv_env *env, int limit, size_t *n_r,
			  const char **error_r)
{
	return sweep(env, INV_EV_EXPIRE, 0, limit, n_r, error_r);
}

int invitation_remind_due(const struct inv_env *env, int64_t before, int limit, size_t *n_r,
			  const char **error_r)
{
	*n_r = 0;
	if (before <= 0)
		return 0;
	return sweep(env, INV_EV_REMIND, before, limit, n_r, error_r);
}

int invitation_replied(const struct inv_env *env, int64_t id, const char *details,
		       const char **error_r)
{
	struct invitation inv;
	int rc = load(env, id, &inv, error_r);
	return rc != 0 ? rc : invitation_event(env, &inv, "invitation.replied", details, error_r);
}

int invitation_ask_new_link(const struct inv_env *env, int64_t id, const char **error_r)
{
	struct invitation inv;
	struct inv_mail_vars v;
	int rc = load(env, id, &inv, error_r);
	if (rc != 0)
		return rc;
	/* Something to ask for: a new link can still be sent (resend). */
	if (invitation_transition(inv.status, INV_EV_RESEND) < 0 &&
	    invitation_transition(inv.status, INV_EV_SEND) < 0)
		return 1;
	rc = store_invitation_set_asked(env->st, id, env->now, ASK_NEW_LINK_INTERVAL, error_r);
	if (rc == STORE_CONFLICT)
		return 1; /* asked already today: the inviter knows */
	if (rc != STORE_OK || mailer_invitation_vars(env->mailer, env->st, &inv, &v, error_r) < 0)
		return -1;
	if (v.inviter.contact_email[0] != '\0') {
		char console[MAX_URL_LEN + 64];
		snprintf(console, sizeof(console), "%s/console/invitations/%lld",
			 env->mailer->public_url, (long long)inv.id);
		tpl_vars_set(&v.vars, "console_url", console);
		struct mail_job job = {
			.kind = OUTBOX_NOTICE,
			.to = {v.inviter.contact_name, v.inviter.contact_email},
			.auto_submitted = 1,
			.invitation_id = inv.id,
			.org_id = inv.inviter_org_id,
		};
		if (mailer_queue_template(env->mailer, env->st, "invitation_new_link",
					  v.inviter.locale, &v.vars, &job, env->now, error_r) < 0)
			return -1;
	}
	return invitation_event(env, &inv, "invitation.new_link_requested", NULL, error_r);
}

int invitation_mail_outcome(const struct inv_env *env, const struct mail_report *r,
			    const char **error_r)
{
	int64_t newest = 0;
	if (r->outcome == MAIL_REPLIED)
		return invitation_replied(env, r->invitation_id, r->reason, error_r);
	if (r->outcome == MAIL_DEFERRED || (r->outcome == MAIL_SENT && r->kind != OUTBOX_INVITATION)) {
		*error_r = "nothing changes";
		return 1; /* a deferral, or a reminder going out */
	}
	/* A mail older than the invitation's newest says nothing about the
	 * link it has now: a resend replaced it. */
	if (store_outbox_newest(env->st, r->invitation_id, OUTBOX_INVITATION, &newest, NULL, error_r) !=
	    STORE_OK)
		return -1;
	if (r->message_id != 0 && r->message_id < newest) {
		*error_r = "an older mail of the invitation: a resend replaced it";
		return 1;
	}
	return invitation_apply(env, r->invitation_id,
				r->outcome == MAIL_SENT ? INV_EV_DELIVER : INV_EV_BOUNCE,
				r->outcome == MAIL_SENT ? NULL : r->reason, NULL, error_r);
}
