/* link: invited_verifier */
/*
 * test_enroll.c: enrollment, verification and review on a real SQLite
 * store in a temporary folder: every state transition, including the
 * forbidden ones, with the mails and audit lines they leave. Links are
 * minted by fake_issue_link (a stand-in for the links module, which the
 * verifier must not call): it stores a live link row.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_fixture.h"
#include "enroll_request.h"
#include "invited/verify.h"
#include "mailer_fixture.h"
#include "test.h"

/* ------------------------------------------------- against the store */

struct fixture {
	char dir[64];
	struct store *st;
	struct tpl_set *tpl;
	struct mailer mailer;
	struct domain_list *pub;
	struct verifier_env env;
	int links_issued;
};

/* A fake of the links module's minter: a live row, a made-up URL. */
static int fake_issue_link(void *ctx, struct store *st, int64_t verification_id,
			   int64_t now, int64_t lifetime, char jti[MAX_CODE_LEN + 1],
			   char **url_r, const char **error_r)
{
	struct fixture *fx = ctx;
	struct link_row l = {.subject_id = verification_id,
			     .issued_at = now,
			     .expires_at = now + lifetime,
			     .state = LINK_LIVE};
	snprintf(l.jti, sizeof(l.jti), "jti%d", ++fx->links_issued);
	snprintf(l.purpose, sizeof(l.purpose), "verify_contact");
	snprintf(l.kid, sizeof(l.kid), "k4.pid.fake");
	snprintf(l.token, sizeof(l.token), "fake-token-%d", fx->links_issued);
	if (store_link_insert(st, &l, error_r) != STORE_OK)
		return -1;
	snprintf(jti, MAX_CODE_LEN + 1, "%s", l.jti);
	char buf[128];
	snprintf(buf, sizeof(buf), "http://invited.test/l/%s", l.token);
	*url_r = strdup(buf);
	return 0;
}

static void setup(struct fixture *fx)
{
	const char *err;
	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/invited-enroll-XXXXXX");
	test_assert(mkdtemp(fx->dir) != NULL);
	test_assert_int(store_open(test_db_new(), STORE_CREATE | STORE_MIGRATE, &fx->st, &err),
			STORE_OK);
	mailer_fixture(&fx->mailer, &fx->tpl);
	fx->pub = domain_list_new(public_list, 3);
	fx->env = (struct verifier_env){
		.st = fx->st,
		.mailer = &fx->mailer,
		.public_domains = fx->pub,
		.verification_lifetime = 3 * 86400,
		.resend_interval = 60,
		.now = 1800000000,
		.actor = "test",
		.issue_link = fake_issue_link,
		.link_ctx = fx,
	};
}

static void teardown(struct fixture *fx)
{
	char cmd[128];
	store_close(fx->st);
	test_db_drop();
	tpl_set_free(fx->tpl);
	domain_list_free(fx->pub);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	test_assert(system(cmd) == 0);
}

struct mails {
	int n;
	int64_t last_id; /* the newest, listed first */
	const char *kind;
};

static int count_mail(void *ctx, const struct outbox_msg *m)
{
	struct mails *c = ctx;
	if (strcmp(outbox_kind_str(m->kind), c->kind) == 0) {
		if (c->n++ == 0)
			c->last_id = m->id;
	}
	return 0;
}

/* How many queued mails of kind; *data_r (malloc'd) gets the newest. */
static int mails(struct fixture *fx, const char *kind, char **data_r)
{
	struct outbox_filter of = {.limit = 1000};
	struct mails c = {0, 0, kind};
	struct outbox_msg m;
	const char *err;
	test_assert_int(store_outbox_list(fx->st, &of, count_mail, &c, &err), STORE_OK);
	if (data_r != NULL) {
		*data_r = NULL;
		if (c.n > 0 && store_outbox_get(fx->st, c.last_id, 1, &m, &err) == STORE_OK) {
			*data_r = strndup(m.data, m.len);
			outbox_msg_clear(&m);
		}
	}
	return c.n;
}

static struct org load_org(struct fixture *fx, int64_t id)
{
	struct org o;
	const char *err;
	test_assert_int(store_org_get(fx->st, id, &o, &err), STORE_OK);
	return o;
}

