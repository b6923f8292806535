/* link: invited_links */
/*
 * test_token.c: PASETO v4.public against the official vectors
 * (tests/vectors/paseto-v4.json), plus the ways a token can be damaged:
 * every single-character change, truncation, padding, leftover bits,
 * other headers and extra segments.
 */
#include <jansson.h>
#include <sodium.h>

#include "invited/limits.h"
#include "invited/token.h"
#include "test.h"

#define V4_VECTORS "tests/vectors/paseto-v4.json"
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define B64_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* Like test_assert, naming the vector that failed. */
#define vec_assert(cond, vec)                                                  \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: vector %s: assertion failed: %s\n", \
				__FILE__, __LINE__, (vec), #cond);             \
			test_failures++;                                       \
		}                                                              \
	} while (0)

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

/* Decode hex of exactly len bytes; 0 or -1. */
static int hex(const char *text, unsigned char *out, size_t len)
{
	size_t got;
	const char *end;
	if (sodium_hex2bin(out, len, text, strlen(text), NULL, &got, &end) != 0)
		return -1;
	return got == len && *end == '\0' ? 0 : -1;
}

/* The 4-S key pair, which every v4.public case uses. */
static void vector_keys(json_t *cases, unsigned char pk[TOKEN_PK_BYTES],
			unsigned char sk[TOKEN_SK_BYTES])
{
	size_t i;
	json_t *c;
	json_array_foreach(cases, i, c) {
		if (strcmp(field(c, "name"), "4-S-1") == 0) {
			test_assert(hex(field(c, "public-key"), pk, TOKEN_PK_BYTES) == 0);
			test_assert(hex(field(c, "secret-key"), sk, TOKEN_SK_BYTES) == 0);
			return;
		}
	}
	test_assert(!"no 4-S-1 vector");
}

static char *sign_str(const unsigned char *sk, const char *payload, const char *footer)
{
	char *tok = NULL;
	const char *err = NULL;
	int ret = token_sign(sk, (const unsigned char *)payload, strlen(payload),
			     (const unsigned char *)footer, footer ? strlen(footer) : 0,
			     NULL, 0, &tok, &err);
	if (ret != 0)
		fprintf(stderr, "token_sign: %s\n", err);
	test_assert(ret == 0 && tok != NULL);
	return tok;
}

static enum token_status verify_str(const unsigned char *pk, const char *token)
{
	unsigned char *payload = (unsigned char *)"unset";
	size_t len = 99;
	const char *err = NULL;
	enum token_status st = token_verify(pk, token, NULL, 0, &payload, &len, &err);
	if (st == TOKEN_OK)
		free(payload);
	else
		test_assert(payload == NULL && len == 0 && err != NULL);
	return st;
}

TEST(pae_spec_examples)
{
	/* The examples of paseto-spec Common.md. */
	size_t len = 0;
	unsigned char *pae = token_pae(NULL, NULL, 0, &len);
	test_assert(pae != NULL && len == 8 && memcmp(pae, "\0\0\0\0\0\0\0\0", 8) == 0);
	free(pae);

	const unsigned char *empty[] = {(const unsigned char *)""};
	size_t empty_len[] = {0};
	pae = token_pae(empty, empty_len, 1, &len);
	test_assert(pae != NULL && len == 16 &&
		    memcmp(pae, "\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
	free(pae);

	const unsigned char *test[] = {(const unsigned char *)"test"};
	size_t test_len[] = {4};
	pae = token_pae(test, test_len, 1, &len);
	test_assert(pae != NULL && len == 20 &&
		    memcmp(pae, "\x01\0\0\0\0\0\0\0\x04\0\0\0\0\0\0\0test", 20) == 0);
	free(pae);
}

TEST(pae_is_what_sign_signs)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES], sig[TOKEN_SIG_BYTES];
	unsigned char body[200];
	json_t *root = load_cases(V4_VECTORS);
	vector_keys(json_object_get(root, "tests"), pk, sk);
	const char *m = "{\"a\":1}", *f = "{\"kid\":\"x\"}", *i = "bound";
	const unsigned char *pieces[] = {(const unsigned char *)TOKEN_HEADER,
					 (const unsigned char *)m, (const unsigned char *)f,
					 (const unsigned char *)i};
	size_t lens[] = {strlen(TOKEN_HEADER), strlen(m), strlen(f), strlen(i)};
	size_t pae_len, body_len;
	unsigned char *pae = token_pae(pieces, lens, 4, &pae_len);
	test_assert(pae != NULL);
	crypto_sign_detached(sig, NULL, pae, pae_len, sk);
	free(pae);

	char *tok = NULL;
	const char *err;
	test_assert(token_sign(sk, pieces[1], lens[1], pieces[2], lens[2], pieces[3],
			       lens[3], &tok, &err) == 0);
	const char *b64 = tok + strlen(TOKEN_HEADER);
	test_assert(sodium_base642bin(body, sizeof(body), b64, strcspn(b64, "."), NULL,
				      &body_len, NULL, B64_VARIANT) == 0);
	test_assert(body_len == lens[1] + TOKEN_SIG_BYTES);
	test_assert(memcmp(body, m, lens[1]) == 0);
	test_assert(memcmp(body + lens[1], sig, TOKEN_SIG_BYTES) == 0);
	free(tok);
	json_decref(root);
}

