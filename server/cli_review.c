/*
 * cli_review.c: `invited org approve|reject|suspend ID [--reason TEXT]`:
 * the operator's review decisions, with the same rules and mails as the
 * API's POST /orgs/{id}/approve|reject|suspend.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "invited/cli.h"
#include "invited/enroll.h"

int cli_org_review(struct cli *cli, int argc, char **argv);

int cli_org_review(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	enum review_action action;
	struct verifier_env env;
	struct fault f = {0};
	struct org o;
	const char *reason = NULL;
	int c;
	if (review_action_parse(argv[0], &action) < 0)
		return cli_fail("org", "unknown decision %s", argv[0]);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			goto usage;
		reason = optarg;
	}
	int64_t id = optind == argc - 1 ? cli_id(argv[optind]) : -1;
	if (id < 0)
		goto usage;
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	app_verifier_env(&cli->app, cli->st, cli->now, "cli", &env);
	if (enroll_review(&env, id, action, reason, &o, &f) < 0)
		return cli_fail("org", "%s %lld: %s", argv[0], (long long)id, f.message);
	printf("%lld\t%s\n", (long long)o.id, org_status_str(o.status));
	return EXIT_OK;
usage:
	fprintf(stderr, "usage: invited [-c FILE] org %s ID %s\n", argv[0],
		action == REVIEW_APPROVE ? "[--reason TEXT]" : "--reason TEXT");
	return EXIT_USAGE;
}
