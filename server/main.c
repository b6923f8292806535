/*
 * main.c: `invited [-c FILE] COMMAND …`: find the config and run a verb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invited/cli.h"

#define DEFAULT_CONFIG "/etc/invited/invited.conf"

static const char usage[] =
	"usage: invited [-c FILE] COMMAND [ARGS]\n"
	"\n"
	"An email-driven invitation and verification server.\n"
	"\n"
	"Commands:\n"
	"  init      write a config file, create the database and the first signing key\n"
	"  serve     run the HTTP endpoint, the outbox senders and the IMAP reader\n"
	"  org       create, list, show, approve or reject organizations\n"
	"  apikey    create API keys\n"
	"  user      add, list or remove the people of an organization, and operators\n"
	"  invite    create, list, show or revoke invitations\n"
	"  keys      list, rotate or retire signing keys; print the public keys\n"
	"  token     verify a link token\n"
	"  mail      the outbox, retries, one IMAP poll, classifying a message\n"
	"  audit     print the audit log\n"
	"  config    print the effective configuration\n"
	"  db        back the database and keys up while the server runs\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE  the config file (default: $INVITED_CONFIG, else\n"
	"                     " DEFAULT_CONFIG ")\n"
	"  -h, --help         this text; `invited COMMAND --help` explains a command\n"
	"      --version      the version\n"
	"\n"
	"Exit status: 0 on success, 1 on a failure the message explains, 2 on bad usage.\n";

static const struct {
	const char *name;
	int (*run)(struct cli *, int, char **);
} verbs[] = {
	{"init", cli_init},     {"serve", cli_serve}, {"org", cli_org},
	{"apikey", cli_apikey}, {"invite", cli_invite}, {"keys", cli_keys},
	{"token", cli_token},   {"mail", cli_mail},   {"audit", cli_audit},
	{"config", cli_config}, {"user", cli_user},   {"db", cli_db},
};

int main(int argc, char **argv)
{
	struct cli cli = {.now = (int64_t)time(NULL)};
	int i = 1;
	cli.config_path = getenv("INVITED_CONFIG");
	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			cli.config_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("invited %s\n", INVITED_VERSION);
			return EXIT_OK;
		} else {
			fprintf(stderr, "invited: unknown option %s\n\n%s", argv[i], usage);
			return EXIT_USAGE;
		}
	}
	if (cli.config_path == NULL || cli.config_path[0] == '\0')
		cli.config_path = DEFAULT_CONFIG;
	if (i == argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		if (strcmp(argv[i], verbs[v].name) == 0) {
			int rc = verbs[v].run(&cli, argc - i, argv + i);
			cli_unload(&cli);
			return rc;
		}
	}
	fprintf(stderr, "invited: unknown command \"%s\"\n\n%s", argv[i], usage);
	return EXIT_USAGE;
}
