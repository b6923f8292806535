/*
 * http_verify.c: the baseline of the redeem figure. The raw Ed25519
 * verify rate of one core: crypto_sign_verify_detached on CLAIMS (a real
 * link's claims, as given) for SECONDS. Prints the verifies per second.
 *
 *	http_verify CLAIMS SECONDS
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	if (argc != 3 || atof(argv[2]) <= 0) {
		fprintf(stderr, "usage: http_verify CLAIMS SECONDS\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "http_verify: libsodium failed to initialize\n");
		return 1;
	}
	const unsigned char *claims = (const unsigned char *)argv[1];
	size_t len = strlen(argv[1]);
	double seconds = atof(argv[2]);
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, claims, len, sk);
	size_t n = 0;
	double start = now(), t;
	do {
		for (int i = 0; i < 256; i++)
			if (crypto_sign_verify_detached(sig, claims, len, pk) != 0) {
				fprintf(stderr, "http_verify: the signature does not verify\n");
				return 1;
			}
		n += 256;
	} while ((t = now()) - start < seconds);
	printf("%.0f\n", (double)n / (t - start));
	return 0;
}
