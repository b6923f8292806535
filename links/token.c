/*
 * token.c: PASETO v4.public tokens (Ed25519 over PAE) on libsodium, after
 * paseto-spec Version4.md and Common.md. Signing and verifying sit on the
 * link hot path, so each builds its PAE in one buffer sized up front.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "invited/limits.h"
#include "invited/text.h"
#include "invited/token.h"

#define HEADER_LEN (sizeof(TOKEN_HEADER) - 1)
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define LE64_BYTES 8
/* PAE(header, message, footer, implicit): the count, then 4 length words. */
#define PAE_PIECES 4
#define PAE_FIXED (LE64_BYTES * (1 + PAE_PIECES) + HEADER_LEN)
/* Where the message starts inside the PAE: count, header piece, its length. */
#define PAE_MSG_OFFSET (LE64_BYTES + LE64_BYTES + HEADER_LEN + LE64_BYTES)
/* Footers up to this size are remembered per thread, already encoded. */
#define FOOTER_CACHE_MAX 128
#define FOOTER_CACHE_B64 172 /* b64_len(FOOTER_CACHE_MAX) */

/* The pieces of a token as text, before anything is decoded. */
struct token_parts {
	const char *body; /* base64url(message || signature) */
	size_t body_len;
	const char *footer; /* base64url(footer), NULL when absent */
	size_t footer_len;
};

static const char *const status_names[] = {
	[TOKEN_OK] = "valid",
	[TOKEN_MALFORMED] = "malformed token",
	[TOKEN_BAD_SIGNATURE] = "bad signature",
	[TOKEN_UNKNOWN_KEY] = "unknown signing key",
	[TOKEN_BAD_CLAIMS] = "unexpected claims",
	[TOKEN_WRONG_AUDIENCE] = "issued for another server",
	[TOKEN_WRONG_PURPOSE] = "wrong purpose",
	[TOKEN_NOT_YET_VALID] = "not yet valid",
	[TOKEN_EXPIRED] = "expired",
};

