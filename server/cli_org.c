/*
 * cli_org.c: `invited org …` and `invited apikey create`: the operator's
 * tools for organizations and their API keys.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "invited/api.h"
#include "invited/cli.h"
#include "invited/log.h"
#include "invited/mime.h"
#include "invited/rfc3339.h"
#include "invited/text.h"

static const char org_usage[] =
	"usage: invited [-c FILE] org COMMAND [ARGS]\n"
	"\n"
	"  create --kind provider|reseller --name LEGAL_NAME --email CONTACT_EMAIL\n"
	"         [--contact-name NAME] [--phone PHONE] [--domain DOMAIN]...\n"
	"         [--country CC] [--address ADDRESS] [--partner-id ID] [--locale LOCALE]\n"
	"         [--status approved|in_review|pending_verification]\n"
	"         create an organization as the operator (approved by default) and\n"
	"         print its id. It owns the --domain domains (none unless given),\n"
	"         proven by the operator's word: invitations to any address there,\n"
	"         or to its contact, reach it.\n"
	"  list [--kind KIND] [--status STATUS] [--limit N]\n"
	"  show ID                    the organization as JSON\n"
	"  domains ID [--check]       each listed domain: claimed, proven (by the\n"
	"                             verified contact, the operator or DNS) or\n"
	"                             failed, and the TXT record that proves it;\n"
	"                             --check asks DNS now\n"
	"  approve ID [--reason TEXT] approve an enrollment in review (or reinstate a\n"
	"                             suspended organization)\n"
	"  reject ID --reason TEXT    reject an enrollment; the reason is mailed\n"
	"  suspend ID --reason TEXT   suspend an approved organization\n"
	"\n"
	"Every decision mails the organization's primary contact and is written to\n"
	"the audit log. An enrollment whose contact has not verified their address\n"
	"cannot be approved.\n";

/* Copy an option value into a fixed field, checking its length. */
static int take(char *dst, size_t size, const char *v, const char *what)
{
	if (strlen(v) >= size || !text_ok(v, size - 1, TEXT_LINE)) {
		fprintf(stderr, "invited org: %s must be one line of at most %zu bytes\n", what,
			size - 1);
		return -1;
	}
	snprintf(dst, size, "%s", v);
	return 0;
}

static int add_domain(struct org *o, const char *d)
{
	for (size_t i = 0; i < o->n_domains; i++)
		if (strcmp(o->domains[i], d) == 0)
			return 0;
	if (o->n_domains == MAX_DOMAINS)
		return -1;
	snprintf(o->domains[o->n_domains], MAX_DOMAIN_LEN + 1, "%s", d);
	ascii_lower(o->domains[o->n_domains++]);
	return 0;
}

static int org_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kind", required_argument, NULL, 'k'},    {"name", required_argument, NULL, 'n'},
		{"email", required_argument, NULL, 'e'},   {"contact-name", required_argument, NULL, 'c'},
		{"phone", required_argument, NULL, 'p'},   {"domain", required_argument, NULL, 'd'},
		{"country", required_argument, NULL, 'C'}, {"address", required_argument, NULL, 'a'},
		{"partner-id", required_argument, NULL, 'P'}, {"locale", required_argument, NULL, 'l'},
		{"status", required_argument, NULL, 's'},  {NULL, 0, NULL, 0}};
	struct org o = {.status = ORG_APPROVED, .created_at = cli->now};
	const char *err;
	int c, bad = 0;
	snprintf(o.locale, sizeof(o.locale), "en");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && !bad) {
		switch (c) {
		case 'k':
			bad = org_kind_parse(optarg, &o.kind) < 0 || o.kind == ORG_CUSTOMER;
			break;
		case 'n':
			bad = take(o.legal_name, sizeof(o.legal_name), optarg, "--name") < 0;
			break;
		case 'e':
			bad = take(o.contact_email, sizeof(o.contact_email), optarg, "--email") < 0;
			ascii_lower(o.contact_email);
			break;
		case 'c':
			bad = take(o.contact_name, sizeof(o.contact_name), optarg, "--contact-name") < 0;
			break;
		case 'p':
			bad = take(o.contact_phone, sizeof(o.contact_phone), optarg, "--phone") < 0;
			break;
		case 'd':
			bad = add_domain(&o, optarg) < 0;
			break;
		case 'C':
			bad = strlen(optarg) != 2 || take(o.country, sizeof(o.country), optarg, "--country") < 0;
			break;
		case 'a':
			bad = take(o.address, sizeof(o.address), optarg, "--address") < 0;
			break;
		case 'P':
			bad = take(o.partner_id, sizeof(o.partner_id), optarg, "--partner-id") < 0;
			break;
		case 'l':
			bad = take(o.locale, sizeof(o.locale), optarg, "--locale") < 0;
			break;
		case 's':
			bad = org_status_parse(optarg, &o.status) < 0 || o.status == ORG_NO_ENROLLMENT;
			break;
		default:
			bad = 1;
		}
	}
	if (bad || optind != argc || o.kind == 0 || o.legal_name[0] == '\0' ||
	    o.contact_email[0] == '\0')
		return cli_usage(org_usage);
	if (!mime_addr_personal(o.contact_email))
		return cli_fail("org", "--email %s %s", o.contact_email,
				mime_addr_why(o.contact_email));
	o.contact_verified = o.status == ORG_APPROVED || o.status == ORG_IN_REVIEW;
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	if (store_begin(cli->st, &err) != STORE_OK)
		return cli_fail("org", "%s", err);
	int rc = store_org_insert(cli->st, &o, &err);
	/* The operator's word proves the domains it lists. */
	if (rc == STORE_OK && o.n_domains > 0 &&
	    (rc = store_domain_prove(cli->st, o.id, NULL, "operator", cli->now, &err)) ==
		    STORE_CONFLICT)
		err = "a domain is proven by another organization";
	if (rc == STORE_OK)
		rc = store_event_on(cli->st, cli->now, o.id, 0, "cli", "org.created", "org", o.id,
				    errorf("kind=%s status=%s", org_kind_str(o.kind),
					   org_status_str(o.status)),
				    &err);
	if (rc != STORE_OK || store_commit(cli->st, &err) != STORE_OK) {
		store_rollback(cli->st);
		return cli_fail("org", "%s", err);
	}
	printf("%lld\n", (long long)o.id);
	return EXIT_OK;
}

