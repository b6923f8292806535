/*
 * pages_verify.c: the page behind a verification link (purpose
 * verify_contact). Verification arrives with enrollment.
 */
#include "invited/pages.h"

int pages_verify(struct request *rq, const char *token, const struct link_claims *claims)
{
	(void)token, (void)claims;
	return pages_error(rq, 404, NULL, "unknown");
}
