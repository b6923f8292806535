/*
 * text.h: checks for text that crosses an edge (API field, form field,
 * config value) before it is passed on: valid UTF-8, no control
 * characters (newlines only where a field is multi-line), within a length.
 * Header-only, so the edge in every module can use it.
 */
#ifndef INVITED_TEXT_H
#define INVITED_TEXT_H

#include <ctype.h>
#include <stddef.h>
#include <string.h>

/* The length of the well-formed UTF-8 sequence at p (n bytes there), or 0
 * when there is none (no overlongs, no surrogates). */
static inline size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0], min;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[k] & 0x3f);
	}
	return c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ? 0 : len;
}

/* 1 when s[0..len) is well-formed UTF-8. */
static inline int utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0, k; i < len; i += k)
		if ((k = utf8_seq(p + i, len - i)) == 0)
			return 0;
	return 1;
}

enum text_kind { TEXT_LINE, TEXT_MULTILINE };

/*
 * 1 when s is valid UTF-8 of at most max bytes with no control
 * characters; TEXT_MULTILINE also allows \n, \r and \t.
 */
static inline int text_ok(const char *s, size_t max, enum text_kind kind)
{
	size_t len = strlen(s);
	if (len > max || !utf8_valid(s, len))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == 0x7f)
			return 0;
		if (*p < 0x20 && !(kind == TEXT_MULTILINE &&
				   (*p == '\n' || *p == '\r' || *p == '\t')))
			return 0;
	}
	return 1;
}

/*
 * 1 when s[0..len) holds only base64url's alphabet (A-Z a-z 0-9 - _).
 * libsodium's decoder, which compares characters in constant time, takes
 * some bytes over 0x7f for '-' or '_', so that a token or key would have
 * other spellings (found by tests/fuzz/fuzz_paserk): check this first.
 */
static inline int base64url_only(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* Lower-case an ASCII string in place (addresses and domains). */
static inline char *ascii_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

#endif
