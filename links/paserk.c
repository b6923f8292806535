/*
 * paserk.c: PASERK k4 forms of Ed25519 keys (k4.public, k4.secret) and the
 * k4.pid key id, after paseto-standard/paserk (types/public.md, secret.md,
 * pid.md, operations/ID.md). Key files and the key list use them; decoding
 * is strict.
 */
#include <sodium.h>
#include <string.h>

#include "invited/keys.h"
#include "invited/log.h"
#include "invited/text.h"

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define PUBLIC_PREFIX "k4.public."
#define SECRET_PREFIX "k4.secret."
#define PID_PREFIX "k4.pid."
#define PID_HASH_BYTES 33 /* BLAKE2b-264 */
#define PREFIX_LEN(p) (sizeof(p) - 1)

/* prefix || base64url(bin) into out, sized exactly for it by the caller. */
static void encode(char *out, size_t out_size, const char *prefix,
		   size_t prefix_len, const unsigned char *bin, size_t len)
{
	memcpy(out, prefix, prefix_len);
	sodium_bin2base64(out + prefix_len, out_size - prefix_len, bin, len,
			  B64_VARIANT);
}

/*
 * Refuse anything but prefix || base64url of exactly len bytes. A PASERK
 * of another version or type fails on the prefix, a key of the wrong
 * length on the total length, and padding or non-canonical text on the
 * decode, whose end must be the end of the string (libsodium stops early
 * at a character outside the alphabet).
 */
static int decode(const char *paserk, const char *prefix, size_t prefix_len,
		  size_t total_len, unsigned char *out, size_t len,
		  const char **error_r)
{
	if (strncmp(paserk, prefix, prefix_len) != 0) {
		*error_r = errorf("not a %.*s PASERK", (int)prefix_len - 1, prefix);
		return -1;
	}
	if (strnlen(paserk, total_len + 1) != total_len) {
		*error_r = errorf("%.*s PASERK of the wrong length", (int)prefix_len - 1,
				  prefix);
		return -1;
	}
	const char *b64 = paserk + prefix_len, *end;
	size_t b64_len = total_len - prefix_len, got;
	if (!base64url_only(b64, b64_len) ||
	    sodium_base642bin(out, len, b64, b64_len, NULL, &got, &end,
			      B64_VARIANT) != 0 ||
	    end != b64 + b64_len || got != len) {
		sodium_memzero(out, len);
		*error_r = errorf("%.*s PASERK is not canonical base64url",
				  (int)prefix_len - 1, prefix);
		return -1;
	}
	return 0;
}

int paserk_public_encode(const unsigned char pk[TOKEN_PK_BYTES],
			 char out[PASERK_PUBLIC_LEN + 1])
{
	encode(out, PASERK_PUBLIC_LEN + 1, PUBLIC_PREFIX,
	       PREFIX_LEN(PUBLIC_PREFIX), pk, TOKEN_PK_BYTES);
	return 0;
}

int paserk_public_decode(const char *paserk, unsigned char pk[TOKEN_PK_BYTES],
			 const char **error_r)
{
	return decode(paserk, PUBLIC_PREFIX, PREFIX_LEN(PUBLIC_PREFIX),
		      PASERK_PUBLIC_LEN, pk, TOKEN_PK_BYTES, error_r);
}

int paserk_secret_encode(const unsigned char sk[TOKEN_SK_BYTES],
			 char out[PASERK_SECRET_LEN + 1])
{
	encode(out, PASERK_SECRET_LEN + 1, SECRET_PREFIX,
	       PREFIX_LEN(SECRET_PREFIX), sk, TOKEN_SK_BYTES);
	return 0;
}

/*
 * Besides the form, the public half must be the one the seed derives:
 * a key file with a damaged or pasted-together key would otherwise sign
 * tokens that its own published public key does not verify.
 */
int paserk_secret_decode(const char *paserk, unsigned char sk[TOKEN_SK_BYTES],
			 const char **error_r)
{
	unsigned char pk[TOKEN_PK_BYTES], derived[TOKEN_SK_BYTES];
	if (decode(paserk, SECRET_PREFIX, PREFIX_LEN(SECRET_PREFIX),
		   PASERK_SECRET_LEN, sk, TOKEN_SK_BYTES, error_r) < 0)
		return -1;
	int ok = crypto_sign_seed_keypair(pk, derived, sk) == 0 &&
		 sodium_memcmp(derived, sk, TOKEN_SK_BYTES) == 0;
	sodium_memzero(derived, sizeof(derived));
	if (!ok) {
		sodium_memzero(sk, TOKEN_SK_BYTES);
		*error_r = "k4.secret PASERK: the public half does not match the seed";
		return -1;
	}
	return 0;
}

/* k4.pid = "k4.pid." || base64url(BLAKE2b-264("k4.pid." || k4.public PASERK)). */
int paserk_pid(const unsigned char pk[TOKEN_PK_BYTES],
	       char out[PASERK_PID_LEN + 1])
{
	char pub[PASERK_PUBLIC_LEN + 1];
	unsigned char hash[PID_HASH_BYTES];
	crypto_generichash_state st;
	paserk_public_encode(pk, pub);
	if (crypto_generichash_init(&st, NULL, 0, sizeof(hash)) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)PID_PREFIX,
				      PREFIX_LEN(PID_PREFIX)) != 0 ||
	    crypto_generichash_update(&st, (const unsigned char *)pub,
				      PASERK_PUBLIC_LEN) != 0 ||
	    crypto_generichash_final(&st, hash, sizeof(hash)) != 0)
		return -1;
	encode(out, PASERK_PID_LEN + 1, PID_PREFIX, PREFIX_LEN(PID_PREFIX), hash,
	       sizeof(hash));
	return 0;
}
