/*
 * classify_dsn.c: RFC 3464 delivery status reports, read field by field
 * from their message/delivery-status part, and the status codes an SMTP
 * server writes in free text ("550 5.1.1 <x@y>: User unknown").
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"
#include "invited/text.h"

static int is_dsn_part(const struct mailmime *p, void *arg)
{
	(void)arg;
	return p->mm_type == MAILMIME_SINGLE &&
	       (cls_is_type(p, "message", "delivery-status") ||
		cls_is_type(p, "message", "global-delivery-status"));
}

struct mailmime *cls_dsn_part(struct cls_msg *m)
{
	return cls_find(m, m->body, is_dsn_part, NULL, 0);
}

/* Length of an enhanced status code (RFC 3463, "5.1.1") at s[i], or 0. */
static size_t status_at(const char *s, size_t len, size_t i)
{
	size_t j = i + 1;
	if (i > 0 && (isdigit((unsigned char)s[i - 1]) || s[i - 1] == '.'))
		return 0;
	if (s[i] != '2' && s[i] != '4' && s[i] != '5')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t digits = 0;
		if (j >= len || s[j] != '.')
			return 0;
		for (j++; j < len && isdigit((unsigned char)s[j]); j++)
			digits++;
		if (digits == 0 || digits > 3)
			return 0;
	}
	if (j < len && (isdigit((unsigned char)s[j]) ||
			(s[j] == '.' && j + 1 < len && isdigit((unsigned char)s[j + 1]))))
		return 0;
	return j - i;
}

/* A failure reply code ("550", "452") standing alone at s[i], or 0. */
static int smtp_code_at(const char *s, size_t len, size_t i)
{
	const unsigned char *u = (const unsigned char *)s;
	if (i + 3 > len || (u[i] != '4' && u[i] != '5') || !isdigit(u[i + 1]) || !isdigit(u[i + 2]))
		return 0;
	if (i > 0 && (isalnum(u[i - 1]) || u[i - 1] == '.' || u[i - 1] == '-'))
		return 0;
	if (i + 3 < len && !isspace(u[i + 3]) && u[i + 3] != '-')
		return 0;
	return (u[i] - '0') * 100 + (u[i + 1] - '0') * 10 + (u[i + 2] - '0');
}

void cls_status_scan(const char *text, size_t len, char status[16], int *smtp_code,
		     size_t *diag_off)
{
	size_t st = len, stlen = 0, cd = len;
	status[0] = '\0';
	*smtp_code = 0;
	for (size_t i = 0; i < len && stlen == 0; i++)
		if ((stlen = status_at(text, len, i)) != 0)
			st = i;
	if (stlen > 0) {
		memcpy(status, text + st, stlen);
		status[stlen] = '\0';
		/* "550 5.1.1" or "550-5.1.1": the reply code that goes with it */
		if (st >= 4 && (*smtp_code = smtp_code_at(text, len, st - 4)) != 0)
			cd = st - 4;
	}
	for (size_t i = 0; i < len && *smtp_code == 0; i++)
		if ((*smtp_code = smtp_code_at(text, len, i)) != 0)
			cd = i;
	*diag_off = cd < st ? cd : st;
}

enum bounce_kind cls_kind_of(const char *action, const char *status, int smtp_code)
{
	if (strcasecmp(action, "delayed") == 0)
		return BOUNCE_DELAYED;
	if (strcasecmp(action, "delivered") == 0 || strcasecmp(action, "relayed") == 0 ||
	    strcasecmp(action, "expanded") == 0)
		return BOUNCE_NONE;
	if (status[0] == '5' || (status[0] == '\0' && smtp_code / 100 == 5))
		return BOUNCE_PERMANENT;
	if (status[0] == '4' || (status[0] == '\0' && smtp_code / 100 == 4))
		return BOUNCE_TEMPORARY;
	if (strcasecmp(action, "failed") == 0)
		return BOUNCE_PERMANENT;
	return BOUNCE_NONE;
}

