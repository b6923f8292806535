/*
 * cli_mail.c: `invited mail …`: the outbox as the operator sees it, and
 * requeueing a failed message, one pass of the IMAP reader, and
 * classifying a message from a file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invited/classify.h"
#include "invited/imap_reader.h"
#include "invited/inbound.h"

#include "invited/cli.h"
#include "invited/log.h"
#include "invited/rfc3339.h"

static const char usage[] =
	"usage: invited [-c FILE] mail COMMAND [ARGS]\n"
	"\n"
	"  outbox [--status queued|sending|sent|failed] [--limit N]\n"
	"         messages, newest first: id, status, attempts, next attempt,\n"
	"         recipient, kind, last SMTP reply\n"
	"  retry ID   queue a failed message again, with a fresh lifetime\n"
	"  poll       read the [imap] mailbox once: handle every new message\n"
	"             (bounces, auto-replies, replies) as `serve` would, move it\n"
	"             to the processed or unmatched folder, print what was done\n"
	"  classify FILE [--reply-domain DOMAIN]\n"
	"         print, as JSON, what the inbound-mail reader would make of the\n"
	"         message in FILE (- for standard input): class, tag and code,\n"
	"         failed recipients; touches no store. A first mbox \"From \" line\n"
	"         is passed over. The reply domain defaults to [mail] reply_domain\n"
	"         of the config, or example.test when there is no config file\n";

static int print_msg(void *ctx, const struct outbox_msg *m)
{
	char next[RFC3339_LEN + 1];
	(void)ctx;
	printf("%lld\t%s\t%d\t%s\t%s\t%s\t%d %s\n", (long long)m->id,
	       outbox_status_str(m->status), m->attempts,
	       m->status == OUTBOX_QUEUED ? rfc3339_format(m->next_attempt_at, next) : "-",
	       m->rcpt, outbox_kind_str(m->kind), m->last_code, m->last_reply);
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
	int rc = outbox_retry(cli->st, id, cli->app.cfg.smtp_lifetime, cli->now, "cli", &err);
	if (rc != 0)
		return cli_fail("mail", "message %lld: %s", (long long)id, err);
	printf("message %lld queued again\n", (long long)id);
	return EXIT_OK;
}

static int poll_once(struct cli *cli)
{
	struct imap_session *s;
	struct imap_stats stats;
	struct verifier_env env;
	const char *err;
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	const struct imap_config *cfg = &cli->app.cfg.imap;
	struct inbound_opts opts = {cfg->trusted_authserv, cfg->trust_relay,
				    cli->app.cfg.mail.relay_per_day};
	app_verifier_env(&cli->app, cli->st, cli->now, "imap", &env);
	if (imap_session_open(cfg, &s, &err) < 0)
		return cli_fail("mail", "%s", err);
	/* A pass commits every 256 messages: checkpoint beside it, as the
	 * reader inside `invited serve` does. */
	struct store_checkpointer *cp = NULL;
	if (store_checkpointer_start(cli->app.cfg.server.database_conn, APP_CHECKPOINT_PAGES, &cp,
				     &err) == STORE_OK)
		store_checkpoint_by(cli->st, cp);
	int rc = imap_session_pass(s, &env, &opts, &stats, &err);
	if (cp != NULL) {
		store_checkpoint_by(cli->st, NULL);
		store_checkpointer_stop(cp);
	}
	imap_session_close(s);
	if (rc < 0)
		return cli_fail("mail", "%s", err);
	printf("%zu handled, %zu unmatched, %zu moved that were handled before, "
	       "%zu left to try again\n",
	       stats.handled, stats.unmatched, stats.again, stats.failed);
	for (int i = 1; i < INBOUND_ACTIONS; i++)
		if (stats.by_action[i] > 0)
			printf("  %s\t%zu\n", inbound_action_str((enum inbound_action)i),
			       stats.by_action[i]);
	return stats.failed > 0 ? EXIT_FAIL : EXIT_OK;
}

/* The whole file (at most MAX_MAIL_SIZE + 1 bytes), malloc'd. */
static char *read_all(const char *path, size_t *len_r)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	char *buf = malloc(MAX_MAIL_SIZE + 1);
	size_t n = buf ? fread(buf, 1, MAX_MAIL_SIZE + 1, fp) : 0;
	int failed = buf == NULL || ferror(fp);
	if (fp != stdin)
		fclose(fp);
	if (failed) {
		free(buf);
		return NULL;
	}
	*len_r = n;
	return buf;
}

/* The reply domain `mail classify` uses without a config file: the
 * config's own default. */
#define CLASSIFY_DEFAULT_REPLY_DOMAIN "example.test"

static int classify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"reply-domain", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	struct classify_result res;
	struct config cfg;
	const char *domain = NULL, *err;
	size_t len;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r')
			return cli_usage(usage);
		domain = optarg;
	}
	if (optind != argc - 1)
		return cli_usage(usage);
	/* Without a config file, the default reply domain: a message from
	 * elsewhere is classified all the same, its tags just match nothing. */
	if (domain == NULL && access(cli->config_path, F_OK) != 0)
		domain = CLASSIFY_DEFAULT_REPLY_DOMAIN;
	if (domain == NULL) {
		if (config_load(cli->config_path, &cfg, &err) < 0)
			return cli_fail("mail", "%s (or give --reply-domain)", err);
		domain = cfg.mail.reply_domain;
	}
	char *data = read_all(argv[optind], &len);
	if (data == NULL)
		return cli_fail("mail", "%s: %s", argv[optind], strerror(errno));
	if (len > MAX_MAIL_SIZE) {
		free(data);
		return cli_fail("mail", "%s: larger than %d bytes", argv[optind], MAX_MAIL_SIZE);
	}
	/* A message saved from a mailbox file starts with its "From " line. */
	size_t skip = 0;
	if (len >= 5 && memcmp(data, "From ", 5) == 0) {
		const char *nl = memchr(data, '\n', len);
		skip = nl != NULL ? (size_t)(nl - data) + 1 : len;
	}
	struct classify_opts o = {.reply_domain = domain};
	int rc = classify_message(data + skip, len - skip, &o, &res, &err);
	free(data);
	if (rc < 0)
		return cli_fail("mail", "%s", err);
	char *json = classify_result_json(&res);
	classify_result_clear(&res);
	if (json == NULL)
		return cli_fail("mail", "out of memory");
	puts(json);
	free(json);
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
	if (argc == 2 && strcmp(argv[1], "poll") == 0)
		return poll_once(cli);
	if (argc >= 2 && strcmp(argv[1], "classify") == 0)
		return classify(cli, argc - 1, argv + 1);
	return cli_usage(usage);
}
