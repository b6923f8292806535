/*
 * classify_bounce_text.c: reading a bounce that is no RFC 3464 report, by
 * its words, line by line: an address that starts a line opens a
 * recipient, the lines under it are its diagnostic; the notice ends where
 * the copy of the returned message starts.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"
#include "invited/text.h"

#define PARA_MAX 2048 /* bytes of one recipient's paragraph we read */
#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Shorter stems for a line that names an address: "Delivery failed 3
 * attempts: x@y", "User mailbox exceeds allowed size: x@y", "Your message
 * wasn't delivered to x@y because …". Read only inside a bounce.
 */
static const char *const failure_stems[] = {
	"unknown", "no such", "not found", "unavailable", "rejected", "refused", "failed",
	"failure", "exceeds", "full", "quota", "disabled", "not exist", "doesn't exist",
	"invalid", "undeliverable", "not delivered", "wasn't delivered", "couldn't be",
	"could not be", "cannot be", "can't be", "not listed", "no longer", "denied",
	"temporary problem", "delayed", "\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8", /* 不存在 */
	"\xe9\x80\x80\xe4\xbf\xa1", /* 退信: returned mail */
	"\xd0\xbd\xd0\xb5 \xd0\xbc\xd0\xbe\xd0\xb6\xd0\xb5\xd1\x82", /* не может */
};

/* Labels a notice puts before the recipient: "Recipient: x@y". */
static const char *const rcpt_labels[] = {
	"recipient", "\xe6\x94\xb6\xe4\xbb\xb6\xe4\xba\xba", /* 收件人 */
	"\xd0\xbf\xd0\xbe\xd0\xbb\xd1\x83\xd1\x87\xd0\xb0\xd1\x82\xd0\xb5\xd0\xbb", /* получател */
	"destinataire", "destinatario", "empf\xc3\xa4nger",
};

/* Lines where the copy of the returned message starts. */
static const char *const copy_lines[] = {
	"Original message headers", "Return-Path:", "Received:", "Content-Type: message/",
	"Content-Type: text/rfc822-headers",
};

/* The failure notice ends where the copy of the returned message starts. */
static size_t notice_len(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *line = s + i, *t = line;
		const char *nl = memchr(line, '\n', len - i);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - i;
		size_t tlen = cls_trim(&t, llen);
		if (tlen >= 2 && t[0] == '-' && t[1] == '-' &&
		    (cls_find_ci(t, tlen, "message") != NULL ||
		     cls_find_ci(t, tlen, "original") != NULL))
			return i;
		for (size_t k = 0; k < N(copy_lines); k++)
			if (llen >= strlen(copy_lines[k]) && cls_prefix_ci(line, copy_lines[k]))
				return i;
		i += llen + 1;
	}
	return len;
}

/*
 * An address a failed recipient may have: not a mailer daemon or
 * postmaster (a notice asks you to write to them) nor one of our own
 * tagged addresses (bounces+, reply+, verify+: the returned message's
 * sender).
 */
static int own_address(const char *a, size_t n)
{
	static const char *const ours[] = {"bounces+", "reply+", "verify+"};
	if (cls_daemon_local(a, n))
		return 0;
	for (size_t i = 0; i < N(ours); i++)
		if (n > strlen(ours[i]) && strncasecmp(a, ours[i], strlen(ours[i])) == 0)
			return 0;
	return 1;
}

/* cls_addr_at, its domain cut before CJK or full-width punctuation
 * ("x@y，用户不存在": the domain reader takes UTF-8 for IDN letters). */
static int addr_at(const char *s, size_t left, size_t *n)
{
	if (!cls_addr_at(s, left, n))
		return 0;
	const unsigned char *u = (const unsigned char *)s;
	const unsigned char *at = memchr(u, '@', *n);
	for (size_t i = (size_t)(at - u) + 1; i + 1 < *n; i++) {
		if ((u[i] == 0xe3 && u[i + 1] == 0x80) ||
		    (u[i] == 0xef && (u[i + 1] == 0xbc || u[i + 1] == 0xbd))) {
			*n = i;
			break;
		}
	}
	while (*n > 0 && s[*n - 1] == '.')
		(*n)--;
	return *n > (size_t)(at - u) + 1;
}

struct rcpt_line {
	const char *addr;
	size_t alen, indent;
	const char *rest;
	size_t rlen;
};

