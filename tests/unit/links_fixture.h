/*
 * links_fixture.h: what the links module's store-backed unit tests share:
 * a real store (of the backend under test: db_fixture.h), key folder and the source tree's templates in a
 * temporary folder, with one approved reseller (Contoso, whose primary
 * contact is rita@contoso.test); and a second connection's look at what
 * is committed.
 */
#ifndef INVITED_TEST_LINKS_FIXTURE_H
#define INVITED_TEST_LINKS_FIXTURE_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_fixture.h"
#include "invited/invitation.h"
#include "invited/keys.h"
#include "mailer_fixture.h"
#include "test.h"

struct fixture {
	char dir[64];
	struct store *st;
	struct keyring *keys;
	struct tpl_set *tpl;
	struct mailer mailer;
	struct inv_env env;
	int64_t reseller;
	int schema_changed; /* exec_other ran DDL: statements are prepared again */
};

static void setup(struct fixture *fx)
{
	const char *err;
	char path[128], kid[MAX_KID_LEN + 1];
	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/invited-links-XXXXXX");
	test_assert(mkdtemp(fx->dir) != NULL);
	test_assert_int(store_open(test_db_new(), STORE_CREATE | STORE_MIGRATE, &fx->st, &err),
			STORE_OK);
	snprintf(path, sizeof(path), "%s/keys", fx->dir);
	test_assert(keyring_generate(path, kid, &err) == 0);
	test_assert(keyring_load(path, &fx->keys, &err) == 0);
	mailer_fixture(&fx->mailer, &fx->tpl);
	fx->env = (struct inv_env){fx->st, fx->keys, &fx->mailer, 86400, 1800000000, "test"};
	struct org o = {.kind = ORG_RESELLER, .status = ORG_APPROVED, .created_at = 1};
	snprintf(o.legal_name, sizeof(o.legal_name), "Contoso");
	snprintf(o.contact_name, sizeof(o.contact_name), "Rita");
	snprintf(o.contact_email, sizeof(o.contact_email), "rita@contoso.test");
	snprintf(o.locale, sizeof(o.locale), "en");
	test_assert_int(store_org_insert(fx->st, &o, &err), STORE_OK);
	fx->reseller = o.id;
}

/* No statement had to be prepared again (store_reprepares), unless the
 * test changed the schema under the store itself (exec_other with DDL). */
static void assert_no_reprepare(struct store *st, int schema_changed)
{
	const char *sql = NULL;
	int n = store_reprepares(st, &sql);
	if (n != 0 && !schema_changed) {
		fprintf(stderr, "prepared again at every use (%d times): %s\n", n, sql);
		test_assert_int(n, 0);
	}
}

static void teardown(struct fixture *fx)
{
	char cmd[128];
	assert_no_reprepare(fx->st, fx->schema_changed);
	store_close(fx->st);
	test_db_drop();
	keyring_free(fx->keys);
	tpl_set_free(fx->tpl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	test_assert(system(cmd) == 0);
}

/* The first column of sql's one row, as a second connection sees it. */
static int64_t count(struct fixture *fx, const char *sql)
{
	(void)fx;
	return test_db_int(sql);
}

/* Run sql on a second connection (schema changes the store's connection
 * then picks up by itself). */
static void exec_other(struct fixture *fx, const char *sql)
{
	fx->schema_changed |= strstr(sql, "CREATE ") != NULL || strstr(sql, "DROP ") != NULL ||
			      strstr(sql, "ALTER ") != NULL;
	test_db_exec(sql);
}

#endif
