/* link: invited_links */
/*
 * test_keys.c: the keyring on a real temporary key folder: generation,
 * file modes, newest-signs, verification by kid, retirement, refusals.
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
#define PAYLOAD "{\"jti\":\"abc\",\"exp\":\"2030-01-01T00:00:00Z\"}"

/* ------------------------------------------------------------ keyring */

struct tmp {
	char root[64];
	char keys[128];
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->root, sizeof(t->root), "/tmp/invited-keys-XXXXXX");
	test_assert(mkdtemp(t->root) != NULL);
	snprintf(t->keys, sizeof(t->keys), "%s/keys", t->root);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tmp_remove(struct tmp *t)
{
	test_assert(nftw(t->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

/* The single file named *.key in dir into name. Returns how many there are. */
static int key_files(const char *dir, char name[64])
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] != '.' && len > 4 &&
		    strcmp(de->d_name + len - 4, ".key") == 0) {
			snprintf(name, 64, "%s", de->d_name);
			n++;
		}
	}
	if (d != NULL)
		closedir(d);
	return n;
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	test_assert(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
	test_assert(chmod(path, mode) == 0);
}

/* Read the secret key of the key file path. */
static void read_sk(const char *path, unsigned char sk[TOKEN_SK_BYTES])
{
	char buf[256] = "";
	const char *err;
	FILE *f = fopen(path, "r");
	test_assert(f != NULL && fgets(buf, sizeof(buf), f) != NULL);
	if (f != NULL)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	test_assert(paserk_secret_decode(buf, sk, &err) == 0);
}

static struct keyring *load_ok(const char *dir)
{
	struct keyring *kr = NULL;
	const char *err = NULL;
	if (keyring_load(dir, &kr, &err) < 0)
		fprintf(stderr, "keyring_load %s: %s\n", dir, err);
	test_assert(kr != NULL);
	return kr;
}

static char *sign_ok(const struct keyring *kr)
{
	char *tok = NULL;
	const char *err;
	test_assert(keyring_sign(kr, (const unsigned char *)PAYLOAD, strlen(PAYLOAD), &tok,
				 &err) == 0);
	return tok;
}

/* keyring_verify, expecting status; on TOKEN_OK the payload and kid. */
static void verify_expect(const struct keyring *kr, const char *tok,
			  enum token_status want, const char *want_kid)
{
	unsigned char *payload = NULL;
	size_t len = 0;
	char kid[MAX_KID_LEN + 1] = "";
	const char *err = NULL;
	enum token_status st = keyring_verify(kr, tok, &payload, &len, kid, &err);
	if (st != want)
		fprintf(stderr, "keyring_verify: status %d (%s), expected %d\n", st,
			err ? err : "", want);
	test_assert_int(st, want);
	if (st == TOKEN_OK) {
		test_assert(len == strlen(PAYLOAD) && strcmp((char *)payload, PAYLOAD) == 0);
		test_assert_str(kid, want_kid);
	} else {
		test_assert(payload == NULL && err != NULL);
	}
	free(payload);
}