/* A line opening a recipient: "<x@y>: …", "<x@y> (expanded from …): …",
 * "x@y<mailto:x@y>", "x@y" alone or "x@y:"; never the postmaster a
 * notice asks you to write to. */
static int rcpt_line(const char *s, size_t len, struct rcpt_line *rl)
{
	size_t i = 0, n;
	int angle;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	rl->indent = i;
	/* Exchange 2003: "'x@y' on 2/7/2025 9:15 AM": the rest is its date. */
	if (i < len && (s[i] == '\'' || s[i] == '"')) {
		char q = s[i++];
		if (!addr_at(s + i, len - i, &n) || !own_address(s + i, n) ||
		    i + n >= len || s[i + n] != q)
			return 0;
		rl->addr = s + i;
		rl->alen = n;
		rl->rest = s + i + n + 1;
		rl->rlen = len - i - n - 1;
		return 1;
	}
	angle = i < len && s[i] == '<';
	i += (size_t)angle;
	if (i >= len || !addr_at(s + i, len - i, &n) || !own_address(s + i, n))
		return 0;
	/* "收件人：x@y": a full-width colon is a label's end (label_line's). */
	if (cls_find_ci(s + i, n, "\xef\xbc\x9a") != NULL)
		return 0;
	rl->addr = s + i;
	rl->alen = n;
	i += n;
	if (angle && (i >= len || s[i++] != '>'))
		return 0;
	if (len - i >= 3 && memcmp(s + i, "...", 3) == 0) { /* Sendmail: "x@y... User unknown" */
		rl->rest = s + i + 3;
		rl->rlen = len - i - 3;
		return 1;
	}
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i < len && (s[i] == '(' || s[i] == '<')) { /* "(expanded from …)", "<mailto:…>" */
		const char *open = s + i, *close = memchr(s + i, s[i] == '(' ? ')' : '>', len - i);
		if (close == NULL)
			return 0;
		i = (size_t)(close - s) + 1;
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		/* GroupWise: "x@y (user not found)" — the comment is the reason. */
		if (i >= len && *open == '(' && cls_find_ci(open, (size_t)(close - open),
							    "expanded from") == NULL) {
			rl->rest = open + 1;
			rl->rlen = (size_t)(close - open) - 1;
			return 1;
		}
	}
	if (i < len && s[i] != ':')
		return 0;
	i += i < len;
	rl->rest = s + i;
	rl->rlen = len - i;
	return 1;
}

/* The word "from" just before an address: the returned mail's sender. */
static int after_from(const char *s, const char *a)
{
	const char *p = a;
	while (p > s && (p[-1] == ' ' || p[-1] == '<' || p[-1] == '=' || p[-1] == ':'))
		p--;
	return p - s >= 4 && strncasecmp(p - 4, "from", 4) == 0 &&
	       (p - s == 4 || !isalpha((unsigned char)p[-5]));
}

/*
 * An address in s[0..len) a recipient may have (never the returned
 * mail's sender, after "from"): the first, or with last the last one
 * ("from a@x to b@y was rejected": b). NULL when there is none.
 */
static const char *find_address(const char *s, size_t len, int last, size_t *n)
{
	const char *found = NULL;
	size_t fn = 0;
	for (const char *at = memchr(s, '@', len); at != NULL;
	     at = memchr(at + 1, '@', len - (size_t)(at + 1 - s))) {
		const char *a = at;
		while (a > s && !isspace((unsigned char)a[-1]) && !strchr("<(['\":;,=/>)", a[-1]) &&
		       (unsigned char)a[-1] < 0x80)
			a--;
		if (!addr_at(a, len - (size_t)(a - s), n) || a + *n <= at || !own_address(a, *n) ||
		    after_from(s, a))
			continue;
		found = a, fn = *n;
		if (!last)
			break;
	}
	*n = fn;
	return found;
}

/* A stem as a word of its own: "full" is not in "successfully". */
static int any_word(const char *s, size_t len, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(words[i]);
		for (const char *p = s, *end = s + len; p < end;) {
			const char *hit = cls_find_ci(p, (size_t)(end - p), words[i]);
			if (hit == NULL)
				break;
			int before = hit > s && isalpha((unsigned char)hit[-1]);
			int after = hit + w < end && isalpha((unsigned char)hit[w]);
			if ((unsigned char)words[i][0] >= 0x80 || (!before && !after))
				return 1;
			p = hit + 1;
		}
	}
	return 0;
}

