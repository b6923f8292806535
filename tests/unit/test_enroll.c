/* link: invited_verifier */
/*
 * test_enroll.c: every enrollment rule and every state transition,
 * including the forbidden ones, on a real SQLite store in a temporary
 * folder. Links are minted by fake_issue_link (a stand-in for the links
 * module, which the verifier must not call): it stores a live link row.
 */
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "invited/enroll.h"
#include "invited/verify.h"
#include "test.h"

static const char *const public_list[] = {"gmail.com", "yahoo.co.jp", "outlook.com"};

/* A request that passes every rule; cases break one thing each. */
static struct enroll_request good(void)
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

/* Run enroll_check on r; return the fault (status 0 when it passed). */
static struct fault check(struct enroll_request r)
{
	struct domain_list *pub = domain_list_new(public_list, 3);
	struct fault f = {0};
	struct org o;
	enroll_check(&r, pub, NULL, &o, &f);
	domain_list_free(pub);
	return f;
}

#define assert_refused(req, want_status, want_code, want_field)                \
	do {                                                                   \
		struct fault f_ = check(req);                                  \
		test_assert_int(f_.status, want_status);                       \
		test_assert_str(f_.code, want_code);                           \
		test_assert_str(f_.field, want_field);                         \
	} while (0)

TEST(good_request_passes_and_is_normalized)
{
	struct domain_list *pub = domain_list_new(public_list, 3);
	struct enroll_request r = good();
	struct fault f = {0};
	struct org o;
	r.n_domains = 3;
	r.domains[2] = "CONTOSO.test"; /* a duplicate, by case */
	test_assert_int(enroll_check(&r, pub, NULL, &o, &f), 0);
	test_assert_int(o.kind, ORG_RESELLER);
	test_assert_int(o.status, ORG_PENDING_VERIFICATION);
	test_assert_str(o.country, "JP");
	test_assert_int(o.n_domains, 2);
	test_assert_str(o.domains[0], "contoso.test");
	test_assert_str(o.contact_email, "rita@sales.contoso.test");
	test_assert_str(o.locale, "en");
	domain_list_free(pub);
}

TEST(kind_must_be_provider_or_reseller)
{
	struct enroll_request r = good();
	r.kind = NULL;
	assert_refused(r, 422, "missing_field", "kind");
	r.kind = "customer";
	assert_refused(r, 422, "invalid_field", "kind");
	r.kind = "distributor";
	assert_refused(r, 422, "invalid_field", "kind");
	r.kind = "provider";
	test_assert_int(check(r).status, 0);
}

TEST(legal_name_required_one_line_bounded)
{
	struct enroll_request r = good();
	char big[MAX_LEGAL_NAME_LEN + 2];
	r.legal_name = "";
	assert_refused(r, 422, "missing_field", "legal_name");
	r.legal_name = "   ";
	assert_refused(r, 422, "missing_field", "legal_name");
	r.legal_name = "Two\nlines";
	assert_refused(r, 422, "invalid_field", "legal_name");
	r.legal_name = "Bad \xff UTF-8";
	assert_refused(r, 422, "invalid_field", "legal_name");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.legal_name = big;
	assert_refused(r, 422, "too_long", "legal_name");
	big[MAX_LEGAL_NAME_LEN] = '\0'; /* exactly the limit is fine */
	test_assert_int(check(r).status, 0);
}

TEST(address_required_multiline_bounded)
{
	struct enroll_request r = good();
	char big[MAX_ADDRESS_LEN + 2];
	r.address = NULL;
	assert_refused(r, 422, "missing_field", "address");
	r.address = "Street 1\x01";
	assert_refused(r, 422, "invalid_field", "address");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.address = big;
	assert_refused(r, 422, "too_long", "address");
}

TEST(country_is_iso_3166_alpha_2)
{
	struct enroll_request r = good();
	r.country = "";
	assert_refused(r, 422, "missing_field", "country");
	r.country = "XX";
	assert_refused(r, 422, "invalid_field", "country");
	r.country = "JPN";
	assert_refused(r, 422, "invalid_field", "country");
	r.country = "J1";
	assert_refused(r, 422, "invalid_field", "country");
	r.country = "UK"; /* reserved, not assigned: Britain is GB */
	assert_refused(r, 422, "invalid_field", "country");
	test_assert(country_code_valid("GB"));
	test_assert(country_code_valid("ad") && country_code_valid("ZW"));
	test_assert(country_code_valid("SS") && country_code_valid("AX"));
	test_assert(!country_code_valid("EU") && !country_code_valid("ZZ"));
	/* all 249, and nothing else among the 676 pairs */
	int n = 0;
	for (char a = 'A'; a <= 'Z'; a++)
		for (char b = 'A'; b <= 'Z'; b++)
			n += country_code_valid((char[]){a, b, 0});
	test_assert_int(n, 249);
}

