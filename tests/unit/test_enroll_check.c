/* link: invited_verifier */
/*
 * test_enroll_check.c: every rule of an enrollment request, each failing
 * with its field named; domain syntax and the public mailbox list; and
 * the review transition table, including every forbidden move. No store.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enroll_request.h"
#include "test.h"

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

/* Names reach the verification mail, which goes to an address a stranger
 * typed: no web or mail address may ride in them. */
TEST(names_carry_no_link)
{
	struct enroll_request r = good();
	const char *links[] = {"Click http://phish.example now", "HTTPS://x.test",
			       "www.phish.example Ltd", "Pay WWW.x.test", "me@phish.example"};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		r = good();
		r.legal_name = links[i];
		assert_refused(r, 422, "invalid_field", "legal_name");
		r = good();
		r.contact_name = links[i];
		assert_refused(r, 422, "invalid_field", "primary_contact.name");
	}
	r = good();
	r.legal_name = "Example.com Inc."; /* a company's name may hold a dot */
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

TEST_MAIN()
