/* link: invited_links */
/*
 * test_redeem.c: group commit of redeems (redeem_batch) on a real SQLite
 * store, key folder and templates in a temporary folder: each item in a
 * savepoint of its own, a link twice in a batch used once, a refused item
 * leaving nothing behind while the others are kept.
 */
#include "invited/redeem.h"
#include "links_fixture.h"

/* A reseller invitation to email, sent; its link's claims. */
static struct link_claims invite(struct fixture *fx, const char *email)
{
	struct inv_request req = {.kind = INV_RESELLER, .inviter_org_id = fx->reseller,
				  .email = email, .name = "Carol"};
	struct invitation inv;
	struct fault f = {0};
	test_assert_int(invitation_create(&fx->env, &req, &inv, &f), 0);
	struct link_claims c = {.purpose = PUR_RESELLER, .iat = fx->env.now,
				.exp = fx->env.now + 3600};
	snprintf(c.jti, sizeof(c.jti), "%s", inv.jti);
	test_assert(c.jti[0] != '\0');
	invitation_clear(&inv);
	return c;
}

static struct redeem_item item(struct link_claims c, int accept, const char *name,
			       int64_t now)
{
	struct redeem_item it = {.claims = c, .accept = accept, .now = now};
	it.in.customer_name = name;
	return it;
}

TEST(a_batch_keeps_each_item_apart_and_uses_a_link_once)
{
	struct fixture fx;
	setup(&fx);
	struct link_claims a = invite(&fx, "carol@fabrikam.test");
	struct link_claims b = invite(&fx, "dan@tailspin.test");
	struct link_claims c = invite(&fx, "erin@wingtip.test");
	int64_t mails = count(&fx, "SELECT count(*) FROM outbox");
	int64_t t = fx.env.now + 10;
	struct redeem_item items[] = {
		item(a, 1, "Fabrikam K.K.", t), /* accepted */
		item(a, 1, "Fabrikam K.K.", t), /* the same link again: used */
		item(b, 1, "", t),              /* no name for the new customer */
		item(c, 0, NULL, t),            /* declined */
	};
	struct redeem_item *p[] = {&items[0], &items[1], &items[2], &items[3]};
	redeem_batch(&fx.env, p, 4);
	test_assert_int(items[0].status, REDEEM_OK);
	test_assert_int(items[1].status, REDEEM_USED);
	test_assert_int(items[2].status, REDEEM_BAD_INPUT);
	test_assert_int(items[3].status, REDEEM_OK);
	test_assert_str(items[0].offer.acceptor.legal_name, "Fabrikam K.K.");
	test_assert_str(items[2].offer.inv.email, "dan@tailspin.test");

	/* One customer and one relationship, from the first item only; the
	 * refused one created no organization and left its link live. */
	test_assert_int(count(&fx, "SELECT count(*) FROM orgs WHERE kind = 'customer'"), 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM relationships"), 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM invitations WHERE status = 'accepted'"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM invitations WHERE status = 'declined'"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM links WHERE state = 'live'"), 1);
	/* The inviter hears of the accept and of the decline. */
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox") - mails, 2);

	/* The refused link still works, in a batch of its own. */
	struct redeem_item again = item(b, 1, "Tailspin", t + 1), *q = &again;
	redeem_batch(&fx.env, &q, 1);
	test_assert_int(again.status, REDEEM_OK);
	test_assert_int(count(&fx, "SELECT count(*) FROM relationships"), 2);
	teardown(&fx);
}

/* An item that fails after it has written (here: the notice to an
 * inviter whose contact address cannot be mailed) is undone to its
 * savepoint: no customer, no relationship, its link still live. */
TEST(an_item_failing_late_is_undone_and_the_others_kept)
{
	struct fixture fx;
	setup(&fx);
	struct link_claims a = invite(&fx, "carol@fabrikam.test");
	struct org bad = {.kind = ORG_RESELLER, .status = ORG_APPROVED, .created_at = 1};
	const char *err;
	snprintf(bad.legal_name, sizeof(bad.legal_name), "Broken Inc.");
	snprintf(bad.contact_email, sizeof(bad.contact_email), "no address\r\nBcc: x@y.test");
	snprintf(bad.locale, sizeof(bad.locale), "en");
	test_assert_int(store_org_insert(fx.st, &bad, &err), STORE_OK);
	int64_t good = fx.reseller;
	fx.reseller = bad.id;
	/* Inviting mails the invitee only: this works. */
	struct link_claims b = invite(&fx, "dan@tailspin.test");
	fx.reseller = good;
	struct redeem_item items[] = {item(b, 1, "Tailspin", fx.env.now),
				      item(a, 1, "Fabrikam K.K.", fx.env.now)};
	struct redeem_item *p[] = {&items[0], &items[1]};
	redeem_batch(&fx.env, p, 2);
	test_assert_int(items[0].status, REDEEM_INTERNAL);
	test_assert_int(items[1].status, REDEEM_OK);
	test_assert_int(count(&fx, "SELECT count(*) FROM orgs WHERE kind = 'customer'"), 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM relationships"), 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM links WHERE state = 'live'"), 1);
	teardown(&fx);
}

