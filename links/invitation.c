/*
 * invitation.c: creating invitations and reading them back. Creation is
 * one transaction: the row, its link, its rendered mail and, when sent at
 * once, the queued message.
 */
#include <stdlib.h>
#include <string.h>

#include "invitation_int.h"
#include "invited/log.h"
#include "invited/text.h"

int invitation_render(const struct inv_env *env, const struct invitation *inv,
		      const char *url, struct mail_content *c,
		      const char **error_r)
{
	struct inv_mail_vars v;
	char name[64];
	if (mailer_invitation_vars(env->mailer, env->st, inv, &v, error_r) < 0)
		return -1;
	tpl_vars_set(&v.vars, "link", url);
	snprintf(name, sizeof(name), "invitation_%s", inv_kind_str(inv->kind));
	return mailer_render(env->mailer, name, inv->locale, &v.vars, c, error_r);
}

int invitation_html_of_text(const struct inv_env *env, const char *locale,
			    const char *text, char **html_r, const char **error_r)
{
	struct tpl_vars vars = {0};
	tpl_vars_set(&vars, "body", text);
	tpl_vars_set(&vars, "public_url", env->mailer->public_url);
	return tpl_render(env->mailer->tpl, mailer_locale(env->mailer, locale),
			  "mail/edited.html", &vars, html_r, NULL, error_r);
}

int invitation_queue_mail(const struct inv_env *env, const struct invitation *inv,
			  int64_t *outbox_id_r, const char **error_r)
{
	struct mail_content c = {(char *)inv->subject, inv->body_text, inv->body_html};
	struct mail_job job = {
		.kind = OUTBOX_INVITATION,
		.to = {inv->name[0] ? inv->name : NULL, inv->email},
		.reply_tag = "reply",
		.reply_code = inv->reply_code,
		.invitation_id = inv->id,
		.org_id = inv->inviter_org_id,
		.content = &c,
	};
	return mailer_queue(env->mailer, env->st, &job, env->now, outbox_id_r, error_r);
}