TEST(keyring_generate_writes_private_files)
{
	struct tmp t;
	char kid[MAX_KID_LEN + 1], name[64], path[256], text[256] = "";
	const char *err;
	tmp_make(&t);
	int64_t before = (int64_t)time(NULL);
	test_assert(keyring_generate(t.keys, kid, &err) == 0);
	int64_t after = (int64_t)time(NULL);
	test_assert(strncmp(kid, "k4.pid.", 7) == 0 && strlen(kid) == PASERK_PID_LEN);
	test_assert_int(mode_of(t.keys), 0700);
	test_assert_int(key_files(t.keys, name), 1);

	/* <12-digit seconds>-<4-digit sequence>.key, 0600, PASERK and newline. */
	long long secs;
	unsigned seq;
	int used = 0;
	test_assert(sscanf(name, "%12lld-%4u.key%n", &secs, &seq, &used) == 2);
	test_assert(used == (int)strlen(name) && strlen(name) == 21);
	test_assert(secs >= before && secs <= after);
	snprintf(path, sizeof(path), "%s/%s", t.keys, name);
	test_assert_int(mode_of(path), 0600);
	FILE *f = fopen(path, "r");
	test_assert(f != NULL && fread(text, 1, sizeof(text) - 1, f) == PASERK_SECRET_LEN + 1);
	if (f != NULL)
		fclose(f);
	test_assert(strncmp(text, "k4.secret.", 10) == 0 && text[PASERK_SECRET_LEN] == '\n');

	struct keyring *kr = load_ok(t.keys);
	if (kr != NULL) {
		const struct key_info *k = keyring_key(kr, 0);
		test_assert_int(keyring_count(kr), 1);
		test_assert_str(k->kid, kid);
		test_assert(k->signing == 1 && k->created == secs);
		test_assert(keyring_key(kr, 1) == NULL);
		/* The kid is the k4.pid of the published k4.public key. */
		unsigned char pk[TOKEN_PK_BYTES];
		char pid[PASERK_PID_LEN + 1];
		test_assert(paserk_public_decode(k->paserk_public, pk, &err) == 0);
		paserk_pid(pk, pid);
		test_assert_str(pid, kid);

		/* The footer is exactly {"kid":"…"}. */
		char *tok = sign_ok(kr), want[128];
		unsigned char *footer = NULL;
		size_t len;
		test_assert(token_footer(tok, &footer, &len, &err) == TOKEN_OK);
		snprintf(want, sizeof(want), "{\"kid\":\"%s\"}", kid);
		test_assert_str((char *)footer, want);
		verify_expect(kr, tok, TOKEN_OK, kid);
		free(footer);
		free(tok);
	}
	keyring_free(kr);
	tmp_remove(&t);
}

TEST(keyring_rotate_verify_retire)
{
	struct tmp t;
	char kid1[MAX_KID_LEN + 1], kid2[MAX_KID_LEN + 1], kid3[MAX_KID_LEN + 1];
	char name[64], path[256];
	const char *err = NULL;
	tmp_make(&t);
	test_assert(keyring_generate(t.keys, kid1, &err) == 0);
	struct keyring *kr1 = load_ok(t.keys);
	char *tok1 = sign_ok(kr1);

	/* Most likely within the same second: the sequence orders them. */
	test_assert(keyring_generate(t.keys, kid2, &err) == 0);
	test_assert(strcmp(kid1, kid2) != 0);
	struct keyring *kr2 = load_ok(t.keys);
	test_assert_int(keyring_count(kr2), 2);
	test_assert_str(keyring_key(kr2, 0)->kid, kid2);
	test_assert_str(keyring_key(kr2, 1)->kid, kid1);
	test_assert(keyring_key(kr2, 0)->signing == 1 && keyring_key(kr2, 1)->signing == 0);
	test_assert(keyring_key(kr2, 0)->created >= keyring_key(kr2, 1)->created);
	char *tok2 = sign_ok(kr2);

	/* The newest signs; both verify; the old keyring does not know key 2. */
	verify_expect(kr2, tok1, TOKEN_OK, kid1);
	verify_expect(kr2, tok2, TOKEN_OK, kid2);
	verify_expect(kr1, tok2, TOKEN_UNKNOWN_KEY, NULL);

	/* Retire the older key: its tokens no longer verify. */
	test_assert(keyring_retire(t.keys, kid1, &err) == 0);
	snprintf(path, sizeof(path), "%s/retired", t.keys);
	test_assert_int(mode_of(path), 0700);
	test_assert_int(key_files(path, name), 1);
	snprintf(path, sizeof(path), "%s/retired/%s", t.keys, name);
	test_assert_int(mode_of(path), 0600);
	struct keyring *kr3 = load_ok(t.keys);
	test_assert_int(keyring_count(kr3), 1);
	verify_expect(kr3, tok1, TOKEN_UNKNOWN_KEY, NULL);
	verify_expect(kr3, tok2, TOKEN_OK, kid2);

	/* The last key stays; an unknown or retired kid is an error. */
	test_assert(keyring_retire(t.keys, kid2, &err) == -1);
	test_assert_contains(err, "only key");
	test_assert(keyring_retire(t.keys, kid1, &err) == -1);
	test_assert(keyring_retire(t.keys, "k4.pid.nope", &err) == -1);

	/* A new key is newer than every name used, retired ones included. */
	test_assert(keyring_generate(t.keys, kid3, &err) == 0);
	struct keyring *kr4 = load_ok(t.keys);
	test_assert_int(keyring_count(kr4), 2);
	test_assert_str(keyring_key(kr4, 0)->kid, kid3);
	/* Retiring the newest is fine while another key remains. */
	test_assert(keyring_retire(t.keys, kid3, &err) == 0);
	struct keyring *kr5 = load_ok(t.keys);
	test_assert_str(keyring_key(kr5, 0)->kid, kid2);

	free(tok1);
	free(tok2);
	keyring_free(kr1);
	keyring_free(kr2);
	keyring_free(kr3);
	keyring_free(kr4);
	keyring_free(kr5);
	tmp_remove(&t);
}

