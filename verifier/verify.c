/*
 * verify.c: primary-contact verification. Only the newest verification of
 * an organization is pending; its link and its reply code each prove the
 * address once, and the enrollment then goes to review.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "invited/log.h"
#include "invited/rfc3339.h"
#include "invited/text.h"
#include "invited/verify.h"
#include "verifier_int.h"

static const struct {
	const char *code;
	int http;
} statuses[] = {
	[VERIFY_OK] = {"ok", 200},
	[VERIFY_UNKNOWN] = {"unknown", 404},
	[VERIFY_USED] = {"verified", 410},
	[VERIFY_REPLACED] = {"replaced", 410},
	[VERIFY_CLOSED] = {"enrollment_closed", 410},
	[VERIFY_EXPIRED] = {"expired", 410},
	[VERIFY_REFUSED] = {"refused", 403},
	[VERIFY_INTERNAL] = {"internal", 500},
};

const char *verify_status_code(enum verify_status s)
{
	return s <= VERIFY_INTERNAL ? statuses[s].code : "internal";
}

int verify_status_http(enum verify_status s)
{
	return s <= VERIFY_INTERNAL ? statuses[s].http : 500;
}

static int queue_mail(const struct verifier_env *env, const struct org *o,
		      const struct verification *v, const char *url, const char **error_r)
{
	struct tpl_vars vars = {0};
	char expires[32], kind_var[32];
	rfc3339_format(v->expires_at, expires);
	expires[10] = '\0';
	snprintf(kind_var, sizeof(kind_var), "kind_%s", org_kind_str(o->kind));
	tpl_vars_set(&vars, "org", o->legal_name);
	tpl_vars_set(&vars, "contact_name", o->contact_name);
	tpl_vars_set(&vars, "contact_email", o->contact_email);
	tpl_vars_set(&vars, "link", url);
	tpl_vars_set(&vars, "expires", expires);
	tpl_vars_set(&vars, "public_url", env->mailer->public_url);
	tpl_vars_set(&vars, kind_var, "1");
	struct mail_job job = {
		.kind = OUTBOX_VERIFICATION,
		.to = {o->contact_name[0] ? o->contact_name : NULL, o->contact_email},
		.reply_tag = "verify",
		.reply_code = v->reply_code,
		.verification_id = v->id,
		.org_id = o->id,
	};
	return mailer_queue_template(env->mailer, env->st, "verify_contact", o->locale, &vars,
				     &job, env->now, error_r);
}

int verify_start(const struct verifier_env *env, const struct org *o,
		 struct verification *v_r, const char **error_r)
{
	struct verification v = {
		.org_id = o->id,
		.expires_at = env->now + env->verification_lifetime,
		.created_at = env->now,
	};
	size_t superseded;
	char *url = NULL;
	snprintf(v.email, sizeof(v.email), "%s", o->contact_email);
	mailer_new_code(v.reply_code);
	if (verification_supersede_all(env, o->id, &superseded, error_r) < 0 ||
	    store_verif_insert(env->st, &v, error_r) != STORE_OK)
		return -1;
	if (env->issue_link(env->link_ctx, env->st, v.id, env->now,
			    env->verification_lifetime, v.jti, &url, error_r) < 0)
		return -1;
	int rc = store_verif_set_jti(env->st, v.id, v.jti, error_r) == STORE_OK &&
				 queue_mail(env, o, &v, url, error_r) == 0 &&
				 enroll_event(env, o->id, "verification.sent",
					      errorf("verification:%lld to %s%s",
						     (long long)v.id, v.email,
						     superseded ? " (older links revoked)" : ""),
					      error_r) == 0
			 ? 0
			 : -1;
	free(url);
	if (rc == 0 && v_r != NULL)
		*v_r = v;
	return rc;
}

int64_t verify_recipient_wait(const struct verifier_env *env, const char *email,
			      const char **error_r)
{
	int n;
	if (env->recipient_limit <= 0)
		return 0;
	if (store_verif_count_to(env->st, email, env->now - 3600, &n, error_r) != STORE_OK)
		return -1;
	/* A plain hourly window: the oldest of them leaves it within the hour. */
	return n < env->recipient_limit ? 0 : 3600 / env->recipient_limit + 1;
}