/* Enroll good() and return the new org. */
static struct org enrolled(struct fixture *fx)
{
	struct enroll_request r = good();
	struct fault f = {0};
	struct org o;
	test_assert_int(enroll_create(&fx->env, &r, &o, &f), 0);
	test_assert_int(f.status, 0);
	return o;
}

static struct verification latest(struct fixture *fx, int64_t org)
{
	struct verification v;
	const char *err;
	test_assert_int(store_verif_latest(fx->st, org, &v, &err), STORE_OK);
	return v;
}

TEST(enroll_stores_pending_and_mails_the_contact)
{
	struct fixture fx;
	char *data;
	setup(&fx);
	struct org o = enrolled(&fx);
	test_assert(o.id > 0);
	struct org stored = load_org(&fx, o.id);
	test_assert_int(stored.status, ORG_PENDING_VERIFICATION);
	test_assert_int(stored.contact_verified, 0);
	test_assert_int(stored.n_domains, 2);
	struct verification v = latest(&fx, o.id);
	test_assert_int(v.status, VERIF_PENDING);
	test_assert_str(v.email, "rita@sales.contoso.test");
	test_assert_str(v.jti, "jti1");
	test_assert_int(v.expires_at, fx.env.now + 3 * 86400);
	test_assert_int(mails(&fx, "verification", &data), 1);
	test_assert_contains(data, "To: Rita Reseller <rita@sales.contoso.test>");
	test_assert_contains(data, "Subject: =?UTF-8?");
	char reply_to[96];
	snprintf(reply_to, sizeof(reply_to), "Reply-To: verify+%s@invited.test", v.reply_code);
	test_assert_contains(data, reply_to);
	test_assert_contains(data, "http://invited.test/l/fake-token-1");
	free(data);
	teardown(&fx);
}

TEST(enroll_refuses_a_domain_an_approved_org_owns)
{
	struct fixture fx;
	struct fault f = {0};
	struct org o, owner = {.kind = ORG_PROVIDER, .status = ORG_APPROVED, .n_domains = 1,
			       .created_at = 1};
	const char *err;
	setup(&fx);
	snprintf(owner.legal_name, sizeof(owner.legal_name), "Owner");
	snprintf(owner.contact_email, sizeof(owner.contact_email), "x@contoso.test");
	snprintf(owner.domains[0], sizeof(owner.domains[0]), "contoso.test");
	test_assert_int(store_org_insert(fx.st, &owner, &err), STORE_OK);
	/* Claimed only: nobody's yet, so another may enroll with it. */
	struct enroll_request r = good();
	test_assert_int(enroll_create(&fx.env, &r, &o, &f), 0);
	test_assert_int(store_domain_prove(fx.st, owner.id, NULL, "operator", 1, &err), STORE_OK);
	r = good();
	f = (struct fault){0};
	test_assert_int(enroll_create(&fx.env, &r, &o, &f), -1);
	test_assert_int(f.status, 409);
	test_assert_str(f.code, "domain_taken");
	test_assert_str(f.field, "domains[0]");
	/* a subdomain of an owned domain is owned too */
	r.n_domains = 1;
	r.domains[0] = "eu.contoso.test";
	r.contact_email = "rita@eu.contoso.test";
	f = (struct fault){0};
	test_assert_int(enroll_create(&fx.env, &r, &o, &f), -1);
	test_assert_str(f.code, "domain_taken");
	/* nothing more was stored or mailed (the one mail: the first enrollment's) */
	test_assert_int(mails(&fx, "verification", NULL), 1);
	/* a pending (not approved) owner does not block */
	struct org pending = owner;
	pending.status = ORG_IN_REVIEW;
	snprintf(pending.domains[0], sizeof(pending.domains[0]), "fabrikam.test");
	test_assert_int(store_org_insert(fx.st, &pending, &err), STORE_OK);
	r.domains[0] = "fabrikam.test";
	r.contact_email = "rita@fabrikam.test";
	f = (struct fault){0};
	test_assert_int(enroll_create(&fx.env, &r, &o, &f), 0);
	teardown(&fx);
}

