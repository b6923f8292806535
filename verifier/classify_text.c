/*
 * classify_text.c: the classifier's text helpers. Mail is untrusted bytes
 * in any state; whatever reaches a classify_result goes through here and
 * comes out as valid UTF-8 without control characters, cut to size at a
 * character boundary.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Length of the well-formed UTF-8 sequence at p, or 0 when it is not. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned c = p[0], min;
	size_t n;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/* 1 for C0 and C1 controls and DEL, which never belong in a result. */
static int is_control(const unsigned char *p, size_t n)
{
	if (n == 1)
		return p[0] < 0x20 || p[0] == 0x7f;
	return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

void cls_set(char *dst, size_t size, const char *src, size_t len)
{
	const unsigned char *p = (const unsigned char *)src, *end = p + len;
	size_t o = 0;
	int blank = 0;
	if (size == 0)
		return;
	while (src != NULL && p < end) {
		size_t n = utf8_seq(p, (size_t)(end - p));
		const char *emit = (const char *)p;
		size_t elen = n;
		if (n == 0) {
			emit = REPLACEMENT, elen = 3, n = 1;
		} else if (is_control(p, n) || *p == ' ') {
			blank = 1;
			p += n;
			continue;
		}
		p += n;
		if (blank && o > 0) {
			if (o + 1 >= size)
				break;
			dst[o++] = ' ';
		}
		blank = 0;
		if (o + elen >= size)
			break;
		memcpy(dst + o, emit, elen);
		o += elen;
	}
	dst[o] = '\0';
}

char *cls_clean_text(const char *src, size_t len)
{
	const unsigned char *p = (const unsigned char *)src, *end = p + len;
	char *out = malloc(len * 3 + 1), *o = out;
	if (out == NULL)
		return NULL;
	while (p < end) {
		size_t n = utf8_seq(p, (size_t)(end - p));
		if (n == 0) {
			memcpy(o, REPLACEMENT, 3);
			o += 3;
			p++;
		} else if (*p == '\r') {
			*o++ = '\n';
			p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
		} else if (*p == '\n' || *p == '\t' || !is_control(p, n)) {
			memcpy(o, p, n);
			o += n;
			p += n;
		} else {
			p += n;
		}
	}
	*o = '\0';
	return out;
}

const char *cls_find_ci(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (hay == NULL || n == 0 || n > len)
		return NULL;
	/* The next place of the first byte in each case, by memchr (ASCII
	 * case only, as strncasecmp compares in the C locale); each search
	 * starts past the last, so the scan stays linear whatever the text. */
	unsigned char c = (unsigned char)needle[0];
	unsigned char lo = c >= 'A' && c <= 'Z' ? c + 32 : c;
	unsigned char up = lo >= 'a' && lo <= 'z' ? lo - 32 : lo;
	const char *last = hay + len - n; /* the last place a match may start */
	const char *nl = memchr(hay, lo, len - n + 1);
	const char *nu = up != lo ? memchr(hay, up, len - n + 1) : NULL;
	while (nl != NULL || nu != NULL) {
		const char *at = nu == NULL || (nl != NULL && nl < nu) ? nl : nu;
		if (strncasecmp(at + 1, needle + 1, n - 1) == 0)
			return at;
		const char *next = at < last ? at + 1 : NULL;
		if (at == nl)
			nl = next ? memchr(next, lo, (size_t)(last - at)) : NULL;
		else
			nu = next ? memchr(next, up, (size_t)(last - at)) : NULL;
	}
	return NULL;
}

int cls_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

size_t cls_trim(const char **start, size_t len)
{
	const char *s = *start;
	while (len > 0 && isspace((unsigned char)s[0]))
		s++, len--;
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	*start = s;
	return len;
}

/* A msg-id is printable ASCII without blanks; anything else is not one. */
static int msgid_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '<' && c != '>';
}

int cls_msgid(char *dst, size_t size, const char *s, size_t len)
{
	len = cls_trim(&s, len);
	if (len > 0 && s[0] == '<') {
		s++, len--;
		while (len > 0 && isspace((unsigned char)s[0]))
			s++, len--;
	}
	size_t n = 0;
	while (n < len && msgid_char((unsigned char)s[n]))
		n++;
	if (n == 0 || n >= size || memchr(s, '@', n) == NULL)
		return 0;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 1;
}