int verify_resend(const struct verifier_env *env, int64_t org_id, int *queued_r,
		  struct fault *f)
{
	struct org o;
	struct verification last;
	const char *err = NULL;
	const char *why = NULL;
	*queued_r = 0;
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	int rc = store_org_get(env->st, org_id, &o, &err);
	if (rc == STORE_OK && o.kind != ORG_CUSTOMER && o.status == ORG_PENDING_VERIFICATION)
		rc = store_verif_latest(env->st, org_id, &last, &err);
	else if (rc == STORE_OK)
		why = "not waiting for verification";
	else if (rc == STORE_NOT_FOUND)
		why = "no such enrollment";
	if (rc == STORE_ERROR)
		goto fail;
	if (why == NULL && rc == STORE_OK && env->now - last.created_at < env->resend_interval)
		why = "the last mail is younger than the resend interval";
	int64_t wait = 0;
	if (why == NULL && (wait = verify_recipient_wait(env, o.contact_email, &err)) < 0)
		goto fail;
	if (why == NULL && wait > 0)
		why = "the address had its verification mails for this hour";
	if (why != NULL) {
		store_rollback(env->st);
		msg_info("verification: resend for %lld: none sent: %s", (long long)org_id, why);
		return 0;
	}
	if (verify_start(env, &o, NULL, &err) < 0 || store_commit(env->st, &err) != STORE_OK)
		goto fail;
	*queued_r = 1;
	return 0;
fail:
	msg_error("verification: org %lld: %s", (long long)org_id, err ? err : "?");
	store_rollback(env->st);
	return fault_internal(f, NULL);
}

/* Load org and verification behind a verification id; say if usable. */
static enum verify_status load(const struct verifier_env *env, int64_t verif_id,
			       struct verify_view *view)
{
	const char *err;
	int rc = store_verif_get(env->st, verif_id, &view->v, &err);
	if (rc == STORE_OK)
		rc = store_org_get(env->st, view->v.org_id, &view->org, &err);
	if (rc == STORE_NOT_FOUND)
		return VERIFY_UNKNOWN;
	if (rc != STORE_OK) {
		msg_error("verification %lld: %s", (long long)verif_id, err);
		return VERIFY_INTERNAL;
	}
	if (view->v.status == VERIF_VERIFIED || view->org.contact_verified)
		return VERIFY_USED;
	if (view->org.status != ORG_PENDING_VERIFICATION || view->v.status == VERIF_BOUNCED)
		return VERIFY_CLOSED;
	if (view->v.status == VERIF_SUPERSEDED)
		return VERIFY_REPLACED;
	if (env->now >= view->v.expires_at)
		return VERIFY_EXPIRED;
	return VERIFY_OK;
}

enum verify_status verify_inspect(const struct verifier_env *env, const char *jti,
				  struct verify_view *view)
{
	struct link_row l;
	const char *err;
	memset(view, 0, sizeof(*view));
	int rc = store_link_get(env->st, jti, &l, &err);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && strcmp(l.purpose, "verify_contact") != 0))
		return VERIFY_UNKNOWN;
	if (rc != STORE_OK) {
		msg_error("verification link: %s", err);
		return VERIFY_INTERNAL;
	}
	enum verify_status s = load(env, l.subject_id, view);
	if (s == VERIFY_OK && l.state == LINK_REVOKED)
		return VERIFY_REPLACED;
	if (s == VERIFY_OK && l.state == LINK_USED)
		return VERIFY_USED;
	return s;
}

/* The verified contact proves its own domain, when the organization lists
 * exactly that one (a parent domain needs its own proof) and no other
 * organization has proven it first. */
