/* link: invited_links */
/*
 * test_paserk.c: PASERK k4.public / k4.secret / k4.pid against the
 * official vectors, and the strictness of their decoding.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "invited/keys.h"
#include "invited/rfc3339.h"
#include "test.h"

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

#define vec_assert(cond, vec)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: vector %s: assertion failed: %s\n", \
				__FILE__, __LINE__, (vec), #cond);             \
			test_failures++;                                       \
		}                                                              \
	} while (0)

/* ------------------------------------------------------------ vectors */

static json_t *load_cases(const char *path)
{
	json_error_t jerr;
	if (sodium_init() < 0)
		abort();
	json_t *root = json_load_file(path, 0, &jerr);
	if (root == NULL)
		fprintf(stderr, "%s: %s (line %d)\n", path, jerr.text, jerr.line);
	test_assert(json_is_array(json_object_get(root, "tests")));
	return root;
}

static const char *field(json_t *c, const char *name)
{
	const char *s = json_string_value(json_object_get(c, name));
	return s != NULL ? s : "";
}

/* Decode a hex key of any length into out (room for max); -1 if not hex. */
static int hex_any(const char *text, unsigned char *out, size_t max, size_t *len_r)
{
	const char *end;
	if (sodium_hex2bin(out, max, text, strlen(text), NULL, len_r, &end) != 0)
		return -1;
	return *end == '\0' ? 0 : -1;
}

/* prefix || base64url(bin): how a k4 PASERK of a wrong-sized key would read. */
static void forge(char *out, size_t size, const char *prefix, const unsigned char *bin,
		  size_t len)
{
	size_t plen = strlen(prefix);
	memcpy(out, prefix, plen);
	sodium_bin2base64(out + plen, size - plen, bin, len, B64_VARIANT);
}

/*
 * An expect-fail key: its bytes are no k4 key (the API takes fixed-size
 * arrays, so it cannot be passed to an encoder), and a PASERK holding it,
 * as k4 or as another version, must not decode.
 */
static void check_refused_key(const char *name, const char *key_hex, size_t good_len,
			      const char *k4_prefix, const char *k3_prefix,
			      int (*decode)(const char *, unsigned char *, const char **))
{
	unsigned char bin[256], out[TOKEN_SK_BYTES];
	char paserk[512];
	size_t len = 0;
	const char *err = NULL;
	vec_assert(hex_any(key_hex, bin, sizeof(bin), &len) == 0, name);
	vec_assert(len != good_len, name);
	forge(paserk, sizeof(paserk), k4_prefix, bin, len);
	vec_assert(decode(paserk, out, &err) == -1 && err != NULL, name);
	forge(paserk, sizeof(paserk), k3_prefix, bin, len);
	vec_assert(decode(paserk, out, &err) == -1, name);
}

static int public_decode(const char *p, unsigned char *out, const char **error_r)
{
	return paserk_public_decode(p, out, error_r);
}

static int secret_decode(const char *p, unsigned char *out, const char **error_r)
{
	return paserk_secret_decode(p, out, error_r);
}

TEST(vectors_paserk_k4_public)
{
	json_t *root = load_cases("tests/vectors/paserk-k4-public.json"), *c;
	size_t i, len;
	int ok = 0, fail = 0;
	json_array_foreach(json_object_get(root, "tests"), i, c) {
		const char *name = field(c, "name"), *err = NULL;
		unsigned char pk[TOKEN_PK_BYTES], back[TOKEN_PK_BYTES];
		char out[PASERK_PUBLIC_LEN + 1];
		if (json_is_true(json_object_get(c, "expect-fail"))) {
			fail++;
			check_refused_key(name, field(c, "key"), TOKEN_PK_BYTES, "k4.public.",
					  "k3.public.", public_decode);
			continue;
		}
		ok++;
		vec_assert(hex_any(field(c, "key"), pk, sizeof(pk), &len) == 0 &&
				   len == TOKEN_PK_BYTES,
			   name);
		vec_assert(paserk_public_encode(pk, out) == 0, name);
		vec_assert(strcmp(out, field(c, "paserk")) == 0, name);
		vec_assert(paserk_public_decode(field(c, "paserk"), back, &err) == 0, name);
		vec_assert(memcmp(back, pk, sizeof(pk)) == 0, name);
	}
	test_assert(ok == 3 && fail == 1);
	json_decref(root);
}

TEST(vectors_paserk_k4_secret)
{
	json_t *root = load_cases("tests/vectors/paserk-k4-secret.json"), *c;
	size_t i, len;
	int ok = 0, fail = 0;
	json_array_foreach(json_object_get(root, "tests"), i, c) {
		const char *name = field(c, "name"), *err = NULL;
		unsigned char sk[TOKEN_SK_BYTES], back[TOKEN_SK_BYTES], seed[32];
		unsigned char pk[TOKEN_PK_BYTES], derived[TOKEN_SK_BYTES];
		char out[PASERK_SECRET_LEN + 1];
		if (json_is_true(json_object_get(c, "expect-fail"))) {
			fail++;
			check_refused_key(name, field(c, "key"), TOKEN_SK_BYTES, "k4.secret.",
					  "k3.secret.", secret_decode);
			continue;
		}
		ok++;
		vec_assert(hex_any(field(c, "key"), sk, sizeof(sk), &len) == 0 &&
				   len == TOKEN_SK_BYTES,
			   name);
		vec_assert(hex_any(field(c, "secret-key-seed"), seed, sizeof(seed), &len) == 0,
			   name);
		crypto_sign_seed_keypair(pk, derived, seed);
		vec_assert(memcmp(derived, sk, sizeof(sk)) == 0, name);
		vec_assert(paserk_secret_encode(sk, out) == 0, name);
		vec_assert(strcmp(out, field(c, "paserk")) == 0, name);
		vec_assert(paserk_secret_decode(field(c, "paserk"), back, &err) == 0, name);
		vec_assert(memcmp(back, sk, sizeof(sk)) == 0, name);
	}
	test_assert(ok == 3 && fail == 2);
	json_decref(root);
}

