/*
 * fuzz_token.c: link tokens as a stranger hands them to /l/{token}. The
 * first byte picks what the rest is:
 *   even: a token string, through token_footer and link_check (prefix,
 *         base64url, footer JSON, kid lookup, signature, claims, times);
 *   odd:  the claims JSON of a token, signed here with the test key so
 *         that the claims reader and the RFC 3339 times are reached, then
 *         checked: a token we signed must verify and give back its bytes,
 *         and claims accepted must be the claims we issue.
 * The key is the PASERK vector k4.secret-2, in a key folder of its own.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "invited/keys.h"
#include "invited/link.h"
#include "invited/rfc3339.h"

#define PUBLIC_URL "https://invites.example.test"
#define NOW 1795000000

static struct keyring *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char paserk[] = "k4.secret.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8c5Wp"
				     "IyC_5kWKhS8VEYSZ05dYfuTF-ZdQFV4D9vLTcNQ\n";
	char dir[] = "/tmp/invited-fuzz-keys.XXXXXX", path[64];
	const char *err;
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/000000000001-0001.key", dir);
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(paserk, f) < 0 || fclose(f) != 0 || chmod(path, 0600) != 0)
		abort();
	if (keyring_load(dir, &keys, &err) < 0) {
		fprintf(stderr, "fuzz_token: %s\n", err);
		abort();
	}
	unlink(path);
	rmdir(dir);
	return 0;
}

static void check(const char *token)
{
	struct link_claims claims;
	const char *err = NULL;
	unsigned char *footer = NULL;
	size_t footer_len = 0;
	if (token_footer(token, &footer, &footer_len, &err) == TOKEN_OK)
		free(footer);
	memset(&claims, 0, sizeof(claims));
	enum token_status ts = link_check(keys, PUBLIC_URL, token, NOW, &claims, &err);
	if (ts == TOKEN_OK || ts == TOKEN_EXPIRED) {
		FUZZ_CHECK(claims.jti[0] != '\0' && strlen(claims.jti) <= MAX_CODE_LEN);
		FUZZ_CHECK(strcmp(claims.kid, keyring_key(keys, 0)->kid) == 0);
		FUZZ_CHECK(link_purpose_str(claims.purpose) != NULL);
	}
	if (ts == TOKEN_OK)
		FUZZ_CHECK(claims.iat <= NOW + LINK_CLOCK_SKEW && claims.exp > NOW);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *rest = fuzz_string(data + 1, size - 1);
	if (rest == NULL)
		return 0;
	if ((data[0] & 1) == 0) {
		check(rest);
	} else {
		char *token = NULL;
		const char *err;
		size_t len = size - 1;
		if (keyring_sign(keys, (const unsigned char *)rest, len, &token, &err) == 0) {
			unsigned char *payload = NULL;
			size_t payload_len = 0;
			FUZZ_CHECK(keyring_verify(keys, token, &payload, &payload_len, NULL, &err) ==
				   TOKEN_OK);
			FUZZ_CHECK(payload_len == len && memcmp(payload, rest, len) == 0);
			free(payload);
			check(token);
			free(token);
		}
	}
	free(rest);
	return 0;
}
