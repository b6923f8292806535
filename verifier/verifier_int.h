/*
 * verifier_int.h: what enroll.c and verify.c share inside the verifier.
 */
#ifndef INVITED_VERIFIER_INT_H
#define INVITED_VERIFIER_INT_H

#include "invited/enroll.h"

/* Mail the primary contact the organization's current status
 * (templates mail/enrollment_<status>), with o->status_reason. */
int enroll_mail_status(const struct verifier_env *env, const struct org *o,
		       const char **error_r);

/* An audit line about organization org_id. */
int enroll_audit(const struct verifier_env *env, int64_t org_id,
		 const char *action, const char *details, const char **error_r);

#endif