static int domains_prove_by_contact(const struct verifier_env *env, const struct org *o,
				    const char **error_r)
{
	char domain[MAX_DOMAIN_LEN + 1];
	const char *at = strrchr(o->contact_email, '@');
	if (at == NULL)
		return 0;
	snprintf(domain, sizeof(domain), "%s", at + 1);
	ascii_lower(domain);
	int rc = store_domain_prove(env->st, o->id, domain, "contact", env->now, error_r);
	if (rc == STORE_ERROR)
		return -1;
	if (rc == STORE_OK)
		return enroll_event(env, o->id, "domain.proven",
				    errorf("%s by the verified contact", domain), error_r);
	return 0;
}

/* The address is proven: record it, move the enrollment on, tell them. */
static int finish(const struct verifier_env *env, struct verify_view *view,
		  const char *method, const char **error_r)
{
	struct org *o = &view->org;
	if (verification_apply(env, &view->v, VERIF_EV_VERIFY, method, NULL, error_r) != 0 ||
	    store_org_set_contact_verified(env->st, o->id, env->now, error_r) != STORE_OK ||
	    store_org_set_status(env->st, o->id, ORG_PENDING_VERIFICATION, ORG_IN_REVIEW, "",
				 env->now, error_r) != STORE_OK ||
	    domains_prove_by_contact(env, o, error_r) < 0)
		return -1;
	o->contact_verified = 1;
	o->status = ORG_IN_REVIEW;
	o->status_reason[0] = '\0';
	return enroll_mail_status(env, o, error_r);
}

enum verify_status verify_confirm(const struct verifier_env *env, const char *jti,
				  struct verify_view *view)
{
	const char *err;
	if (store_begin(env->st, &err) != STORE_OK) {
		msg_error("verification: %s", err);
		return VERIFY_INTERNAL;
	}
	enum verify_status s = verify_inspect(env, jti, view);
	if (s != VERIFY_OK)
		goto out;
	int rc = store_link_use(env->st, jti, env->now, &err);
	if (rc == STORE_CONFLICT) {
		s = VERIFY_USED;
		goto out;
	}
	if (rc != STORE_OK || finish(env, view, "link", &err) < 0 ||
	    store_commit(env->st, &err) != STORE_OK) {
		msg_error("verification %lld: %s", (long long)view->v.id, err);
		s = VERIFY_INTERNAL;
		goto out;
	}
	msg_info("verification: org %lld contact %s verified by link", (long long)view->org.id,
		 view->org.contact_email);
	return VERIFY_OK;
out:
	store_rollback(env->st);
	return s;
}

enum verify_status verify_by_reply(const struct verifier_env *env, const char *code,
				   const char *from_addr, struct verify_view *view,
				   const char **reason_r)
{
	const char *err;
	struct verification v;
	memset(view, 0, sizeof(*view));
	int rc = store_verif_by_reply_code(env->st, code, &v, &err);
	if (rc != STORE_OK) {
		*reason_r = rc == STORE_NOT_FOUND ? "no verification has this reply code" : err;
		return rc == STORE_NOT_FOUND ? VERIFY_UNKNOWN : VERIFY_INTERNAL;
	}
	enum verify_status s = load(env, v.id, view);
	if (s != VERIFY_OK) {
		*reason_r = errorf("the verification is %s", verify_status_code(s));
		return s;
	}
	if (from_addr == NULL || strcasecmp(from_addr, view->v.email) != 0) {
		*reason_r = errorf("the reply comes from %s, not from %s",
				   from_addr ? from_addr : "no address", view->v.email);
		return VERIFY_REFUSED;
	}
	if ((view->v.jti[0] != '\0' &&
	     store_link_revoke(env->st, view->v.jti, env->now, &err) != STORE_OK) ||
	    finish(env, view, "reply", &err) < 0) {
		*reason_r = err;
		return VERIFY_INTERNAL;
	}
	*reason_r = "verified by an authenticated reply";
	msg_info("verification: org %lld contact %s verified by reply", (long long)view->org.id,
		 view->org.contact_email);
	return VERIFY_OK;
}
