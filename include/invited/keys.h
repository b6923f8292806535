/*
 * keys.h: the signing keyring and its PASERK forms.
 * Keys live as files in a key folder, one Ed25519 key per file, mode 0600,
 * holding the PASERK "k4.secret." string. A key's id (kid) is its PASERK
 * "k4.pid." id. The newest key signs; every key in the folder verifies.
 * Retiring a key moves its file to the "retired" subfolder, where it no
 * longer verifies. A loaded keyring is immutable and safe to share between
 * threads.
 */
#ifndef INVITED_KEYS_H
#define INVITED_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "token.h"

#define PASERK_PUBLIC_LEN 53  /* "k4.public." + 43 */
#define PASERK_SECRET_LEN 96  /* "k4.secret." + 86 */
#define PASERK_PID_LEN 51     /* "k4.pid." + 44 */

struct keyring;

struct key_info {
	char kid[MAX_KID_LEN + 1];            /* k4.pid.… */
	char paserk_public[PASERK_PUBLIC_LEN + 1]; /* k4.public.… */
	int64_t created;                      /* unix seconds */
	int signing;                          /* 1 for the newest key */
};

/* PASERK encodings (see tests/vectors/paserk-k4-*.json). 0 or -1. */
int paserk_public_encode(const unsigned char pk[TOKEN_PK_BYTES],
			 char out[PASERK_PUBLIC_LEN + 1]);
int paserk_public_decode(const char *paserk, unsigned char pk[TOKEN_PK_BYTES],
			 const char **error_r);
int paserk_secret_encode(const unsigned char sk[TOKEN_SK_BYTES],
			 char out[PASERK_SECRET_LEN + 1]);
int paserk_secret_decode(const char *paserk, unsigned char sk[TOKEN_SK_BYTES],
			 const char **error_r);
int paserk_pid(const unsigned char pk[TOKEN_PK_BYTES],
	       char out[PASERK_PID_LEN + 1]);

/* Load every active key in dir. Fails if dir holds no key. */
int keyring_load(const char *dir, struct keyring **kr_r, const char **error_r);
void keyring_free(struct keyring *kr);

/* Create dir (0700) if missing and write a new key file; it signs from now. */
int keyring_generate(const char *dir, char kid_r[MAX_KID_LEN + 1],
		     const char **error_r);

/* Move the key named kid to dir/retired. Refuses to retire the only key. */
int keyring_retire(const char *dir, const char *kid, const char **error_r);

size_t keyring_count(const struct keyring *kr);
/* Keys newest first; i < keyring_count(). */
const struct key_info *keyring_key(const struct keyring *kr, size_t i);

/*
 * Sign payload with the newest key; the footer is {"kid":"<kid>"}.
 * *token_r is malloc'd.
 */
int keyring_sign(const struct keyring *kr, const unsigned char *payload,
		 size_t payload_len, char **token_r, const char **error_r);

/*
 * Verify a token with the key its footer names. TOKEN_UNKNOWN_KEY when the
 * footer is valid but names no key of ours; TOKEN_MALFORMED when the footer
 * is not {"kid":"…"}. On TOKEN_OK *payload_r is malloc'd and NUL-terminated,
 * and kid_r (if not NULL) receives the kid.
 */
enum token_status keyring_verify(const struct keyring *kr, const char *token,
				 unsigned char **payload_r, size_t *payload_len_r,
				 char kid_r[MAX_KID_LEN + 1], const char **error_r);

/* {"keys":[{"kid":"k4.pid.…","paserk":"k4.public.…","created":"RFC 3339"}]} */
char *keyring_public_json(const struct keyring *kr);

#endif