/* One 4-S case: sign byte for byte, verify, and refuse a wrong assertion. */
static void check_sign_vector(json_t *c)
{
	const char *name = field(c, "name"), *payload = field(c, "payload");
	const char *footer = field(c, "footer"), *implicit = field(c, "implicit-assertion");
	const char *expect = field(c, "token"), *err = NULL;
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES], seed[32];
	unsigned char pk2[TOKEN_PK_BYTES], sk2[TOKEN_SK_BYTES];
	vec_assert(hex(field(c, "public-key"), pk, sizeof(pk)) == 0, name);
	vec_assert(hex(field(c, "secret-key"), sk, sizeof(sk)) == 0, name);
	vec_assert(hex(field(c, "secret-key-seed"), seed, sizeof(seed)) == 0, name);
	crypto_sign_seed_keypair(pk2, sk2, seed);
	vec_assert(memcmp(sk, sk2, sizeof(sk)) == 0 && memcmp(pk, pk2, sizeof(pk)) == 0,
		   name);

	char *tok = NULL;
	int ret = token_sign(sk, (const unsigned char *)payload, strlen(payload),
			     (const unsigned char *)footer, strlen(footer),
			     (const unsigned char *)implicit, strlen(implicit), &tok, &err);
	vec_assert(ret == 0, name);
	vec_assert(tok != NULL && strcmp(tok, expect) == 0, name);
	free(tok);

	unsigned char *out = NULL;
	size_t len = 0;
	enum token_status st = token_verify(pk, expect, (const unsigned char *)implicit,
					    strlen(implicit), &out, &len, &err);
	vec_assert(st == TOKEN_OK, name);
	vec_assert(out != NULL && len == strlen(payload) &&
			   memcmp(out, payload, len) == 0 && out[len] == '\0',
		   name);
	free(out);

	/* The assertion is bound into the signature: another one must fail. */
	st = token_verify(pk, expect, (const unsigned char *)"other", 5, &out, &len, &err);
	vec_assert(st == TOKEN_BAD_SIGNATURE && out == NULL, name);

	unsigned char *f = NULL;
	size_t f_len = 1;
	vec_assert(token_footer(expect, &f, &f_len, &err) == TOKEN_OK, name);
	if (footer[0] == '\0')
		vec_assert(f == NULL && f_len == 0, name);
	else
		vec_assert(f != NULL && f_len == strlen(footer) &&
				   strcmp((const char *)f, footer) == 0,
			   name);
	free(f);
}

TEST(vectors_v4_public_sign_verify)
{
	json_t *root = load_cases(V4_VECTORS), *c;
	size_t i;
	int seen = 0;
	json_array_foreach(json_object_get(root, "tests"), i, c) {
		if (strncmp(field(c, "name"), "4-S-", 4) != 0)
			continue;
		vec_assert(!json_is_true(json_object_get(c, "expect-fail")), field(c, "name"));
		check_sign_vector(c);
		seen++;
	}
	test_assert_int(seen, 3);
	json_decref(root);
}