TEST(a_batch_that_cannot_begin_keeps_nothing)
{
	struct fixture fx;
	setup(&fx);
	struct link_claims a = invite(&fx, "carol@fabrikam.test");
	/* Another connection holds the write lock past the busy timeout
	 * would be slow; a transaction left open on this one makes BEGIN
	 * fail the same way, before anything is tried. */
	const char *err;
	test_assert_int(store_begin(fx.st, &err), STORE_OK);
	struct redeem_item it = item(a, 1, "Fabrikam K.K.", fx.env.now), *p = &it;
	redeem_batch(&fx.env, &p, 1);
	test_assert_int(it.status, REDEEM_INTERNAL);
	test_assert_str(it.offer.inv.locale, "");
	store_rollback(fx.st);
	test_assert_int(count(&fx, "SELECT count(*) FROM relationships"), 0);
	test_assert_int(count(&fx, "SELECT count(*) FROM links WHERE state = 'live'"), 1);
	teardown(&fx);
}

/*
 * Every item succeeds, and then the COMMIT fails: a trigger (added by
 * another connection, as a damaged or hostile schema would be) makes a
 * used link write a row whose foreign key is checked only at COMMIT. Each
 * item must then read as failed, and nothing of the batch stay: no
 * relationship, no customer, the links live, the invitations open, no
 * event.
 */
TEST(a_commit_failing_after_the_items_keeps_nothing_and_fails_each)
{
	struct fixture fx;
	setup(&fx);
	struct link_claims a = invite(&fx, "carol@fabrikam.test");
	struct link_claims b = invite(&fx, "dan@tailspin.test");
	int64_t events = count(&fx, "SELECT count(*) FROM events");
	exec_other(&fx, "CREATE TABLE commit_trap (org_id BIGINT REFERENCES orgs (id)"
			" DEFERRABLE INITIALLY DEFERRED);");
	exec_other(&fx, test_db_is_pg()
			    ? "CREATE FUNCTION commit_trap() RETURNS trigger LANGUAGE plpgsql AS"
			      " $$BEGIN INSERT INTO commit_trap VALUES (999999); RETURN NEW; END$$;"
			      "CREATE TRIGGER commit_trap AFTER UPDATE OF state ON links"
			      " FOR EACH ROW EXECUTE FUNCTION commit_trap();"
			    : "CREATE TRIGGER commit_trap AFTER UPDATE OF state ON links"
			      " BEGIN INSERT INTO commit_trap VALUES (999999); END;");
	struct redeem_item items[] = {item(a, 1, "Fabrikam K.K.", fx.env.now),
				      item(b, 0, NULL, fx.env.now)};
	struct redeem_item *p[] = {&items[0], &items[1]};
	redeem_batch(&fx.env, p, 2);
	test_assert_int(items[0].status, REDEEM_INTERNAL);
	test_assert_int(items[1].status, REDEEM_INTERNAL);
	test_assert_int(count(&fx, "SELECT count(*) FROM relationships"), 0);
	test_assert_int(count(&fx, "SELECT count(*) FROM orgs WHERE kind = 'customer'"), 0);
	test_assert_int(count(&fx, "SELECT count(*) FROM links WHERE state = 'live'"), 2);
	test_assert_int(count(&fx, "SELECT count(*) FROM invitations WHERE status = 'queued'"), 2);
	test_assert_int(count(&fx, "SELECT count(*) FROM events"), events);
	/* The connection is usable again: with the trap gone, the same
	 * batch goes through. */
	exec_other(&fx, test_db_is_pg() ? "DROP TRIGGER commit_trap ON links;"
					: "DROP TRIGGER commit_trap;");
	items[0] = item(a, 1, "Fabrikam K.K.", fx.env.now);
	items[1] = item(b, 0, NULL, fx.env.now);
	redeem_batch(&fx.env, p, 2);
	test_assert_int(items[0].status, REDEEM_OK);
	test_assert_int(items[1].status, REDEEM_OK);
	test_assert_int(count(&fx, "SELECT count(*) FROM relationships"), 1);
	teardown(&fx);
}

TEST_MAIN()