/* Check the request against the organizations it names. */
static int check_parties(const struct inv_env *env, const struct inv_request *req,
			 struct fault *f)
{
	struct org inviter, provider;
	const char *err;
	int rc = store_org_get(env->st, req->inviter_org_id, &inviter, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	if (rc != STORE_OK || inviter.status != ORG_APPROVED)
		return fault_set(f, 403, "forbidden", NULL,
				 "only an approved organization can invite");
	enum org_kind need = req->kind == INV_INDIRECT_PROVIDER ? ORG_PROVIDER : ORG_RESELLER;
	if (inviter.kind != need)
		return fault_set(f, 422, "invalid_kind", "kind",
				 need == ORG_PROVIDER
					 ? "only an indirect provider can invite a reseller to authorize it"
					 : "only a reseller can invite a customer");
	if (req->kind != INV_RESELLER_WITH_PROVIDER) {
		if (req->provider_org_id != 0)
			return fault_set(f, 422, "invalid_field", "provider_id",
					 "provider_id is only for kind reseller_with_provider");
		return 0;
	}
	if (req->provider_org_id == 0)
		return fault_set(f, 422, "missing_field", "provider_id",
				 "provider_id is required for kind reseller_with_provider");
	rc = store_org_get(env->st, req->provider_org_id, &provider, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	/* A provider that is not the inviter's answers as one that does not
	 * exist: an id must not tell whether an organization is there. */
	if (rc == STORE_OK && provider.kind == ORG_PROVIDER)
		rc = store_rel_active(env->st, REL_INDIRECT_PROVIDER, provider.id, inviter.id,
				      &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	if (rc != STORE_OK || provider.kind != ORG_PROVIDER)
		return fault_set(f, 404, "not_found", "provider_id",
				 "none of your indirect providers has that id");
	if (provider.status != ORG_APPROVED)
		return fault_set(f, 403, "org_inactive", "provider_id",
				 errorf("your indirect provider %s is %s: it cannot be named in "
					"an invitation until it is approved again",
					provider.legal_name, org_status_str(provider.status)));
	return 0;
}

static int check_request(const struct inv_request *req, struct fault *f)
{
	if (req->email == NULL || req->email[0] == '\0')
		return fault_set(f, 422, "missing_field", "email", "email is required");
	if (strlen(req->email) > MAX_EMAIL_LEN || !mime_addr_personal(req->email))
		return fault_set(f, 422, "invalid_field", "email",
				 errorf("email %s", mime_addr_why(req->email)));
	if (req->name != NULL && !text_ok(req->name, MAX_NAME_LEN, TEXT_LINE))
		return fault_set(f, 422, "invalid_field", "name",
				 errorf("name must be one line of at most %d bytes",
					MAX_NAME_LEN));
	if (req->message != NULL && !text_ok(req->message, MAX_MESSAGE_LEN, TEXT_MULTILINE))
		return fault_set(f, 422, "invalid_field", "message",
				 errorf("message must be text of at most %d bytes",
					MAX_MESSAGE_LEN));
	if (req->locale != NULL && !text_ok(req->locale, MAX_LOCALE_LEN, TEXT_LINE))
		return fault_set(f, 422, "invalid_field", "locale", "locale is not valid");
	return 0;
}

/* Inside the transaction: row, link, content, and maybe the mail. */
static int create_in_tx(const struct inv_env *env, const struct inv_request *req,
			struct invitation *inv, const char **error_r)
{
	struct link_row link;
	struct mail_content c;

	memset(inv, 0, sizeof(*inv));
	inv->kind = req->kind;
	inv->status = req->draft ? INV_DRAFT : INV_QUEUED;
	inv->inviter_org_id = req->inviter_org_id;
	inv->provider_org_id = req->provider_org_id;
	snprintf(inv->email, sizeof(inv->email), "%s", req->email);
	ascii_lower(inv->email);
	snprintf(inv->name, sizeof(inv->name), "%s", req->name ? req->name : "");
	snprintf(inv->locale, sizeof(inv->locale), "%s",
		 mailer_locale(env->mailer, req->locale));
	snprintf(inv->message, sizeof(inv->message), "%s", req->message ? req->message : "");
	mailer_new_code(inv->reply_code);
	inv->expires_at = env->now + env->lifetime;
	inv->created_at = env->now;
	snprintf(inv->subject, sizeof(inv->subject), "-");
	if (store_invitation_insert(env->st, inv, error_r) != STORE_OK)
		return -1;
	if (link_issue(env->st, env->keys, env->mailer->public_url,
		       link_purpose_of(inv->kind), inv->id, env->now, env->lifetime,
		       &link, error_r) < 0)
		return -1;
	snprintf(inv->jti, sizeof(inv->jti), "%s", link.jti);

	char *url = link_url(env->mailer->public_url, link.token);
	if (url == NULL || invitation_render(env, inv, url, &c, error_r) < 0) {
		free(url);
		return -1;
	}
	free(url);
	snprintf(inv->subject, sizeof(inv->subject), "%s", c.subject);
	inv->body_text = c.text;
	inv->body_html = c.html;
	c.text = c.html = NULL;
	mail_content_clear(&c);
	/* Bodies not edited are not kept: invitation_load renders them. */
	if (store_invitation_set_content(env->st, inv->id, inv->subject, NULL, NULL, 0,
					 inv->jti, 0, env->now, error_r) != STORE_OK)
		return -1;
	if (!req->draft && invitation_queue_mail(env, inv, NULL, error_r) < 0)
		return -1;
	return invitation_event(env, inv, "invitation.created",
				errorf("kind=%s email=%s delivery=%s",
				       inv_kind_str(inv->kind), inv->email,
				       req->draft ? "draft" : "send"),
				error_r);
}

int invitation_create(const struct inv_env *env, const struct inv_request *req,
		      struct invitation *inv_r, struct fault *f)
{
	const char *err;
	if (check_request(req, f) < 0)
		return -1;
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	if (check_parties(env, req, f) < 0) {
		store_rollback(env->st);
		return -1;
	}
	if (create_in_tx(env, req, inv_r, &err) < 0 ||
	    store_commit(env->st, &err) != STORE_OK) {
		store_rollback(env->st);
		invitation_clear(inv_r);
		msg_error("invitation: create: %s", err);
		return fault_internal(f, err);
	}
	return 0;
}

/*
 * The bodies of an invitation the inviter did not edit, rendered again
 * from the templates with its link (live or not: reading shows what was
 * sent, and invitation_reveal hides a link its reader may not see). The
 * store keeps only edited bodies: rendering costs microseconds a read,
 * keeping them cost 4 kB an invitation.
 */
static int render_bodies(const struct inv_env *env, struct invitation *inv,
			 const char **error_r)
{
	struct link_row link;
	struct mail_content c = {0};
	char *url = NULL;
	if (inv->jti[0] != '\0' && store_link_get(env->st, inv->jti, &link, error_r) == STORE_OK)
		url = link_url(env->mailer->public_url, link.token);
	int r = invitation_render(env, inv, url != NULL ? url : "", &c, error_r);
	free(url);
	if (r < 0)
		return -1;
	free(inv->body_text);
	free(inv->body_html);
	inv->body_text = c.text;
	inv->body_html = c.html;
	c.text = c.html = NULL;
	mail_content_clear(&c);
	return 0;
}

int invitation_load(const struct inv_env *env, int64_t org_id, int64_t id,
		    int with_bodies, struct invitation *inv_r, struct fault *f)
{
	const char *err;
	int rc = store_invitation_get(env->st, id, with_bodies, inv_r, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	if (rc == STORE_OK && org_id != 0 && inv_r->inviter_org_id != org_id) {
		invitation_clear(inv_r);
		rc = STORE_NOT_FOUND;
	}
	if (rc != STORE_OK)
		return fault_set(f, 404, "not_found", NULL, "no such invitation");
	if (with_bodies && !inv_r->edited && render_bodies(env, inv_r, &err) < 0) {
		invitation_clear(inv_r);
		return fault_internal(f, err);
	}
	return 0;
}

/* Every occurrence of from in s replaced by to; malloc'd. */
char *invitation_replace_all(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to), count = 0;
	for (const char *p = s; (p = strstr(p, from)) != NULL; p += nf)
		count++;
	char *out = malloc(strlen(s) + count * nt + 1), *w = out;
	if (out == NULL)
		return NULL;
	for (const char *p = s, *hit; (hit = strstr(p, from)) != NULL; p = hit + nf) {
		memcpy(w, p, (size_t)(hit - p));
		w += hit - p;
		memcpy(w, to, nt);
		w += nt;
		s = hit + nf;
	}
	strcpy(w, s);
	return out;
}

char *invitation_reveal(const struct inv_env *env, struct invitation *inv, int admin)
{
	char *url = invitation_link(env, inv);
	if (url == NULL)
		return NULL;
	if (admin && (inv->status == INV_DRAFT || inv->status == INV_HANDED_OFF))
		return url;
	char *text = inv->body_text ? invitation_replace_all(inv->body_text, url, "[link]") : NULL;
	char *html = inv->body_html ? invitation_replace_all(inv->body_html, url, "[link]") : NULL;
	free(inv->body_text);
	free(inv->body_html);
	inv->body_text = text;
	inv->body_html = html;
	free(url);
	return NULL;
}

char *invitation_link(const struct inv_env *env, const struct invitation *inv)
{
	struct link_row link;
	const char *err;
	if (!invitation_open(inv->status) || inv->jti[0] == '\0' ||
	    store_link_get(env->st, inv->jti, &link, &err) != STORE_OK ||
	    link.state != LINK_LIVE || link.expires_at <= env->now)
		return NULL;
	return link_url(env->mailer->public_url, link.token);
}
