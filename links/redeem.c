/*
 * redeem.c: using an invitation link. Inspecting only reads; accepting
 * and declining re-check everything inside one IMMEDIATE transaction
 * (shared by a batch, each in its savepoint), use the link with a
 * conditional update (so a second redeem finds it used), create the
 * relationships, and queue the mails, all at once.
 */
#include <stdlib.h>
#include <string.h>

#include "invitation_int.h"
#include "invited/log.h"
#include "invited/redeem.h"
#include "invited/relationship.h"
#include "invited/rfc3339.h"
#include "invited/text.h"


static const struct {
	const char *code;
	int http;
} statuses[] = {
	[REDEEM_OK] = {"ok", 200},
	[REDEEM_MALFORMED] = {"malformed", 400},
	[REDEEM_TAMPERED] = {"tampered", 403},
	[REDEEM_UNKNOWN_KEY] = {"unknown_key", 403},
	[REDEEM_WRONG_PURPOSE] = {"wrong_purpose", 400},
	[REDEEM_EXPIRED] = {"expired", 410},
	[REDEEM_USED] = {"used", 409},
	[REDEEM_REVOKED] = {"revoked", 410},
	[REDEEM_UNKNOWN] = {"unknown", 404},
	[REDEEM_CLOSED] = {"closed", 410},
	[REDEEM_NO_ACCEPTOR] = {"enroll_first", 409},
	[REDEEM_NOT_ALLOWED] = {"not_allowed", 409},
	[REDEEM_BAD_INPUT] = {"bad_input", 400},
	[REDEEM_INTERNAL] = {"internal", 500},
	[REDEEM_NOT_ADMIN] = {"not_admin", 403},
	[REDEEM_INVITER_INACTIVE] = {"inviter_inactive", 403},
	[REDEEM_CONFIRM_SENT] = {"confirm_sent", 202},
};

const char *redeem_status_code(enum redeem_status s)
{
	return statuses[s].code;
}

int redeem_status_http(enum redeem_status s)
{
	return statuses[s].http;
}

enum redeem_status redeem_from_token(enum token_status ts)
{
	switch (ts) {
	case TOKEN_OK:
		return REDEEM_OK;
	case TOKEN_BAD_SIGNATURE:
		return REDEEM_TAMPERED;
	case TOKEN_UNKNOWN_KEY:
		return REDEEM_UNKNOWN_KEY;
	case TOKEN_WRONG_PURPOSE:
		return REDEEM_WRONG_PURPOSE;
	case TOKEN_EXPIRED:
		return REDEEM_EXPIRED;
	case TOKEN_WRONG_AUDIENCE:
		return REDEEM_UNKNOWN;
	case TOKEN_MALFORMED:
	case TOKEN_BAD_CLAIMS:
	case TOKEN_NOT_YET_VALID:
		break;
	}
	return REDEEM_MALFORMED;
}

/* The invitation's status, as a reason a link cannot be used. */
static enum redeem_status closed_status(const struct invitation *inv, int64_t now)
{
	switch (inv->status) {
	case INV_ACCEPTED:
	case INV_DECLINED:
		return REDEEM_USED;
	case INV_REVOKED:
		return REDEEM_REVOKED;
	case INV_EXPIRED:
		return REDEEM_EXPIRED;
	case INV_BOUNCED:
		return REDEEM_CLOSED;
	default:
		return inv->expires_at <= now ? REDEEM_EXPIRED : REDEEM_OK;
	}
}

static enum redeem_status load_parties(const struct inv_env *env, struct offer *o,
				       const char **detail_r)
{
	const char *err;
	if (store_org_get(env->st, o->inv.inviter_org_id, &o->inviter, &err) != STORE_OK ||
	    (o->inv.provider_org_id != 0 &&
	     store_org_get(env->st, o->inv.provider_org_id, &o->provider, &err) != STORE_OK)) {
		*detail_r = "an organization of this invitation is missing";
		return REDEEM_INTERNAL;
	}
	/* A suspended, rejected or not yet approved organization's links do
	 * not redeem, as it cannot invite. */
	if (o->inviter.status != ORG_APPROVED ||
	    (o->inv.provider_org_id != 0 && o->provider.status != ORG_APPROVED))
		return REDEEM_INVITER_INACTIVE;
	enum org_kind acceptor = o->inv.kind == INV_INDIRECT_PROVIDER ? ORG_RESELLER
								      : ORG_CUSTOMER;
	int rc = store_org_find_by_email(env->st, acceptor, o->inv.email, &o->acceptor, &err);
	if (rc == STORE_ERROR) {
		*detail_r = err;
		return REDEEM_INTERNAL;
	}
	o->has_acceptor = rc == STORE_OK;
	/* Only an admin address binds an organization: its primary contact
	 * (found by its domain, the invitee may be a colleague). Customers
	 * are found by their contact address, which is theirs. */
	if (o->has_acceptor && strcmp(o->acceptor.contact_email, o->inv.email) != 0) {
		struct user u;
		rc = store_user_by_email(env->st, o->acceptor.id, o->inv.email, &u, &err);
		if (rc == STORE_ERROR) {
			*detail_r = err;
			return REDEEM_INTERNAL;
		}
		if (rc != STORE_OK || u.role != ROLE_ADMIN_AGENT || u.status != USER_ACTIVE)
			return REDEEM_NOT_ADMIN;
	}
	return REDEEM_OK;
}

