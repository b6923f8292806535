/*
 * invitation_lifecycle.c: what an inviter does with an invitation after
 * creating it: edit and send or hand off a draft, resend, revoke. Each is
 * one transaction whose status change goes through the lifecycle's table
 * (invitation_state.c) and is conditional on the current status, so a
 * racing redeem and revoke cannot both win.
 */
#include <stdlib.h>
#include <string.h>

#include "invitation_int.h"
#include "invited/log.h"
#include "invited/text.h"

/* Begin, load the org's invitation with bodies. */
static int begin_load(const struct inv_env *env, int64_t org_id, int64_t id,
		      struct invitation *inv, struct fault *f)
{
	const char *err;
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	if (invitation_load(env, org_id, id, 1, inv, f) < 0) {
		store_rollback(env->st);
		return -1;
	}
	return 0;
}

static int finish(const struct inv_env *env, struct invitation *inv, int ok,
		  const char *err, struct fault *f)
{
	invitation_clear(inv);
	if (ok && store_commit(env->st, &err) == STORE_OK)
		return 0;
	store_rollback(env->st);
	if (f->status != 0)
		return -1; /* the fault was already said */
	if (err == NULL)
		err = "internal error";
	msg_error("invitation: %s", err);
	return fault_internal(f, err);
}

/* Only approved organizations send invitations: the inviter, and the
 * provider a reseller_with_provider invitation names (SPEC "Who may
 * accept"). A suspended one may still edit and revoke. */
static int parties_active(const struct inv_env *env, struct invitation *inv,
			  struct fault *f)
{
	const int64_t ids[] = {inv->inviter_org_id, inv->provider_org_id};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct org o;
		const char *err = NULL;
		if (ids[i] == 0)
			continue;
		int rc = store_org_get(env->st, ids[i], &o, &err);
		if (rc == STORE_OK && o.status == ORG_APPROVED)
			continue;
		if (rc == STORE_OK)
			fault_set(f, 403, "org_inactive", NULL,
				  errorf("%s is %s, and only an approved organization's "
					 "invitations can be sent",
					 o.legal_name, org_status_str(o.status)));
		return finish(env, inv, 0, rc == STORE_OK ? NULL : err, f);
	}
	return 0;
}

static int wrong_status(const struct inv_env *env, struct invitation *inv,
			const char *what, struct fault *f)
{
	fault_set(f, 409, "invalid_state", "status",
		  errorf("cannot %s an invitation that is %s", what,
			 inv_status_str(inv->status)));
	return finish(env, inv, 0, NULL, f);
}

int invitation_edit(const struct inv_env *env, int64_t org_id, int64_t id,
		    const char *subject, const char *text, struct fault *f)
{
	struct invitation inv;
	const char *err = NULL;
	char *html = NULL, *url = NULL;

	if (subject != NULL && (subject[0] == '\0' ||
				!text_ok(subject, MAX_SUBJECT_LEN, TEXT_LINE)))
		return fault_set(f, 422, "invalid_field", "subject",
				 errorf("subject must be one line of 1 to %d bytes",
					MAX_SUBJECT_LEN));
	if (text != NULL && !text_ok(text, MAX_BODY_LEN, TEXT_MULTILINE))
		return fault_set(f, 422, "invalid_field", "text",
				 errorf("text must be at most %d bytes of text",
					MAX_BODY_LEN));
	if (begin_load(env, org_id, id, &inv, f) < 0)
		return -1;
	if (inv.status != INV_DRAFT)
		return wrong_status(env, &inv, "edit", f);
	if (text != NULL) {
		url = invitation_link(env, &inv);
		if (url == NULL || !tpl_text_links_to(text, url)) {
			free(url);
			fault_set(f, 422, "link_required", "text",
				  "the text must keep the personalized invitation link "
				  "exactly as it is, as a link of its own (not inside "
				  "another address); put it back and save again");
			return finish(env, &inv, 0, NULL, f);
		}
		free(url);
		if (invitation_html_of_text(env, inv.locale, text, &html, &err) < 0)
			return finish(env, &inv, 0, err, f);
	}
	int ok = store_invitation_set_content(
			 env->st, id, subject ? subject : inv.subject,
			 text ? text : inv.body_text, html ? html : inv.body_html, 1,
			 NULL, 0, env->now, &err) == STORE_OK &&
		 invitation_event(env, &inv, "invitation.edited",
				  text ? "subject and text" : "subject", &err) == 0;
	free(html);
	return finish(env, &inv, ok, err, f);
}

