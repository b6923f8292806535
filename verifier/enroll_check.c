/*
 * enroll_check.c: every rule an enrollment request must meet, in the
 * order the fields appear in the API, each failing with the field named.
 * No store: these are pure functions of the request, the public mailbox
 * list and the locales the templates hold.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "invited/enroll.h"
#include "invited/log.h"
#include "invited/mime.h"
#include "invited/text.h"

/* ISO 3166-1 alpha-2: the 249 officially assigned codes, sorted. */
static const char countries[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ "
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR "
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY "
	"HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP "
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY "
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ "
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM "
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ "
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ "
	"VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

int country_code_valid(const char *cc)
{
	if (strlen(cc) != 2)
		return 0;
	char up[3] = {(char)toupper((unsigned char)cc[0]), (char)toupper((unsigned char)cc[1]), 0};
	if (up[0] < 'A' || up[0] > 'Z' || up[1] < 'A' || up[1] > 'Z')
		return 0;
	/* entries are 3 bytes apart: binary search on them */
	size_t lo = 0, hi = (sizeof(countries)) / 3;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(countries + mid * 3, up, 2);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* A text field: required or not, at most max bytes, one line or several. */
/*
 * Anyone may enroll, naming any address as the contact, and the names go
 * into the verification mail's subject and greeting: a name that reads as
 * a web or mail address would be a link a stranger put into our mail.
 */
static int name_not_link(const char *v, const char *field, struct fault *f)
{
	if (v == NULL || (strstr(v, "://") == NULL && strcasestr(v, "www.") == NULL &&
			  strchr(v, '@') == NULL))
		return 0;
	return fault_set(f, 422, "invalid_field", field,
			 errorf("%s must be a name, with no web or mail address in it", field));
}

static int check_text(const char *v, const char *field, size_t max, int required,
		      enum text_kind kind, struct fault *f)
{
	if (v == NULL || v[0] == '\0') {
		if (required)
			return fault_set(f, 422, "missing_field", field,
					 errorf("%s is required", field));
		return 0;
	}
	if (strlen(v) > max)
		return fault_set(f, 422, "too_long", field,
				 errorf("%s is longer than %zu bytes", field, max));
	if (!text_ok(v, max, kind))
		return fault_set(f, 422, "invalid_field", field,
				 errorf("%s must be %s text without control characters", field,
					kind == TEXT_LINE ? "one line of UTF-8" : "UTF-8"));
	/* a name of blanks only is no name */
	if (strspn(v, " \t\r\n") == strlen(v))
		return fault_set(f, 422, required ? "missing_field" : "invalid_field", field,
				 errorf("%s is blank", field));
	return 0;
}

static int check_email(const char *v, const char *field, int required, struct fault *f)
{
	if (check_text(v, field, MAX_EMAIL_LEN, required, TEXT_LINE, f) < 0)
		return -1;
	if (v != NULL && v[0] != '\0' && !mime_addr_personal(v))
		return fault_set(f, 422, "invalid_field", field,
				 errorf("%s %s", field, mime_addr_why(v)));
	return 0;
}

/* Digits with the usual separators; 5 to 20 digits, "+" only first. */
static int check_phone(const char *v, const char *field, int required, struct fault *f)
{
	size_t digits = 0;
	if (check_text(v, field, MAX_PHONE_LEN, required, TEXT_LINE, f) < 0)
		return -1;
	if (v == NULL || v[0] == '\0')
		return 0;
	for (const char *p = v; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (!(strchr(" -().", *p) != NULL || (*p == '+' && p == v)))
			digits = 100; /* a character phones do not have */
	}
	if (digits < 5 || digits > 20)
		return fault_set(f, 422, "invalid_field", field,
				 errorf("%s must be a phone number (digits, spaces, + - ( ) .)",
					field));
	return 0;
}

/* An absolute http(s) URL with a host, printable ASCII only. */
static int check_url(const char *v, const char *field, struct fault *f)
{
	if (check_text(v, field, MAX_URL_LEN, 0, TEXT_LINE, f) < 0)
		return -1;
	if (v == NULL || v[0] == '\0')
		return 0;
	const char *host = strncmp(v, "https://", 8) == 0	 ? v + 8
			   : strncmp(v, "http://", 7) == 0 ? v + 7
							   : NULL;
	int printable = 1;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			printable = 0;
	if (host == NULL || !printable || host[0] == '\0' || host[0] == '/')
		return fault_set(f, 422, "invalid_field", field,
				 errorf("%s must be an http:// or https:// address", field));
	return 0;
}

static int check_partner_id(const char *v, struct fault *f)
{
	if (check_text(v, ENROLL_F_PARTNER_ID, MAX_PARTNER_ID_LEN, 0, TEXT_LINE, f) < 0)
		return -1;
	if (v != NULL && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789-_.") != strlen(v))
		return fault_set(f, 422, "invalid_field", ENROLL_F_PARTNER_ID,
				 "partner_id may hold only letters, digits, '-', '_' and '.'");
	return 0;
}

static int check_domains(const struct enroll_request *req,
			 const struct domain_list *public_domains, struct org *o,
			 struct fault *f)
{
	if (req->n_domains == 0)
		return fault_set(f, 422, "missing_field", ENROLL_F_DOMAINS,
				 "domains must name at least one email domain the organization owns");
	if (req->n_domains > MAX_DOMAINS)
		return fault_set(f, 422, "invalid_field", ENROLL_F_DOMAINS,
				 errorf("domains may name at most %d domains", MAX_DOMAINS));
	for (size_t i = 0; i < req->n_domains; i++) {
		const char *d = req->domains[i];
		const char *field = errorf("domains[%zu]", i);
		if (d == NULL || !domain_valid(d))
			return fault_set(f, 422, "invalid_field", field,
					 errorf("%s is not a domain name such as example.com",
						field));
		const char *listed = domain_list_match(public_domains, d);
		if (listed != NULL)
			return fault_set(f, 422, "public_domain", field,
					 errorf("%s is a public mailbox provider (%s): an "
						"organization cannot own it",
						field, listed));
		size_t j;
		for (j = 0; j < o->n_domains; j++)
			if (strcasecmp(o->domains[j], d) == 0)
				break;
		if (j == o->n_domains) {
			snprintf(o->domains[o->n_domains], sizeof(o->domains[0]), "%s", d);
			ascii_lower(o->domains[o->n_domains++]);
		}
	}
	return 0;
}

/* The contact's address must be the organization's own. */
static int check_contact_domain(const struct org *o,
				const struct domain_list *public_domains,
				struct fault *f)
{
	const char *at = strrchr(o->contact_email, '@');
	const char *domain = at ? at + 1 : "";
	const char *listed = domain_list_match(public_domains, domain);
	if (listed != NULL)
		return fault_set(f, 422, "public_domain", ENROLL_F_CONTACT_EMAIL,
				 errorf("primary_contact.email is at a public mailbox provider "
					"(%s): use an address at one of the organization's domains",
					listed));
	for (size_t i = 0; i < o->n_domains; i++)
		if (domain_within(domain, o->domains[i]))
			return 0;
	return fault_set(f, 422, "foreign_domain", ENROLL_F_CONTACT_EMAIL,
			 "primary_contact.email must be at one of the organization's domains "
			 "(or a subdomain of one)");
}

static int check_locale(const char *v, const struct mailer *mailer, struct fault *f)
{
	if (v == NULL || v[0] == '\0')
		return 0;
	int ok = strlen(v) <= MAX_LOCALE_LEN && text_ok(v, MAX_LOCALE_LEN, TEXT_LINE) &&
		 strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") == strlen(v);
	if (ok && mailer != NULL)
		ok = strcmp(mailer_locale(mailer, v), v) == 0;
	if (!ok)
		return fault_set(f, 422, "invalid_field", ENROLL_F_LOCALE,
				 "locale must be one the server has templates for, such as en or ja");
	return 0;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

int enroll_check(const struct enroll_request *req,
		 const struct domain_list *public_domains,
		 const struct mailer *mailer, struct org *o, struct fault *f)
{
	memset(o, 0, sizeof(*o));
	o->status = ORG_PENDING_VERIFICATION;

	if (req->kind == NULL || req->kind[0] == '\0')
		return fault_set(f, 422, "missing_field", ENROLL_F_KIND,
				 "kind is required: provider or reseller");
	if (org_kind_parse(req->kind, &o->kind) < 0 || o->kind == ORG_CUSTOMER)
		return fault_set(f, 422, "invalid_field", ENROLL_F_KIND,
				 "kind must be provider or reseller (customers do not enroll)");
	if (check_text(req->legal_name, ENROLL_F_LEGAL_NAME, MAX_LEGAL_NAME_LEN, 1,
		       TEXT_LINE, f) < 0 ||
	    name_not_link(req->legal_name, ENROLL_F_LEGAL_NAME, f) < 0 ||
	    check_text(req->address, ENROLL_F_ADDRESS, MAX_ADDRESS_LEN, 1, TEXT_MULTILINE,
		       f) < 0)
		return -1;
	if (req->country == NULL || req->country[0] == '\0')
		return fault_set(f, 422, "missing_field", ENROLL_F_COUNTRY,
				 "country is required");
	if (!country_code_valid(req->country))
		return fault_set(f, 422, "invalid_field", ENROLL_F_COUNTRY,
				 "country must be an ISO 3166-1 alpha-2 code, such as JP or US");
	if (check_partner_id(req->partner_id, f) < 0 ||
	    check_domains(req, public_domains, o, f) < 0)
		return -1;

	if (check_text(req->contact_name, ENROLL_F_CONTACT_NAME, MAX_NAME_LEN, 1, TEXT_LINE,
		       f) < 0 ||
	    name_not_link(req->contact_name, ENROLL_F_CONTACT_NAME, f) < 0 ||
	    check_email(req->contact_email, ENROLL_F_CONTACT_EMAIL, 1, f) < 0 ||
	    check_phone(req->contact_phone, ENROLL_F_CONTACT_PHONE, 1, f) < 0)
		return -1;
	COPY(o->contact_email, req->contact_email);
	ascii_lower(o->contact_email);
	if (check_contact_domain(o, public_domains, f) < 0)
		return -1;

	if (check_email(req->support_email, ENROLL_F_SUPPORT_EMAIL, 0, f) < 0 ||
	    check_phone(req->support_phone, ENROLL_F_SUPPORT_PHONE, 0, f) < 0 ||
	    check_url(req->support_url, ENROLL_F_SUPPORT_URL, f) < 0)
		return -1;
	if ((req->support_email == NULL || !req->support_email[0]) &&
	    (req->support_phone == NULL || !req->support_phone[0]) &&
	    (req->support_url == NULL || !req->support_url[0]))
		return fault_set(f, 422, "missing_field", ENROLL_F_SUPPORT,
				 "support_contact needs an email, a phone or a url");
	if (check_locale(req->locale, mailer, f) < 0)
		return -1;

	COPY(o->legal_name, req->legal_name);
	COPY(o->address, req->address);
	o->country[0] = (char)toupper((unsigned char)req->country[0]);
	o->country[1] = (char)toupper((unsigned char)req->country[1]);
	COPY(o->partner_id, req->partner_id);
	COPY(o->contact_name, req->contact_name);
	COPY(o->contact_phone, req->contact_phone);
	COPY(o->support_email, req->support_email);
	ascii_lower(o->support_email);
	COPY(o->support_phone, req->support_phone);
	COPY(o->support_url, req->support_url);
	COPY(o->locale, req->locale && req->locale[0] ? req->locale
			: mailer ? mailer->default_locale : "en");
	return 0;
}
