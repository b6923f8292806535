/*
 * enroll.c: storing an enrollment and the operator's decisions on it.
 * Each is one transaction with its audit line and the mail it sends the
 * primary contact.
 */
#include <stdlib.h>
#include <string.h>

#include "invited/enroll.h"
#include "invited/log.h"
#include "invited/verify.h"
#include "verifier_int.h"

static const char *const actions[] = {NULL, "approve", "reject", "suspend"};

const char *review_action_str(enum review_action a)
{
	return a >= REVIEW_APPROVE && a <= REVIEW_SUSPEND ? actions[a] : "unknown";
}

int review_action_parse(const char *s, enum review_action *a_r)
{
	for (int i = REVIEW_APPROVE; i <= REVIEW_SUSPEND; i++) {
		if (strcmp(s, actions[i]) == 0) {
			*a_r = (enum review_action)i;
			return 0;
		}
	}
	return -1;
}

#define REFUSE(code, why)                                                      \
	do {                                                                   \
		*code_r = (code);                                              \
		*why_r = (why);                                                \
		return -1;                                                     \
	} while (0)

int review_transition(enum org_status from, int contact_verified,
		      enum review_action action, const char **code_r,
		      const char **why_r)
{
	if (from == ORG_NO_ENROLLMENT)
		REFUSE("not_enrolled", "this organization did not enroll: there is nothing to review");
	if (from == ORG_REJECTED)
		REFUSE("rejected", "the enrollment was rejected; that decision is final");
	switch (action) {
	case REVIEW_APPROVE:
		if (from == ORG_PENDING_VERIFICATION || !contact_verified)
			REFUSE("not_verified", "the primary contact has not verified their "
					       "email address yet");
		if (from == ORG_APPROVED)
			REFUSE("already_approved", "the organization is already approved");
		return ORG_APPROVED; /* from in_review, or suspended (reinstated) */
	case REVIEW_REJECT:
		if (from == ORG_APPROVED || from == ORG_SUSPENDED)
			REFUSE("already_decided", "an approved organization can be suspended, "
						  "not rejected");
		return ORG_REJECTED;
	case REVIEW_SUSPEND:
		if (from == ORG_SUSPENDED)
			REFUSE("already_suspended", "the organization is already suspended");
		if (from != ORG_APPROVED)
			REFUSE("not_approved", "only an approved organization can be suspended");
		return ORG_SUSPENDED;
	}
	REFUSE("invalid_action", "unknown decision");
}

/*
 * The approved organization (other than self) owning d or a parent of d:
 * whoever owns contoso.test owns sales.contoso.test too. 0 when none.
 */
static int domain_taken(struct store *st, const char *d, int64_t self,
			int64_t *owner_r, const char **error_r)
{
	for (const char *p = d; strchr(p, '.') != NULL; p = strchr(p, '.') + 1) {
		if (store_domain_owner(st, p, self, owner_r, error_r) != STORE_OK)
			return -1;
		if (*owner_r != 0)
			return 0;
	}
	return 0;
}

static int check_owners(struct store *st, const struct org *o, struct fault *f)
{
	const char *err;
	int64_t owner;
	for (size_t i = 0; i < o->n_domains; i++) {
		if (domain_taken(st, o->domains[i], o->id, &owner, &err) < 0)
			return fault_internal(f, err);
		if (owner != 0)
			return fault_set(f, 409, "domain_taken", errorf("domains[%zu]", i),
					 errorf("the domain %s already belongs to an approved "
						"organization",
						o->domains[i]));
	}
	return 0;
}

int enroll_event(const struct verifier_env *env, int64_t org_id, const char *name,
		 const char *details, const char **error_r)
{
	return store_event_on(env->st, env->now, org_id, 0, env->actor, name, "org", org_id,
			      details, error_r) == STORE_OK
		       ? 0
		       : -1;
}

/*
 * Enrolling mails the contact, so that enrolling again and again with
 * someone's address would flood it: at most env->recipient_limit
 * verification mails to an address an hour. And one pending enrollment per
 * contact address: a newer one withdraws the older (rejected, its link
 * dead, no mail: the new verification mail is the news), so that no one
 * can hold an address by enrolling with it first; whoever verifies wins.
 */
static int one_pending_per_contact(const struct verifier_env *env, const struct org *o,
				   struct fault *f)
{
	static const char why[] = "withdrawn: a newer enrollment names the same primary contact";
	const char *err = NULL, *code = NULL, *refusal = NULL;
	struct org old;
	int64_t other;
	size_t n;
	int64_t wait = verify_recipient_wait(env, o->contact_email, &err);
	if (wait < 0)
		return fault_internal(f, err);
	if (wait > 0)
		return fault_set(f, 429, "rate_limited", ENROLL_F_CONTACT_EMAIL,
				 errorf("too many verification mails to this address in the "
					"last hour; retry in %lld seconds",
					(long long)wait));
	int rc = store_org_pending_for_contact(env->st, o->contact_email, &other, &err);
	if (rc == STORE_OK)
		rc = store_org_get(env->st, other, &old, &err);
	if (rc == STORE_NOT_FOUND)
		return 0;
	int to = rc == STORE_OK ? review_transition(old.status, old.contact_verified,
						    REVIEW_REJECT, &code, &refusal)
				: -1;
	if (rc != STORE_OK || to < 0 ||
	    store_org_set_status(env->st, old.id, (int)old.status, (enum org_status)to, why,
				 env->now, &err) != STORE_OK ||
	    verification_supersede_all(env, old.id, &n, &err) < 0 ||
	    enroll_event(env, old.id, "org.withdrawn",
			 errorf("%s -> %s: %s", org_status_str(old.status),
				org_status_str((enum org_status)to), why),
			 &err) < 0)
		return fault_internal(f, err ? err : refusal);
	return 0;
}

