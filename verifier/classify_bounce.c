/*
 * classify_bounce.c: telling a bounce from other mail, and reading one.
 * RFC 3464 reports say what they are; the rest are known by the words
 * their MTAs write (Postfix, Exim, qmail, Exchange, Yahoo, …), by who
 * sends them and how, and their words are read by classify_bounce_text.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"
#include "invited/text.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct marker {
	const char *text;
	const char *format;
};

/* Words only a bounce writes, and the software that writes them. */
static const struct marker body_markers[] = {
	{"I'm sorry to have to inform you that your message could not", "Postfix"},
	{"This is the mail system at host", "Postfix"},
	{"This message was created automatically by mail delivery software", "Exim"},
	{"could not be delivered to one or more of its recipients", "Exim"},
	{"This is the qmail-send program", "qmail"},
	{"I wasn't able to deliver your message", "qmail"},
	{"Delivery has failed to these recipients or groups", "Exchange"},
	{"Your message did not reach some or all of the intended recipients", "Exchange"},
	{"Remote Server returned '", "Exchange"},
	{"Sorry, we were unable to deliver your message", "Yahoo"},
	{"Delivery to the following recipient failed permanently", "Gmail"},
	{"The following addresses had permanent fatal errors", "Sendmail"},
	{"The original message was received at", "Sendmail"},
	{"was not delivered to:", "Domino"},
	{"The message that you sent was undeliverable to the following", "GroupWise"},
	{"running the Courier mail server", "Courier"},
	{"------- Failure Reasons", "Domino"},
	{"Delivery to the following recipients failed", "generic"},
	{"Your message could not be delivered", "generic"},
	{"Your message wasn't delivered", "generic"},
};

static const char *const subject_markers[] = {
	"Undelivered Mail", "Mail delivery failed", "Delivery Status Notification",
	"Undeliverable", "failure notice", "Returned mail", "Delayed Mail",
	"Delivery failure", "Delivery delayed", "Mail System Error", "Nondeliverable",
	"Non-delivery", "Warning: could not send message", "mail delivery status",
	"Mail failure", "Message not delivered", "Returned to sender", "\xe9\x80\x80\xe4\xbf\xa1",
};

/*
 * Words every kind of failure notice uses about a recipient. Alone they
 * prove nothing (a person may write them); from a mailer daemon, or under
 * a bounce's subject, they make a bounce of a notice no rule above knows.
 */
static const char *const failure_words[] = {
	"user unknown", "unknown user", "no such user", "mailbox unavailable",
	"mailbox not found", "does not exist", "address rejected", "recipient rejected",
	"not listed in", "undeliverable", "could not be delivered", "was not delivered",
	"delivery failed", "permanent error", "mailbox is full", "over quota",
	"quota exceeded", "account is disabled", "invalid recipient", "invalid mailbox",
	"cannot be delivered", "couldn't be delivered", "wasn't delivered",
	"no longer accepts mail", "recipient not found",
	("\xd0\xbd\xd0\xb5 \xd0\xbc\xd0\xbe\xd0\xb6\xd0\xb5\xd1\x82 \xd0\xb1\xd1\x8b\xd1\x82\xd1\x8c "
	 "\xd0\xb4\xd0\xbe\xd1\x81\xd1\x82\xd0\xb0\xd0\xb2\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xbe"), /* не может быть доставлено */
	"\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8", /* 不存在: does not exist */
};



/* Words of a warning: the MTA is still trying. */
static const char *const delay_markers[] = {
	"still being retried", "Delayed Mail", "This is a warning message only",
	"will continue trying", "will keep trying", "Delivery attempts will continue",
	"has not yet been delivered", "Delivery Status Notification (Delay)",
	"Delivery delayed", "delivery has been delayed", "could not send message for past",
	"THIS IS A WARNING ONLY", "do not need to resend", "will be retried", "will retry",
	"has been delayed", "Delivery incomplete",
};

static const char *const temporary_markers[] = {
	"This is a temporary error", "temporary failure", "temporary problem",
};



/* The heuristics read at most CLS_SCAN_MAX bytes of any text. */
size_t cls_scan_len(const char *s)
{
	return strnlen(s, CLS_SCAN_MAX);
}

int cls_any_of(const char *s, size_t len, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cls_find_ci(s, len, words[i]) != NULL)
			return 1;
	return 0;
}

static const struct marker *body_marker(const struct cls_msg *m)
{
	size_t len;
	if (m->scan == NULL)
		return NULL;
	len = cls_scan_len(m->scan);
	for (size_t i = 0; i < N(body_markers); i++)
		if (cls_find_ci(m->scan, len, body_markers[i].text) != NULL)
			return &body_markers[i];
	return NULL;
}

