/*
 * token.h: PASETO v4.public tokens (Ed25519 over PAE), on libsodium.
 * Only the v4.public purpose exists here; any other header is refused.
 * Base64url is unpadded and strict: a token that does not decode to the
 * exact bytes it encodes is malformed.
 */
#ifndef INVITED_TOKEN_H
#define INVITED_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_HEADER "v4.public."
#define TOKEN_SIG_BYTES 64
#define TOKEN_PK_BYTES 32
#define TOKEN_SK_BYTES 64 /* libsodium form: seed || public key */

/* Why a token was refused. Callers turn these into pages and exit codes. */
enum token_status {
	TOKEN_OK = 0,
	TOKEN_MALFORMED,     /* not a v4.public token, bad base64url, too short */
	TOKEN_BAD_SIGNATURE, /* altered, or signed by another key with our kid */
	TOKEN_UNKNOWN_KEY,   /* footer names a key we do not hold (keys.h) */
	TOKEN_BAD_CLAIMS,    /* payload is not the claims we issue (link.h) */
	TOKEN_WRONG_AUDIENCE,
	TOKEN_WRONG_PURPOSE,
	TOKEN_NOT_YET_VALID,
	TOKEN_EXPIRED,
};

/* A short English phrase for a status, for logs and the CLI. */
const char *token_status_str(enum token_status status);

/*
 * PAE (pre-authentication encoding) of n pieces. Returns a malloc'd buffer
 * the caller frees, or NULL when out of memory.
 */
unsigned char *token_pae(const unsigned char *const *pieces, const size_t *lens,
			 size_t n, size_t *out_len_r);

/*
 * Sign payload (and optional footer and implicit assertion; NULL/0 for none)
 * with a libsodium Ed25519 secret key. On success *token_r is a malloc'd,
 * NUL-terminated token the caller frees.
 */
int token_sign(const unsigned char sk[TOKEN_SK_BYTES],
	       const unsigned char *payload, size_t payload_len,
	       const unsigned char *footer, size_t footer_len,
	       const unsigned char *implicit, size_t implicit_len,
	       char **token_r, const char **error_r);

/*
 * Decode a token's footer without verifying anything, to find the key it
 * names. *footer_r is malloc'd (NUL-terminated for convenience), or NULL
 * with *len_r 0 when the token has no footer. Returns TOKEN_OK or
 * TOKEN_MALFORMED.
 */
enum token_status token_footer(const char *token, unsigned char **footer_r,
			       size_t *len_r, const char **error_r);

/*
 * Verify a token against one public key. On TOKEN_OK, *payload_r is the
 * malloc'd payload (NUL-terminated, not counted in *payload_len_r).
 * Returns TOKEN_MALFORMED or TOKEN_BAD_SIGNATURE otherwise.
 */
enum token_status token_verify(const unsigned char pk[TOKEN_PK_BYTES],
			       const char *token,
			       const unsigned char *implicit, size_t implicit_len,
			       unsigned char **payload_r, size_t *payload_len_r,
			       const char **error_r);

#endif