/* Every expect-fail case, under every key it might be presented with. */
TEST(vectors_expect_fail_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES], local[32], own[32];
	json_t *root = load_cases(V4_VECTORS), *cases = json_object_get(root, "tests"), *c;
	size_t i;
	int seen = 0;
	vector_keys(cases, pk, sk);
	json_array_foreach(cases, i, c) {
		const char *name = field(c, "name"), *tok = field(c, "token");
		const char *implicit = field(c, "implicit-assertion"), *err = NULL;
		if (strncmp(name, "4-F-", 4) != 0)
			continue;
		seen++;
		vec_assert(json_is_true(json_object_get(c, "expect-fail")), name);
		const unsigned char *keys[3] = {pk, NULL, NULL};
		if (hex(field(c, "public-key"), own, sizeof(own)) == 0)
			keys[1] = own;
		if (hex(field(c, "key"), local, sizeof(local)) == 0)
			keys[2] = local;
		for (int k = 0; k < 3; k++) {
			if (keys[k] == NULL)
				continue;
			unsigned char *out = NULL;
			size_t len = 0;
			enum token_status st =
				token_verify(keys[k], tok, (const unsigned char *)implicit,
					     strlen(implicit), &out, &len, &err);
			vec_assert(st != TOKEN_OK && out == NULL, name);
			/* Not v4.public: refused by the header, before any key. */
			if (strncmp(tok, TOKEN_HEADER, strlen(TOKEN_HEADER)) != 0)
				vec_assert(st == TOKEN_MALFORMED &&
						   strstr(err, "not a v4.public") != NULL,
					   name);
			else
				vec_assert(st == TOKEN_BAD_SIGNATURE, name);
		}
	}
	test_assert_int(seen, 5);
	json_decref(root);
}

TEST(vectors_v4_local_refused_by_header)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	json_t *root = load_cases(V4_VECTORS), *cases = json_object_get(root, "tests"), *c;
	size_t i;
	int seen = 0;
	vector_keys(cases, pk, sk);
	json_array_foreach(cases, i, c) {
		const char *name = field(c, "name");
		if (strncmp(name, "4-E-", 4) != 0)
			continue;
		seen++;
		vec_assert(verify_str(pk, field(c, "token")) == TOKEN_MALFORMED, name);
		unsigned char *f = (unsigned char *)"unset";
		size_t len;
		const char *err;
		vec_assert(token_footer(field(c, "token"), &f, &len, &err) == TOKEN_MALFORMED &&
				   f == NULL,
			   name);
	}
	test_assert_int(seen, 9);
	json_decref(root);
}

/* Changing any one character, anywhere, to anything never verifies. */
TEST(every_single_char_change_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	const char *subst = B64_ALPHABET ".= ";
	json_t *root = load_cases(V4_VECTORS);
	vector_keys(json_object_get(root, "tests"), pk, sk);
	char *tok = sign_str(sk, "{\"jti\":\"abc\",\"exp\":\"2030-01-01T00:00:00Z\"}",
			     "{\"kid\":\"k4.pid.test\"}");
	size_t len = strlen(tok);
	int malformed = 0, bad_sig = 0, other = 0;
	test_assert(verify_str(pk, tok) == TOKEN_OK);
	for (size_t pos = 0; pos < len; pos++) {
		char orig = tok[pos];
		for (const char *s = subst; *s != '\0'; s++) {
			if (*s == orig)
				continue;
			tok[pos] = *s;
			enum token_status st = verify_str(pk, tok);
			if (st == TOKEN_MALFORMED)
				malformed++;
			else if (st == TOKEN_BAD_SIGNATURE)
				bad_sig++;
			else {
				fprintf(stderr, "position %zu '%c': status %d\n", pos, *s, st);
				other++;
			}
		}
		tok[pos] = orig;
	}
	test_assert_int(other, 0);
	test_assert(malformed > 0 && bad_sig > 0);
	test_assert(verify_str(pk, tok) == TOKEN_OK);
	free(tok);
	json_decref(root);
}

/* libsodium's decoder reads some bytes over 0x7f as '-' or '_': a token
 * must have one spelling only (found by tests/fuzz/fuzz_paserk). */
TEST(bytes_over_0x7f_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	json_t *root = load_cases(V4_VECTORS);
	vector_keys(json_object_get(root, "tests"), pk, sk);
	char *tok = sign_str(sk, "{\"jti\":\"abc\",\"exp\":\"2030-01-01T00:00:00Z\"}",
			     "{\"kid\":\"k4.pid.test\"}");
	size_t len = strlen(tok);
	int other = 0;
	for (size_t pos = strlen("v4.public."); pos < len; pos++) {
		char orig = tok[pos];
		if (orig == '.')
			continue;
		for (int c = 0x80; c <= 0xff; c++) {
			tok[pos] = (char)c;
			other += verify_str(pk, tok) != TOKEN_MALFORMED;
		}
		tok[pos] = orig;
	}
	test_assert_int(other, 0);
	test_assert(verify_str(pk, tok) == TOKEN_OK);
	free(tok);
	json_decref(root);
}

