/*
 * cli_keys.c: `invited keys …` (the signing keys) and `invited token
 * verify` (what a link token says, or why it is refused).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "invited/cli.h"
#include "invited/link.h"
#include "invited/rfc3339.h"

static const char keys_usage[] =
	"usage: invited [-c FILE] keys COMMAND\n"
	"\n"
	"  list          the keys: kid, created, and which one signs\n"
	"  rotate        make a new key; it signs new links, older keys still verify\n"
	"                (a running server picks it up within a second)\n"
	"  retire KID    stop a key verifying: links it signed stop working\n"
	"  public        the public keys as JSON (as served at\n"
	"                /.well-known/invited/keys)\n";

int cli_keys(struct cli *cli, int argc, char **argv)
{
	struct config cfg;
	struct keyring *kr;
	const char *err;
	char kid[MAX_KID_LEN + 1];

	if (cli_wants_help(argc, argv)) {
		fputs(keys_usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage(keys_usage);
	if (config_load(cli->config_path, &cfg, &err) < 0)
		return cli_fail("keys", "%s", err);
	const char *cmd = argv[1], *dir = cfg.server.keys;
	if (strcmp(cmd, "rotate") == 0 && argc == 2) {
		if (keyring_generate(dir, kid, &err) < 0)
			return cli_fail("keys", "%s", err);
		printf("%s\n", kid);
		return EXIT_OK;
	}
	if (strcmp(cmd, "retire") == 0 && argc == 3) {
		if (keyring_retire(dir, argv[2], &err) < 0)
			return cli_fail("keys", "%s", err);
		return EXIT_OK;
	}
	if ((strcmp(cmd, "list") != 0 && strcmp(cmd, "public") != 0) || argc != 2)
		return cli_usage(keys_usage);
	if (keyring_load(dir, &kr, &err) < 0)
		return cli_fail("keys", "%s", err);
	if (strcmp(cmd, "public") == 0) {
		char *json = keyring_public_json(kr);
		printf("%s\n", json ? json : "");
		free(json);
	} else {
		for (size_t i = 0; i < keyring_count(kr); i++) {
			const struct key_info *k = keyring_key(kr, i);
			char when[RFC3339_LEN + 1];
			printf("%s\t%s\t%s\n", k->kid, rfc3339_format(k->created, when),
			       k->signing ? "signing" : "verifying");
		}
	}
	keyring_free(kr);
	return EXIT_OK;
}

static const char token_usage[] =
	"usage: invited [-c FILE] token verify TOKEN\n"
	"\n"
	"Check a link token (or a whole link) with this server's keys and print\n"
	"its claims and its state in the store as JSON; or say why it is refused\n"
	"and exit 1.\n";

int cli_token(struct cli *cli, int argc, char **argv)
{
	struct link_claims c;
	struct link_row row;
	const char *err = NULL;
	char iat[RFC3339_LEN + 1], exp[RFC3339_LEN + 1];

	if (cli_wants_help(argc, argv)) {
		fputs(token_usage, stdout);
		return EXIT_OK;
	}
	if (argc != 3 || strcmp(argv[1], "verify") != 0)
		return cli_usage(token_usage);
	const char *token = argv[2], *l = strstr(token, "/l/");
	if (l != NULL)
		token = l + 3; /* a whole link */
	if (cli_load(cli) < 0)
		return EXIT_FAIL;
	enum token_status ts = link_check(app_keys(&cli->app), cli->app.cfg.server.public_url,
					  token, cli->now, &c, &err);
	if (ts != TOKEN_OK)
		return cli_fail("token", "refused: %s%s%s", token_status_str(ts),
				err ? ": " : "", err ? err : "");
	const char *state = "unknown to this server";
	int rc = store_link_get(cli->st, c.jti, &row, &err);
	if (rc == STORE_OK)
		state = row.state == LINK_LIVE ? "live" : row.state == LINK_USED ? "used" : "revoked";
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "jti", c.jti, "pur",
			      link_purpose_str(c.purpose), "iat", rfc3339_format(c.iat, iat),
			      "exp", rfc3339_format(c.exp, exp), "kid", c.kid, "state", state,
			      "subject_id", (json_int_t)(rc == STORE_OK ? row.subject_id : 0));
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
	return EXIT_OK;
}