static int print_org_line(void *ctx, const struct org *o)
{
	(void)ctx;
	printf("%lld\t%s\t%s\t%s\t%s\n", (long long)o->id, org_kind_str(o->kind),
	       o->kind == ORG_CUSTOMER ? "-" : org_status_str(o->status), o->contact_email,
	       o->legal_name);
	return 0;
}

static int org_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"kind", required_argument, NULL, 'k'},
					     {"status", required_argument, NULL, 's'},
					     {"limit", required_argument, NULL, 'l'},
					     {NULL, 0, NULL, 0}};
	struct org_filter f = {.status = -1, .limit = 100};
	enum org_kind kind;
	enum org_status status;
	const char *err;
	int c, bad = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && !bad) {
		if (c == 'k' && org_kind_parse(optarg, &kind) == 0)
			f.kind = kind;
		else if (c == 's' && org_status_parse(optarg, &status) == 0)
			f.status = status;
		else if (c == 'l' && cli_id(optarg) > 0)
			f.limit = (int)cli_id(optarg);
		else
			bad = 1;
	}
	if (bad || optind != argc)
		return cli_usage(org_usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	if (store_org_list(cli->st, &f, print_org_line, NULL, &err) != STORE_OK)
		return cli_fail("org", "%s", err);
	return EXIT_OK;
}