int enroll_create(const struct verifier_env *env, const struct enroll_request *req,
		  struct org *o_r, struct fault *f)
{
	const char *err;
	struct org *o = o_r;
	if (enroll_check(req, env->public_domains, env->mailer, o, f) < 0)
		return -1;
	o->created_at = o->updated_at = env->now;
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	if (check_owners(env->st, o, f) < 0 || one_pending_per_contact(env, o, f) < 0)
		goto fail;
	int rc = store_org_insert(env->st, o, &err);
	if (rc == STORE_CONFLICT) {
		fault_set(f, 409, "domain_taken", ENROLL_F_DOMAINS, err);
		goto fail;
	}
	if (rc != STORE_OK ||
	    enroll_event(env, o->id, "enrollment.created",
		      errorf("kind=%s contact=%s domains=%zu", org_kind_str(o->kind),
			     o->contact_email, o->n_domains),
		      &err) < 0 ||
	    verify_start(env, o, NULL, &err) < 0 || store_commit(env->st, &err) != STORE_OK) {
		fault_internal(f, NULL);
		msg_error("enrollment: %s", err);
		goto fail;
	}
	msg_info("enrollment: org %lld (%s) waits for %s to verify", (long long)o->id,
		 o->legal_name, o->contact_email);
	return 0;
fail:
	store_rollback(env->st);
	return -1;
}

int enroll_mail_status(const struct verifier_env *env, const struct org *o,
		       const char **error_r)
{
	const char *reason = o->status_reason;
	struct tpl_vars vars = {0};
	char name[48], kind_var[32];
	snprintf(name, sizeof(name), "enrollment_%s", org_status_str(o->status));
	snprintf(kind_var, sizeof(kind_var), "kind_%s", org_kind_str(o->kind));
	tpl_vars_set(&vars, "org", o->legal_name);
	tpl_vars_set(&vars, "contact_name", o->contact_name);
	tpl_vars_set(&vars, "contact_email", o->contact_email);
	tpl_vars_set(&vars, "reason", reason && reason[0] ? reason : NULL);
	tpl_vars_set(&vars, "public_url", env->mailer->public_url);
	tpl_vars_set(&vars, kind_var, "1");
	char *signin = NULL;
	if (o->status == ORG_APPROVED && env->first_signin != NULL &&
	    env->first_signin(env->link_ctx, env->st, o, env->now, &signin, error_r) < 0)
		return -1;
	tpl_vars_set(&vars, "signin_link", signin);
	struct mail_job job = {
		.kind = OUTBOX_NOTICE,
		.to = {o->contact_name[0] ? o->contact_name : NULL, o->contact_email},
		.auto_submitted = 1,
		.org_id = o->id,
	};
	int rc = mailer_queue_template(env->mailer, env->st, name, o->locale, &vars, &job,
				       env->now, error_r);
	free(signin);
	return rc;
}

int enroll_review(const struct verifier_env *env, int64_t org_id,
		  enum review_action action, const char *reason, struct org *o_r,
		  struct fault *f)
{
	struct org o;
	const char *err, *code, *why;
	size_t n;
	if (reason == NULL)
		reason = "";
	if (action != REVIEW_APPROVE && reason[0] == '\0')
		return fault_set(f, 422, "missing_field", "reason",
				 errorf("a reason is required to %s", review_action_str(action)));
	if (strlen(reason) > MAX_REASON_LEN)
		return fault_set(f, 422, "too_long", "reason",
				 errorf("reason is longer than %d bytes", MAX_REASON_LEN));
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	int rc = store_org_get(env->st, org_id, &o, &err);
	if (rc != STORE_OK) {
		if (rc == STORE_ERROR)
			fault_internal(f, err);
		else
			fault_set(f, 404, "not_found", NULL, "no such organization");
		goto fail;
	}
	int to = review_transition(o.status, o.contact_verified, action, &code, &why);
	if (to < 0) {
		fault_set(f, 409, code, NULL, why);
		goto fail;
	}
	if (to == ORG_APPROVED && check_owners(env->st, &o, f) < 0)
		goto fail;
	rc = store_org_set_status(env->st, o.id, (int)o.status, (enum org_status)to, reason,
				  env->now, &err);
	if (rc == STORE_CONFLICT) {
		fault_set(f, 409, "changed", NULL, "the organization changed meanwhile; try again");
		goto fail;
	}
	enum org_status from = o.status;
	o.status = (enum org_status)to;
	snprintf(o.status_reason, sizeof(o.status_reason), "%s", reason);
	if (rc != STORE_OK ||
	    (from == ORG_PENDING_VERIFICATION &&
	     verification_supersede_all(env, o.id, &n, &err) < 0) ||
	    enroll_event(env, o.id,
			 action == REVIEW_APPROVE ? (from == ORG_SUSPENDED ? "org.reinstated"
									   : "org.approved")
			 : action == REVIEW_REJECT ? "org.rejected"
						   : "org.suspended",
		      errorf("%s -> %s%s%s", org_status_str(from), org_status_str(o.status),
			     reason[0] ? ": " : "", reason),
		      &err) < 0 ||
	    enroll_mail_status(env, &o, &err) < 0 || store_commit(env->st, &err) != STORE_OK) {
		msg_error("review: org %lld: %s", (long long)org_id, err);
		fault_internal(f, NULL);
		goto fail;
	}
	msg_info("review: org %lld %s -> %s by %s", (long long)o.id, org_status_str(from),
		 org_status_str(o.status), env->actor);
	if (o_r != NULL)
		*o_r = o;
	return 0;
fail:
	store_rollback(env->st);
	return -1;
}
