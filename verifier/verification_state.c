/*
 * verification_state.c: the verification lifecycle's one owner. A
 * verification is pending until its contact proves the address, a newer
 * one replaces it, or its mail bounces; each of those goes through
 * verification_apply, which makes the conditional UPDATE, kills the link
 * and writes the event, in the caller's transaction.
 */
#include <string.h>

#include "invited/log.h"
#include "invited/transition.h"
#include "invited/verify.h"
#include "verifier_int.h"

static const char *const event_names[VERIF_EV_COUNT] = {
	[VERIF_EV_VERIFY] = "verification.verified",
	[VERIF_EV_SUPERSEDE] = "verification.superseded",
	[VERIF_EV_BOUNCE] = "verification.bounced",
};

/* (status, event) -> status; 0: refused. Only pending moves. */
static const unsigned char table[VERIF_BOUNCED + 1][VERIF_EV_COUNT] = {
	[VERIF_PENDING] = {[VERIF_EV_VERIFY] = VERIF_VERIFIED,
			   [VERIF_EV_SUPERSEDE] = VERIF_SUPERSEDED,
			   [VERIF_EV_BOUNCE] = VERIF_BOUNCED},
};

const char *verif_event_name(enum verif_event ev)
{
	return ev > 0 && ev < VERIF_EV_COUNT ? event_names[ev] : "verification.unknown";
}

int verification_transition(enum verif_status from, enum verif_event ev)
{
	return from < VERIF_PENDING ? -1 : TRANSITION(table, from, ev);
}

int verification_apply(const struct verifier_env *env, struct verification *v,
		       enum verif_event ev, const char *method, const char *reason,
		       const char **error_r)
{
	int to = verification_transition(v->status, ev);
	if (to < 0) {
		*error_r = errorf("the verification is %s: it cannot be %s",
				  verif_status_str(v->status),
				  strchr(verif_event_name(ev), '.') + 1);
		return 1;
	}
	int rc = store_verif_finish(env->st, v->id, v->status, (enum verif_status)to, method,
				    reason, env->now, error_r);
	if (rc == STORE_CONFLICT)
		return 1;
	if (rc != STORE_OK)
		return -1;
	v->status = (enum verif_status)to;
	/* Every way out of pending is final: the link dies (a used one stays
	 * used). */
	if (v->jti[0] != '\0' && store_link_revoke(env->st, v->jti, env->now, error_r) != STORE_OK)
		return -1;
	return enroll_event(env, v->org_id, verif_event_name(ev),
			    errorf("verification:%lld to %s%s%s%s%s", (long long)v->id, v->email,
				   method && method[0] ? " by " : "", method ? method : "",
				   reason && reason[0] ? ": " : "", reason ? reason : ""),
			    error_r);
}

int verification_supersede_all(const struct verifier_env *env, int64_t org_id, size_t *n_r,
			       const char **error_r)
{
	struct verification v;
	int rc;
	*n_r = 0;
	while ((rc = store_verif_pending(env->st, org_id, &v, error_r)) == STORE_OK) {
		if (verification_apply(env, &v, VERIF_EV_SUPERSEDE, NULL, NULL, error_r) != 0)
			return -1; /* pending a moment ago, in this transaction */
		(*n_r)++;
	}
	return rc == STORE_NOT_FOUND ? 0 : -1;
}

int verification_bounced(const struct verifier_env *env, int64_t id, const char *reason,
			 const char **error_r)
{
	struct verification v;
	int rc = store_verif_get(env->st, id, &v, error_r);
	if (rc == STORE_NOT_FOUND) {
		*error_r = "no such verification";
		return 1;
	}
	if (rc != STORE_OK)
		return -1;
	return verification_apply(env, &v, VERIF_EV_BOUNCE, "smtp", reason, error_r);
}