TEST(verify_by_link_moves_to_review_once)
{
	struct fixture fx;
	struct verify_view view;
	char *data;
	setup(&fx);
	struct org o = enrolled(&fx);
	/* inspecting changes nothing, however often */
	for (int i = 0; i < 3; i++)
		test_assert_int(verify_inspect(&fx.env, "jti1", &view), VERIFY_OK);
	test_assert_str(view.org.legal_name, "Contoso Resellers K.K.");
	test_assert_int(load_org(&fx, o.id).status, ORG_PENDING_VERIFICATION);

	test_assert_int(verify_confirm(&fx.env, "jti1", &view), VERIFY_OK);
	struct org after = load_org(&fx, o.id);
	test_assert_int(after.status, ORG_IN_REVIEW);
	test_assert_int(after.contact_verified, 1);
	struct verification v = latest(&fx, o.id);
	test_assert_int(v.status, VERIF_VERIFIED);
	test_assert_str(v.method, "link");
	test_assert_int(mails(&fx, "notice", &data), 1);
	test_assert_contains(data, "Subject: The enrollment of Contoso Resellers K.K. is in review");
	free(data);

	/* a second use, and an unknown link */
	test_assert_int(verify_confirm(&fx.env, "jti1", &view), VERIFY_USED);
	test_assert_int(verify_inspect(&fx.env, "jti1", &view), VERIFY_USED);
	test_assert_int(verify_inspect(&fx.env, "nope", &view), VERIFY_UNKNOWN);
	test_assert_int(mails(&fx, "notice", NULL), 1);
	teardown(&fx);
}

TEST(resend_supersedes_and_is_rate_limited)
{
	struct fixture fx;
	struct verify_view view;
	struct fault f = {0};
	int queued;
	setup(&fx);
	struct org o = enrolled(&fx);
	/* too soon: no mail, and an answer like any other */
	fx.env.now += 10;
	test_assert_int(verify_resend(&fx.env, o.id, &queued, &f), 0);
	test_assert_int(queued, 0);
	test_assert_int(f.status, 0);
	test_assert_int(mails(&fx, "verification", NULL), 1);
	fx.env.now += 50;
	test_assert_int(verify_resend(&fx.env, o.id, &queued, &f), 0);
	test_assert_int(queued, 1);
	test_assert_int(mails(&fx, "verification", NULL), 2);
	/* the old link is dead, the new one works */
	test_assert_int(verify_inspect(&fx.env, "jti1", &view), VERIFY_REPLACED);
	test_assert_int(verify_confirm(&fx.env, "jti1", &view), VERIFY_REPLACED);
	test_assert_int(verify_inspect(&fx.env, "jti2", &view), VERIFY_OK);
	test_assert_int(verify_confirm(&fx.env, "jti2", &view), VERIFY_OK);
	/* once verified, and for an id that does not exist: no mail, the same answer */
	fx.env.now += 3600;
	test_assert_int(verify_resend(&fx.env, o.id, &queued, &f), 0);
	test_assert_int(queued, 0);
	test_assert_int(verify_resend(&fx.env, 999, &queued, &f), 0);
	test_assert_int(queued, 0);
	test_assert_int(f.status, 0);
	test_assert_int(mails(&fx, "verification", NULL), 2);
	teardown(&fx);
}

/* One address gets at most recipient_limit verification mails an hour,
 * from resends and new enrollments alike. */
TEST(verification_mails_are_limited_per_recipient)
{
	struct fixture fx;
	struct fault f = {0};
	int queued;
	setup(&fx);
	fx.env.recipient_limit = 2;
	struct org o = enrolled(&fx);
	fx.env.now += 60;
	test_assert_int(verify_resend(&fx.env, o.id, &queued, &f), 0);
	test_assert_int(queued, 1);
	fx.env.now += 60;
	test_assert_int(verify_resend(&fx.env, o.id, &queued, &f), 0);
	test_assert_int(queued, 0);
	test_assert_int(mails(&fx, "verification", NULL), 2);
	fx.env.now += 3600;
	test_assert_int(verify_resend(&fx.env, o.id, &queued, &f), 0);
	test_assert_int(queued, 1);
	teardown(&fx);
}