TEST(keyring_newest_is_the_greatest_name)
{
	struct tmp t;
	char kid[MAX_KID_LEN + 1], kid_new[MAX_KID_LEN + 1], pid[PASERK_PID_LEN + 1];
	char text[PASERK_SECRET_LEN + 2];
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	const char *err;
	tmp_make(&t);
	test_assert(keyring_generate(t.keys, kid, &err) == 0);

	/* Written after, but named as from 1973: older, whatever its mtime. */
	crypto_sign_keypair(pk, sk);
	paserk_secret_encode(sk, text);
	strcat(text, "\n");
	write_file(t.keys, "000100000000-0000.key", text, 0600);
	struct keyring *kr = load_ok(t.keys);
	test_assert_str(keyring_key(kr, 0)->kid, kid);
	test_assert(keyring_key(kr, 1)->created == 100000000);
	keyring_free(kr);

	/* Named in the future: it signs, and a new key goes after it. */
	crypto_sign_keypair(pk, sk);
	paserk_secret_encode(sk, text);
	strcat(text, "\n");
	write_file(t.keys, "099999999999-0000.key", text, 0600);
	paserk_pid(pk, pid);
	kr = load_ok(t.keys);
	test_assert_str(keyring_key(kr, 0)->kid, pid);
	test_assert(keyring_key(kr, 0)->created == 99999999999LL);
	keyring_free(kr);
	test_assert(keyring_generate(t.keys, kid_new, &err) == 0);
	kr = load_ok(t.keys);
	test_assert_int(keyring_count(kr), 4);
	test_assert_str(keyring_key(kr, 0)->kid, kid_new);
	keyring_free(kr);
	tmp_remove(&t);
}

TEST(keyring_refuses_loose_modes)
{
	struct tmp t;
	char kid[MAX_KID_LEN + 1], name[64], path[256];
	const char *err = NULL;
	struct keyring *kr = NULL;
	tmp_make(&t);
	test_assert(keyring_generate(t.keys, kid, &err) == 0);
	key_files(t.keys, name);
	snprintf(path, sizeof(path), "%s/%s", t.keys, name);
	const mode_t loose[] = {0644, 0640, 0604, 0660, 0602};
	for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		test_assert(chmod(path, loose[i]) == 0);
		test_assert(keyring_load(t.keys, &kr, &err) == -1 && kr == NULL);
		test_assert_contains(err, "chmod 600");
	}
	test_assert(chmod(path, 0400) == 0);
	kr = load_ok(t.keys);
	keyring_free(kr);
	tmp_remove(&t);
}

