/*
 * bench_tokens.c: link tokens minted and verified per second on one core,
 * against raw libsodium Ed25519 over the same payload in the same run.
 * The payload has the shape and size of a real link's claims. Prints one
 * table row per figure: name, value, baseline, ratio, goal, whether it holds.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invited/keys.h"
#include "invited/log.h"

#define SECONDS 0.4 /* per run */
#define ROUNDS 5    /* interleaved runs of each; the best counts */

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

static void row(const char *name, double value, double base, double goal)
{
	double ratio = value / base;
	printf("| %s | %.0f/s | %.0f/s | %.2f | >= %.1f | %s |\n", name, value, base, ratio,
	       goal, ratio >= goal ? "yes" : "NO");
}

int main(int argc, char **argv)
{
	const char *err;
	char kid[MAX_KID_LEN + 1];
	struct keyring *kr;
	struct ctx c;
	if (argc != 2) {
		fprintf(stderr, "usage: bench_tokens KEY_DIR\n");
		return 2;
	}
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
	/* Measured and baseline runs alternate, so that noise from other
	 * processes hits both; the best run of each counts. */
	double base_sign = 0, minted = 0, base_verify = 0, verified = 0;
	for (int i = 0; i < ROUNDS; i++) {
		base_sign = fmax(base_sign, rate(raw_sign, &c));
		minted = fmax(minted, rate(mint, &c));
		base_verify = fmax(base_verify, rate(raw_verify, &c));
		verified = fmax(verified, rate(verify, &c));
	}
	row(errorf("link tokens minted (%zu-byte claims)", c.len), minted, base_sign, 0.9);
	row("link tokens verified", verified, base_verify, 0.9);
	free(c.token);
	keyring_free(kr);
	return 0;
}