static int org_show(struct cli *cli, int argc, char **argv)
{
	struct org o;
	const char *err;
	int64_t id = argc == 2 ? cli_id(argv[1]) : -1;
	if (id < 0)
		return cli_usage(org_usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	int rc = store_org_get(cli->st, id, &o, &err);
	if (rc == STORE_NOT_FOUND)
		return cli_fail("org", "no organization %lld", (long long)id);
	if (rc != STORE_OK)
		return cli_fail("org", "%s", err);
	json_t *j = api_org_json(&o);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
	return EXIT_OK;
}

/* `org domains ID [--check]`: one line per domain. */
static int org_domains(struct cli *cli, int argc, char **argv)
{
	struct org o;
	const char *err;
	int check = argc == 3 && strcmp(argv[2], "--check") == 0;
	int64_t id = argc == 2 || check ? cli_id(argv[1]) : -1;
	if (id < 0)
		return cli_usage(org_usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	int changed = 0;
	int rc = store_org_get(cli->st, id, &o, &err);
	if (rc == STORE_OK && check &&
	    (app_domains_check(&cli->app, cli->st, id, cli->now + 1, "cli", &changed, &err) < 0 ||
	     (rc = store_org_get(cli->st, id, &o, &err)) != STORE_OK))
		return cli_fail("org", "%s", err);
	if (rc == STORE_NOT_FOUND)
		return cli_fail("org", "no organization %lld", (long long)id);
	if (rc != STORE_OK)
		return cli_fail("org", "%s", err);
	for (size_t i = 0; i < o.n_domains; i++) {
		const struct domain_proof *p = &o.proofs[i];
		printf("%s %s%s%s", o.domains[i], domain_state_str(p->state), p->method[0] ? " by " : "",
		       p->method);
		struct domain_record txt;
		domain_txt_of(o.domains[i], p->token, &txt);
		if (p->state != DOMAIN_PROVEN || strcmp(p->method, "dns") == 0)
			printf("  TXT %s \"%s\"", txt.name, txt.value);
		putchar('\n');
	}
	if (check)
		printf("%d changed\n", changed);
	return EXIT_OK;
}

int cli_org_review(struct cli *cli, int argc, char **argv);

int cli_org(struct cli *cli, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(org_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (cli_wants_help(argc, argv)) {
		fputs(org_usage, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "create") == 0)
		return org_create(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return org_list(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return org_show(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "domains") == 0)
		return org_domains(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "approve") == 0 || strcmp(argv[1], "reject") == 0 ||
	    strcmp(argv[1], "suspend") == 0)
		return cli_org_review(cli, argc - 1, argv + 1);
	fprintf(stderr, "invited org: unknown command \"%s\"\n\n", argv[1]);
	return cli_usage(org_usage);
}

static const char apikey_usage[] =
	"usage: invited [-c FILE] apikey create (--org ID --role admin_agent|sales_agent\n"
	"                                       | --operator) [--label TEXT]\n"
	"       invited [-c FILE] apikey list (--org ID | --operator)\n"
	"       invited [-c FILE] apikey revoke ID (--org ID | --operator)\n"
	"\n"
	"create: make an API key and print it. It is shown only this once: the\n"
	"server keeps only its hash. admin_agent keys may invite and act on\n"
	"invitations; sales_agent keys may read; the operator key reviews\n"
	"enrollments and reads /metrics.\n"
	"list: an organization's (or the operator's) live keys: id, key id, role,\n"
	"created, label, separated by tabs.\n"
	"revoke: the key (by the id list prints) stops working at once.\n";

static int print_key(void *ctx, const struct apikey *k)
{
	char when[RFC3339_LEN + 1];
	(void)ctx;
	printf("%lld\t%s\t%s\t%s\t%s\n", (long long)k->id, k->key_id, key_role_str(k->role),
	       rfc3339_format(k->created_at, when), k->label);
	return 0;
}

/* apikey list | revoke ID, for --org ID or --operator. */
static int apikey_list_or_revoke(struct cli *cli, int revoke, int argc, char **argv)
{
	static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
					     {"operator", no_argument, NULL, 'O'},
					     {NULL, 0, NULL, 0}};
	int64_t org = 0, id = 0;
	int c, bad = 0, operator = 0;
	const char *err;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && !bad) {
		if (c == 'o')
			bad = (org = cli_id(optarg)) < 0;
		else if (c == 'O')
			operator = 1;
		else
			bad = 1;
	}
	if (revoke && optind == argc - 1)
		bad = bad || (id = cli_id(argv[optind++])) < 0;
	if (bad || optind != argc || operator == (org > 0))
		return cli_usage(apikey_usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	if (!revoke)
		return store_apikey_list(cli->st, org, print_key, NULL, &err) == STORE_OK
			       ? EXIT_OK
			       : cli_fail("apikey", "%s", err);
	if (store_begin(cli->st, &err) != STORE_OK)
		return cli_fail("apikey", "%s", err);
	int rc = apikey_revoke(cli->st, org, id, "cli", cli->now, &err);
	if (rc == 1) {
		store_rollback(cli->st);
		return cli_fail("apikey", "no live key %lld of %s", (long long)id,
				operator ? "the operator" : "that organization");
	}
	if (rc != 0 || store_commit(cli->st, &err) != STORE_OK) {
		store_rollback(cli->st);
		return cli_fail("apikey", "%s", err);
	}
	printf("%lld\trevoked\n", (long long)id);
	return EXIT_OK;
}

int cli_apikey(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
					     {"role", required_argument, NULL, 'r'},
					     {"operator", no_argument, NULL, 'O'},
					     {"label", required_argument, NULL, 'l'},
					     {NULL, 0, NULL, 0}};
	int64_t org = 0, id;
	enum key_role role = 0;
	const char *label = "", *err;
	char text[APIKEY_TEXT_LEN + 1];
	struct org o;
	int c, bad = 0, operator = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(apikey_usage, stdout);
		return EXIT_OK;
	}
	if (argc >= 2 && (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "revoke") == 0))
		return apikey_list_or_revoke(cli, argv[1][0] == 'r', argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "create") != 0)
		return cli_usage(apikey_usage);
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && !bad) {
		if (c == 'o')
			bad = (org = cli_id(optarg)) < 0;
		else if (c == 'r')
			bad = key_role_parse(optarg, &role) < 0 || role == ROLE_OPERATOR;
		else if (c == 'O')
			operator = 1;
		else if (c == 'l')
			bad = !text_ok(label = optarg, MAX_NAME_LEN, TEXT_LINE);
		else
			bad = 1;
	}
	if (bad || optind != argc || (operator && (org || role)) ||
	    (!operator && (org <= 0 || role == 0)))
		return cli_usage(apikey_usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	if (operator) {
		role = ROLE_OPERATOR;
	} else {
		int rc = store_org_get(cli->st, org, &o, &err);
		if (rc != STORE_OK)
			return cli_fail("apikey", "no organization %lld", (long long)org);
		if (o.kind == ORG_CUSTOMER || o.status != ORG_APPROVED)
			return cli_fail("apikey", "organization %lld is not an approved provider "
						  "or reseller", (long long)org);
	}
	if (store_begin(cli->st, &err) != STORE_OK ||
	    apikey_create(cli->st, org, role, label, "cli", cli->now, text, &id, &err) < 0 ||
	    store_commit(cli->st, &err) != STORE_OK) {
		store_rollback(cli->st);
		return cli_fail("apikey", "%s", err);
	}
	printf("%s\n", text);
	return EXIT_OK;
}
