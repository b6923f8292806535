/*
 * cli.c: what every verb shares (loading the server's state, messages,
 * usage), and the verbs that set up and run the server: init, serve,
 * config, audit.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invited/cli.h"
#include "invited/log.h"
#include "invited/rfc3339.h"

int cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "invited %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int cli_usage(const char *text)
{
	fputs(text, stderr);
	return EXIT_USAGE;
}

int cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

int64_t cli_id(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && v > 0 ? (int64_t)v : -1;
}

int cli_load_config(struct cli *cli)
{
	const char *err;
	if (cli->app_loaded)
		return 0;
	if (app_init(&cli->app, cli->config_path, &err) < 0) {
		app_free(&cli->app);
		fprintf(stderr, "invited: %s\n", err);
		return -1;
	}
	cli->app_loaded = 1;
	msg_setup(msg_level_parse(cli->app.cfg.log.level), 0);
	return 0;
}

int cli_load(struct cli *cli)
{
	const char *err;
	if (cli->st != NULL)
		return 0;
	if (cli_load_config(cli) < 0)
		return -1;
	cli->app.store_flags = cli->store_flags;
	if ((cli->st = app_store(&cli->app, &err)) == NULL) {
		fprintf(stderr, "invited: %s\n", err);
		return -1;
	}
	return 0;
}

void cli_unload(struct cli *cli)
{
	if (cli->app_loaded)
		app_free(&cli->app);
	cli->app_loaded = 0;
	cli->st = NULL;
}

static const char init_usage[] =
	"usage: invited [-c FILE] init [--set SECTION.KEY=VALUE]... [--force]\n"
	"\n"
	"Write the config file FILE (every key, documented, with its default),\n"
	"create the SQLite database and the first Ed25519 signing key beside it.\n"
	"An existing config file is kept unless --force is given; an existing\n"
	"database and key folder are always kept.\n"
	"\n"
	"  --set SECTION.KEY=VALUE  a setting to write instead of its default,\n"
	"                           e.g. --set server.public_url=https://invite.example.com\n";

static int mkdir_for(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(dir, mode);
		*p = '/';
	}
	return mkdir(dir, mode) == 0 || errno == EEXIST ? 0 : -1;
}

static int write_config(const char *path, const struct config *cfg)
{
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	FILE *fp = fopen(tmp, "w");
	if (fp == NULL)
		return -1;
	fchmod(fileno(fp), 0640);
	int rc = config_write(fp, cfg);
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	return rc == 0 ? rename(tmp, path) : -1;
}

int cli_init(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"set", required_argument, NULL, 's'},
					     {"force", no_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct config cfg;
	const char *err;
	int force = 0, c;
	char kid[MAX_KID_LEN + 1];

	if (config_defaults(cli->config_path, &cfg, &err) < 0)
		return cli_fail("init", "%s", err);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(init_usage, stdout);
			return EXIT_OK;
		} else if (c == 'f') {
			force = 1;
		} else if (c == 's') {
			char *eq = strchr(optarg, '=');
			if (eq == NULL)
				return cli_usage(init_usage);
			*eq = '\0';
			if (config_set(&cfg, optarg, eq + 1, &err) < 0)
				return cli_fail("init", "%s", err);
		} else {
			return cli_usage(init_usage);
		}
	}
	if (optind != argc)
		return cli_usage(init_usage);
	if (config_validate(&cfg, &err) < 0)
		return cli_fail("init", "%s", err);

	if (mkdir_for(cfg.path, 0755) < 0)
		return cli_fail("init", "cannot create the folder of %s: %s", cfg.path,
				strerror(errno));
	if (access(cfg.path, F_OK) == 0 && !force)
		printf("kept %s (use --force to rewrite it)\n", cfg.path);
	else if (write_config(cfg.path, &cfg) < 0)
		return cli_fail("init", "cannot write %s: %s", cfg.path, strerror(errno));
	else
		printf("wrote %s\n", cfg.path);

	struct store *st;
	/* A database that is there is kept as it is: migrating it is
	 * `db migrate`'s (or serve's) to do, and to log. */
	int is_pg = store_is_pg(cfg.server.database), version = 0;
	int exists = is_pg ? store_file_version(cfg.server.database_conn, &version, &err) ==
					 STORE_OK &&
				     version > 0
			   : access(cfg.server.database, F_OK) == 0;
	int flags = STORE_CREATE | (exists ? 0 : STORE_MIGRATE);
	if ((!is_pg && mkdir_for(cfg.server.database, 0755) < 0) ||
	    store_open(cfg.server.database_conn, flags, &st, &err) != STORE_OK)
		return cli_fail("init", "%s", err ? err : strerror(errno));
	store_close(st);
	printf("database %s (schema version %d)\n", cfg.server.database, store_schema_version());

	struct keyring *kr;
	if (keyring_load(cfg.server.keys, &kr, &err) == 0) {
		printf("kept keys in %s (%s signs)\n", cfg.server.keys, keyring_key(kr, 0)->kid);
		keyring_free(kr);
	} else if (keyring_generate(cfg.server.keys, kid, &err) < 0) {
		return cli_fail("init", "%s", err);
	} else {
		printf("new signing key %s in %s\n", kid, cfg.server.keys);
	}
	return EXIT_OK;
}

