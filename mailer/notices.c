/*
 * notices.c: the mails the server writes about invitations to the people
 * behind them, and the template variables they share.
 */
#include <stdlib.h>
#include <string.h>

#include "invited/log.h"
#include "invited/mailer.h"
#include "invited/rfc3339.h"

int mailer_invitation_vars(const struct mailer *m, struct store *st,
			   const struct invitation *inv, struct inv_mail_vars *v,
			   const char **error_r)
{
	memset(v, 0, sizeof(*v));
	if (store_org_get(st, inv->inviter_org_id, &v->inviter, error_r) != STORE_OK) {
		*error_r = errorf("inviter organization %lld not found",
				  (long long)inv->inviter_org_id);
		return -1;
	}
	if (inv->provider_org_id != 0 &&
	    store_org_get(st, inv->provider_org_id, &v->provider, error_r) != STORE_OK) {
		*error_r = errorf("provider organization %lld not found",
				  (long long)inv->provider_org_id);
		return -1;
	}
	rfc3339_format(inv->expires_at, v->expires);
	v->expires[10] = '\0'; /* the date is enough in a mail */
	snprintf(v->kind_var, sizeof(v->kind_var), "kind_%s", inv_kind_str(inv->kind));

	struct tpl_vars *t = &v->vars;
	tpl_vars_set(t, "inviter", v->inviter.legal_name);
	tpl_vars_set(t, "inviter_contact", v->inviter.contact_name);
	tpl_vars_set(t, "provider", inv->provider_org_id ? v->provider.legal_name : NULL);
	tpl_vars_set(t, "invitee_name", inv->name);
	tpl_vars_set(t, "invitee_email", inv->email);
	tpl_vars_set(t, "message", inv->message);
	tpl_vars_set(t, "expires", v->expires);
	tpl_vars_set(t, "public_url", m->public_url);
	tpl_vars_set(t, v->kind_var, "1");
	return 0;
}

/* text with every link of ours ("{public_url}/l/TOKEN") replaced by
 * "[link removed]", malloc'd: a reply that quotes the invitation must not
 * hand its link to the inviter. NULL when out of memory. */
static char *without_links(const struct mailer *m, const char *text)
{
	char prefix[MAX_URL_LEN + 4];
	snprintf(prefix, sizeof(prefix), "%s/l/", m->public_url);
	size_t np = strlen(prefix), len = strlen(text);
	char *out = malloc(len + 1), *w = out;
	if (out == NULL)
		return NULL;
	for (const char *p = text; *p != '\0';) {
		if (strncmp(p, prefix, np) == 0) {
			static const char mark[] = "[link removed]";
			size_t tok = strspn(p + np, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
						    "0123456789._-");
			if ((size_t)(w - out) + sizeof(mark) - 1 <= len) { /* never longer */
				memcpy(w, mark, sizeof(mark) - 1);
				w += sizeof(mark) - 1;
			}
			p += np + tok;
		} else {
			*w++ = *p++;
		}
	}
	*w = '\0';
	return out;
}

int mailer_invitation_reply(const struct mailer *m, struct store *st,
			    const struct invitation *inv, const struct relayed_reply *r,
			    int64_t now, int64_t *outbox_id_r, const char **error_r)
{
	struct inv_mail_vars v;
	if (mailer_invitation_vars(m, st, inv, &v, error_r) < 0)
		return -1;
	if (v.inviter.contact_email[0] == '\0') {
		*error_r = "the inviter has no contact address to relay to";
		return 1;
	}
	const char *replier = r->from_name != NULL && r->from_name[0] != '\0' ?
				      r->from_name : r->from_addr;
	tpl_vars_set(&v.vars, "replier", replier);
	tpl_vars_set(&v.vars, "replier_email", r->from_addr);
	tpl_vars_set(&v.vars, "reply_subject", r->subject);
	tpl_vars_set(&v.vars, "reply_proof", r->proof != NULL ? r->proof : "");
	char *text = without_links(m, r->text != NULL ? r->text : "");
	if (text == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	tpl_vars_set(&v.vars, "reply_text", text);
	struct mail_job job = {
		.kind = OUTBOX_RELAY,
		.to = {v.inviter.contact_name, v.inviter.contact_email},
		.reply_to = {r->from_name, r->from_addr},
		/* Relayed by a machine: vacation responders must not answer it. */
		.auto_submitted = 1,
		.in_reply_to = r->message_id,
		.invitation_id = inv->id,
		.org_id = inv->inviter_org_id,
	};
	struct mail_content c = {0};
	const char *locale = mailer_locale(m, v.inviter.locale);
	int rc = mailer_render(m, "invitation_reply", locale, &v.vars, &c, error_r);
	free(text);
	if (rc < 0)
		return -1;
	job.content = &c;
	rc = mailer_queue(m, st, &job, now, outbox_id_r, error_r);
	mail_content_clear(&c);
	return rc < 0 ? -1 : 0;
}