/* A signed-in session of one of the accepting organization's admin users
 * is proof enough (SPEC "Who may accept"): whoever holds the link, the
 * person accepting is an admin of that organization. */
static enum redeem_status by_session(const struct inv_env *env, struct offer *o,
				     int64_t user_id, enum redeem_status s, const char **detail_r)
{
	struct user u;
	const char *err;
	if (user_id == 0 || !o->has_acceptor || (s != REDEEM_OK && s != REDEEM_NOT_ADMIN))
		return s;
	int rc = store_user_get(env->st, user_id, &u, &err);
	if (rc == STORE_ERROR) {
		*detail_r = err;
		return REDEEM_INTERNAL;
	}
	if (rc == STORE_OK && u.org_id == o->acceptor.id && u.role == ROLE_ADMIN_AGENT &&
	    u.status == USER_ACTIVE) {
		o->proven = 1;
		o->by_session = 1;
		return REDEEM_OK;
	}
	return s;
}

int redeem_expired_offer(const struct inv_env *env, const struct link_claims *claims,
			 struct offer *o, const char **error_r)
{
	struct link_row row;
	memset(o, 0, sizeof(*o));
	o->claims = *claims;
	if (claims->purpose != PUR_INDIRECT_PROVIDER && claims->purpose != PUR_RESELLER &&
	    claims->purpose != PUR_RESELLER_WITH_PROVIDER)
		return 1;
	int rc = store_link_get(env->st, claims->jti, &row, error_r);
	if (rc == STORE_OK)
		rc = store_invitation_get(env->st, row.subject_id, 0, &o->inv, error_r);
	if (rc == STORE_OK)
		rc = store_org_get(env->st, o->inv.inviter_org_id, &o->inviter, error_r);
	if (rc == STORE_OK && o->inv.provider_org_id != 0)
		rc = store_org_get(env->st, o->inv.provider_org_id, &o->provider, error_r);
	if (rc == STORE_ERROR)
		return -1;
	if (rc != STORE_OK || strcmp(row.purpose, link_purpose_str(claims->purpose)) != 0)
		return 1;
	/* Only the invitation's own link (not one a resend replaced, which
	 * stays "revoked" for whoever holds it), still live or dead with its
	 * expired invitation; only while a new link can still be sent, by
	 * organizations that may send. */
	if (strcmp(row.jti, o->inv.jti) != 0 ||
	    (row.state != LINK_LIVE && o->inv.status != INV_EXPIRED) ||
	    o->inviter.status != ORG_APPROVED ||
	    (o->inv.provider_org_id != 0 && o->provider.status != ORG_APPROVED))
		return 1;
	return invitation_transition(o->inv.status, INV_EV_RESEND) < 0 &&
			       invitation_transition(o->inv.status, INV_EV_SEND) < 0
		       ? 1
		       : 0;
}