/* A recipient whose line, trimmed (t, tlen), is all its diagnostic. */
static int whole_line(struct rcpt_line *rl, const char *s, const char *t, size_t tlen,
		      const char *a, size_t n)
{
	rl->addr = a;
	rl->alen = n;
	rl->indent = (size_t)(t - s);
	rl->rest = t;
	rl->rlen = tlen;
	return 1;
}

/*
 * "Unknown user: x@y", "Delivery failed 3 attempts: x@y", "收件人：x@y":
 * words that fail (or name the recipient), a colon or dash, then the
 * address, as many small MTAs write a failed recipient. The whole line
 * is its diagnostic.
 */
static int label_line(const char *s, size_t len, struct rcpt_line *rl)
{
	const char *t = s, *a;
	size_t tlen = cls_trim(&t, len), n, plen;
	if ((a = find_address(t, tlen, 0, &n)) == NULL || a == t)
		return 0;
	plen = (size_t)(a - t);
	while (plen > 0 && (t[plen - 1] == ' ' || t[plen - 1] == '<' || t[plen - 1] == '\t'))
		plen--;
	int colon = plen >= 1 && (t[plen - 1] == ':' || t[plen - 1] == '-');
	int wide = plen >= 3 && memcmp(t + plen - 3, "\xef\xbc\x9a", 3) == 0; /* ： */
	if ((!colon && !wide) || plen > 100 ||
	    !(any_word(t, plen, failure_stems, N(failure_stems)) ||
	      cls_any_of(t, plen, rcpt_labels, N(rcpt_labels))))
		return 0;
	return whole_line(rl, s, t, tlen, a, n);
}

/* "Your message wasn't delivered to x@y because the address couldn't be
 * found": a line with a recipient's address anywhere and words that fail. */
static int mid_line(const char *s, size_t len, struct rcpt_line *rl)
{
	const char *t = s, *a;
	size_t tlen = cls_trim(&t, len), n;
	if ((a = find_address(t, tlen, 1, &n)) == NULL ||
	    !any_word(t, tlen, failure_stems, N(failure_stems)))
		return 0;
	return whole_line(rl, s, t, tlen, a, n);
}

/* One recipient's paragraph as it is being read. */
struct para {
	char addr[MAX_EMAIL_LEN + 1];
	size_t indent;
	char text[PARA_MAX];
	size_t len;
	int open;
};

static void para_add(struct para *p, const char *s, size_t len)
{
	len = cls_trim(&s, len);
	if (len == 0)
		return;
	/* Domino puts the reason under a "because:" of its own. */
	if (p->len == 0 && len == 8 && strncasecmp(s, "because:", 8) == 0)
		return;
	if (p->len > 0 && p->len + 1 < sizeof(p->text))
		p->text[p->len++] = ' ';
	if (len > sizeof(p->text) - 1 - p->len)
		len = sizeof(p->text) - 1 - p->len;
	memcpy(p->text + p->len, s, len);
	p->len += len;
	p->text[p->len] = '\0';
}

/* The diagnostic runs from the reply code to the end, less the words
 * qmail adds after it and the quote Exchange puts around it. */
static void set_diagnostic(char *dst, size_t size, const char *s, size_t len)
{
	static const char *const tails[] = {"Giving up on", "I'm not going to try again"};
	for (size_t i = 0; i < N(tails); i++) {
		const char *t = cls_find_ci(s, len, tails[i]);
		if (t != NULL)
			len = (size_t)(t - s);
	}
	len = cls_trim(&s, len);
	while (len > 0 && (s[len - 1] == '\'' || isspace((unsigned char)s[len - 1])))
		len--;
	/* "(reason: 550 …)", "<host #5.1.1 smtp;550 …>" read from the code
	 * on: the closing bracket is not the diagnostic's. */
	for (const char *pair = "()<>"; *pair != '\0'; pair += 2) {
		int depth = 0;
		for (size_t i = 0; i < len; i++)
			depth += s[i] == pair[0] ? 1 : s[i] == pair[1] ? -1 : 0;
		if (depth < 0 && len > 0 && s[len - 1] == pair[1])
			len--;
	}
	cls_set(dst, size, s, len);
}

static struct bounce_rcpt *rcpt_slot(struct classify_result *res, const char *addr, int *fresh)
{
	for (size_t i = 0; i < res->n_rcpts; i++) {
		if (strcasecmp(res->rcpts[i].addr, addr) == 0) {
			*fresh = 0;
			return &res->rcpts[i];
		}
	}
	if (res->n_rcpts >= CLASSIFY_MAX_RCPTS)
		return NULL;
	*fresh = 1;
	return &res->rcpts[res->n_rcpts++];
}