TEST(truncated_tokens_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	json_t *root = load_cases(V4_VECTORS);
	vector_keys(json_object_get(root, "tests"), pk, sk);
	char *tok = sign_str(sk, "{\"data\":\"x\"}", "{\"kid\":\"k\"}");
	size_t len = strlen(tok);
	for (size_t cut = 0; cut < len; cut++) {
		char *part = strndup(tok, cut);
		enum token_status st = verify_str(pk, part);
		if (st != TOKEN_MALFORMED && st != TOKEN_BAD_SIGNATURE)
			fprintf(stderr, "cut at %zu: status %d\n", cut, st);
		test_assert(st == TOKEN_MALFORMED || st == TOKEN_BAD_SIGNATURE);
		free(part);
	}
	test_assert(verify_str(pk, "") == TOKEN_MALFORMED);
	test_assert(verify_str(pk, TOKEN_HEADER) == TOKEN_MALFORMED);
	free(tok);
	json_decref(root);
}

/* tok with text inserted at pos (malloc'd). */
static char *splice(const char *tok, size_t pos, const char *text)
{
	size_t len = strlen(tok), add = strlen(text);
	char *s = malloc(len + add + 1);
	memcpy(s, tok, pos);
	memcpy(s + pos, text, add);
	memcpy(s + pos + add, tok + pos, len - pos + 1);
	return s;
}

static void expect_malformed(const unsigned char *pk, const char *tok, size_t pos,
			     const char *text)
{
	char *s = splice(tok, pos, text);
	enum token_status st = verify_str(pk, s);
	if (st != TOKEN_MALFORMED)
		fprintf(stderr, "\"%s\" at %zu of %s: status %d\n", text, pos, tok, st);
	test_assert(st == TOKEN_MALFORMED);
	free(s);
}

TEST(padding_and_whitespace_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	json_t *root = load_cases(V4_VECTORS);
	vector_keys(json_object_get(root, "tests"), pk, sk);
	/*
	 * Bodies of 1 and 2 bytes past a multiple of 3 would take "==" and
	 * "="; one of a multiple of 3 ends on a whole group, so one character
	 * more is the case where only the end-of-input check can tell.
	 */
	const char *payloads[] = {"{\"a\":\"1\"}", "{\"a\":\"12\"}", "{\"a\":\"123\"}"};
	for (int p = 0; p < 3; p++) {
		char *tok = sign_str(sk, payloads[p], "{\"k\":1}");
		size_t len = strlen(tok), dot = strcspn(tok + strlen(TOKEN_HEADER), ".") +
						 strlen(TOKEN_HEADER);
		test_assert(verify_str(pk, tok) == TOKEN_OK);
		size_t tail = (dot - strlen(TOKEN_HEADER)) % 4;
		test_assert(dot < len && tail == (size_t)(p < 2 ? 2 + p : 0));
		expect_malformed(pk, tok, dot, "=");
		expect_malformed(pk, tok, dot, "==");
		expect_malformed(pk, tok, len, "=");
		expect_malformed(pk, tok, len, "==");
		expect_malformed(pk, tok, len, "\n");
		expect_malformed(pk, tok, len, " ");
		expect_malformed(pk, tok, dot, " ");
		expect_malformed(pk, tok, 12, "\n");
		expect_malformed(pk, tok, 0, " ");
		expect_malformed(pk, tok, 20, "=");
		free(tok);
	}
	json_decref(root);
}

/* Bump the last base64 character of [start, end) to set an unused bit. */
static void set_leftover_bit(char *tok, size_t start, size_t end)
{
	size_t n = end - start;
	const char *idx = strchr(B64_ALPHABET, tok[end - 1]);
	int unused = n % 4 == 2 ? 4 : 2; /* bits past the last whole byte */
	test_assert(n % 4 == 2 || n % 4 == 3);
	test_assert(idx != NULL && ((idx - B64_ALPHABET) & ((1 << unused) - 1)) == 0);
	tok[end - 1] = B64_ALPHABET[(idx - B64_ALPHABET) + 1];
}

