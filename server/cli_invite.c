/*
 * cli_invite.c: `invited invite …`: the operator creating and managing
 * invitations on an organization's behalf, through the same code as the
 * API.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "invited/api.h"
#include "invited/cli.h"
#include "invited/invitation.h"
#include "invited/log.h"
#include "invited/rfc3339.h"

static const char usage[] =
	"usage: invited [-c FILE] invite COMMAND [ARGS]\n"
	"\n"
	"  create --org ID --kind KIND --email EMAIL [--name NAME] [--provider ID]\n"
	"         [--locale LOCALE] [--message TEXT] [--draft]\n"
	"         invite on behalf of organization ID; KIND is indirect_provider,\n"
	"         reseller or reseller_with_provider. Prints the invitation as JSON.\n"
	"  list --org ID [--status STATUS] [--limit N]\n"
	"  show ID                 the invitation as JSON, with its link while it is a\n"
	"                          draft or handed off (a mailed link is never shown)\n"
	"  revoke ID               withdraw it; its link stops working\n"
	"\n"
	"`invited serve` sends queued mail; run it to deliver what create queues.\n";

static struct inv_env env_of(struct cli *cli)
{
	return (struct inv_env){cli->st, app_keys(&cli->app), &cli->app.mailer,
				cli->app.cfg.tokens.invitation_lifetime, cli->now, "cli"};
}

static int print_invitation(struct cli *cli, int64_t id)
{
	struct inv_env env = env_of(cli);
	struct invitation inv;
	struct fault f = {0};
	char exp[RFC3339_LEN + 1];
	if (invitation_load(&env, 0, id, 1, &inv, &f) < 0)
		return cli_fail("invite", "%s", f.message);
	char *link = invitation_reveal(&env, &inv, 1);
	json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:s, s:s}", "id",
			      (json_int_t)inv.id, "kind", inv_kind_str(inv.kind), "status",
			      inv_status_str(inv.status), "inviter_id",
			      (json_int_t)inv.inviter_org_id, "email", inv.email, "name",
			      inv.name, "subject", inv.subject, "link",
			      link ? json_string(link) : json_null(), "expires_at",
			      rfc3339_format(inv.expires_at, exp), "text", inv.body_text);
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
	free(link);
	invitation_clear(&inv);
	return EXIT_OK;
}

static int create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"org", required_argument, NULL, 'o'},     {"kind", required_argument, NULL, 'k'},
		{"email", required_argument, NULL, 'e'},   {"name", required_argument, NULL, 'n'},
		{"provider", required_argument, NULL, 'p'}, {"locale", required_argument, NULL, 'l'},
		{"message", required_argument, NULL, 'm'}, {"draft", no_argument, NULL, 'd'},
		{NULL, 0, NULL, 0}};
	struct inv_request req = {0};
	struct invitation inv;
	struct fault f = {0};
	int c, bad = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && !bad) {
		switch (c) {
		case 'o':
			bad = (req.inviter_org_id = cli_id(optarg)) < 0;
			break;
		case 'k':
			bad = inv_kind_parse(optarg, &req.kind) < 0;
			break;
		case 'e':
			req.email = optarg;
			break;
		case 'n':
			req.name = optarg;
			break;
		case 'p':
			bad = (req.provider_org_id = cli_id(optarg)) < 0;
			break;
		case 'l':
			req.locale = optarg;
			break;
		case 'm':
			req.message = optarg;
			break;
		case 'd':
			req.draft = 1;
			break;
		default:
			bad = 1;
		}
	}
	if (bad || optind != argc || req.inviter_org_id <= 0 || req.kind == 0 || !req.email)
		return cli_usage(usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	struct inv_env env = env_of(cli);
	if (invitation_create(&env, &req, &inv, &f) < 0)
		return cli_fail("invite", "%s%s%s", f.message, f.field ? " (field " : "",
				f.field ? errorf("%s)", f.field) : "");
	int64_t id = inv.id;
	invitation_clear(&inv);
	return print_invitation(cli, id);
}

static int print_line(void *ctx, const struct invitation *inv)
{
	char when[RFC3339_LEN + 1];
	(void)ctx;
	printf("%lld\t%s\t%s\t%s\t%s\n", (long long)inv->id, inv_kind_str(inv->kind),
	       inv_status_str(inv->status), inv->email, rfc3339_format(inv->created_at, when));
	return 0;
}

static int list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
					     {"status", required_argument, NULL, 's'},
					     {"limit", required_argument, NULL, 'l'},
					     {NULL, 0, NULL, 0}};
	struct inv_filter f = {.limit = 100};
	enum inv_status status;
	const char *err;
	int c, bad = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && !bad) {
		if (c == 'o')
			bad = (f.inviter_org_id = cli_id(optarg)) < 0;
		else if (c == 's')
			bad = inv_status_parse(optarg, &status) < 0, f.status = (int)status;
		else if (c == 'l')
			bad = (f.limit = (int)cli_id(optarg)) < 0;
		else
			bad = 1;
	}
	if (bad || optind != argc || f.inviter_org_id <= 0)
		return cli_usage(usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	if (store_invitation_list(cli->st, &f, print_line, NULL, &err) != STORE_OK)
		return cli_fail("invite", "%s", err);
	return EXIT_OK;
}

int cli_invite(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(usage);
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "create") == 0)
		return create(cli, argc - 1, argv + 1);
	if (strcmp(cmd, "list") == 0)
		return list(cli, argc - 1, argv + 1);
	if ((strcmp(cmd, "show") == 0 || strcmp(cmd, "revoke") == 0) && argc == 3) {
		int64_t id = cli_id(argv[2]);
		struct fault f = {0};
		if (id < 0)
			return cli_usage(usage);
		if (cli_load(cli) < 0)
			return EXIT_FAIL;
		if (strcmp(cmd, "revoke") == 0) {
			struct inv_env env = env_of(cli);
			struct invitation inv;
			if (invitation_load(&env, 0, id, 0, &inv, &f) < 0 ||
			    invitation_revoke(&env, inv.inviter_org_id, id, &f) < 0)
				return cli_fail("invite", "%s", f.message);
		}
		return print_invitation(cli, id);
	}
	return cli_usage(usage);
}
