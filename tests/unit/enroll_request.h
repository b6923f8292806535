/*
 * enroll_request.h: the enrollment request the enrollment tests start
 * from (one that passes every rule; each case breaks one thing), and the
 * public mailbox list they check against.
 */
#ifndef INVITED_TEST_ENROLL_REQUEST_H
#define INVITED_TEST_ENROLL_REQUEST_H

#include "invited/enroll.h"

static const char *const public_list[] = {"gmail.com", "yahoo.co.jp", "outlook.com"};

/* A request that passes every rule; cases break one thing each. */
static inline struct enroll_request good(void)
{
	struct enroll_request r = {
		.kind = "reseller",
		.legal_name = "Contoso Resellers K.K.",
		.address = "1-2-3 Marunouchi\nChiyoda-ku, Tokyo",
		.country = "jp",
		.partner_id = "MPN-12345",
		.n_domains = 2,
		.domains = {"Contoso.test", "contoso-sales.test"},
		.contact_name = "Rita Reseller",
		.contact_email = "Rita@sales.contoso.test",
		.contact_phone = "+81 3-1234-5678",
		.support_email = "support@contoso.test",
		.support_url = "https://contoso.test/support",
	};
	return r;
}


#endif