enum redeem_status redeem_inspect(const struct inv_env *env,
				  const struct link_claims *claims, int64_t session_user,
				  struct offer *o, const char **detail_r)
{
	struct link_row row;
	const char *err = NULL;
	memset(o, 0, sizeof(*o));
	*detail_r = NULL;
	o->claims = *claims;
	if (o->claims.exp <= env->now)
		return REDEEM_EXPIRED;
	if (o->claims.purpose == PUR_VERIFY_CONTACT)
		return REDEEM_WRONG_PURPOSE;
	int rc = store_link_get(env->st, o->claims.jti, &row, &err);
	if (rc == STORE_ERROR) {
		*detail_r = err;
		return REDEEM_INTERNAL;
	}
	if (rc == STORE_NOT_FOUND)
		return REDEEM_UNKNOWN;
	if (strcmp(row.purpose, link_purpose_str(o->claims.purpose)) != 0)
		return REDEEM_WRONG_PURPOSE;
	int confirm = o->claims.purpose == PUR_CONFIRM_ACCEPT;
	rc = store_invitation_get(env->st, row.subject_id, 0, &o->inv, &err);
	if (rc != STORE_OK) {
		*detail_r = err;
		return rc == STORE_NOT_FOUND ? REDEEM_UNKNOWN : REDEEM_INTERNAL;
	}
	if (!confirm && link_purpose_of(o->inv.kind) != o->claims.purpose)
		return REDEEM_WRONG_PURPOSE;
	o->proven = confirm || o->inv.status == INV_QUEUED || o->inv.status == INV_SENT;
	if (o->proven && !confirm) {
		/* A reply, relayed to the inviter, may quote the mail and its
		 * link: from then on the link proves nothing by itself. */
		int relayed;
		if (store_inbound_relayed(env->st, o->inv.id, &relayed, &err) != STORE_OK) {
			*detail_r = err;
			return REDEEM_INTERNAL;
		}
		o->proven = !relayed;
	}
	enum redeem_status s = closed_status(&o->inv, env->now);
	if (s != REDEEM_OK)
		return s;
	if (row.state == LINK_USED)
		return REDEEM_USED;
	if (row.state == LINK_REVOKED)
		return REDEEM_REVOKED; /* replaced by a resend */
	return by_session(env, o, session_user, load_parties(env, o, detail_r), detail_r);
}

/* Tell one organization's primary contact how the invitation ended. */
static int notify(const struct inv_env *env, const struct offer *o,
		  const struct org *to, const char *tpl, const char **error_r)
{
	struct inv_mail_vars v;
	if (to->contact_email[0] == '\0')
		return 0;
	if (mailer_invitation_vars(env->mailer, env->st, &o->inv, &v, error_r) < 0)
		return -1;
	tpl_vars_set(&v.vars, "acceptor", o->has_acceptor ? o->acceptor.legal_name : NULL);
	tpl_vars_set(&v.vars, "recipient", to->legal_name);
	struct mail_job job = {
		.kind = OUTBOX_NOTICE,
		.to = {to->contact_name, to->contact_email},
		.auto_submitted = 1,
		.invitation_id = o->inv.id,
		.org_id = to->id,
	};
	return mailer_queue_template(env->mailer, env->st, tpl, to->locale, &v.vars,
				     &job, env->now, error_r);
}

static int add_rel(const struct inv_env *env, enum rel_kind kind, int64_t up,
		   int64_t down, int64_t inv_id, const char **error_r)
{
	return relationship_create(env, kind, up, down, inv_id, error_r) < 0 ? -1 : 0;
}

/* A customer accepting for the first time becomes an organization. */
static enum redeem_status new_customer(const struct inv_env *env, struct offer *o,
				       const char *name, const char **detail_r)
{
	if (name == NULL || name[0] == '\0') {
		*detail_r = "Enter your organization's name to accept.";
		return REDEEM_BAD_INPUT;
	}
	if (!text_ok(name, MAX_LEGAL_NAME_LEN, TEXT_LINE)) {
		*detail_r = "The organization name must be one line of at most 200 bytes.";
		return REDEEM_BAD_INPUT;
	}
	struct org *c = &o->acceptor;
	memset(c, 0, sizeof(*c));
	c->kind = ORG_CUSTOMER;
	c->status = ORG_NO_ENROLLMENT;
	snprintf(c->legal_name, sizeof(c->legal_name), "%s", name);
	snprintf(c->contact_name, sizeof(c->contact_name), "%s", o->inv.name);
	snprintf(c->contact_email, sizeof(c->contact_email), "%s", o->inv.email);
	snprintf(c->locale, sizeof(c->locale), "%s", o->inv.locale);
	c->created_at = env->now;
	if (store_org_insert(env->st, c, detail_r) != STORE_OK)
		return REDEEM_INTERNAL;
	o->has_acceptor = 1;
	return REDEEM_OK;
}