TEST(keyring_refuses_empty_and_bad_folders)
{
	struct tmp t;
	char kid[MAX_KID_LEN + 1], path[256], name[64];
	const char *err = NULL;
	struct keyring *kr = NULL;
	tmp_make(&t);
	test_assert(keyring_load(t.keys, &kr, &err) == -1 && kr == NULL);

	/* Empty, or only a retired key and files that are not keys. */
	test_assert(mkdir(t.keys, 0700) == 0);
	test_assert(keyring_load(t.keys, &kr, &err) == -1);
	test_assert_contains(err, "no key");
	test_assert(keyring_generate(t.keys, kid, &err) == 0);
	test_assert(key_files(t.keys, name) == 1);
	snprintf(path, sizeof(path), "%s/retired", t.keys);
	test_assert(mkdir(path, 0700) == 0);
	char from[256], to[320];
	snprintf(from, sizeof(from), "%s/%s", t.keys, name);
	snprintf(to, sizeof(to), "%s/%s", path, name);
	test_assert(rename(from, to) == 0);
	write_file(t.keys, "README", "not a key\n", 0644);
	write_file(t.keys, "000000000001-0000.key.bak", "junk\n", 0644);
	write_file(t.keys, ".000000000001-0000.key", "junk\n", 0644);
	test_assert(keyring_load(t.keys, &kr, &err) == -1);
	test_assert_contains(err, "no key");

	/* With a key, those are ignored. */
	test_assert(keyring_generate(t.keys, kid, &err) == 0);
	kr = load_ok(t.keys);
	test_assert(kr != NULL && keyring_count(kr) == 1);
	keyring_free(kr);
	kr = NULL;

	/* A *.key file not named by the scheme, or not a k4.secret, is refused. */
	write_file(t.keys, "mykey.key", "junk\n", 0600);
	test_assert(keyring_load(t.keys, &kr, &err) == -1);
	test_assert_contains(err, "mykey.key");
	snprintf(path, sizeof(path), "%s/mykey.key", t.keys);
	unlink(path);
	write_file(t.keys, "000000000002-0000.key", "k4.secret.AAAA\n", 0600);
	test_assert(keyring_load(t.keys, &kr, &err) == -1);
	test_assert_contains(err, "000000000002-0000.key");
	snprintf(path, sizeof(path), "%s/000000000002-0000.key", t.keys);
	unlink(path);

	/* The same key twice is an operator's mistake worth stopping for. */
	test_assert(key_files(t.keys, name) == 1);
	snprintf(from, sizeof(from), "%s/%s", t.keys, name);
	unsigned char sk[TOKEN_SK_BYTES];
	char text[PASERK_SECRET_LEN + 2];
	read_sk(from, sk);
	paserk_secret_encode(sk, text);
	strcat(text, "\n");
	write_file(t.keys, "000000000003-0000.key", text, 0600);
	test_assert(keyring_load(t.keys, &kr, &err) == -1);
	test_assert_contains(err, "same key");
	tmp_remove(&t);
}

/* tok with its footer replaced by base64url(footer) (malloc'd). */
static char *with_footer(const char *tok, const char *footer)
{
	size_t hl = strlen(TOKEN_HEADER), body = hl + strcspn(tok + hl, ".");
	size_t size = body + 1 + sodium_base64_ENCODED_LEN(strlen(footer), B64_VARIANT);
	char *s = malloc(size);
	memcpy(s, tok, body);
	s[body] = '.';
	sodium_bin2base64(s + body + 1, size - body - 1, (const unsigned char *)footer,
			  strlen(footer), B64_VARIANT);
	return s;
}

/* Sign PAYLOAD with sk and an arbitrary footer (NULL for none). */
static char *sign_footer(const unsigned char *sk, const char *footer)
{
	char *tok = NULL;
	const char *err;
	test_assert(token_sign(sk, (const unsigned char *)PAYLOAD, strlen(PAYLOAD),
			       (const unsigned char *)footer, footer ? strlen(footer) : 0,
			       NULL, 0, &tok, &err) == 0);
	return tok;
}