static const char *subject_marker(const char *subject)
{
	for (size_t i = 0; i < N(subject_markers); i++)
		if (cls_find_ci(subject, strlen(subject), subject_markers[i]) != NULL)
			return subject_markers[i];
	return NULL;
}

int cls_daemon_local(const char *addr, size_t len)
{
	static const char *const locals[] = {"mailer-daemon", "mailer_daemon", "mailerdaemon",
					     "mail-daemon", "postmaster"};
	const char *at = memchr(addr, '@', len);
	size_t llen = at != NULL ? (size_t)(at - addr) : len;
	for (size_t i = 0; i < N(locals); i++)
		if (llen == strlen(locals[i]) && strncasecmp(addr, locals[i], llen) == 0)
			return 1;
	return 0;
}

/* MAILER-DAEMON, postmaster, "Mail Delivery System". */
static int daemon_sender(const struct classify_result *res)
{
	return cls_daemon_local(res->from_addr, strlen(res->from_addr)) ||
	       cls_find_ci(res->from_name, strlen(res->from_name), "Mail Delivery") != NULL ||
	       cls_find_ci(res->from_name, strlen(res->from_name), "Mailer-Daemon") != NULL;
}

/* Return-Path: <>, as bounces (and well-behaved auto-replies) are sent. */
static int null_return_path(const struct cls_msg *m)
{
	const char *v = cls_field(m->fields, "Return-Path", 0);
	size_t o = 0;
	char squeezed[8];
	if (v == NULL)
		return 0;
	for (; *v != '\0' && o + 1 < sizeof(squeezed); v++)
		if (!isspace((unsigned char)*v))
			squeezed[o++] = *v;
	squeezed[o] = '\0';
	return strcmp(squeezed, "<>") == 0;
}

static int is_report(const struct cls_msg *m)
{
	const char *type;
	if (m->body == NULL || !cls_is_type(m->body, "multipart", "report"))
		return 0;
	type = cls_param(m->body, "report-type");
	return type != NULL && (strcasecmp(type, "delivery-status") == 0 ||
				strcasecmp(type, "global-delivery-status") == 0);
}

/*
 * A report is a bounce. Otherwise at least two signs are needed, one of
 * them from the message itself (its words, subject or sender): a reply
 * quoting a bounce, or a vacation notice sent to our envelope sender with
 * a null Return-Path, is not one.
 */
int cls_bounce_detect(struct cls_msg *m, struct classify_result *res)
{
	if (is_report(m) || cls_dsn_part(m) != NULL) {
		snprintf(res->reason, sizeof(res->reason), "delivery status report (RFC 3464)");
		return 1;
	}
	const struct marker *body = body_marker(m);
	const char *subject = subject_marker(res->subject);
	int daemon = daemon_sender(res), to_bounces = res->tag == TAG_BOUNCES;
	int null_path = null_return_path(m);
	/* Failure words count only beside a daemon or a bounce's subject. */
	int failure = body == NULL && (daemon || subject != NULL) && m->scan != NULL &&
		      cls_any_of(m->scan, cls_scan_len(m->scan), failure_words, N(failure_words));
	int signs = (body != NULL) + (subject != NULL) + daemon + to_bounces + null_path + failure;
	if (signs < 2 || (body == NULL && subject == NULL && !daemon))
		return 0;
	if (body != NULL)
		snprintf(res->reason, sizeof(res->reason), "%s bounce text (\"%s\")", body->format,
			 body->text);
	else if (failure)
		snprintf(res->reason, sizeof(res->reason), "failure notice from %s",
			 daemon ? "a mailer daemon" : "under a bounce's subject");
	else
		snprintf(res->reason, sizeof(res->reason), "bounce: %s%s%s%s%s%s",
			 subject != NULL ? "subject \"" : "", subject != NULL ? subject : "",
			 subject != NULL ? "\"" : "", daemon ? ", from a mailer daemon" : "",
			 to_bounces ? ", sent to our bounce address" : "",
			 null_path ? ", null Return-Path" : "");
	return 1;
}

/* What the words of the bounce say about every recipient it names. */
static enum bounce_kind text_hint(const struct cls_msg *m, const struct classify_result *res)
{
	size_t len = m->scan != NULL ? cls_scan_len(m->scan) : 0;
	if (cls_any_of(res->subject, strlen(res->subject), delay_markers, N(delay_markers)) ||
	    cls_any_of(m->scan, len, delay_markers, N(delay_markers)))
		return BOUNCE_DELAYED;
	if (cls_any_of(m->scan, len, temporary_markers, N(temporary_markers)))
		return BOUNCE_TEMPORARY;
	return BOUNCE_PERMANENT;
}

