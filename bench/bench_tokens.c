/*
 * bench_tokens.c: link tokens minted and verified per second on one core,
 * against raw libsodium Ed25519 over the same payload in the same run and,
 * when a peer command is given, against that peer (bench/peers/tokens.mjs:
 * npm paseto on Node) signing and verifying the same claims with a footer
 * of the same bytes.
 *
 *     bench_tokens KEY_DIR [PEER_COMMAND [ARG...]]
 *
 * The peer command is started once, with "--serve 1 --claims JSON --footer
 * TEXT" appended, and warms up; then, once per round, before the other runs
 * of the round, it is sent a line "round" and answers with one line
 * "MINTED VERIFIED LABEL": its rates per second in that round and what it
 * is (name, version, runtime). It waits idle between rounds, inherits this
 * program's CPU affinity (taskset) and exits when its input closes.
 * The payload has the shape and size of a real link's claims. Prints per
 * figure (minted, verified) one table row against libsodium and, with a
 * peer, one against the peer: name, value, baseline, ratio, goal, whether it
 * holds. INVITED_BENCH_SMALL=1 runs two rounds instead of five (a sanity
 * check, not a figure).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "invited/keys.h"
#include "invited/log.h"

#define SECONDS 0.4 /* per run */
#define ROUNDS 5    /* interleaved runs of each; the best counts */
#define GOAL_LIBSODIUM 0.9
#define GOAL_PEER 2.5

extern char **environ;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs of fn per second over SECONDS. */
static double rate(void (*fn)(void *), void *ctx)
{
	size_t n = 0;
	double start = now(), t;
	do {
		for (int i = 0; i < 256; i++)
			fn(ctx);
		n += 256;
	} while ((t = now()) - start < SECONDS);
	return (double)n / (t - start);
}

struct ctx {
	const struct keyring *kr;
	unsigned char sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	const unsigned char *payload;
	size_t len;
	char *token;
	unsigned char sig[crypto_sign_BYTES];
};

static void mint(void *arg)
{
	struct ctx *c = arg;
	char *token;
	const char *err;
	if (keyring_sign(c->kr, c->payload, c->len, &token, &err) != 0) {
		fprintf(stderr, "bench_tokens: %s\n", err);
		exit(1);
	}
	free(token);
}

static void verify(void *arg)
{
	struct ctx *c = arg;
	unsigned char *payload;
	size_t len;
	const char *err;
	if (keyring_verify(c->kr, c->token, &payload, &len, NULL, &err) != TOKEN_OK) {
		fprintf(stderr, "bench_tokens: %s\n", err);
		exit(1);
	}
	free(payload);
}

static void raw_sign(void *arg)
{
	struct ctx *c = arg;
	crypto_sign_detached(c->sig, NULL, c->payload, c->len, c->sk);
}

static void raw_verify(void *arg)
{
	struct ctx *c = arg;
	if (crypto_sign_verify_detached(c->sig, c->payload, c->len, c->pk) != 0)
		exit(1);
}

static void row(const char *name, double value, double base, const char *base_name, double goal)
{
	double ratio = value / base;
	printf("| %s | %.0f/s | %.0f/s (%s) | %.2f | >= %.1f | %s |\n", name, value, base,
	       base_name, ratio, goal, ratio >= goal ? "yes" : "NO");
}

/* The peer: a process started once, answering one round per line. */
struct peer {
	const char *name;
	pid_t pid;
	FILE *to, *from;
	char label[256];
};

static void peer_failed(struct peer *p, const char *said)
{
	int status = 0;
	if (p->to != NULL) {
		fclose(p->to);
		p->to = NULL;
	}
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	fprintf(stderr, "bench_tokens: the peer %s %s %d; it said: %s\n", p->name,
		WIFEXITED(status) ? "exited" : "died of signal",
		WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), said);
	exit(1);
}

/* Start argv (argv[0] looked up in PATH) with pipes to its stdin and from
 * its stdout. Exits on failure: a figure without its baseline is no figure. */
static void peer_start(struct peer *p, char **argv)
{
	int in[2], out[2];
	posix_spawn_file_actions_t fa;
	if (pipe(in) != 0 || pipe(out) != 0 || posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO) != 0 ||
	    posix_spawn_file_actions_addclose(&fa, in[0]) != 0 ||
	    posix_spawn_file_actions_addclose(&fa, in[1]) != 0 ||
	    posix_spawn_file_actions_addclose(&fa, out[0]) != 0 ||
	    posix_spawn_file_actions_addclose(&fa, out[1]) != 0) {
		perror("bench_tokens: peer");
		exit(1);
	}
	signal(SIGPIPE, SIG_IGN); /* a peer gone is an error of fputs, not our death */
	int err = posix_spawnp(&p->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (err != 0) {
		fprintf(stderr, "bench_tokens: cannot run %s: %s\n", argv[0], strerror(err));
		exit(1);
	}
	p->name = argv[0];
	p->to = fdopen(in[1], "w");
	p->from = fdopen(out[0], "r");
	if (p->to == NULL || p->from == NULL) {
		perror("bench_tokens: peer");
		exit(1);
	}
}