static enum redeem_status relate(const struct inv_env *env, struct offer *o,
				 const struct accept_input *in, const char **detail_r)
{
	const struct invitation *inv = &o->inv;
	if (inv->kind == INV_INDIRECT_PROVIDER) {
		if (!o->has_acceptor)
			return REDEEM_NO_ACCEPTOR;
		return add_rel(env, REL_INDIRECT_PROVIDER, inv->inviter_org_id,
			       o->acceptor.id, inv->id, detail_r) == 0
			       ? REDEEM_OK
			       : REDEEM_INTERNAL;
	}
	if (inv->kind == INV_RESELLER_WITH_PROVIDER) {
		int rc = store_rel_active(env->st, REL_INDIRECT_PROVIDER,
					  inv->provider_org_id, inv->inviter_org_id,
					  detail_r);
		if (rc == STORE_ERROR)
			return REDEEM_INTERNAL;
		if (rc != STORE_OK) {
			*detail_r = "The reseller and the provider no longer work together.";
			return REDEEM_NOT_ALLOWED;
		}
	}
	if (!o->has_acceptor) {
		enum redeem_status s = new_customer(env, o, in ? in->customer_name : NULL,
						    detail_r);
		if (s != REDEEM_OK)
			return s;
	}
	if (add_rel(env, REL_RESELLER_OF_RECORD, inv->inviter_org_id, o->acceptor.id,
		    inv->id, detail_r) < 0)
		return REDEEM_INTERNAL;
	if (inv->kind == INV_RESELLER_WITH_PROVIDER &&
	    add_rel(env, REL_RESELLER_OF_RECORD, inv->provider_org_id, o->acceptor.id,
		    inv->id, detail_r) < 0)
		return REDEEM_INTERNAL;
	return REDEEM_OK;
}

/* Use the link and close the invitation as `to`. */
static enum redeem_status close_invitation(const struct inv_env *env,
					   struct offer *o, enum inv_status to,
					   const char **detail_r)
{
	int rc = store_link_use(env->st, o->claims.jti, env->now, detail_r);
	if (rc == STORE_CONFLICT)
		return REDEEM_USED;
	if (rc != STORE_OK)
		return REDEEM_INTERNAL;
	rc = invitation_apply_loaded(env, &o->inv, to == INV_ACCEPTED ? INV_EV_ACCEPT : INV_EV_DECLINE,
				     NULL, o->has_acceptor ? errorf("org:%lld", (long long)o->acceptor.id)
							   : NULL,
				     detail_r);
	if (rc == 1)
		return REDEEM_USED;
	if (rc < 0)
		return REDEEM_INTERNAL;
	rc = STORE_OK;
	if (o->has_acceptor)
		rc = store_invitation_set_accepted_org(env->st, o->inv.id,
						       o->acceptor.id, detail_r);
	return rc == STORE_OK ? REDEEM_OK : REDEEM_INTERNAL;
}

static enum redeem_status finish(const struct inv_env *env, struct offer *o,
				 enum inv_status to, const char **detail_r)
{
	const char *tpl = to == INV_ACCEPTED ? "invitation_accepted" : "invitation_declined";
	enum redeem_status s = close_invitation(env, o, to, detail_r);
	if (s != REDEEM_OK)
		return s;
	if (notify(env, o, &o->inviter, tpl, detail_r) < 0 ||
	    (o->inv.provider_org_id != 0 &&
	     notify(env, o, &o->provider, tpl, detail_r) < 0))
		return REDEEM_INTERNAL;
	return REDEEM_OK;
}

/*
 * An accept from a link that proves nothing (the inviter has seen it):
 * mail the invitee address a confirmation link, whose use accepts. At most
 * one mail per CONFIRM_MAIL_INTERVAL, so that the form is no mail cannon.
 */
static enum redeem_status confirm_by_mail(const struct inv_env *env, struct offer *o,
					  const char **detail_r)
{
	struct link_row link;
	struct inv_mail_vars v;
	int64_t last, life = o->inv.expires_at - env->now;
	if (store_outbox_newest(env->st, o->inv.id, OUTBOX_CONFIRM, NULL, &last, detail_r) != STORE_OK)
		return REDEEM_INTERNAL;
	if (last != 0 && env->now - last < CONFIRM_MAIL_INTERVAL)
		return REDEEM_CONFIRM_SENT; /* the last one is on its way */
	/* Nor, with many drafts to one address, a cannon aimed at it. */
	int to_address;
	if (store_outbox_count_to(env->st, OUTBOX_CONFIRM, o->inv.email, env->now - 3600,
				  &to_address, detail_r) != STORE_OK)
		return REDEEM_INTERNAL;
	if (to_address >= CONFIRM_MAILS_PER_ADDRESS)
		return REDEEM_CONFIRM_SENT;
	if (life > CONFIRM_LINK_LIFETIME)
		life = CONFIRM_LINK_LIFETIME;
	if (link_issue(env->st, env->keys, env->mailer->public_url, PUR_CONFIRM_ACCEPT,
		       o->inv.id, env->now, life, &link, detail_r) < 0 ||
	    mailer_invitation_vars(env->mailer, env->st, &o->inv, &v, detail_r) < 0)
		return REDEEM_INTERNAL;
	char *url = link_url(env->mailer->public_url, link.token);
	if (url == NULL) {
		*detail_r = "out of memory";
		return REDEEM_INTERNAL;
	}
	rfc3339_format(env->now + life, v.expires);
	v.expires[10] = '\0';
	tpl_vars_set(&v.vars, "link", url);
	tpl_vars_set(&v.vars, "acceptor", o->has_acceptor ? o->acceptor.legal_name : NULL);
	struct mail_job job = {
		.kind = OUTBOX_CONFIRM,
		.to = {o->inv.name[0] ? o->inv.name : NULL, o->inv.email},
		.auto_submitted = 1,
		.invitation_id = o->inv.id,
		.org_id = o->inv.inviter_org_id,
	};
	int rc = mailer_queue_template(env->mailer, env->st, "accept_confirm", o->inv.locale,
				       &v.vars, &job, env->now, detail_r);
	free(url);
	if (rc < 0 || invitation_event(env, &o->inv, "invitation.confirmation_sent", NULL,
				       detail_r) < 0)
		return REDEEM_INTERNAL;
	return REDEEM_CONFIRM_SENT;
}