static int is_returned(const struct mailmime *p, void *arg)
{
	(void)arg;
	if (p->mm_type == MAILMIME_MESSAGE)
		return 1;
	return p->mm_type == MAILMIME_SINGLE &&
	       (cls_is_type(p, "message", "rfc822") || cls_is_type(p, "message", "global") ||
		cls_is_type(p, "text", "rfc822-headers") ||
		cls_is_type(p, "message", "global-headers"));
}

/* The Message-ID of a returned message kept as bytes (encoded, or only
 * its header). */
static int returned_id_in_bytes(struct cls_msg *m, const struct mailmime *p,
				struct classify_result *res)
{
	struct mailimf_fields *f = NULL;
	size_t len, idx = 0;
	int headers_ok, found = 0;
	char *s = cls_part_bytes(m, p, CLS_SCAN_MAX, &len);
	if (s == NULL)
		return 0;
	cls_guard(s, len, &headers_ok);
	if (headers_ok) {
		int r = mailimf_envelope_and_optional_fields_parse(s, len, &idx, &f);
		if (r == MAILIMF_ERROR_MEMORY)
			m->oom = 1;
		else if (r == MAILIMF_NO_ERROR) {
			found = cls_fields_msgid(f, res->returned_message_id,
						 sizeof(res->returned_message_id));
			mailimf_fields_free(f);
		}
	}
	free(s);
	return found;
}

/* A "Message-ID:" line in the copy a text bounce quotes. */
static int returned_id_in_text(const char *s, struct classify_result *res)
{
	size_t len = cls_scan_len(s);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t llen = nl != NULL ? (size_t)(nl - s) - i : len - i;
		const char *t = s + i;
		size_t tlen = cls_trim(&t, llen);
		while (tlen > 0 && t[0] == '>')
			t++, tlen = cls_trim(&t, tlen - 1);
		if (tlen > 11 && cls_prefix_ci(t, "Message-ID:") &&
		    cls_msgid(res->returned_message_id, sizeof(res->returned_message_id), t + 11,
			      tlen - 11))
			return 1;
		i += llen + 1;
	}
	return 0;
}

static void returned_id(struct cls_msg *m, const char *raw, struct classify_result *res)
{
	struct mailmime *p = cls_find(m, m->body, is_returned, NULL, 0);
	if (p != NULL && p->mm_type == MAILMIME_MESSAGE &&
	    cls_fields_msgid(p->mm_data.mm_message.mm_fields, res->returned_message_id,
			     sizeof(res->returned_message_id)))
		return;
	if (p != NULL && p->mm_type == MAILMIME_SINGLE && returned_id_in_bytes(m, p, res))
		return;
	if (m->scan != NULL && returned_id_in_text(m->scan, res))
		return;
	if (raw != NULL)
		returned_id_in_text(raw, res);
}

/*
 * The report's fields, else the words of the text part, else (when the
 * MIME structure is broken and libetpan found no parts worth reading) the
 * words of the raw body.
 */
void cls_bounce_read(struct cls_msg *m, struct classify_result *res)
{
	enum bounce_kind hint = text_hint(m, res);
	char *raw = NULL;
	if (!cls_dsn_read(m, res) && m->scan != NULL)
		cls_bounce_text_read(m->scan, res, hint);
	if (m->raw_body != NULL && m->scan != NULL && m->scan == m->text) {
		size_t len = m->raw_body_len < CLS_SCAN_MAX ? m->raw_body_len : CLS_SCAN_MAX;
		if ((raw = cls_clean_text(m->raw_body, len)) == NULL)
			m->oom = 1;
		else if (res->n_rcpts == 0)
			cls_bounce_text_read(raw, res, hint);
	}
	/* A report that says nothing of a recipient's fate (no Action, no
	 * status) leaves it to the notice's words. */
	for (size_t i = 0; i < res->n_rcpts; i++) {
		struct bounce_rcpt *r = &res->rcpts[i];
		if (r->kind == BOUNCE_NONE && r->action[0] == '\0') {
			r->kind = hint;
			snprintf(r->action, sizeof(r->action), "%s",
				 hint == BOUNCE_PERMANENT ? "failed" : "delayed");
		}
	}
	res->bounce = res->n_rcpts == 0 ? hint : BOUNCE_NONE;
	for (size_t i = 0; i < res->n_rcpts; i++)
		if (res->rcpts[i].kind > res->bounce)
			res->bounce = res->rcpts[i].kind;
	returned_id(m, raw, res);
	free(raw);
}
