/*
 * cli_review.c: `invited org approve|reject|suspend`: the operator's
 * review decisions (they arrive with enrollment).
 */
#include "invited/cli.h"

int cli_org_review(struct cli *cli, int argc, char **argv);

int cli_org_review(struct cli *cli, int argc, char **argv)
{
	(void)cli, (void)argc;
	return cli_fail("org", "%s is not available yet", argv[0]);
}