TEST(partner_id_optional_and_plain)
{
	struct enroll_request r = good();
	r.partner_id = NULL;
	test_assert_int(check(r).status, 0);
	r.partner_id = "MPN 123";
	assert_refused(r, 422, "invalid_field", "partner_id");
	r.partner_id = "12345678901234567890123456789012345678901";
	assert_refused(r, 422, "too_long", "partner_id");
}

TEST(domains_required_valid_and_not_public)
{
	struct enroll_request r = good();
	r.n_domains = 0;
	assert_refused(r, 422, "missing_field", "domains");
	r = good();
	r.domains[1] = "not a domain";
	assert_refused(r, 422, "invalid_field", "domains[1]");
	r.domains[1] = "localhost";
	assert_refused(r, 422, "invalid_field", "domains[1]");
	r.domains[1] = "-bad.test";
	assert_refused(r, 422, "invalid_field", "domains[1]");
	r.domains[1] = "gmail.com";
	assert_refused(r, 422, "public_domain", "domains[1]");
	r.domains[1] = "mail.yahoo.co.jp"; /* under a listed domain */
	assert_refused(r, 422, "public_domain", "domains[1]");
	r = good();
	r.n_domains = MAX_DOMAINS + 1;
	for (size_t i = 0; i < r.n_domains; i++)
		r.domains[i] = "contoso.test";
	assert_refused(r, 422, "invalid_field", "domains");
}

TEST(contact_must_be_at_own_domain_and_not_public)
{
	struct enroll_request r = good();
	r.contact_email = NULL;
	assert_refused(r, 422, "missing_field", "primary_contact.email");
	r.contact_email = "rita@@contoso.test";
	assert_refused(r, 422, "invalid_field", "primary_contact.email");
	r.contact_email = "rita@contoso.test\r\nBcc: x@evil.test";
	assert_refused(r, 422, "invalid_field", "primary_contact.email");
	r.contact_email = "rita@gmail.com";
	assert_refused(r, 422, "public_domain", "primary_contact.email");
	r.contact_email = "rita@fabrikam.test";
	assert_refused(r, 422, "foreign_domain", "primary_contact.email");
	r.contact_email = "rita@evilcontoso.test"; /* a suffix is not a subdomain */
	assert_refused(r, 422, "foreign_domain", "primary_contact.email");
	r.contact_email = "rita@deep.sales.contoso.test";
	test_assert_int(check(r).status, 0);
	r.contact_email = "rita@contoso-sales.test";
	test_assert_int(check(r).status, 0);
}

TEST(contact_name_and_phone)
{
	struct enroll_request r = good();
	r.contact_name = NULL;
	assert_refused(r, 422, "missing_field", "primary_contact.name");
	r = good();
	r.contact_phone = NULL;
	assert_refused(r, 422, "missing_field", "primary_contact.phone");
	r.contact_phone = "call me";
	assert_refused(r, 422, "invalid_field", "primary_contact.phone");
	r.contact_phone = "123";
	assert_refused(r, 422, "invalid_field", "primary_contact.phone");
	r.contact_phone = "03+1234-5678";
	assert_refused(r, 422, "invalid_field", "primary_contact.phone");
	r.contact_phone = "(03) 1234.5678";
	test_assert_int(check(r).status, 0);
}

TEST(support_contact_needs_one_valid_way)
{
	struct enroll_request r = good();
	r.support_email = r.support_phone = r.support_url = NULL;
	assert_refused(r, 422, "missing_field", "support_contact");
	r.support_phone = "0120-000-000";
	test_assert_int(check(r).status, 0);
	r.support_email = "help at contoso";
	assert_refused(r, 422, "invalid_field", "support_contact.email");
	r = good();
	r.support_url = "javascript:alert(1)";
	assert_refused(r, 422, "invalid_field", "support_contact.url");
	r.support_url = "https://";
	assert_refused(r, 422, "invalid_field", "support_contact.url");
	r.support_url = "https://contoso.test/a b";
	assert_refused(r, 422, "invalid_field", "support_contact.url");
}

TEST(locale_must_be_plain)
{
	struct enroll_request r = good();
	r.locale = "ja";
	test_assert_int(check(r).status, 0);
	r.locale = "../../etc";
	assert_refused(r, 422, "invalid_field", "locale");
}