TEST(verification_expires)
{
	struct fixture fx;
	struct verify_view view;
	setup(&fx);
	struct org o = enrolled(&fx);
	fx.env.now += 3 * 86400;
	test_assert_int(verify_inspect(&fx.env, "jti1", &view), VERIFY_EXPIRED);
	test_assert_int(verify_confirm(&fx.env, "jti1", &view), VERIFY_EXPIRED);
	test_assert_int(load_org(&fx, o.id).status, ORG_PENDING_VERIFICATION);
	teardown(&fx);
}

TEST(verify_by_reply_needs_the_contact_address)
{
	struct fixture fx;
	struct verify_view view;
	const char *why;
	setup(&fx);
	struct org o = enrolled(&fx);
	struct verification v = latest(&fx, o.id);
	test_assert_int(verify_by_reply(&fx.env, "nosuchcode", "rita@sales.contoso.test", &view,
					&why),
			VERIFY_UNKNOWN);
	test_assert_int(verify_by_reply(&fx.env, v.reply_code, "mallory@contoso.test", &view,
					&why),
			VERIFY_REFUSED);
	test_assert_contains(why, "mallory@contoso.test");
	test_assert_int(load_org(&fx, o.id).status, ORG_PENDING_VERIFICATION);
	test_assert_int(verify_by_reply(&fx.env, v.reply_code, "RITA@sales.contoso.test", &view,
					&why),
			VERIFY_OK);
	test_assert_int(load_org(&fx, o.id).status, ORG_IN_REVIEW);
	test_assert_str(latest(&fx, o.id).method, "reply");
	/* the link died with it */
	test_assert_int(verify_inspect(&fx.env, "jti1", &view), VERIFY_USED);
	test_assert_int(verify_by_reply(&fx.env, v.reply_code, "rita@sales.contoso.test", &view,
					&why),
			VERIFY_USED);
	teardown(&fx);
}

TEST(review_in_the_store)
{
	struct fixture fx;
	struct verify_view view;
	struct fault f = {0};
	struct org after;
	char *data;
	setup(&fx);
	struct org o = enrolled(&fx);

	/* unverified: cannot be approved */
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_APPROVE, NULL, &after, &f), -1);
	test_assert_int(f.status, 409);
	test_assert_str(f.code, "not_verified");
	test_assert_int(load_org(&fx, o.id).status, ORG_PENDING_VERIFICATION);

	/* reasons are required to reject and suspend */
	f = (struct fault){0};
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_REJECT, "", &after, &f), -1);
	test_assert_int(f.status, 422);
	test_assert_str(f.field, "reason");

	test_assert_int(verify_confirm(&fx.env, "jti1", &view), VERIFY_OK);
	f = (struct fault){0};
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_SUSPEND, "why", &after, &f), -1);
	test_assert_str(f.code, "not_approved");
	f = (struct fault){0};
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_APPROVE, NULL, &after, &f), 0);
	test_assert_int(after.status, ORG_APPROVED);
	test_assert_int(load_org(&fx, o.id).status, ORG_APPROVED);
	test_assert_int(mails(&fx, "notice", &data), 2);
	test_assert_contains(data, "Subject: Contoso Resellers K.K. is approved");
	free(data);

	f = (struct fault){0};
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_REJECT, "late", &after, &f), -1);
	test_assert_str(f.code, "already_decided");
	f = (struct fault){0};
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_SUSPEND, "Unpaid invoices", &after,
				      &f),
			0);
	test_assert_int(mails(&fx, "notice", &data), 3);
	test_assert_contains(data, "Unpaid invoices");
	free(data);
	f = (struct fault){0};
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_APPROVE, "Paid", &after, &f), 0);
	test_assert_int(after.status, ORG_APPROVED);

	f = (struct fault){0};
	test_assert_int(enroll_review(&fx.env, 4242, REVIEW_APPROVE, NULL, &after, &f), -1);
	test_assert_int(f.status, 404);
	teardown(&fx);
}