TEST(noncanonical_trailing_bits_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	size_t hl = strlen(TOKEN_HEADER);
	json_t *root = load_cases(V4_VECTORS);
	vector_keys(json_object_get(root, "tests"), pk, sk);
	/* Payload lengths 0 and 1 mod 3 leave 4 and 2 unused bits in the body. */
	const char *payloads[] = {"{\"a\":\"1\"}", "{\"a\":\"12\"}"};
	const char *footers[] = {"{\"k\":12}", "{\"k\":1}"};
	for (int p = 0; p < 2; p++) {
		char *tok = sign_str(sk, payloads[p], footers[p]);
		size_t len = strlen(tok), dot = hl + strcspn(tok + hl, ".");
		test_assert(verify_str(pk, tok) == TOKEN_OK);

		char *body = strdup(tok), *footer = strdup(tok);
		set_leftover_bit(body, hl, dot);
		set_leftover_bit(footer, dot + 1, len);
		/* A lenient decoder would accept both, and the signature with them. */
		test_assert(verify_str(pk, body) == TOKEN_MALFORMED);
		test_assert(verify_str(pk, footer) == TOKEN_MALFORMED);
		unsigned char *f = NULL;
		size_t f_len;
		const char *err;
		test_assert(token_footer(footer, &f, &f_len, &err) == TOKEN_MALFORMED);
		test_assert(f == NULL);
		free(body);
		free(footer);
		free(tok);
	}
	json_decref(root);
}

TEST(other_headers_and_segments_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	size_t hl = strlen(TOKEN_HEADER);
	json_t *root = load_cases(V4_VECTORS);
	vector_keys(json_object_get(root, "tests"), pk, sk);
	char *bare = sign_str(sk, "{\"a\":1}", NULL);
	char *with = sign_str(sk, "{\"a\":1}", "{\"kid\":\"k\"}");
	const char *headers[] = {"v4.local.", "v3.public.", "v2.public.", "V4.public.",
				 "v4.PUBLIC.", "v4.public",  "v4public.",  ".v4.public."};
	for (size_t h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
		char buf[512];
		snprintf(buf, sizeof(buf), "%s%s", headers[h], bare + hl);
		test_assert(verify_str(pk, buf) == TOKEN_MALFORMED);
		snprintf(buf, sizeof(buf), "%s%s", headers[h], with + hl);
		test_assert(verify_str(pk, buf) == TOKEN_MALFORMED);
	}
	expect_malformed(pk, bare, strlen(bare), ".");
	expect_malformed(pk, bare, strlen(bare), "..");
	expect_malformed(pk, with, strlen(with), ".");
	expect_malformed(pk, with, strlen(with), ".e30");
	expect_malformed(pk, with, hl, ".");
	/* A footer added to a bare token is well formed but not signed. */
	char *added = splice(bare, strlen(bare), ".e30");
	test_assert(verify_str(pk, added) == TOKEN_BAD_SIGNATURE);
	free(added);
	/* And a footer removed from a token is not signed either. */
	with[strcspn(with + hl, ".") + hl] = '\0';
	test_assert(verify_str(pk, with) == TOKEN_BAD_SIGNATURE);
	free(bare);
	free(with);
	json_decref(root);
}

TEST(short_empty_and_long_tokens)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES], zeros[TOKEN_SIG_BYTES] = {0};
	char buf[MAX_TOKEN_LEN + 16];
	const char *err;
	size_t hl = strlen(TOKEN_HEADER);
	crypto_sign_keypair(pk, sk);

	/* 63 bytes cannot hold a signature; 64 zero bytes are a bad one. */
	memcpy(buf, TOKEN_HEADER, hl);
	sodium_bin2base64(buf + hl, sizeof(buf) - hl, zeros, 63, B64_VARIANT);
	test_assert(verify_str(pk, buf) == TOKEN_MALFORMED);
	sodium_bin2base64(buf + hl, sizeof(buf) - hl, zeros, 64, B64_VARIANT);
	test_assert(verify_str(pk, buf) == TOKEN_BAD_SIGNATURE);

	/* An empty payload is signed and verified like any other. */
	char *tok = NULL;
	test_assert(token_sign(sk, NULL, 0, NULL, 0, NULL, 0, &tok, &err) == 0);
	unsigned char *out = NULL;
	size_t len = 99;
	test_assert(token_verify(pk, tok, NULL, 0, &out, &len, &err) == TOKEN_OK);
	test_assert(out != NULL && len == 0 && out[0] == '\0');
	free(out);
	free(tok);

	/* The longest payload whose token fits MAX_TOKEN_LEN, and one more. */
	char payload[800];
	memset(payload, 'p', sizeof(payload));
	size_t fits = (MAX_TOKEN_LEN - hl) / 4 * 3 - TOKEN_SIG_BYTES;
	fits += (MAX_TOKEN_LEN - hl) % 4 == 0 ? 0 : (MAX_TOKEN_LEN - hl) % 4 - 1;
	test_assert(fits < sizeof(payload));
	test_assert(token_sign(sk, (unsigned char *)payload, fits, NULL, 0, NULL, 0, &tok,
			       &err) == 0);
	test_assert(strlen(tok) <= MAX_TOKEN_LEN && strlen(tok) > MAX_TOKEN_LEN - 2);
	test_assert(verify_str(pk, tok) == TOKEN_OK);
	free(tok);
	tok = (char *)"unset";
	test_assert(token_sign(sk, (unsigned char *)payload, fits + 1, NULL, 0, NULL, 0,
			       &tok, &err) == -1);
	test_assert(tok == NULL);

	/* Longer than MAX_TOKEN_LEN is refused before decoding. */
	memcpy(buf, TOKEN_HEADER, hl);
	memset(buf + hl, 'A', MAX_TOKEN_LEN + 1 - hl);
	buf[MAX_TOKEN_LEN + 1] = '\0';
	out = NULL;
	test_assert(token_verify(pk, buf, NULL, 0, &out, &len, &err) == TOKEN_MALFORMED);
	test_assert_contains(err, "too long");
}