TEST(keyring_footer_checks)
{
	struct tmp t;
	char kid[MAX_KID_LEN + 1], name[64], path[256], footer[256];
	unsigned char sk[TOKEN_SK_BYTES], pk2[TOKEN_PK_BYTES], sk2[TOKEN_SK_BYTES];
	const char *err;
	tmp_make(&t);
	test_assert(keyring_generate(t.keys, kid, &err) == 0);
	key_files(t.keys, name);
	snprintf(path, sizeof(path), "%s/%s", t.keys, name);
	read_sk(path, sk);
	struct keyring *kr = load_ok(t.keys);
	char *tok = sign_ok(kr);
	verify_expect(kr, tok, TOKEN_OK, kid);

	/* Another kid: unknown key, before any signature is checked. */
	const char *unknown[] = {
		"{\"kid\":\"k4.pid.S_XQmeEwHbbvRmiyfXfHYpLGjXGzjTRSDoT1YtTakWFE\"}",
		"{\"kid\":\"\"}", "{\"kid\":\"<script>\"}"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		char *s = with_footer(tok, unknown[i]);
		verify_expect(kr, s, TOKEN_UNKNOWN_KEY, NULL);
		free(s);
	}

	/* Footers that are not {"kid":"…"}: malformed (a NUL in a kid too). */
	char dup_kid[256], nul_kid[256];
	snprintf(dup_kid, sizeof(dup_kid), "{\"kid\":\"%s\",\"kid\":\"%s\"}", kid, kid);
	snprintf(nul_kid, sizeof(nul_kid), "{\"kid\":\"%s\\u0000\"}", kid);
	const char *malformed[] = {"not json",	     "[\"kid\"]",   "{\"kid\":7}",
				   "{\"key\":\"x\"}", "\"k4.pid.x\"", dup_kid,
				   nul_kid,	     "{\"kid\":\"x\"", "{\"kid\":null}"};
	char *s;
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		s = with_footer(tok, malformed[i]);
		verify_expect(kr, s, TOKEN_MALFORMED, NULL);
		free(s);
	}
	s = sign_footer(sk, NULL);
	verify_expect(kr, s, TOKEN_MALFORMED, NULL);
	free(s);

	/* Other spellings of our kid reach the key through jansson... */
	snprintf(footer, sizeof(footer), "{ \"kid\": \"%s\", \"v\": 1 }", kid);
	s = sign_footer(sk, footer);
	verify_expect(kr, s, TOKEN_OK, kid);
	free(s);
	/* ...but the footer is signed: swapped into our token, it fails. */
	s = with_footer(tok, footer);
	verify_expect(kr, s, TOKEN_BAD_SIGNATURE, NULL);
	free(s);

	/* Another key writing our kid: bad signature. */
	crypto_sign_keypair(pk2, sk2);
	snprintf(footer, sizeof(footer), "{\"kid\":\"%s\"}", kid);
	s = sign_footer(sk2, footer);
	verify_expect(kr, s, TOKEN_BAD_SIGNATURE, NULL);
	free(s);

	/* And a damaged body under our exact footer. */
	tok[strlen(TOKEN_HEADER) + 5] ^= 1;
	verify_expect(kr, tok, TOKEN_BAD_SIGNATURE, NULL);
	verify_expect(kr, "v4.local.AAAA", TOKEN_MALFORMED, NULL);
	free(tok);
	keyring_free(kr);
	tmp_remove(&t);
}

TEST(keyring_public_json_newest_first)
{
	struct tmp t;
	char kid1[MAX_KID_LEN + 1], kid2[MAX_KID_LEN + 1], when[RFC3339_LEN + 1];
	const char *err;
	json_error_t jerr;
	tmp_make(&t);
	test_assert(keyring_generate(t.keys, kid1, &err) == 0);
	test_assert(keyring_generate(t.keys, kid2, &err) == 0);
	struct keyring *kr = load_ok(t.keys);
	char *text = keyring_public_json(kr);
	test_assert(text != NULL && strstr(text, "secret") == NULL);
	json_t *root = json_loads(text ? text : "", 0, &jerr);
	json_t *keys = json_object_get(root, "keys");
	test_assert(json_is_object(root) && json_object_size(root) == 1);
	test_assert(json_is_array(keys) && json_array_size(keys) == 2);
	const char *want[] = {kid2, kid1};
	for (size_t i = 0; i < json_array_size(keys) && i < 2; i++) {
		json_t *k = json_array_get(keys, i);
		const struct key_info *info = keyring_key(kr, i);
		unsigned char pk[TOKEN_PK_BYTES];
		char pid[PASERK_PID_LEN + 1];
		test_assert(json_object_size(k) == 3);
		test_assert_str(json_string_value(json_object_get(k, "kid")), want[i]);
		const char *paserk = json_string_value(json_object_get(k, "paserk"));
		test_assert(paserk != NULL && paserk_public_decode(paserk, pk, &err) == 0);
		paserk_pid(pk, pid);
		test_assert_str(pid, want[i]);
		test_assert_str(json_string_value(json_object_get(k, "created")),
				rfc3339_format(info->created, when));
	}
	json_decref(root);
	free(text);
	keyring_free(kr);
	tmp_remove(&t);
}

TEST_MAIN()