const char *token_status_str(enum token_status status)
{
	if ((size_t)status >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown token status";
	return status_names[status];
}

/* LE64 with the top bit cleared, as PAE asks (Common.md). */
static unsigned char *put_le64(unsigned char *p, uint64_t n)
{
	n &= UINT64_MAX >> 1;
	for (int i = 0; i < LE64_BYTES; i++) {
		p[i] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
	return p + LE64_BYTES;
}

static unsigned char *put_piece(unsigned char *p, const void *data, size_t len)
{
	p = put_le64(p, len);
	if (len > 0)
		memcpy(p, data, len);
	return p + len;
}

unsigned char *token_pae(const unsigned char *const *pieces, const size_t *lens,
			 size_t n, size_t *out_len_r)
{
	size_t total = LE64_BYTES;
	for (size_t i = 0; i < n; i++) {
		if (lens[i] > SIZE_MAX - LE64_BYTES - total)
			return NULL;
		total += LE64_BYTES + lens[i];
	}
	unsigned char *buf = malloc(total);
	if (buf == NULL)
		return NULL;
	unsigned char *p = put_le64(buf, n);
	for (size_t i = 0; i < n; i++)
		p = put_piece(p, pieces[i], lens[i]);
	*out_len_r = total;
	return buf;
}

/* Length of unpadded base64 text for n bytes, without the NUL. */
static size_t b64_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/*
 * Bytes that len characters of unpadded base64 stand for. A length that
 * leaves one lone character is not base64; the decoder refuses it.
 */
static size_t b64_decoded_len(size_t len)
{
	return len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
}

/*
 * Strict decode: the whole text must decode to exactly len bytes. With a
 * b64_end pointer libsodium stops at the first character outside the
 * alphabet ('=', '.', whitespace) and reports success, so the end must be
 * checked here; non-zero leftover bits it refuses by itself.
 */
static int b64_decode(unsigned char *out, size_t len, const char *b64, size_t n)
{
	const char *end;
	size_t got;
	if (!base64url_only(b64, n) ||
	    sodium_base642bin(out, len, b64, n, NULL, &got, &end, B64_VARIANT) != 0)
		return -1;
	return end == b64 + n && got == len ? 0 : -1;
}

/* Encode into out (room for b64_len(n) + 1); returns the end of the text. */
static char *b64_encode(char *out, const unsigned char *bin, size_t n)
{
	size_t len = b64_len(n);
	sodium_bin2base64(out, len + 1, bin, n, B64_VARIANT);
	return out + len;
}

/*
 * Encode a footer, reusing this thread's last encoding when the footer is
 * the same: a keyring signs every token with one footer per key, and
 * libsodium's constant-time base64 would otherwise cost more than the
 * rest of the token's overhead over the bare signature.
 */
static void b64_encode_footer(char *out, const unsigned char *footer, size_t n)
{
	static __thread unsigned char last[FOOTER_CACHE_MAX];
	static __thread char last_b64[FOOTER_CACHE_B64 + 1];
	static __thread size_t last_len;
	if (n > FOOTER_CACHE_MAX) {
		b64_encode(out, footer, n);
		return;
	}
	if (n != last_len || memcmp(footer, last, n) != 0) {
		b64_encode(last_b64, footer, n);
		memcpy(last, footer, n);
		last_len = n;
	}
	memcpy(out, last_b64, b64_len(n) + 1);
}

int token_sign(const unsigned char sk[TOKEN_SK_BYTES],
	       const unsigned char *payload, size_t payload_len,
	       const unsigned char *footer, size_t footer_len,
	       const unsigned char *implicit, size_t implicit_len,
	       char **token_r, const char **error_r)
{
	*token_r = NULL;
	/* Anything longer could not be verified (MAX_TOKEN_LEN), so refuse it. */
	if (payload_len > MAX_TOKEN_LEN || footer_len > MAX_TOKEN_LEN) {
		*error_r = "token: payload or footer too long";
		return -1;
	}
	size_t body_len = payload_len + TOKEN_SIG_BYTES;
	size_t text_len = HEADER_LEN + b64_len(body_len) +
			  (footer_len > 0 ? 1 + b64_len(footer_len) : 0);
	size_t pae_len = PAE_FIXED + payload_len + footer_len;
	if (text_len > MAX_TOKEN_LEN) {
		*error_r = "token: the token would exceed MAX_TOKEN_LEN";
		return -1;
	}
	if (implicit_len > SIZE_MAX - TOKEN_SIG_BYTES - pae_len) {
		*error_r = "token: implicit assertion too long";
		return -1;
	}
	pae_len += implicit_len;

	/*
	 * One scratch buffer: the PAE is signed in place, then the signature
	 * overwrites the PAE tail right after the message, which makes
	 * message || signature contiguous for the encoder without a copy.
	 */
	unsigned char *pae = malloc(pae_len + TOKEN_SIG_BYTES);
	char *text = malloc(text_len + 1);
	if (pae == NULL || text == NULL) {
		free(pae);
		free(text);
		*error_r = "token: out of memory";
		return -1;
	}
	unsigned char *p = put_le64(pae, PAE_PIECES);
	p = put_piece(p, TOKEN_HEADER, HEADER_LEN);
	p = put_piece(p, payload, payload_len);
	p = put_piece(p, footer, footer_len);
	put_piece(p, implicit, implicit_len);

	unsigned char *body = pae + PAE_MSG_OFFSET;
	unsigned char sig[TOKEN_SIG_BYTES];
	if (crypto_sign_detached(sig, NULL, pae, pae_len, sk) != 0) {
		free(pae);
		free(text);
		*error_r = "token: signing failed";
		return -1;
	}
	memcpy(body + payload_len, sig, TOKEN_SIG_BYTES);

	memcpy(text, TOKEN_HEADER, HEADER_LEN);
	char *t = b64_encode(text + HEADER_LEN, body, body_len);
	if (footer_len > 0) {
		*t++ = '.';
		b64_encode_footer(t, footer, footer_len);
	}
	free(pae);
	*token_r = text;
	return 0;
}

/*
 * Split "v4.public.<body>[.<footer>]" without decoding. An empty footer is
 * written as no footer at all, so a trailing '.' is malformed, as is any
 * further segment.
 */
static enum token_status token_split(const char *token, struct token_parts *tp,
				     const char **error_r)
{
	size_t len = strnlen(token, MAX_TOKEN_LEN + 1);
	if (len > MAX_TOKEN_LEN) {
		*error_r = "token: too long";
		return TOKEN_MALFORMED;
	}
	if (len < HEADER_LEN || memcmp(token, TOKEN_HEADER, HEADER_LEN) != 0) {
		*error_r = "token: not a v4.public token";
		return TOKEN_MALFORMED;
	}
	const char *end = token + len;
	tp->body = token + HEADER_LEN;
	tp->footer = NULL;
	tp->footer_len = 0;
	const char *dot = memchr(tp->body, '.', (size_t)(end - tp->body));
	if (dot == NULL) {
		tp->body_len = (size_t)(end - tp->body);
		return TOKEN_OK;
	}
	tp->body_len = (size_t)(dot - tp->body);
	tp->footer = dot + 1;
	tp->footer_len = (size_t)(end - tp->footer);
	if (tp->footer_len == 0) {
		*error_r = "token: empty footer segment";
		return TOKEN_MALFORMED;
	}
	if (memchr(tp->footer, '.', tp->footer_len) != NULL) {
		*error_r = "token: too many segments";
		return TOKEN_MALFORMED;
	}
	return TOKEN_OK;
}

enum token_status token_footer(const char *token, unsigned char **footer_r,
			       size_t *len_r, const char **error_r)
{
	struct token_parts tp;
	*footer_r = NULL;
	*len_r = 0;
	enum token_status st = token_split(token, &tp, error_r);
	if (st != TOKEN_OK || tp.footer == NULL)
		return st;
	size_t len = b64_decoded_len(tp.footer_len);
	unsigned char *footer = malloc(len + 1);
	if (footer == NULL) {
		*error_r = "token: out of memory";
		return TOKEN_MALFORMED;
	}
	if (b64_decode(footer, len, tp.footer, tp.footer_len) < 0) {
		free(footer);
		*error_r = "token: footer is not canonical unpadded base64url";
		return TOKEN_MALFORMED;
	}
	footer[len] = '\0';
	*footer_r = footer;
	*len_r = len;
	return TOKEN_OK;
}

enum token_status token_verify(const unsigned char pk[TOKEN_PK_BYTES],
			       const char *token,
			       const unsigned char *implicit, size_t implicit_len,
			       unsigned char **payload_r, size_t *payload_len_r,
			       const char **error_r)
{
	struct token_parts tp;
	*payload_r = NULL;
	*payload_len_r = 0;
	enum token_status st = token_split(token, &tp, error_r);
	if (st != TOKEN_OK)
		return st;
	size_t body_len = b64_decoded_len(tp.body_len);
	size_t footer_len = b64_decoded_len(tp.footer_len);
	if (body_len < TOKEN_SIG_BYTES) {
		*error_r = "token: too short to hold a signature";
		return TOKEN_MALFORMED;
	}
	size_t msg_len = body_len - TOKEN_SIG_BYTES;
	/* Both lengths are bounded by MAX_TOKEN_LEN; only implicit may be big. */
	size_t pae_len = PAE_FIXED + msg_len + footer_len;
	if (implicit_len > SIZE_MAX - TOKEN_SIG_BYTES - pae_len) {
		*error_r = "token: implicit assertion too long";
		return TOKEN_MALFORMED;
	}
	pae_len += implicit_len;

	/*
	 * Decode the body straight to where the message sits in the PAE; the
	 * signature lands after it and is moved out before the rest of the PAE
	 * is written over it. The spare TOKEN_SIG_BYTES give it room.
	 */
	unsigned char *pae = malloc(pae_len + TOKEN_SIG_BYTES);
	if (pae == NULL) {
		*error_r = "token: out of memory";
		return TOKEN_MALFORMED;
	}
	unsigned char *msg = pae + PAE_MSG_OFFSET;
	unsigned char sig[TOKEN_SIG_BYTES];
	if (b64_decode(msg, body_len, tp.body, tp.body_len) < 0) {
		free(pae);
		*error_r = "token: body is not canonical unpadded base64url";
		return TOKEN_MALFORMED;
	}
	memcpy(sig, msg + msg_len, TOKEN_SIG_BYTES);
	unsigned char *p = put_le64(msg + msg_len, footer_len);
	if (tp.footer != NULL &&
	    b64_decode(p, footer_len, tp.footer, tp.footer_len) < 0) {
		free(pae);
		*error_r = "token: footer is not canonical unpadded base64url";
		return TOKEN_MALFORMED;
	}
	put_piece(p + footer_len, implicit, implicit_len);
	p = put_le64(pae, PAE_PIECES);
	p = put_piece(p, TOKEN_HEADER, HEADER_LEN);
	put_le64(p, msg_len);

	if (crypto_sign_verify_detached(sig, pae, pae_len, pk) != 0) {
		free(pae);
		*error_r = "token: the signature does not verify";
		return TOKEN_BAD_SIGNATURE;
	}
	/* Hand the PAE buffer back as the payload: no second allocation. */
	memmove(pae, msg, msg_len);
	pae[msg_len] = '\0';
	*payload_r = pae;
	*payload_len_r = msg_len;
	return TOKEN_OK;
}