TEST(empty_footer_is_no_footer)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	const char *err;
	char *a = NULL, *b = NULL;
	crypto_sign_keypair(pk, sk);
	test_assert(token_sign(sk, (const unsigned char *)"{}", 2, NULL, 0, NULL, 0, &a,
			       &err) == 0);
	test_assert(token_sign(sk, (const unsigned char *)"{}", 2, (const unsigned char *)"",
			       0, (const unsigned char *)"", 0, &b, &err) == 0);
	test_assert_str(a, b);
	test_assert(strchr(a + strlen(TOKEN_HEADER), '.') == NULL);
	test_assert(verify_str(pk, a) == TOKEN_OK);
	unsigned char *f = (unsigned char *)"unset";
	size_t len = 5;
	test_assert(token_footer(a, &f, &len, &err) == TOKEN_OK);
	test_assert(f == NULL && len == 0);
	free(a);
	free(b);
}

TEST(footer_read_without_verifying)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	const char *err;
	crypto_sign_keypair(pk, sk);
	char *tok = sign_str(sk, "{\"a\":1}", "{\"kid\":\"k4.pid.x\"}");
	unsigned char *f = NULL;
	size_t len = 0;
	test_assert(token_footer(tok, &f, &len, &err) == TOKEN_OK);
	test_assert(len == 18 && f != NULL && strcmp((char *)f, "{\"kid\":\"k4.pid.x\"}") == 0);
	free(f);

	/* The body is not looked at: a damaged body still yields the footer. */
	tok[strlen(TOKEN_HEADER) + 3] ^= 1;
	test_assert(token_footer(tok, &f, &len, &err) == TOKEN_OK && f != NULL);
	free(f);
	test_assert(verify_str(pk, tok) != TOKEN_OK);

	const char *bad[] = {"v4.local.AAAA.e30",	"v4.public.AAAA.e30=",
			     "v4.public.AAAA.e3",	"v4.public.AAAA.e30.e30",
			     "v4.public.AAAA.",		"v4.public.AAAA.e 30"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = (unsigned char *)"unset";
		test_assert(token_footer(bad[i], &f, &len, &err) == TOKEN_MALFORMED);
		test_assert(f == NULL && len == 0);
	}
	test_assert(token_footer("v4.public.AAAA.e30", &f, &len, &err) == TOKEN_OK);
	test_assert(len == 2 && f != NULL && memcmp(f, "{}", 3) == 0);
	free(f);
	free(tok);
}

TEST(wrong_key_refused)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	unsigned char pk2[TOKEN_PK_BYTES], sk2[TOKEN_SK_BYTES];
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	char *tok = sign_str(sk, "{\"a\":1}", NULL);
	test_assert(verify_str(pk, tok) == TOKEN_OK);
	test_assert(verify_str(pk2, tok) == TOKEN_BAD_SIGNATURE);
	free(tok);
}

TEST(status_strings)
{
	for (int a = TOKEN_OK; a <= TOKEN_EXPIRED; a++) {
		test_assert(token_status_str(a) != NULL && token_status_str(a)[0] != '\0');
		for (int b = TOKEN_OK; b < a; b++)
			test_assert(strcmp(token_status_str(a), token_status_str(b)) != 0);
	}
	test_assert_str(token_status_str(TOKEN_EXPIRED), "expired");
	test_assert_str(token_status_str((enum token_status)99), "unknown token status");
}

TEST_MAIN()
