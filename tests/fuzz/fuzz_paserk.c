/*
 * fuzz_paserk.c: PASERK keys as an operator's key files and a partner's
 * published keys carry them (k4.public., k4.secret.). A string that
 * decodes must encode back to itself: the forms are canonical.
 */
#include "fuzz.h"
#include "invited/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size);
	if (s == NULL)
		return 0;
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	char back[PASERK_SECRET_LEN + 1], pid[PASERK_PID_LEN + 1];
	const char *err;
	if (paserk_public_decode(s, pk, &err) == 0) {
		FUZZ_CHECK(paserk_public_encode(pk, back) == 0);
		FUZZ_CHECK(strcmp(back, s) == 0);
		FUZZ_CHECK(paserk_pid(pk, pid) == 0 && strncmp(pid, "k4.pid.", 7) == 0);
	}
	if (paserk_secret_decode(s, sk, &err) == 0) {
		FUZZ_CHECK(paserk_secret_encode(sk, back) == 0);
		FUZZ_CHECK(strcmp(back, s) == 0);
	}
	free(s);
	return 0;
}
