/*
 * keys.c: the signing keyring. Key files in a folder are loaded once into
 * an immutable keyring; the newest key signs, every loaded key verifies.
 * Rotation is by file: generate adds a newer file, retire moves one away.
 *
 * A key file is named "<seconds>-<seq>.key": seconds is the unix time it
 * was made, zero-padded to 12 digits, and seq (4 digits) orders keys made
 * within one second. With fixed widths, name order is creation order: the
 * newest key is the greatest name, and neither it nor "created" depends on
 * file system clocks (mtime changes with backups and copies). The file
 * holds the PASERK "k4.secret." string and a newline, mode 0600.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "invited/keys.h"
#include "invited/log.h"
#include "invited/rfc3339.h"

#define KEY_SUFFIX ".key"
#define RETIRED_DIR "retired"
#define KEY_SECONDS_DIGITS 12
#define KEY_SEQ_DIGITS 4
#define KEY_SEQ_MAX 9999
#define KEY_SECONDS_MAX 999999999999LL
#define KEY_NAME_LEN (KEY_SECONDS_DIGITS + 1 + KEY_SEQ_DIGITS + sizeof(KEY_SUFFIX) - 1)
#define KEY_FILE_MAX 128   /* a key file: PASERK_SECRET_LEN and a newline */
#define KEY_CREATE_TRIES 100 /* names to try when another process races us */
#define FOOTER_MAX 96      /* {"kid":"k4.pid.…"} is 61 bytes */
#define FOOTER_B64_MAX 128
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define HEADER_LEN (sizeof(TOKEN_HEADER) - 1)

struct key_name {
	char name[KEY_NAME_LEN + 1];
};

struct ring_key {
	struct key_info info;
	char file[KEY_NAME_LEN + 1];
	unsigned char pk[TOKEN_PK_BYTES];
	unsigned char sk[TOKEN_SK_BYTES];
	/* The footer this key signs into its tokens, and its base64url text,
	 * which lets verification find the key with one compare. */
	unsigned char footer[FOOTER_MAX];
	size_t footer_len;
	char footer_b64[FOOTER_B64_MAX];
	size_t footer_b64_len;
};

struct keyring {
	size_t n;
	struct ring_key keys[]; /* newest first */
};

/* A name to consider at all: hidden files and other suffixes are skipped. */
static int is_key_file_name(const char *name)
{
	size_t len = strlen(name), slen = sizeof(KEY_SUFFIX) - 1;
	return name[0] != '.' && len > slen && strcmp(name + len - slen, KEY_SUFFIX) == 0;
}

static int parse_digits(const char *s, int n, int64_t *value_r)
{
	int64_t v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*value_r = v;
	return 0;
}

static int parse_key_name(const char *name, int64_t *seconds_r, int64_t *seq_r)
{
	if (strlen(name) != KEY_NAME_LEN || name[KEY_SECONDS_DIGITS] != '-' ||
	    parse_digits(name, KEY_SECONDS_DIGITS, seconds_r) < 0 ||
	    parse_digits(name + KEY_SECONDS_DIGITS + 1, KEY_SEQ_DIGITS, seq_r) < 0)
		return -1;
	return strcmp(name + KEY_NAME_LEN - (sizeof(KEY_SUFFIX) - 1), KEY_SUFFIX) == 0 ? 0 : -1;
}

static int by_name_newest_first(const void *a, const void *b)
{
	return -strcmp(((const struct key_name *)a)->name, ((const struct key_name *)b)->name);
}

/*
 * The key file names in the folder dfd (dir is for messages), newest
 * first. When strict, a "*.key" file that is not named as above is an
 * error rather than skipped, so that no key the operator put there is
 * silently unused; retired keys are listed leniently.
 */