/* A recipient named twice (Exchange does) keeps the mention with a code. */
static void para_flush(struct para *p, struct classify_result *res, enum bounce_kind hint)
{
	struct bounce_rcpt *r;
	char status[16];
	size_t off;
	int code, fresh;
	p->open = 0;
	cls_status_scan(p->text, p->len, status, &code, &off);
	if ((r = rcpt_slot(res, p->addr, &fresh)) == NULL)
		return;
	if (!fresh && (r->status[0] != '\0' || (status[0] == '\0' && code == 0)))
		return;
	memset(r, 0, sizeof(*r));
	memcpy(r->addr, p->addr, sizeof(r->addr));
	memcpy(r->status, status, sizeof(status));
	set_diagnostic(r->diagnostic, sizeof(r->diagnostic), p->text + (off < p->len ? off : 0),
		       off < p->len ? p->len - off : p->len);
	r->kind = hint == BOUNCE_DELAYED ? BOUNCE_DELAYED : cls_kind_of("", status, code);
	if (r->kind == BOUNCE_NONE)
		r->kind = hint;
	snprintf(r->action, sizeof(r->action), "%s",
		 r->kind == BOUNCE_DELAYED ? "delayed" : "failed");
}

static int same_addr(const char *addr, const char *a, size_t n)
{
	return strlen(addr) == n && strncasecmp(addr, a, n) == 0;
}

static void para_open(struct para *p, const struct rcpt_line *rl)
{
	cls_set(p->addr, sizeof(p->addr), rl->addr, rl->alen);
	ascii_lower(p->addr);
	p->indent = rl->indent;
	p->len = 0;
	p->text[0] = '\0';
	p->open = 1;
	para_add(p, rl->rest, rl->rlen);
}

/*
 * A notice about one recipient that gave no reply code beside the address
 * often quotes the server's reply a paragraph further ("The response from
 * the remote server was:" / "550 5.1.1 …"): the first line that carries
 * an enhanced status code is then that recipient's.
 */
static void lone_reply(const char *s, size_t len, struct classify_result *res,
		       enum bounce_kind hint)
{
	struct bounce_rcpt *r = &res->rcpts[0];
	size_t i = 0;
	if (res->n_rcpts != 1 || r->status[0] != '\0')
		return;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t llen = nl != NULL ? (size_t)(nl - s) - i : len - i, off;
		char status[16];
		int code;
		cls_status_scan(s + i, llen, status, &code, &off);
		if (status[0] != '\0' && code != 0) {
			memcpy(r->status, status, sizeof(status));
			set_diagnostic(r->diagnostic, sizeof(r->diagnostic), s + i + off, llen - off);
			if (hint != BOUNCE_DELAYED)
				r->kind = cls_kind_of("", status, code);
			return;
		}
		i += llen + 1;
	}
}

/*
 * A recipient's paragraph ends at a blank line once it has words, or at
 * the next recipient. A line naming an address further indented than its
 * recipient's is a continuation (Postfix wraps "<x@y>: Recipient address
 * rejected" under "<x@y>: host … said:").
 */
void cls_bounce_text_read(const char *s, struct classify_result *res, enum bounce_kind hint)
{
	size_t len = notice_len(s, cls_scan_len(s)), i = 0;
	struct para *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t llen = nl != NULL ? (size_t)(nl - s) - i : len - i;
		struct rcpt_line rl;
		const char *t = s + i;
		if ((rcpt_line(s + i, llen, &rl) || label_line(s + i, llen, &rl)) &&
		    !(p->open && rl.indent > p->indent)) {
			if (p->open)
				para_flush(p, res, hint);
			para_open(p, &rl);
		} else if (mid_line(s + i, llen, &rl) &&
			   !(p->open && (rl.indent > p->indent ||
					 same_addr(p->addr, rl.addr, rl.alen)))) {
			if (p->open)
				para_flush(p, res, hint);
			para_open(p, &rl);
		} else if (p->open && cls_trim(&t, llen) == 0) {
			if (p->len > 0)
				para_flush(p, res, hint);
		} else if (p->open) {
			para_add(p, s + i, llen);
		}
		i += llen + 1;
	}
	if (p->open)
		para_flush(p, res, hint);
	free(p);
	lone_reply(s, len, res, hint);
}
