/*
 * relationship.h: the relationship lifecycle (links/relationship.c owns it):
 *   create  none -> active    (an invitation accepted, links/redeem.c)
 *   end     active -> ended   (a side ends it)
 * Anything else is refused; ended is final (accepting a new invitation
 * makes a new row). Ending is explicit, by either side of an
 * indirect-provider relationship or by the upstream side of a
 * reseller-of-record one; the row stays (never deleted), both sides'
 * primary contacts are mailed, and the event names who ended it. Each
 * change writes an event for both sides (org_id up, peer_org_id down).
 */
#ifndef INVITED_RELATIONSHIP_H
#define INVITED_RELATIONSHIP_H

#include "fault.h"
#include "invitation.h"

enum rel_state { REL_STATE_NONE = 0, REL_STATE_ACTIVE, REL_STATE_ENDED };
enum rel_event { REL_EV_CREATE = 1, REL_EV_END, REL_EV_COUNT };

const char *rel_event_name(enum rel_event ev);
/* The state a relationship in `from` goes to on ev; -1: refused. */
int relationship_transition(enum rel_state from, enum rel_event ev);

/* An active relationship of kind from up to down, for an accepted
 * invitation, in the caller's transaction: 0, or 1 when one is active
 * already (nothing changes); -1 on a store error. */
int relationship_create(const struct inv_env *env, enum rel_kind kind, int64_t up, int64_t down,
			int64_t invitation_id, const char **error_r);

/*
 * End the active relationship of kind between me and other: for
 * REL_INDIRECT_PROVIDER me may be the provider or the reseller; for
 * REL_RESELLER_OF_RECORD me is the reseller (or provider) and other the
 * customer. 404 "not_found" when there is none (the same answer whether
 * other exists or not). One transaction of its own.
 */
int relationship_end(const struct inv_env *env, const struct org *me, enum rel_kind kind,
		     int64_t other, struct fault *f);

/* The same by the relationship's id (POST /relationships/{id}/end): 404
 * unless me may end it, 409 "invalid_state" when it already ended. */
int relationship_end_by_id(const struct inv_env *env, const struct org *me, int64_t id,
			   struct fault *f);

#endif