/* Everything a redeem changes, inside the caller's transaction. */
static enum redeem_status redeem_in_tx(const struct inv_env *env,
				       const struct link_claims *claims, int64_t session_user,
				       const struct accept_input *in, enum inv_status to,
				       struct offer *o, const char **detail_r)
{
	enum redeem_status s = redeem_inspect(env, claims, session_user, o, detail_r);
	if (s == REDEEM_OK && to == INV_ACCEPTED && !o->proven)
		return o->inv.kind == INV_INDIRECT_PROVIDER && !o->has_acceptor
			       ? REDEEM_NO_ACCEPTOR
			       : confirm_by_mail(env, o, detail_r);
	if (s == REDEEM_OK && to == INV_ACCEPTED)
		s = relate(env, o, in, detail_r);
	if (s == REDEEM_OK)
		s = finish(env, o, to, detail_r);
	return s;
}

/* One item in its savepoint; -1 when the transaction itself is lost. */
static int batch_item(const struct inv_env *env, struct redeem_item *it)
{
	const char *detail = NULL, *err;
	if (store_savepoint(env->st, &err) != STORE_OK) {
		detail = err;
		it->status = REDEEM_INTERNAL;
	} else {
		it->status = redeem_in_tx(env, &it->claims, it->session_user,
					  it->accept ? &it->in : NULL,
					  it->accept ? INV_ACCEPTED : INV_DECLINED,
					  &it->offer, &detail);
		int keep = it->status == REDEEM_OK || it->status == REDEEM_CONFIRM_SENT;
		if (store_savepoint_end(env->st, keep, &err) != STORE_OK) {
			detail = err;
			it->status = REDEEM_INTERNAL;
		}
	}
	snprintf(it->detail, sizeof(it->detail), "%s", detail ? detail : "");
	if (it->status == REDEEM_INTERNAL)
		msg_error("redeem: %s", it->detail[0] ? it->detail : "internal error");
	return it->status == REDEEM_INTERNAL && !store_in_tx(env->st) ? -1 : 0;
}

void redeem_batch(const struct inv_env *env, struct redeem_item *const *items, size_t n)
{
	const char *err = NULL;
	size_t done = 0;
	for (size_t i = 0; i < n; i++)
		memset(&items[i]->offer, 0, sizeof(items[i]->offer));
	if (store_begin(env->st, &err) == STORE_OK) {
		for (; done < n; done++) {
			struct inv_env one = *env;
			one.now = items[done]->now;
			if (batch_item(&one, items[done]) < 0)
				break;
		}
		if (done == n && store_commit(env->st, &err) == STORE_OK)
			return;
		if (err == NULL)
			err = items[done]->detail;
		store_rollback(env->st);
	}
	/* Nothing of the batch was kept: what had succeeded did not. */
	char why[sizeof(items[0]->detail)];
	snprintf(why, sizeof(why), "%s", err && err[0] ? err : "internal error");
	msg_error("redeem: a batch of %zu failed: %s", n, why);
	for (size_t i = 0; i < n; i++) {
		/* a refusal stands; an accept, or a confirmation mailed, was lost */
		if (i < done && items[i]->status != REDEEM_OK &&
		    items[i]->status != REDEEM_CONFIRM_SENT)
			continue;
		items[i]->status = REDEEM_INTERNAL;
		memcpy(items[i]->detail, why, sizeof(why));
	}
}
