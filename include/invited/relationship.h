/*
 * relationship.h: the relationship lifecycle after its creation (which is
 * an accepted invitation's, links/redeem.c): active -> ended. Ending is
 * explicit, by either side of an indirect-provider relationship or by the
 * upstream side of a reseller-of-record one; the row stays (never
 * deleted), both sides' primary contacts are mailed, and the audit log
 * names who ended it.
 */
#ifndef INVITED_RELATIONSHIP_H
#define INVITED_RELATIONSHIP_H

#include "fault.h"
#include "invitation.h"

/*
 * End the active relationship of kind between me and other: for
 * REL_INDIRECT_PROVIDER me may be the provider or the reseller; for
 * REL_RESELLER_OF_RECORD me is the reseller (or provider) and other the
 * customer. 404 "not_found" when there is none (the same answer whether
 * other exists or not). One transaction of its own.
 */
int relationship_end(const struct inv_env *env, const struct org *me, enum rel_kind kind,
		     int64_t other, struct fault *f);

#endif
