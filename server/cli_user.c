/*
 * cli_user.c: `invited user …`, the operator's view of people: add a user
 * to an organization, or an operator (who signs in to the console's review
 * pages), list them, remove one. A user added here is invited until it
 * first signs in at /console with its address; nothing is mailed.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "invited/cli.h"
#include "invited/signin.h"

static const char user_usage[] =
	"usage: invited [-c FILE] user COMMAND\n"
	"\n"
	"  add --org ID --email ADDR --role admin_agent|sales_agent [--name NAME]\n"
	"  add --operator --email ADDR [--name NAME]\n"
	"                 a user, invited until it signs in at /console; prints its id\n"
	"  list --org ID | --operators\n"
	"                 id, email, role, status, name\n"
	"  remove ID      its sessions end and its sign-in links die\n";

static struct inv_env env_of(struct cli *cli)
{
	return (struct inv_env){cli->st, app_keys(&cli->app), &cli->app.mailer,
				cli->app.cfg.tokens.invitation_lifetime, cli->now, "cli"};
}

static int print_user(void *ctx, const struct user *u)
{
	(void)ctx;
	printf("%lld\t%s\t%s\t%s\t%s\n", (long long)u->id, u->email, key_role_str(u->role),
	       user_status_str(u->status), u->name);
	return 0;
}

int cli_user(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
					     {"operator", no_argument, NULL, 'O'},
					     {"operators", no_argument, NULL, 'O'},
					     {"email", required_argument, NULL, 'e'},
					     {"name", required_argument, NULL, 'n'},
					     {"role", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	int64_t org = 0, id = 0;
	enum key_role role = 0;
	const char *email = NULL, *name = NULL, *err;
	int c, bad = 0, operator = 0;
	struct fault f = {0};
	struct user u;

	if (cli_wants_help(argc, argv)) {
		fputs(user_usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage(user_usage);
	const char *cmd = argv[1];
	argc--, argv++;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && !bad) {
		if (c == 'o')
			bad = (org = cli_id(optarg)) < 0;
		else if (c == 'O')
			operator = 1;
		else if (c == 'e')
			email = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c == 'r')
			bad = key_role_parse(optarg, &role) < 0 || role == ROLE_OPERATOR;
		else
			bad = 1;
	}
	if (strcmp(cmd, "remove") == 0 && optind == argc - 1 && !operator && !org)
		bad = (id = cli_id(argv[optind++])) < 0;
	if (bad || optind != argc || (operator && org))
		return cli_usage(user_usage);
	if (strcmp(cmd, "add") == 0) {
		if (email == NULL || (operator ? role != 0 : (org == 0 || role == 0)))
			return cli_usage(user_usage);
	} else if (strcmp(cmd, "list") == 0) {
		if (email || name || role || (operator == (org != 0)))
			return cli_usage(user_usage);
	} else if (strcmp(cmd, "remove") != 0 || id == 0) {
		return cli_usage(user_usage);
	}
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	struct inv_env env = env_of(cli);
	if (strcmp(cmd, "list") == 0) {
		if (store_user_list(cli->st, operator ? USERS_OPERATORS : org, NULL, print_user, NULL,
				    &err) != STORE_OK)
			return cli_fail("user", "%s", err);
		return EXIT_OK;
	}
	if (strcmp(cmd, "remove") == 0) {
		if (user_remove(&env, id, &f) < 0)
			return cli_fail("user", "%s", f.message);
		return EXIT_OK;
	}
	struct org o;
	if (!operator && store_org_get(cli->st, org, &o, &err) != STORE_OK)
		return cli_fail("user", "no organization %lld", (long long)org);
	if (user_add(&env, operator ? 0 : org, email, name, operator ? ROLE_OPERATOR : role, &u,
		     &f) < 0)
		return cli_fail("user", "%s", f.message);
	printf("%lld\n", (long long)u.id);
	return EXIT_OK;
}
