/*
 * classify_auth.c: Authentication-Results headers (RFC 8601). Each names
 * the host that checked (authserv-id), then one "method=result
 * ptype.property=value …" per check, separated by ";". The classifier
 * only reports them: whoever trusts a result must first check that its
 * authserv-id is our own MTA's, since a sender can write these too.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"
#include "invited/text.h"

#define AR_MAX 4096  /* bytes of one header we read */
#define AR_WORD 256  /* longest key or value kept */

/* The value without comments, blanks for folding; quoted strings kept. */
static void ar_strip(char *out, size_t size, const char *v)
{
	size_t o = 0, depth = 0;
	int quoted = 0;
	for (const char *p = v; *p != '\0' && o + 1 < size; p++) {
		char c = isspace((unsigned char)*p) ? ' ' : *p;
		if (depth > 0) {
			if (c == '\\' && p[1] != '\0')
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		if (quoted && c == '\\' && p[1] != '\0' && o + 2 < size) {
			out[o++] = c;
			c = *++p;
		} else if (c == '"') {
			quoted = !quoted;
		} else if (c == '(' && !quoted) {
			depth = 1;
			c = ' ';
		}
		out[o++] = c;
	}
	out[o] = '\0';
}

struct ar_pair {
	char key[AR_WORD];
	char value[AR_WORD];
	int has_value;
};

static void skip_blanks(const char **p)
{
	while (**p == ' ')
		(*p)++;
}

/* A token, a quoted string, or both run together ("a;b"@example.com). */
static void read_word(const char **p, char *dst, size_t size, const char *stops)
{
	size_t o = 0;
	while (**p != '\0' && **p != ' ' && strchr(stops, **p) == NULL) {
		if (**p != '"') {
			if (o + 1 < size)
				dst[o++] = **p;
			(*p)++;
			continue;
		}
		for ((*p)++; **p != '\0' && **p != '"'; (*p)++) {
			if (**p == '\\' && (*p)[1] != '\0')
				(*p)++;
			if (o + 1 < size)
				dst[o++] = **p;
		}
		if (**p == '"')
			(*p)++;
	}
	dst[o] = '\0';
}

/* The next "key = value" of a resinfo; blanks may surround "=" and ".". */
static int ar_next(const char **p, struct ar_pair *pair)
{
	skip_blanks(p);
	if (**p == '\0')
		return 0;
	read_word(p, pair->key, sizeof(pair->key), "=.");
	for (;;) {
		skip_blanks(p);
		if (**p != '.')
			break;
		size_t n = strlen(pair->key);
		if (n + 1 < sizeof(pair->key))
			pair->key[n++] = '.', pair->key[n] = '\0';
		(*p)++;
		skip_blanks(p);
		read_word(p, pair->key + n, sizeof(pair->key) - n, "=.");
	}
	pair->has_value = **p == '=';
	pair->value[0] = '\0';
	if (pair->has_value) {
		(*p)++;
		skip_blanks(p);
		read_word(p, pair->value, sizeof(pair->value), "");
	}
	return 1;
}

/* Which property names the domain, best first. */
static int domain_rank(const char *key)
{
	static const char *const keys[] = {"header.d", "header.from", "smtp.mailfrom", "header.i",
					   "smtp.helo"};
	for (int i = 0; i < (int)(sizeof(keys) / sizeof(keys[0])); i++)
		if (strcasecmp(key, keys[i]) == 0)
			return i;
	return -1;
}

static void ar_resinfo(const char *seg, const char *authserv_id, int header,
		       struct classify_result *res)
{
	struct ar_pair pair;
	struct auth_result *a;
	int best = -1;
	char *slash;
	if (!ar_next(&seg, &pair) || !pair.has_value || strcasecmp(pair.key, "none") == 0 ||
	    res->n_auth >= CLASSIFY_MAX_AUTH)
		return;
	a = &res->auth[res->n_auth++];
	memset(a, 0, sizeof(*a));
	a->header = header;
	cls_set(a->authserv_id, sizeof(a->authserv_id), authserv_id, strlen(authserv_id));
	if ((slash = strchr(pair.key, '/')) != NULL) /* method/version */
		*slash = '\0';
	cls_set(a->method, sizeof(a->method), pair.key, strlen(pair.key));
	cls_set(a->result, sizeof(a->result), pair.value, strlen(pair.value));
	ascii_lower(a->method);
	ascii_lower(a->result);
	while (ar_next(&seg, &pair)) {
		int rank = domain_rank(pair.key);
		const char *d = strrchr(pair.value, '@');
		if (!pair.has_value || rank < 0 || (best >= 0 && rank >= best))
			continue;
		d = d != NULL ? d + 1 : pair.value;
		cls_set(a->domain, sizeof(a->domain), d, strlen(d));
		ascii_lower(a->domain);
		best = rank;
	}
}

/* Split at ";" outside quoted strings; the first piece is the authserv-id. */
static void ar_parse(const char *value, int header, struct classify_result *res)
{
	char buf[AR_MAX], authserv_id[AR_WORD];
	char *seg = buf, *p;
	int quoted = 0;
	ar_strip(buf, sizeof(buf), value);
	for (p = buf;; p++) {
		if (quoted && *p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
		if (*p != '\0' && (*p != ';' || quoted))
			continue;
		int last = *p == '\0';
		*p = '\0';
		if (seg == buf) {
			const char *s = seg;
			skip_blanks(&s);
			read_word(&s, authserv_id, sizeof(authserv_id), ";");
		} else {
			ar_resinfo(seg, authserv_id, header, res);
		}
		if (last)
			break;
		seg = p + 1;
	}
}

void cls_auth_read(struct cls_msg *m, struct classify_result *res)
{
	const char *v;
	for (int n = 0; (v = cls_field(m->fields, "Authentication-Results", n)) != NULL; n++)
		ar_parse(v, n, res);
}
