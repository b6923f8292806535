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

/* An event about organization org_id (subject "org:ID"). */
int enroll_event(const struct verifier_env *env, int64_t org_id,
		 const char *name, const char *details, const char **error_r);

#endif