TEST(domain_syntax_and_nesting)
{
	test_assert(domain_valid("a.b"));
	test_assert(domain_valid("xn--bcher-kva.example"));
	test_assert(!domain_valid("a..b") && !domain_valid(".a.b") && !domain_valid("a.b."));
	test_assert(!domain_valid("a_b.test") && !domain_valid("a-.test"));
	char label[70];
	memset(label, 'a', 64);
	strcpy(label + 64, ".test");
	test_assert(!domain_valid(label)); /* a 64-byte label */
	test_assert(domain_within("x.contoso.test", "contoso.test"));
	test_assert(domain_within("CONTOSO.test", "contoso.TEST"));
	test_assert(!domain_within("xcontoso.test", "contoso.test"));
	test_assert(!domain_within("contoso.test", "x.contoso.test"));
}

TEST(public_list_file_loads_and_matches)
{
	char path[] = "/tmp/invited-domains-XXXXXX";
	int fd = mkstemp(path);
	const char text[] = "# comment\n\nGmail.com  # trailing comment\n  yahoo.co.jp\n";
	test_assert(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	struct domain_list *l;
	const char *err;
	test_assert_int(domain_list_load(path, &l, &err), 0);
	test_assert_int(domain_list_count(l), 2);
	test_assert_str(domain_list_match(l, "GMAIL.COM"), "gmail.com");
	test_assert_str(domain_list_match(l, "mail.yahoo.co.jp"), "yahoo.co.jp");
	test_assert(domain_list_match(l, "co.jp") == NULL);
	test_assert(domain_list_match(l, "notgmail.com") == NULL);
	domain_list_free(l);

	fd = open(path, O_WRONLY | O_TRUNC);
	const char bad[] = "gmail.com\nnot a domain\n";
	test_assert(write(fd, bad, sizeof(bad) - 1) == (ssize_t)(sizeof(bad) - 1));
	close(fd);
	test_assert_int(domain_list_load(path, &l, &err), -1);
	test_assert_contains(err, ":2:");
	unlink(path);
	test_assert_int(domain_list_load(path, &l, &err), -1);

	/* the shipped list loads and holds the providers the issue names */
	char shipped[4096];
	snprintf(shipped, sizeof(shipped), "%s/templates/public-mailbox-domains.txt",
		 getenv("INVITED_SOURCE_DIR") ? getenv("INVITED_SOURCE_DIR") : ".");
	test_assert_int(domain_list_load(shipped, &l, &err), 0);
	test_assert(domain_list_count(l) > 50);
	test_assert(domain_list_match(l, "gmail.com") && domain_list_match(l, "yahoo.co.jp") &&
		    domain_list_match(l, "outlook.com") && domain_list_match(l, "icloud.com"));
	test_assert(domain_list_match(l, "example.test") == NULL);
	domain_list_free(l);
}

/* ------------------------------------------------ the transition table */

TEST(review_transition_table)
{
	const char *code, *why;
	/* allowed */
	test_assert_int(review_transition(ORG_IN_REVIEW, 1, REVIEW_APPROVE, &code, &why),
			ORG_APPROVED);
	test_assert_int(review_transition(ORG_SUSPENDED, 1, REVIEW_APPROVE, &code, &why),
			ORG_APPROVED);
	test_assert_int(review_transition(ORG_IN_REVIEW, 1, REVIEW_REJECT, &code, &why),
			ORG_REJECTED);
	test_assert_int(review_transition(ORG_PENDING_VERIFICATION, 0, REVIEW_REJECT, &code,
					  &why),
			ORG_REJECTED);
	test_assert_int(review_transition(ORG_APPROVED, 1, REVIEW_SUSPEND, &code, &why),
			ORG_SUSPENDED);
	/* forbidden, each with its reason */
	struct {
		enum org_status from;
		int verified;
		enum review_action a;
		const char *code;
	} no[] = {
		{ORG_PENDING_VERIFICATION, 0, REVIEW_APPROVE, "not_verified"},
		{ORG_IN_REVIEW, 0, REVIEW_APPROVE, "not_verified"},
		{ORG_APPROVED, 1, REVIEW_APPROVE, "already_approved"},
		{ORG_REJECTED, 1, REVIEW_APPROVE, "rejected"},
		{ORG_APPROVED, 1, REVIEW_REJECT, "already_decided"},
		{ORG_SUSPENDED, 1, REVIEW_REJECT, "already_decided"},
		{ORG_REJECTED, 1, REVIEW_REJECT, "rejected"},
		{ORG_PENDING_VERIFICATION, 0, REVIEW_SUSPEND, "not_approved"},
		{ORG_IN_REVIEW, 1, REVIEW_SUSPEND, "not_approved"},
		{ORG_SUSPENDED, 1, REVIEW_SUSPEND, "already_suspended"},
		{ORG_REJECTED, 1, REVIEW_SUSPEND, "rejected"},
		{ORG_NO_ENROLLMENT, 0, REVIEW_APPROVE, "not_enrolled"},
		{ORG_NO_ENROLLMENT, 0, REVIEW_SUSPEND, "not_enrolled"},
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		code = why = NULL;
		test_assert_int(review_transition(no[i].from, no[i].verified, no[i].a, &code, &why),
				-1);
		test_assert_str(code, no[i].code);
		test_assert(why != NULL && why[0] != '\0');
	}
}

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
	char path[128], tpl[4096];
	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/invited-enroll-XXXXXX");
	test_assert(mkdtemp(fx->dir) != NULL);
	snprintf(path, sizeof(path), "%s/db", fx->dir);
	test_assert_int(store_open(path, 1, &fx->st, &err), STORE_OK);
	snprintf(tpl, sizeof(tpl), "%s/templates",
		 getenv("INVITED_SOURCE_DIR") ? getenv("INVITED_SOURCE_DIR") : ".");
	if (tpl_set_load(tpl, &fx->tpl, &err) < 0) {
		fprintf(stderr, "templates: %s\n", err);
		exit(1);
	}
	fx->mailer = (struct mailer){.tpl = fx->tpl, .lifetime = 86400};
	snprintf(fx->mailer.from_addr, sizeof(fx->mailer.from_addr), "invitations@invited.test");
	snprintf(fx->mailer.reply_domain, sizeof(fx->mailer.reply_domain), "invited.test");
	snprintf(fx->mailer.public_url, sizeof(fx->mailer.public_url), "http://invited.test");
	snprintf(fx->mailer.default_locale, sizeof(fx->mailer.default_locale), "en");
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
	if (strcmp(m->kind, c->kind) == 0) {
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
	test_assert_contains(data, "Subject: Verify your email address for Contoso Resellers");
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
	struct enroll_request r = good();
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
	/* nothing was stored or mailed */
	test_assert_int(mails(&fx, "verification", NULL), 0);
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
	int64_t wait;
	setup(&fx);
	struct org o = enrolled(&fx);
	fx.env.now += 10;
	test_assert_int(verify_resend(&fx.env, o.id, &wait, &f), -1);
	test_assert_int(f.status, 429);
	test_assert_int(wait, 50);
	fx.env.now += 50;
	f = (struct fault){0};
	test_assert_int(verify_resend(&fx.env, o.id, &wait, &f), 0);
	test_assert_int(mails(&fx, "verification", NULL), 2);
	/* the old link is dead, the new one works */
	test_assert_int(verify_inspect(&fx.env, "jti1", &view), VERIFY_REPLACED);
	test_assert_int(verify_confirm(&fx.env, "jti1", &view), VERIFY_REPLACED);
	test_assert_int(verify_inspect(&fx.env, "jti2", &view), VERIFY_OK);
	test_assert_int(verify_confirm(&fx.env, "jti2", &view), VERIFY_OK);
	/* once verified, no more mails */
	fx.env.now += 3600;
	f = (struct fault){0};
	test_assert_int(verify_resend(&fx.env, o.id, &wait, &f), -1);
	test_assert_int(f.status, 409);
	f = (struct fault){0};
	test_assert_int(verify_resend(&fx.env, 999, &wait, &f), -1);
	test_assert_int(f.status, 404);
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

static int audit_cb(void *ctx, const struct audit_entry *e)
{
	char *actions = ctx;
	size_t n = strlen(actions);
	snprintf(actions + n, 512 - n, "%s,", e->action);
	test_assert_str(e->actor, "test");
	test_assert(strncmp(e->subject, "org:", 4) == 0);
	return 0;
}

TEST(every_change_is_audited)
{
	struct fixture fx;
	struct verify_view view;
	struct fault f = {0};
	struct org after;
	setup(&fx);
	struct org o = enrolled(&fx);
	test_assert_int(verify_confirm(&fx.env, "jti1", &view), VERIFY_OK);
	test_assert_int(enroll_review(&fx.env, o.id, REVIEW_APPROVE, NULL, &after, &f), 0);
	char actions[512] = "";
	const char *err;
	test_assert_int(store_audit_list(fx.st, 0, 100, audit_cb, actions, &err), STORE_OK);
	test_assert_str(actions,
			"org.approve,contact.verified,verification.sent,enrollment.create,");
	teardown(&fx);
}

TEST_MAIN()