/* New link, content carrying it, old link dead. */
static int relink(const struct inv_env *env, struct invitation *inv,
		  const char **error_r)
{
	struct link_row link;
	struct mail_content c = {0};
	char *old_url = invitation_link(env, inv), *url = NULL;
	int ret = -1;

	if (link_issue(env->st, env->keys, env->mailer->public_url,
		       link_purpose_of(inv->kind), inv->id, env->now, env->lifetime,
		       &link, error_r) < 0)
		goto out;
	if (inv->jti[0] != '\0' &&
	    store_link_revoke(env->st, inv->jti, env->now, error_r) != STORE_OK)
		goto out;
	if ((url = link_url(env->mailer->public_url, link.token)) == NULL)
		goto out;
	inv->expires_at = env->now + env->lifetime;
	if (inv->edited && old_url != NULL) {
		/* Keep the inviter's words; only the link changes. */
		c.subject = strdup(inv->subject);
		c.text = invitation_replace_all(inv->body_text, old_url, url);
		if (c.subject == NULL || c.text == NULL ||
		    invitation_html_of_text(env, inv->locale, c.text, &c.html, error_r) < 0)
			goto out;
	} else if (invitation_render(env, inv, url, &c, error_r) < 0) {
		goto out;
	}
	int keep = inv->edited && old_url != NULL; /* else rendered when read */
	if (store_invitation_set_content(env->st, inv->id, c.subject, keep ? c.text : NULL,
					 keep ? c.html : NULL, keep, link.jti,
					 inv->expires_at, env->now, error_r) != STORE_OK)
		goto out;
	snprintf(inv->subject, sizeof(inv->subject), "%s", c.subject);
	free(inv->body_text);
	free(inv->body_html);
	inv->body_text = c.text;
	inv->body_html = c.html;
	c.text = c.html = NULL;
	snprintf(inv->jti, sizeof(inv->jti), "%s", link.jti);
	ret = 0;
out:
	mail_content_clear(&c);
	free(old_url);
	free(url);
	return ret;
}

/* Begin, load, and check that the invitation may be sent now: the table
 * allows ev from its status, and its organizations are approved. */
static int begin_sending(const struct inv_env *env, int64_t org_id, int64_t id,
			 enum inv_event ev, const char *what, struct invitation *inv,
			 struct fault *f)
{
	if (begin_load(env, org_id, id, inv, f) < 0)
		return -1;
	if (invitation_transition(inv->status, ev) < 0)
		return wrong_status(env, inv, what, f);
	return parties_active(env, inv, f);
}

int invitation_send(const struct inv_env *env, int64_t org_id, int64_t id,
		    struct fault *f)
{
	struct invitation inv;
	const char *err = NULL;
	if (begin_sending(env, org_id, id, INV_EV_SEND, "send", &inv, f) < 0)
		return -1;
	/* The inviter has seen the draft's link: the mail carries a new one,
	 * which only the invitee holds, and the old one dies. */
	int ok = relink(env, &inv, &err) == 0 &&
		 invitation_apply_loaded(env, &inv, INV_EV_SEND, NULL, NULL, &err) == 0 &&
		 invitation_queue_mail(env, &inv, NULL, &err) == 0;
	return finish(env, &inv, ok, err, f);
}

int invitation_handed_off(const struct inv_env *env, int64_t org_id, int64_t id,
			  struct fault *f)
{
	struct invitation inv;
	const char *err = NULL;
	if (begin_sending(env, org_id, id, INV_EV_HAND_OFF, "hand off", &inv, f) < 0)
		return -1;
	int ok = invitation_apply_loaded(env, &inv, INV_EV_HAND_OFF, NULL, NULL, &err) == 0;
	return finish(env, &inv, ok, err, f);
}

int invitation_resend(const struct inv_env *env, int64_t org_id, int64_t id,
		      struct fault *f)
{
	struct invitation inv;
	const char *err = NULL;
	if (begin_sending(env, org_id, id, INV_EV_RESEND, "resend", &inv, f) < 0)
		return -1;
	int ok = relink(env, &inv, &err) == 0 &&
		 invitation_apply_loaded(env, &inv, INV_EV_RESEND, NULL, NULL, &err) == 0 &&
		 invitation_queue_mail(env, &inv, NULL, &err) == 0;
	return finish(env, &inv, ok, err, f);
}

int invitation_revoke(const struct inv_env *env, int64_t org_id, int64_t id,
		      struct fault *f)
{
	struct invitation inv;
	const char *err = NULL;
	if (begin_load(env, org_id, id, &inv, f) < 0)
		return -1;
	if (invitation_transition(inv.status, INV_EV_REVOKE) < 0)
		return wrong_status(env, &inv, "revoke", f);
	int ok = invitation_apply_loaded(env, &inv, INV_EV_REVOKE, NULL, NULL, &err) == 0;
	return finish(env, &inv, ok, err, f);
}
