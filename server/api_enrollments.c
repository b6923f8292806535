/*
 * api_enrollments.c: /api/v1/enrollments and the operator's review
 * decisions on /api/v1/orgs/{id}/approve|reject.
 */
#include <string.h>

#include "invited/api.h"

int api_enrollments(struct api_call *call, const char *rest)
{
	(void)rest;
	return http_respond_fault(call->rq, &(struct fault){404, "not_found", NULL,
							     "enrollment is not available yet"});
}

int api_org_review(struct api_call *call, struct org *o, const char *verb, struct fault *f)
{
	(void)call, (void)o, (void)verb;
	return fault_set(f, 404, "not_found", NULL, "no such resource");
}
