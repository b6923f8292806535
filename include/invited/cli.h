/*
 * cli.h: the `invited` command line. Each verb is a function taking its
 * own arguments; exit status 0 on success, 1 on a failure it explains,
 * 2 on bad usage.
 */
#ifndef INVITED_CLI_H
#define INVITED_CLI_H

#include "server.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct cli {
	const char *config_path;
	struct app app;
	int app_loaded;
	int store_flags; /* STORE_MIGRATE for serve and db migrate */
	struct store *st;
	int64_t now;
};

/* Load config, templates and keys, and open the store. Prints why not. */
int cli_load(struct cli *cli);
/* The same without the store. */
int cli_load_config(struct cli *cli);
void cli_unload(struct cli *cli);

/* Print "invited CMD: message" to stderr; returns EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print usage text to stderr; returns EXIT_USAGE. */
int cli_usage(const char *text);
/* 1 when argv holds -h or --help (then the caller prints its help). */
int cli_wants_help(int argc, char **argv);
/* A positive integer id from text, or -1. */
int64_t cli_id(const char *s);

int cli_init(struct cli *cli, int argc, char **argv);
int cli_serve(struct cli *cli, int argc, char **argv);
int cli_org(struct cli *cli, int argc, char **argv);
int cli_apikey(struct cli *cli, int argc, char **argv);
int cli_user(struct cli *cli, int argc, char **argv);
int cli_invite(struct cli *cli, int argc, char **argv);
int cli_keys(struct cli *cli, int argc, char **argv);
int cli_token(struct cli *cli, int argc, char **argv);
int cli_mail(struct cli *cli, int argc, char **argv);
int cli_audit(struct cli *cli, int argc, char **argv);
int cli_config(struct cli *cli, int argc, char **argv);
int cli_db(struct cli *cli, int argc, char **argv);

#endif