TEST(reject_is_final_and_mailed_with_reason)
{
	struct fixture fx;
	struct verify_view view;
	struct fault f = {0};
	struct org after;
	char *data;
	setup(&fx);
	struct org o = enrolled(&fx);
	/* an enrollment that never verified can be rejected; its link dies */
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_REJECT,
				      "We could not confirm the partner id", &after, &f),
			0);
	test_assert_int(load_org(&fx, o.id).status, ORG_REJECTED);
	test_assert_int(mails(&fx, "notice", &data), 1);
	test_assert_contains(data, "We could not confirm the partner id");
	test_assert_contains(data, "was not approved");
	free(data);
	test_assert_int(verify_inspect(&fx.env, "jti1", &view), VERIFY_CLOSED);
	for (int a = REVIEW_APPROVE; a <= REVIEW_SUSPEND; a++) {
		f = (struct fault){0};
		test_assert_int(enroll_review(&fx.env, o.id, (enum review_action)a, "x", &after, &f),
				-1);
		test_assert_str(f.code, "rejected");
	}
	teardown(&fx);
}

static int event_cb(void *ctx, const struct event *e)
{
	char *names = ctx;
	size_t n = strlen(names);
	snprintf(names + n, 512 - n, "%s,", e->name);
	test_assert_str(e->actor, "test");
	test_assert(strncmp(e->subject, "org:", 4) == 0);
	test_assert_int(e->org_id, strtoll(e->subject + 4, NULL, 10));
	return 0;
}

TEST(every_change_is_an_event_of_the_organization)
{
	struct fixture fx;
	struct verify_view view;
	struct fault f = {0};
	struct org after;
	setup(&fx);
	struct org o = enrolled(&fx);
	test_assert_int(verify_confirm(&fx.env, "jti1", &view), VERIFY_OK);
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_APPROVE, NULL, &after, &f), 0);
	char names[512] = "";
	const char *err;
	struct event_filter ef = {.org_id = o.id, .limit = 100};
	test_assert_int(store_event_list(fx.st, &ef, event_cb, names, &err), STORE_OK);
	test_assert_str(names, "org.approved,verification.verified,verification.sent,"
			       "enrollment.created,");
	teardown(&fx);
}

/* Only pending moves, to one of three final statuses. */
TEST(verification_table_every_status_and_event)
{
	for (int s = 0; s <= VERIF_BOUNCED + 1; s++) {
		for (int e = 0; e <= VERIF_EV_COUNT; e++) {
			int want = -1;
			if (s == VERIF_PENDING && e == VERIF_EV_VERIFY)
				want = VERIF_VERIFIED;
			else if (s == VERIF_PENDING && e == VERIF_EV_SUPERSEDE)
				want = VERIF_SUPERSEDED;
			else if (s == VERIF_PENDING && e == VERIF_EV_BOUNCE)
				want = VERIF_BOUNCED;
			test_assert_int(verification_transition((enum verif_status)s,
								(enum verif_event)e),
					want);
		}
	}
	test_assert_str(verif_event_name(VERIF_EV_BOUNCE), "verification.bounced");
}

TEST(a_bounced_verification_is_closed_once_with_its_link)
{
	struct fixture fx;
	const char *err;
	setup(&fx);
	struct org o = enrolled(&fx);
	struct verification v;
	test_assert_int(store_verif_latest(fx.st, o.id, &v, &err), STORE_OK);
	test_assert_int(store_begin(fx.st, &err), STORE_OK);
	test_assert_int(verification_bounced(&fx.env, v.id, "550 no such user", &err), 0);
	test_assert_int(verification_bounced(&fx.env, v.id, "550 again", &err), 1);
	test_assert_int(store_commit(fx.st, &err), STORE_OK);
	test_assert_int(store_verif_get(fx.st, v.id, &v, &err), STORE_OK);
	test_assert_int(v.status, VERIF_BOUNCED);
	test_assert_str(v.status_reason, "550 no such user");
	struct link_row l;
	test_assert_int(store_link_get(fx.st, v.jti, &l, &err), STORE_OK);
	test_assert_int(l.state, LINK_REVOKED);
	teardown(&fx);
}

TEST_MAIN()