TEST(vectors_paserk_k4_pid)
{
	json_t *root = load_cases("tests/vectors/paserk-k4-pid.json"), *c;
	size_t i, len;
	int ok = 0, fail = 0;
	json_array_foreach(json_object_get(root, "tests"), i, c) {
		const char *name = field(c, "name");
		unsigned char pk[TOKEN_PK_BYTES];
		char out[PASERK_PID_LEN + 1];
		if (json_is_true(json_object_get(c, "expect-fail"))) {
			/* No k4.public of this key decodes, so no pid can be made. */
			fail++;
			check_refused_key(name, field(c, "key"), TOKEN_PK_BYTES, "k4.public.",
					  "k3.public.", public_decode);
			continue;
		}
		ok++;
		vec_assert(hex_any(field(c, "key"), pk, sizeof(pk), &len) == 0 &&
				   len == TOKEN_PK_BYTES,
			   name);
		vec_assert(paserk_pid(pk, out) == 0, name);
		vec_assert(strcmp(out, field(c, "paserk")) == 0, name);
		vec_assert(strlen(out) == PASERK_PID_LEN, name);
	}
	test_assert(ok == 3 && fail == 2);
	json_decref(root);
}

TEST(paserk_decode_is_strict)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES], out[TOKEN_SK_BYTES];
	char pub[PASERK_PUBLIC_LEN + 1], sec[PASERK_SECRET_LEN + 1], buf[256];
	const char *err;
	if (sodium_init() < 0)
		abort();
	crypto_sign_keypair(pk, sk);
	paserk_public_encode(pk, pub);
	paserk_secret_encode(sk, sec);
	test_assert(paserk_public_decode(pub, out, &err) == 0);
	test_assert(paserk_secret_decode(sec, out, &err) == 0);

	/* The other type, padding, a newline, and one character short. */
	test_assert(paserk_public_decode(sec, out, &err) == -1);
	test_assert(paserk_secret_decode(pub, out, &err) == -1);
	test_assert_contains(err, "not a k4.secret");
	snprintf(buf, sizeof(buf), "%s=", pub);
	test_assert(paserk_public_decode(buf, out, &err) == -1);
	snprintf(buf, sizeof(buf), "%s\n", sec);
	test_assert(paserk_secret_decode(buf, out, &err) == -1);
	snprintf(buf, sizeof(buf), "%.*s", PASERK_PUBLIC_LEN - 1, pub);
	test_assert(paserk_public_decode(buf, out, &err) == -1);
	/* 32 bytes in 43 characters leave 2 unused bits: set one. */
	snprintf(buf, sizeof(buf), "k4.public.%042dB", 0);
	test_assert(paserk_public_decode(buf, out, &err) == -1);
	buf[PASERK_PUBLIC_LEN - 1] = 'A';
	test_assert(paserk_public_decode(buf, out, &err) == 0);

	/* A secret key whose public half is not its seed's. */
	unsigned char bad[TOKEN_SK_BYTES];
	memcpy(bad, sk, sizeof(bad));
	bad[TOKEN_SK_BYTES - 1] ^= 1;
	paserk_secret_encode(bad, buf);
	test_assert(paserk_secret_decode(buf, out, &err) == -1);
	test_assert_contains(err, "does not match");
}

/* How many of the PASERK's one-byte changes to a byte over 0x7f (after
 * its "k4.type." prefix) decode still. */
static int high_bytes_accepted(char *paserk,
			       int (*decode)(const char *, unsigned char *, const char **))
{
	unsigned char out[TOKEN_SK_BYTES];
	const char *err;
	int accepted = 0;
	for (size_t pos = strlen("k4.public."); paserk[pos] != '\0'; pos++) {
		char orig = paserk[pos];
		for (int c = 0x80; c <= 0xff; c++) {
			paserk[pos] = (char)c;
			accepted += decode(paserk, out, &err) == 0;
		}
		paserk[pos] = orig;
	}
	return accepted;
}

TEST(paserk_bytes_over_0x7f_are_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES], out[TOKEN_SK_BYTES];
	char pub[PASERK_PUBLIC_LEN + 1], sec[PASERK_SECRET_LEN + 1];
	const char *err;
	/* What tests/fuzz/fuzz_paserk found: libsodium read these as '_'. */
	test_assert(paserk_public_decode("k4.public.AAAAAAAAAAAAA\xbf\xbe\xbe\xbf"
					 "AAAAAAAAAAAAAAAAAAAAAAAAAA",
					 out, &err) == -1);
	if (sodium_init() < 0)
		abort();
	crypto_sign_keypair(pk, sk);
	paserk_public_encode(pk, pub);
	paserk_secret_encode(sk, sec);
	test_assert_int(high_bytes_accepted(pub, paserk_public_decode), 0);
	test_assert_int(high_bytes_accepted(sec, paserk_secret_decode), 0);
	test_assert(paserk_public_decode(pub, out, &err) == 0);
}

TEST_MAIN()
