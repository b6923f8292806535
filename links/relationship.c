/*
 * relationship.c: ending a relationship (see relationship.h). The store
 * row moves active -> ended only here; both primary contacts hear of it in
 * the same transaction.
 */
#include <stdio.h>

#include "invited/log.h"
#include "invited/relationship.h"

static int mail_side(const struct inv_env *env, const struct org *to, const struct org *other,
		     const struct org *by, enum rel_kind kind, const char **error_r)
{
	struct tpl_vars v = {0};
	if (to->contact_email[0] == '\0')
		return 0;
	tpl_vars_set(&v, "recipient", to->legal_name);
	tpl_vars_set(&v, "other", other->legal_name);
	tpl_vars_set(&v, "ended_by", by->legal_name);
	tpl_vars_set(&v, kind == REL_INDIRECT_PROVIDER ? "kind_indirect_provider"
						       : "kind_reseller_of_record", "1");
	tpl_vars_set(&v, "public_url", env->mailer->public_url);
	struct mail_job job = {
		.kind = "notice",
		.to = {to->contact_name[0] ? to->contact_name : NULL, to->contact_email},
		.auto_submitted = 1,
		.org_id = to->id,
	};
	return mailer_queue_template(env->mailer, env->st, "relationship_ended", to->locale, &v,
				     &job, env->now, error_r);
}

int relationship_end(const struct inv_env *env, const struct org *me, enum rel_kind kind,
		     int64_t other_id, struct fault *f)
{
	const char *err = NULL;
	struct org other;
	int64_t up, down;
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	int rc = store_org_get(env->st, other_id, &other, &err);
	if (rc == STORE_ERROR)
		goto internal;
	if (rc != STORE_OK)
		goto none;
	if (kind == REL_INDIRECT_PROVIDER && me->kind == ORG_PROVIDER)
		up = me->id, down = other.id;
	else if (kind == REL_INDIRECT_PROVIDER && me->kind == ORG_RESELLER)
		up = other.id, down = me->id;
	else if (kind == REL_RESELLER_OF_RECORD && me->kind != ORG_CUSTOMER)
		up = me->id, down = other.id;
	else
		goto none;
	rc = store_rel_end(env->st, kind, up, down, env->now, &err);
	if (rc == STORE_ERROR)
		goto internal;
	if (rc != STORE_OK)
		goto none;
	char subject[64], details[64];
	snprintf(subject, sizeof(subject), "org:%lld", (long long)other.id);
	snprintf(details, sizeof(details), "%s with org:%lld", rel_kind_str(kind),
		 (long long)me->id);
	if (mail_side(env, me, &other, me, kind, &err) < 0 ||
	    mail_side(env, &other, me, me, kind, &err) < 0 ||
	    store_audit(env->st, env->now, env->actor, "relationship.end", subject, details,
			&err) != STORE_OK)
		goto internal;
	if (store_commit(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	return 0;
none:
	store_rollback(env->st);
	return fault_set(f, 404, "not_found", NULL, "no such relationship");
internal:
	store_rollback(env->st);
	return fault_internal(f, err);
}