static int list_keys(int dfd, const char *dir, int strict,
		     struct key_name **names_r, size_t *n_r, const char **error_r)
{
	struct key_name *names = NULL;
	size_t n = 0, cap = 0;
	int64_t s, q;
	*names_r = NULL;
	*n_r = 0;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		*error_r = errorf("cannot read key folder %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				*error_r = errorf("cannot read key folder %s: %s", dir,
						  strerror(errno));
			break;
		}
		if (!is_key_file_name(de->d_name))
			continue;
		int bad_name = parse_key_name(de->d_name, &s, &q) < 0;
		if (bad_name && !strict)
			continue;
		if (bad_name) {
			*error_r = errorf("key file %s/%s: the name must be "
					  "<12-digit unix seconds>-<4-digit sequence>.key",
					  dir, de->d_name);
			errno = EINVAL;
			break;
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			struct key_name *grown = realloc(names, cap * sizeof(*names));
			if (grown == NULL) {
				*error_r = "key folder: out of memory";
				errno = ENOMEM;
				break;
			}
			names = grown;
		}
		memcpy(names[n++].name, de->d_name, KEY_NAME_LEN + 1);
	}
	int failed = errno != 0;
	closedir(d);
	if (failed) {
		free(names);
		return -1;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), by_name_newest_first);
	*names_r = names;
	*n_r = n;
	return 0;
}

/*
 * Read one key file. Refuses a file others may read (or write): the key
 * would then be as good as published.
 */