int cli_serve(struct cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv) || argc > 1) {
		printf("usage: invited [-c FILE] serve\n\n"
		       "Run the HTTP endpoint (links, pages, API), the outbox senders\n"
		       "and the expiry sweeper until SIGINT or SIGTERM. The key folder is\n"
		       "re-read within a second of `invited keys rotate` or `retire`\n"
		       "(and on SIGHUP); the TLS certificate and key ([server] tls_cert,\n"
		       "tls_key) on SIGHUP.\n");
		return argc > 1 && !cli_wants_help(argc, argv) ? EXIT_USAGE : EXIT_OK;
	}
	cli->store_flags = STORE_MIGRATE; /* logged, step by step */
	if (cli_load_config(cli) < 0)
		return EXIT_FAIL;
	const struct config *cfg = &cli->app.cfg;
	msg_setup(msg_level_parse(cfg->log.level), strcmp(cfg->log.target, "syslog") == 0);
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	for (int i = 0; i < cfg->n_warnings && i < CONFIG_MAX_WARNINGS; i++)
		msg_warn("config: %s", cfg->warnings[i]);
	if (cfg->n_warnings > CONFIG_MAX_WARNINGS)
		msg_warn("config: %d more warnings (invited config check)",
			 cfg->n_warnings - CONFIG_MAX_WARNINGS);
	return app_serve(&cli->app) == 0 ? EXIT_OK : EXIT_FAIL;
}

int cli_config(struct cli *cli, int argc, char **argv)
{
	struct config cfg;
	const char *err;
	if (argc == 2 && strcmp(argv[1], "--doc") == 0)
		return config_doc(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	if (argc == 2 && strcmp(argv[1], "--man") == 0)
		return config_man(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	int changed = argc == 2 && strcmp(argv[1], "-n") == 0;
	int check = argc == 2 && strcmp(argv[1], "check") == 0;
	if (cli_wants_help(argc, argv) || (argc > 1 && !changed && !check)) {
		printf("usage: invited [-c FILE] config [-n | check | --doc | --man]\n\n"
		       "Print the effective configuration: the file, with environment\n"
		       "overrides applied (passwords are never printed); with -n, only\n"
		       "what differs from the defaults (a password set shows as (set)).\n"
		       "check: load it strictly, then check what it names: the listen\n"
		       "address, the templates, the TLS certificate and key (they match,\n"
		       "the name, when it expires), the key folder and files (0700, 0600),\n"
		       "the database (0600, or a folder it can be created in); print\n"
		       "each problem and exit 1, or print ok.\n"
		       "With --doc, every key, its default and meaning as a Markdown\n"
		       "table; with --man, as the invited.conf(5) manual page.\n");
		return argc > 1 && !cli_wants_help(argc, argv) ? EXIT_USAGE : EXIT_OK;
	}
	if (config_load(cli->config_path, &cfg, &err) < 0)
		return cli_fail("config", "%s", err);
	if (check) {
		for (int i = 0; i < cfg.n_warnings && i < CONFIG_MAX_WARNINGS; i++)
			printf("warning: %s\n", cfg.warnings[i]);
		if (cfg.n_warnings > CONFIG_MAX_WARNINGS)
			printf("warning: %d more\n", cfg.n_warnings - CONFIG_MAX_WARNINGS);
		int problems = config_check(&cfg, stdout);
		if (problems == 0)
			printf("ok\n");
		return problems == 0 ? EXIT_OK : EXIT_FAIL;
	}
	if (changed)
		return config_write_changed(stdout, &cfg) == 0 ? EXIT_OK : EXIT_FAIL;
	return config_write(stdout, &cfg) == 0 ? EXIT_OK : EXIT_FAIL;
}

static int print_event(void *ctx, const struct event *e)
{
	char when[RFC3339_LEN + 1];
	(void)ctx;
	printf("%lld\t%s\t%s\t%s\t%s\t%s\n", (long long)e->id, rfc3339_format(e->at, when),
	       e->actor, e->name, e->subject, e->details);
	return 0;
}

int cli_audit(struct cli *cli, int argc, char **argv)
{
	static const char usage[] =
		"usage: invited [-c FILE] audit [--limit N] [--before ID | --since ID] [--org ID]\n\n"
		"Print the event log: id, time, actor, event, subject, details, separated\n"
		"by tabs. Newest first; with --since, the events after that id, oldest\n"
		"first. --org: only the events of that organization.\n";
	static const struct option opts[] = {{"limit", required_argument, NULL, 'l'},
					     {"before", required_argument, NULL, 'b'},
					     {"since", required_argument, NULL, 's'},
					     {"org", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int64_t limit = 100;
	struct event_filter f = {0};
	const char *err;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return EXIT_OK;
		} else if (c == 'l' && (limit = cli_id(optarg)) > 0 && limit <= 100000) {
			continue;
		} else if (c == 'b' && (f.before_id = cli_id(optarg)) > 0) {
			continue;
		} else if (c == 's' && (f.since_id = strcmp(optarg, "0") == 0 ? 0 : cli_id(optarg)) >= 0) {
			f.oldest_first = 1;
			continue;
		} else if (c == 'o' && (f.org_id = cli_id(optarg)) > 0) {
			continue;
		}
		return cli_usage(usage);
	}
	if (optind != argc || (f.oldest_first && f.before_id > 0))
		return cli_usage(usage);
	f.limit = (int)limit;
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	if (store_event_list(cli->st, &f, print_event, NULL, &err) != STORE_OK)
		return cli_fail("audit", "%s", err);
	return EXIT_OK;
}
