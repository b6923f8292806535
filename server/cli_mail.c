/*
 * cli_mail.c: `invited mail …`: the outbox as the operator sees it, and
 * requeueing a failed message.
 */
#include <getopt.h>
#include <string.h>

#include "invited/cli.h"
#include "invited/log.h"
#include "invited/rfc3339.h"

static const char usage[] =
	"usage: invited [-c FILE] mail COMMAND [ARGS]\n"
	"\n"
	"  outbox [--status queued|sending|sent|failed] [--limit N]\n"
	"         messages, newest first: id, status, attempts, next attempt,\n"
	"         recipient, kind, last SMTP reply\n"
	"  retry ID   queue a failed message again, with a fresh lifetime\n";

static int print_msg(void *ctx, const struct outbox_msg *m)
{
	char next[RFC3339_LEN + 1];
	(void)ctx;
	printf("%lld\t%s\t%d\t%s\t%s\t%s\t%d %s\n", (long long)m->id,
	       outbox_status_str(m->status), m->attempts,
	       m->status == OUTBOX_QUEUED ? rfc3339_format(m->next_attempt_at, next) : "-",
	       m->rcpt, m->kind, m->last_code, m->last_reply);
	return 0;
}

static int outbox(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"status", required_argument, NULL, 's'},
					     {"limit", required_argument, NULL, 'l'},
					     {NULL, 0, NULL, 0}};
	struct outbox_filter f = {.limit = 100};
	enum outbox_status status;
	const char *err;
	int c, bad = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1 && !bad) {
		if (c == 's')
			bad = outbox_status_parse(optarg, &status) < 0, f.status = (int)status;
		else if (c == 'l')
			bad = (f.limit = (int)cli_id(optarg)) < 0;
		else
			bad = 1;
	}
	if (bad || optind != argc)
		return cli_usage(usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	if (store_outbox_list(cli->st, &f, print_msg, NULL, &err) != STORE_OK)
		return cli_fail("mail", "%s", err);
	return EXIT_OK;
}

static int retry(struct cli *cli, const char *arg)
{
	const char *err;
	int64_t id = cli_id(arg);
	if (id < 0)
		return cli_usage(usage);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	int rc = store_outbox_retry(cli->st, id, cli->now, cli->now + cli->app.cfg.smtp_lifetime,
				    &err);
	if (rc != STORE_OK)
		return cli_fail("mail", "message %lld: %s", (long long)id, err);
	store_audit(cli->st, cli->now, "cli", "mail.retry", errorf("outbox:%lld", (long long)id),
		    NULL, &err);
	printf("message %lld queued again\n", (long long)id);
	return EXIT_OK;
}

int cli_mail(struct cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "outbox") == 0)
		return outbox(cli, argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "retry") == 0)
		return retry(cli, argv[2]);
	return cli_usage(usage);
}