static int read_key_file(int dfd, const char *dir, const char *name,
			 unsigned char sk[TOKEN_SK_BYTES], const char **error_r)
{
	char buf[KEY_FILE_MAX];
	struct stat st;
	const char *err;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*error_r = errorf("cannot open key file %s/%s: %s", dir, name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		close(fd);
		*error_r = S_ISREG(st.st_mode)
				   ? errorf("key file %s/%s has mode %04o: others may read it; "
					    "run chmod 600 on it (and consider the key leaked "
					    "if others did read it)",
					    dir, name, (unsigned)(st.st_mode & 07777))
				   : errorf("key file %s/%s is not a regular file", dir, name);
		return -1;
	}
	size_t len = 0;
	ssize_t got;
	while ((got = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)got;
	close(fd);
	if (got < 0) {
		*error_r = errorf("cannot read key file %s/%s: %s", dir, name, strerror(errno));
		sodium_memzero(buf, sizeof(buf));
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	int ret = paserk_secret_decode(buf, sk, &err);
	sodium_memzero(buf, sizeof(buf));
	if (ret < 0)
		*error_r = errorf("key file %s/%s: %s", dir, name, err);
	return ret;
}

/* Fill in everything derived from the secret key: ids and the footer. */
static int ring_key_init(struct ring_key *k, const char *name, const char **error_r)
{
	int64_t seq;
	memcpy(k->file, name, KEY_NAME_LEN + 1);
	parse_key_name(name, &k->info.created, &seq);
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	paserk_public_encode(k->pk, k->info.paserk_public);
	if (paserk_pid(k->pk, k->info.kid) < 0) {
		*error_r = "keys: cannot compute a key id";
		return -1;
	}
	json_t *footer = json_pack("{s:s}", "kid", k->info.kid);
	size_t len = footer == NULL ? 0
				    : json_dumpb(footer, (char *)k->footer, sizeof(k->footer),
						 JSON_COMPACT);
	json_decref(footer);
	if (len == 0 || len > sizeof(k->footer)) {
		*error_r = "keys: cannot build the token footer";
		return -1;
	}
	k->footer_len = len;
	sodium_bin2base64(k->footer_b64, sizeof(k->footer_b64), k->footer, len, B64_VARIANT);
	k->footer_b64_len = strlen(k->footer_b64);
	return 0;
}

static const struct ring_key *find_kid(const struct keyring *kr, const char *kid,
				       size_t kid_len)
{
	for (size_t i = 0; i < kr->n; i++) {
		if (strlen(kr->keys[i].info.kid) == kid_len &&
		    memcmp(kr->keys[i].info.kid, kid, kid_len) == 0)
			return &kr->keys[i];
	}
	return NULL;
}

static int load_keys(int dfd, const char *dir, const struct key_name *names,
		     struct keyring *kr, const char **error_r)
{
	for (size_t i = 0; i < kr->n; i++) {
		struct ring_key *k = &kr->keys[i];
		if (read_key_file(dfd, dir, names[i].name, k->sk, error_r) < 0 ||
		    ring_key_init(k, names[i].name, error_r) < 0)
			return -1;
		const struct ring_key *dup = find_kid(kr, k->info.kid, strlen(k->info.kid));
		if (dup != k) {
			*error_r = errorf("key files %s/%s and %s/%s hold the same key; "
					  "remove one", dir, dup->file, dir, k->file);
			return -1;
		}
		k->info.signing = i == 0;
	}
	return 0;
}

int keyring_load(const char *dir, struct keyring **kr_r, const char **error_r)
{
	struct key_name *names;
	size_t n;
	*kr_r = NULL;
	if (sodium_init() < 0) {
		*error_r = "keys: libsodium cannot initialize";
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		*error_r = errorf("cannot open key folder %s: %s", dir, strerror(errno));
		return -1;
	}
	if (list_keys(dfd, dir, 1, &names, &n, error_r) < 0) {
		close(dfd);
		return -1;
	}
	if (n == 0) {
		close(dfd);
		free(names);
		*error_r = errorf("key folder %s holds no key file (*.key); make one "
				  "with `invited keys rotate`", dir);
		return -1;
	}
	struct keyring *kr = calloc(1, sizeof(*kr) + n * sizeof(kr->keys[0]));
	if (kr == NULL) {
		close(dfd);
		free(names);
		*error_r = "keys: out of memory";
		return -1;
	}
	kr->n = n;
	int ret = load_keys(dfd, dir, names, kr, error_r);
	close(dfd);
	free(names);
	if (ret < 0) {
		keyring_free(kr);
		return -1;
	}
	*kr_r = kr;
	return 0;
}

void keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	sodium_memzero(kr->keys, kr->n * sizeof(kr->keys[0]));
	free(kr);
}

/* Name a key; a sequence past KEY_SEQ_MAX moves on to the next second. */
static int format_key_name(char name[KEY_NAME_LEN + 1], int64_t seconds, int64_t seq)
{
	char buf[64];
	if (seq > KEY_SEQ_MAX) {
		seconds++;
		seq = 0;
	}
	if (seconds < 0 || seconds > KEY_SECONDS_MAX || seq < 0)
		return -1;
	snprintf(buf, sizeof(buf), "%0*lld-%0*lld" KEY_SUFFIX, KEY_SECONDS_DIGITS,
		 (long long)seconds, KEY_SEQ_DIGITS, (long long)seq);
	memcpy(name, buf, KEY_NAME_LEN + 1);
	return 0;
}

/* The greatest key name in folder fd (or "" when none) into newest. */
static int newest_name(int fd, const char *dir, int strict,
		       char newest[KEY_NAME_LEN + 1], const char **error_r)
{
	struct key_name *names;
	size_t n;
	if (list_keys(fd, dir, strict, &names, &n, error_r) < 0)
		return -1;
	if (n > 0 && strcmp(names[0].name, newest) > 0)
		memcpy(newest, names[0].name, KEY_NAME_LEN + 1);
	free(names);
	return 0;
}

/*
 * The name for a new key: now, or just after the newest name used so far,
 * active or retired, so that a new key is the newest even when keys are
 * made within one second or the clock went back.
 */
static int next_key_name(int dfd, const char *dir, char name[KEY_NAME_LEN + 1],
			 const char **error_r)
{
	char newest[KEY_NAME_LEN + 1] = "";
	int64_t seconds = (int64_t)time(NULL), seq = 0, s, q;
	if (newest_name(dfd, dir, 1, newest, error_r) < 0)
		return -1;
	int rfd = openat(dfd, RETIRED_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd >= 0) {
		int ret = newest_name(rfd, RETIRED_DIR, 0, newest, error_r);
		close(rfd);
		if (ret < 0)
			return -1;
	}
	if (newest[0] != '\0' && parse_key_name(newest, &s, &q) == 0 && seconds <= s) {
		seconds = s;
		seq = q + 1;
	}
	if (format_key_name(name, seconds, seq) < 0) {
		*error_r = errorf("key folder %s: no key name left after %s", dir, newest);
		return -1;
	}
	return 0;
}

/* The name after name, for when another process took it first. */
static int bump_key_name(char name[KEY_NAME_LEN + 1])
{
	int64_t s, q;
	parse_key_name(name, &s, &q);
	return format_key_name(name, s, q + 1);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write text as a new key file in dfd, durable before we return. */
static int create_key_file(int dfd, const char *dir, char name[KEY_NAME_LEN + 1],
			   const char *text, const char **error_r)
{
	int fd = -1;
	for (int i = 0; i < KEY_CREATE_TRIES && fd < 0; i++) {
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0 && (errno != EEXIST || bump_key_name(name) < 0))
			break;
	}
	if (fd < 0) {
		*error_r = errorf("cannot create a key file in %s: %s", dir, strerror(errno));
		return -1;
	}
	/* Exactly 0600 whatever the umask; fsync the file, then its entry. */
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
	    fsync(fd) < 0 || close(fd) < 0 || fsync(dfd) < 0) {
		*error_r = errorf("cannot write key file %s/%s: %s", dir, name,
				  strerror(errno));
		close(fd); /* EBADF when it was closed already: harmless */
		unlinkat(dfd, name, 0);
		return -1;
	}
	return 0;
}