/* "rfc822; x@y" → "x@y", "smtp; 550 …" → "550 …": drop the type. */
static const char *drop_type(const char *v, size_t *len)
{
	const char *semi = memchr(v, ';', *len);
	if (semi == NULL)
		return v;
	for (const char *p = v; p < semi; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._ \t", *p))
			return v;
	*len -= (size_t)(semi + 1 - v);
	return semi + 1;
}

static void set_address(char *dst, size_t size, const char *v)
{
	size_t len = strlen(v);
	v = drop_type(v, &len);
	len = cls_trim(&v, len);
	if (len >= 2 && v[0] == '<' && v[len - 1] == '>')
		v++, len -= 2;
	cls_set(dst, size, v, len);
	ascii_lower(dst);
}

/* The first word of v, lower-cased. */
static void set_word(char *dst, size_t size, const char *v)
{
	size_t len = strlen(v), n = 0;
	len = cls_trim(&v, len);
	while (n < len && !isspace((unsigned char)v[n]) && v[n] != ';' && v[n] != '(')
		n++;
	cls_set(dst, size, v, n);
	ascii_lower(dst);
}

static void dsn_recipient(const struct mailimf_fields *f, struct classify_result *res)
{
	const char *addr = cls_field(f, "Final-Recipient", 0), *v;
	const char *orig = cls_field(f, "Original-Recipient", 0);
	struct bounce_rcpt *r;
	size_t len, off;
	int code = 0;
	char found[16];
	if ((addr == NULL && orig == NULL) || res->n_rcpts >= CLASSIFY_MAX_RCPTS)
		return;
	r = &res->rcpts[res->n_rcpts++];
	/* An empty Final-Recipient ("rfc822;") leaves the original's. */
	set_address(r->addr, sizeof(r->addr), addr != NULL ? addr : orig);
	if (r->addr[0] == '\0' && orig != NULL)
		set_address(r->addr, sizeof(r->addr), orig);
	if (r->addr[0] == '\0') { /* names nobody: not a recipient */
		memset(r, 0, sizeof(*r));
		res->n_rcpts--;
		return;
	}
	if ((v = cls_field(f, "Action", 0)) != NULL)
		set_word(r->action, sizeof(r->action), v);
	if ((v = cls_field(f, "Status", 0)) != NULL) {
		len = strlen(v);
		len = cls_trim(&v, len);
		cls_status_scan(v, len, found, &code, &off);
		if (off == 0)
			memcpy(r->status, found, sizeof(found));
	}
	if ((v = cls_field(f, "Diagnostic-Code", 0)) != NULL) {
		len = strlen(v);
		v = drop_type(v, &len);
		cls_set(r->diagnostic, sizeof(r->diagnostic), v, len);
	}
	cls_status_scan(r->diagnostic, strlen(r->diagnostic), found, &code, &off);
	if (r->status[0] == '\0')
		memcpy(r->status, found, sizeof(found));
	r->kind = cls_kind_of(r->action, r->status, code);
	/* No Action field: the status says what happened. */
	if (r->action[0] == '\0' && r->kind != BOUNCE_NONE)
		snprintf(r->action, sizeof(r->action), "%s",
			 r->kind == BOUNCE_PERMANENT ? "failed" : "delayed");
}

/* Skip to the next line when libetpan cannot read a field here. */
static size_t next_line(const char *s, size_t len, size_t idx)
{
	const char *nl = memchr(s + idx, '\n', len - idx);
	return nl == NULL ? len : (size_t)(nl - s) + 1;
}

/*
 * The part is blocks of fields separated by blank lines: one for the
 * message (Reporting-MTA, …), then one per recipient.
 */
/*
 * Report fields pasted into a text body (no message/delivery-status part),
 * as some gateways forward them: from the first line that starts with
 * Reporting-MTA or Final-Recipient on, as a copy to read like a part.
 */
static char *inline_fields(const char *text, size_t *len_r)
{
	static const char *const starts[] = {"Reporting-MTA:", "Final-Recipient:"};
	size_t len = strnlen(text, CLS_SCAN_MAX);
	for (size_t i = 0; i < len; i = next_line(text, len, i)) {
		for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
			if (len - i > strlen(starts[k]) && cls_prefix_ci(text + i, starts[k])) {
				*len_r = len - i;
				return strndup(text + i, len - i);
			}
		}
	}
	return NULL;
}

int cls_dsn_read(struct cls_msg *m, struct classify_result *res)
{
	struct mailmime *p = cls_dsn_part(m);
	size_t len, idx = 0;
	int headers_ok;
	char *s;
	if (p == NULL && m->scan != NULL) {
		if ((s = inline_fields(m->scan, &len)) == NULL)
			return 0;
	} else if (p == NULL || (s = cls_part_bytes(m, p, CLS_SCAN_MAX, &len)) == NULL) {
		return 0;
	}
	/* libetpan reads a field only up to its line end: a part that stops
	 * right after its last field (no CRLF before the boundary) gets one. */
	if (len > 0 && s[len - 1] != '\n') {
		char *grown = realloc(s, len + 3);
		if (grown == NULL) {
			free(s);
			m->oom = 1;
			return 0;
		}
		s = grown;
		memcpy(s + len, "\r\n", 3);
		len += 2;
	}
	cls_guard(s, len, &headers_ok);
	while (headers_ok && idx < len && res->n_rcpts < CLASSIFY_MAX_RCPTS) {
		struct mailimf_fields *f = NULL;
		size_t before = idx;
		while (mailimf_crlf_parse(s, len, &idx) == MAILIMF_NO_ERROR)
			;
		int r = mailimf_optional_fields_parse(s, len, &idx, &f);
		if (r == MAILIMF_ERROR_MEMORY) {
			m->oom = 1;
			break;
		}
		if (r == MAILIMF_NO_ERROR) {
			dsn_recipient(f, res);
			mailimf_fields_free(f);
		}
		if (idx == before)
			idx = next_line(s, len, idx);
	}
	free(s);
	return res->n_rcpts > 0;
}