/* One round: a line "round" to the peer, its answer "MINTED VERIFIED
 * LABEL" back; the label is kept (without its newline). */
static void peer_round(struct peer *p, double *minted_r, double *verified_r)
{
	char line[512];
	int at = 0;
	if (fputs("round\n", p->to) == EOF || fflush(p->to) == EOF)
		peer_failed(p, "(nothing: it closed its input)");
	if (fgets(line, sizeof(line), p->from) == NULL)
		peer_failed(p, "(nothing)");
	if (sscanf(line, "%lf %lf %n", minted_r, verified_r, &at) != 2 || at == 0 ||
	    !(*minted_r > 0) || !(*verified_r > 0))
		peer_failed(p, line);
	line[strcspn(line, "\n")] = '\0';
	snprintf(p->label, sizeof(p->label), "%s", line + at);
}

/* Close its input: the peer exits, and must exit 0. */
static void peer_stop(struct peer *p)
{
	int status;
	fclose(p->to);
	p->to = NULL;
	fclose(p->from);
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_tokens: the peer %s ended with status %d\n", p->name,
			status);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *err;
	char kid[MAX_KID_LEN + 1];
	struct keyring *kr;
	struct ctx c;
	if (argc < 2) {
		fprintf(stderr, "usage: bench_tokens KEY_DIR [PEER_COMMAND [ARG...]]\n");
		return 2;
	}
	const char *small = getenv("INVITED_BENCH_SMALL");
	int rounds = small != NULL && strcmp(small, "1") == 0 ? 2 : ROUNDS;
	if (sodium_init() < 0 || keyring_generate(argv[1], kid, &err) < 0 ||
	    keyring_load(argv[1], &kr, &err) < 0) {
		fprintf(stderr, "bench_tokens: %s\n", sodium_init() < 0 ? "sodium" : err);
		return 1;
	}
	static const char claims[] =
		"{\"jti\":\"uXyRWzG7w3CuECLAdR8QRw\",\"pur\":\"indirect_provider\","
		"\"iat\":\"2026-11-25T00:21:18Z\",\"exp\":\"2026-12-25T00:21:18Z\","
		"\"aud\":\"https://invite.example.com\"}";
	memset(&c, 0, sizeof(c));
	c.kr = kr;
	c.payload = (const unsigned char *)claims;
	c.len = sizeof(claims) - 1;
	crypto_sign_keypair(c.pk, c.sk);
	crypto_sign_detached(c.sig, NULL, c.payload, c.len, c.sk);
	if (keyring_sign(kr, c.payload, c.len, &c.token, &err) != 0) {
		fprintf(stderr, "bench_tokens: %s\n", err);
		return 1;
	}
	/* The peer's command line: PEER_COMMAND... --serve 1 --claims JSON
	 * --footer TEXT, the footer being the bytes keyring_sign writes. */
	char footer[MAX_KID_LEN + 16];
	struct peer peer = {0};
	int npeer = argc - 2;
	snprintf(footer, sizeof(footer), "{\"kid\":\"%s\"}", kid);
	if (npeer > 0) {
		char **cmd = calloc((size_t)npeer + 7, sizeof(*cmd));
		if (cmd == NULL)
			return 1;
		memcpy(cmd, argv + 2, (size_t)npeer * sizeof(*cmd));
		cmd[npeer] = "--serve";
		cmd[npeer + 1] = "1";
		cmd[npeer + 2] = "--claims";
		cmd[npeer + 3] = (char *)claims;
		cmd[npeer + 4] = "--footer";
		cmd[npeer + 5] = footer;
		peer_start(&peer, cmd);
		free(cmd);
	}
	/* Measured and baseline runs alternate, so that noise from other
	 * processes hits all of them; the best run of each counts. */
	double base_sign = 0, minted = 0, base_verify = 0, verified = 0;
	double peer_minted = 0, peer_verified = 0;
	for (int i = 0; i < rounds; i++) {
		if (npeer > 0) {
			double m, v;
			peer_round(&peer, &m, &v);
			peer_minted = fmax(peer_minted, m);
			peer_verified = fmax(peer_verified, v);
		}
		base_sign = fmax(base_sign, rate(raw_sign, &c));
		minted = fmax(minted, rate(mint, &c));
		base_verify = fmax(base_verify, rate(raw_verify, &c));
		verified = fmax(verified, rate(verify, &c));
	}
	row(errorf("link tokens minted (%zu-byte claims)", c.len), minted, base_sign,
	    "raw libsodium", GOAL_LIBSODIUM);
	if (npeer > 0) {
		peer_stop(&peer);
		row("link tokens minted vs the peer", minted, peer_minted, peer.label, GOAL_PEER);
	}
	row("link tokens verified", verified, base_verify, "raw libsodium", GOAL_LIBSODIUM);
	if (npeer > 0)
		row("link tokens verified vs the peer", verified, peer_verified, peer.label,
		    GOAL_PEER);
	free(c.token);
	keyring_free(kr);
	return 0;
}