int keyring_generate(const char *dir, char kid_r[MAX_KID_LEN + 1],
		     const char **error_r)
{
	unsigned char pk[TOKEN_PK_BYTES], sk[TOKEN_SK_BYTES];
	char text[PASERK_SECRET_LEN + 2], name[KEY_NAME_LEN + 1];
	if (sodium_init() < 0) {
		*error_r = "keys: libsodium cannot initialize";
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		*error_r = errorf("cannot create key folder %s: %s", dir, strerror(errno));
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		*error_r = errorf("cannot open key folder %s: %s", dir, strerror(errno));
		return -1;
	}
	int ret = next_key_name(dfd, dir, name, error_r);
	if (ret == 0) {
		crypto_sign_keypair(pk, sk);
		paserk_secret_encode(sk, text);
		strcat(text, "\n");
		ret = create_key_file(dfd, dir, name, text, error_r);
	}
	if (ret == 0 && paserk_pid(pk, kid_r) < 0) {
		*error_r = "keys: cannot compute a key id";
		ret = -1;
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	close(dfd);
	return ret;
}

/* rename without replacing; plain rename after a check where unsupported. */
static int rename_noreplace(int from_fd, int to_fd, const char *name)
{
	struct stat st;
	if (renameat2(from_fd, name, to_fd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (fstatat(to_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(from_fd, name, to_fd, name);
}

static int move_to_retired(const char *dir, const char *name, const char **error_r)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rfd = -1, ret = -1;
	if (dfd >= 0 && (mkdirat(dfd, RETIRED_DIR, 0700) == 0 || errno == EEXIST))
		rfd = openat(dfd, RETIRED_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0)
		*error_r = errorf("cannot open %s/%s: %s", dir, RETIRED_DIR, strerror(errno));
	else if (rename_noreplace(dfd, rfd, name) < 0)
		*error_r = errorf("cannot move %s/%s to %s/: %s", dir, name, RETIRED_DIR,
				  strerror(errno));
	else if (fsync(rfd) < 0 || fsync(dfd) < 0)
		*error_r = errorf("cannot sync %s: %s", dir, strerror(errno));
	else
		ret = 0;
	if (rfd >= 0)
		close(rfd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

int keyring_retire(const char *dir, const char *kid, const char **error_r)
{
	struct keyring *kr;
	if (keyring_load(dir, &kr, error_r) < 0)
		return -1;
	const struct ring_key *k = find_kid(kr, kid, strlen(kid));
	int ret = -1;
	if (k == NULL)
		*error_r = errorf("no active key %.*s in %s", MAX_KID_LEN, kid, dir);
	else if (kr->n == 1)
		*error_r = errorf("%s is the only key in %s: make a new key with "
				  "`invited keys rotate` before retiring it", kid, dir);
	else
		ret = move_to_retired(dir, k->file, error_r);
	keyring_free(kr);
	return ret;
}

size_t keyring_count(const struct keyring *kr)
{
	return kr->n;
}

const struct key_info *keyring_key(const struct keyring *kr, size_t i)
{
	return i < kr->n ? &kr->keys[i].info : NULL;
}

int keyring_sign(const struct keyring *kr, const unsigned char *payload,
		 size_t payload_len, char **token_r, const char **error_r)
{
	const struct ring_key *k = &kr->keys[0];
	return token_sign(k->sk, payload, payload_len, k->footer, k->footer_len, NULL, 0,
			  token_r, error_r);
}

/*
 * Fast path: the footer text of a token we issued is exactly one key's
 * footer_b64 (base64url is canonical, so equal bytes mean equal text).
 */
static const struct ring_key *key_by_footer_text(const struct keyring *kr,
						 const char *token)
{
	size_t len = strnlen(token, MAX_TOKEN_LEN + 1);
	if (len > MAX_TOKEN_LEN || len < HEADER_LEN ||
	    memcmp(token, TOKEN_HEADER, HEADER_LEN) != 0)
		return NULL;
	const char *dot = memchr(token + HEADER_LEN, '.', len - HEADER_LEN);
	if (dot == NULL)
		return NULL;
	size_t footer_len = len - (size_t)(dot + 1 - token);
	for (size_t i = 0; i < kr->n; i++) {
		const struct ring_key *k = &kr->keys[i];
		if (k->footer_b64_len == footer_len &&
		    memcmp(k->footer_b64, dot + 1, footer_len) == 0)
			return k;
	}
	return NULL;
}

/* A kid safe to quote in a message: the PASERK id alphabet, bounded. */
static int printable_kid(const char *kid, size_t len)
{
	return len <= MAX_KID_LEN &&
	       strspn(kid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789-_.") == len;
}

/* Slow path: parse the footer as JSON {"kid":"…"} and look the kid up. */
static enum token_status key_by_footer_json(const struct keyring *kr,
					    const char *token,
					    const struct ring_key **key_r,
					    const char **error_r)
{
	unsigned char *footer;
	size_t len;
	json_error_t jerr;
	enum token_status st = token_footer(token, &footer, &len, error_r);
	if (st != TOKEN_OK)
		return st;
	if (footer == NULL) {
		*error_r = "token: no footer naming the key";
		return TOKEN_MALFORMED;
	}
	json_t *root = json_loadb((const char *)footer, len, JSON_REJECT_DUPLICATES, &jerr);
	free(footer);
	json_t *kid = json_object_get(root, "kid");
	if (!json_is_object(root) || !json_is_string(kid)) {
		json_decref(root);
		*error_r = "token: the footer is not {\"kid\":\"…\"}";
		return TOKEN_MALFORMED;
	}
	const char *s = json_string_value(kid);
	size_t s_len = json_string_length(kid);
	*key_r = find_kid(kr, s, s_len);
	if (*key_r == NULL) {
		*error_r = printable_kid(s, s_len)
				   ? errorf("token: signed by key %s, which is not ours "
					    "(or was retired)", s)
				   : "token: signed by a key that is not ours";
		st = TOKEN_UNKNOWN_KEY;
	}
	json_decref(root);
	return st;
}

enum token_status keyring_verify(const struct keyring *kr, const char *token,
				 unsigned char **payload_r, size_t *payload_len_r,
				 char kid_r[MAX_KID_LEN + 1], const char **error_r)
{
	*payload_r = NULL;
	*payload_len_r = 0;
	enum token_status st;
	const struct ring_key *k = key_by_footer_text(kr, token);
	if (k == NULL && (st = key_by_footer_json(kr, token, &k, error_r)) != TOKEN_OK)
		return st;
	st = token_verify(k->pk, token, NULL, 0, payload_r, payload_len_r, error_r);
	if (st == TOKEN_OK && kid_r != NULL)
		memcpy(kid_r, k->info.kid, sizeof(k->info.kid));
	return st;
}

/* Caller frees the result with free(); NULL when out of memory. */
char *keyring_public_json(const struct keyring *kr)
{
	char created[RFC3339_LEN + 1];
	json_t *keys = json_array();
	for (size_t i = 0; keys != NULL && i < kr->n; i++) {
		const struct key_info *k = &kr->keys[i].info;
		json_t *entry = json_pack("{s:s, s:s, s:s}", "kid", k->kid, "paserk",
					  k->paserk_public, "created",
					  rfc3339_format(k->created, created));
		if (json_array_append_new(keys, entry) < 0) {
			json_decref(keys);
			keys = NULL;
		}
	}
	json_t *root = keys == NULL ? NULL : json_pack("{s:o}", "keys", keys);
	char *text = root == NULL ? NULL : json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return text;
}
