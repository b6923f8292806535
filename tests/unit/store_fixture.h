/*
 * store_fixture.h: what the store's unit tests share: a fresh database of
 * the backend under test (db_fixture.h), removed when done, and
 * organizations and invitations made through the store's API.
 */
#ifndef INVITED_TEST_STORE_FIXTURE_H
#define INVITED_TEST_STORE_FIXTURE_H

#include <stdlib.h>
#include <unistd.h>

#include "db_fixture.h"
#include "invited/store.h"
#include "test.h"

#define db_path test_db

static struct store *fresh(void)
{
	struct store *st;
	const char *err = NULL;
	if (store_open(test_db_new(), STORE_CREATE | STORE_MIGRATE, &st, &err) != STORE_OK) {
		fprintf(stderr, "open: %s\n", err);
		abort();
	}
	return st;
}

static void done(struct store *st)
{
	const char *sql = NULL;
	int n = store_reprepares(st, &sql);
	if (n != 0) /* a statement prepared again at every use: see store.h */
		fprintf(stderr, "prepared again (%d times): %s\n", n, sql);
	test_assert_int(n, 0);
	store_close(st);
	test_db_drop();
}

__attribute__((unused)) static int64_t add_org(struct store *st, enum org_kind kind,
					       enum org_status status, const char *email,
					       const char *domain)
{
	struct org o = {.kind = kind, .status = status, .created_at = 1000};
	const char *err;
	snprintf(o.legal_name, sizeof(o.legal_name), "Org %s", email);
	snprintf(o.contact_email, sizeof(o.contact_email), "%s", email);
	if (domain != NULL) {
		snprintf(o.domains[0], sizeof(o.domains[0]), "%s", domain);
		o.n_domains = 1;
	}
	test_assert_int(store_org_insert(st, &o, &err), STORE_OK);
	/* as the operator creates one: its domain proven by the operator */
	if (domain != NULL)
		test_assert_int(store_domain_prove(st, o.id, NULL, "operator", 1000, &err), STORE_OK);
	return o.id;
}

__attribute__((unused)) static int64_t add_invitation(struct store *st, int64_t inviter,
						      enum inv_status status, int64_t expires)
{
	static int n;
	struct invitation inv = {.kind = INV_RESELLER, .status = status,
				 .inviter_org_id = inviter, .expires_at = expires,
				 .created_at = 1};
	const char *err;
	snprintf(inv.email, sizeof(inv.email), "c%d@c.test", n);
	snprintf(inv.reply_code, sizeof(inv.reply_code), "code%d", n++);
	snprintf(inv.locale, sizeof(inv.locale), "en");
	snprintf(inv.subject, sizeof(inv.subject), "s");
	test_assert_int(store_invitation_insert(st, &inv, &err), STORE_OK);
	return inv.id;
}

#endif
