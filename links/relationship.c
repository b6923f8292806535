/*
 * relationship.c: the relationship lifecycle's one owner (see
 * relationship.h). A relationship is created when an invitation is
 * accepted and ends when a side ends it; both go through the table, and
 * each writes its event, in the caller's transaction or its own.
 */
#include <stdio.h>

#include "invited/log.h"
#include "invited/relationship.h"
#include "invited/transition.h"

static const char *const event_names[REL_EV_COUNT] = {
	[REL_EV_CREATE] = "relationship.created",
	[REL_EV_END] = "relationship.ended",
};

/* (state, event) -> state; 0: refused. */
static const unsigned char table[REL_STATE_ENDED + 1][REL_EV_COUNT] = {
	[REL_STATE_NONE] = {[REL_EV_CREATE] = REL_STATE_ACTIVE},
	[REL_STATE_ACTIVE] = {[REL_EV_END] = REL_STATE_ENDED},
	/* ended: final (a new acceptance creates a new row) */
};

const char *rel_event_name(enum rel_event ev)
{
	return ev > 0 && ev < REL_EV_COUNT ? event_names[ev] : "relationship.unknown";
}

int relationship_transition(enum rel_state from, enum rel_event ev)
{
	return TRANSITION(table, from, ev);
}

static int rel_event(const struct inv_env *env, enum rel_event ev, int64_t id, enum rel_kind kind,
		     int64_t up, int64_t down, const char *details, const char **error_r)
{
	return store_event_on(env->st, env->now, up, down, env->actor, rel_event_name(ev),
			      "relationship", id,
			      errorf("%s org:%lld -> org:%lld%s%s", rel_kind_str(kind),
				     (long long)up, (long long)down, details ? "; " : "",
				     details ? details : ""),
			      error_r) == STORE_OK
		       ? 0
		       : -1;
}

int relationship_create(const struct inv_env *env, enum rel_kind kind, int64_t up, int64_t down,
			int64_t invitation_id, const char **error_r)
{
	int rc = store_rel_active(env->st, kind, up, down, error_r);
	if (rc == STORE_ERROR)
		return -1;
	enum rel_state from = rc == STORE_OK ? REL_STATE_ACTIVE : REL_STATE_NONE;
	if (relationship_transition(from, REL_EV_CREATE) < 0)
		return 1; /* already linked: accepting again changes nothing */
	struct relationship r = {.kind = kind, .up_org_id = up, .down_org_id = down,
				 .invitation_id = invitation_id, .created_at = env->now};
	if (store_rel_insert(env->st, &r, error_r) != STORE_OK)
		return -1;
	return rel_event(env, REL_EV_CREATE, r.id, kind, up, down,
			 invitation_id ? errorf("invitation:%lld", (long long)invitation_id) : NULL,
			 error_r);
}

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
		.kind = OUTBOX_NOTICE,
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
	rc = store_rel_active(env->st, kind, up, down, &err);
	if (rc == STORE_ERROR)
		goto internal;
	if (relationship_transition(rc == STORE_OK ? REL_STATE_ACTIVE : REL_STATE_NONE,
				    REL_EV_END) < 0)
		goto none;
	int64_t id;
	rc = store_rel_end(env->st, kind, up, down, env->now, &id, &err);
	if (rc == STORE_ERROR)
		goto internal;
	if (rc != STORE_OK)
		goto none;
	if (mail_side(env, me, &other, me, kind, &err) < 0 ||
	    mail_side(env, &other, me, me, kind, &err) < 0 ||
	    rel_event(env, REL_EV_END, id, kind, up, down,
		      errorf("ended by org:%lld", (long long)me->id), &err) < 0)
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

int relationship_end_by_id(const struct inv_env *env, const struct org *me, int64_t id,
			   struct fault *f)
{
	struct relationship r;
	const char *err = NULL;
	int rc = store_rel_get(env->st, id, &r, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	/* Either side of an indirect-provider relationship; the upstream
	 * side of a reseller-of-record one. Others do not learn it exists. */
	int party = r.up_org_id == me->id ||
		    (r.kind == REL_INDIRECT_PROVIDER && r.down_org_id == me->id);
	if (rc != STORE_OK || !party)
		return fault_set(f, 404, "not_found", NULL, "no such relationship");
	if (relationship_transition(r.active ? REL_STATE_ACTIVE : REL_STATE_ENDED, REL_EV_END) < 0)
		return fault_set(f, 409, "invalid_state", NULL, "the relationship already ended");
	return relationship_end(env, me, r.kind,
				r.up_org_id == me->id ? r.down_org_id : r.up_org_id, f);
}
