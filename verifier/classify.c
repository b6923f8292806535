/*
 * classify.c: what an inbound message is. The header tells who sent it
 * and to which of our tagged addresses; then a bounce (which wins, since
 * bounces often carry auto-reply markers too), an auto-reply, a reply, or
 * unknown with the reason. Parsing is in classify_mime.c, bounces in
 * classify_bounce.c and classify_dsn.c, the rest beside them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"
#include "invited/text.h"

const char *mail_class_str(enum mail_class cls)
{
	static const char *const names[] = {
		[MAIL_UNKNOWN] = "unknown",
		[MAIL_BOUNCE] = "bounce",
		[MAIL_AUTO_REPLY] = "auto_reply",
		[MAIL_REPLY] = "reply",
	};
	return cls <= MAIL_REPLY ? names[cls] : "unknown";
}

const char *mail_tag_str(enum mail_tag tag)
{
	static const char *const names[] = {
		[TAG_NONE] = "",
		[TAG_BOUNCES] = "bounces",
		[TAG_VERIFY] = "verify",
		[TAG_REPLY] = "reply",
	};
	return tag <= TAG_REPLY ? names[tag] : "";
}

const char *bounce_kind_str(enum bounce_kind kind)
{
	static const char *const names[] = {
		[BOUNCE_NONE] = "none",
		[BOUNCE_DELAYED] = "delayed",
		[BOUNCE_TEMPORARY] = "temporary",
		[BOUNCE_PERMANENT] = "permanent",
	};
	return kind <= BOUNCE_PERMANENT ? names[kind] : "none";
}

void classify_result_clear(struct classify_result *res)
{
	free(res->text);
	memset(res, 0, sizeof(*res));
}

static const struct mailimf_field *field_of(const struct mailimf_fields *f, int type)
{
	if (f == NULL || f->fld_list == NULL)
		return NULL;
	for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_field *fld = clist_content(it);
		if (fld->fld_type == type)
			return fld;
	}
	return NULL;
}

/* A header value with its encoded words decoded, on one clean line. */
static int set_decoded(char *dst, size_t size, const char *raw)
{
	char *decoded = cls_decode_words(raw);
	if (decoded == NULL)
		return -1;
	cls_set(dst, size, decoded, strlen(decoded));
	free(decoded);
	return 0;
}

/* From: as libetpan kept it when it could not parse it: "Name <x@y>"
 * or "x@y". */
static int from_unparsed(const char *v, struct classify_result *res)
{
	const char *lt = strrchr(v, '<'), *addr = v;
	size_t n, name_len = 0;
	if (lt != NULL)
		addr = lt + 1, name_len = (size_t)(lt - v);
	while (isspace((unsigned char)*addr))
		addr++;
	if (cls_addr_at(addr, strlen(addr), &n)) {
		cls_set(res->from_addr, sizeof(res->from_addr), addr, n);
		ascii_lower(res->from_addr);
	}
	if (name_len == 0)
		return 0;
	char *name = strndup(v, name_len);
	if (name == NULL)
		return -1;
	int r = set_decoded(res->from_name, sizeof(res->from_name), name);
	free(name);
	return r;
}

/* How many addresses the From fields name, all of them: a message with
 * more than one leaves unknowable which one a signature vouched for. */
static int from_count(const struct mailimf_fields *f)
{
	int n = 0;
	for (clistiter *it = f != NULL && f->fld_list != NULL ? clist_begin(f->fld_list) : NULL;
	     it != NULL; it = clist_next(it)) {
		const struct mailimf_field *fld = clist_content(it);
		if (fld->fld_type == MAILIMF_FIELD_FROM) {
			const struct mailimf_mailbox_list *l =
				fld->fld_data.fld_from != NULL ? fld->fld_data.fld_from->frm_mb_list
							       : NULL;
			n += l != NULL && l->mb_list != NULL ? clist_count(l->mb_list) : 1;
		} else if (fld->fld_type == MAILIMF_FIELD_OPTIONAL_FIELD &&
			   fld->fld_data.fld_optional_field != NULL &&
			   fld->fld_data.fld_optional_field->fld_name != NULL &&
			   strcasecmp(fld->fld_data.fld_optional_field->fld_name, "From") == 0) {
			n++; /* one libetpan could not parse */
		}
	}
	return n;
}

static int read_from(const struct mailimf_fields *f, struct classify_result *res)
{
	res->from_count = from_count(f);
	const struct mailimf_field *fld = field_of(f, MAILIMF_FIELD_FROM);
	const struct mailimf_mailbox *mb = NULL;
	const char *raw;
	if (fld != NULL && fld->fld_data.fld_from != NULL &&
	    fld->fld_data.fld_from->frm_mb_list != NULL &&
	    fld->fld_data.fld_from->frm_mb_list->mb_list != NULL) {
		clistiter *it = clist_begin(fld->fld_data.fld_from->frm_mb_list->mb_list);
		mb = it != NULL ? clist_content(it) : NULL;
	}
	if (mb == NULL)
		return (raw = cls_field(f, "From", 0)) != NULL ? from_unparsed(raw, res) : 0;
	if (mb->mb_addr_spec != NULL) {
		cls_set(res->from_addr, sizeof(res->from_addr), mb->mb_addr_spec,
			strlen(mb->mb_addr_spec));
		ascii_lower(res->from_addr);
	}
	if (mb->mb_display_name != NULL)
		return set_decoded(res->from_name, sizeof(res->from_name), mb->mb_display_name);
	return 0;
}

static int read_subject(const struct mailimf_fields *f, struct classify_result *res)
{
	const struct mailimf_field *fld = field_of(f, MAILIMF_FIELD_SUBJECT);
	const char *raw = NULL;
	if (fld != NULL && fld->fld_data.fld_subject != NULL)
		raw = fld->fld_data.fld_subject->sbj_value;
	if (raw == NULL)
		raw = cls_field(f, "Subject", 0);
	return raw != NULL ? set_decoded(res->subject, sizeof(res->subject), raw) : 0;
}

static void read_in_reply_to(const struct mailimf_fields *f, struct classify_result *res)
{
	const struct mailimf_field *fld = field_of(f, MAILIMF_FIELD_IN_REPLY_TO);
	const char *raw = NULL;
	if (fld != NULL && fld->fld_data.fld_in_reply_to != NULL &&
	    fld->fld_data.fld_in_reply_to->mid_list != NULL) {
		clistiter *it = clist_begin(fld->fld_data.fld_in_reply_to->mid_list);
		raw = it != NULL ? clist_content(it) : NULL;
	}
	if (raw == NULL)
		raw = cls_field(f, "In-Reply-To", 0);
	if (raw != NULL)
		cls_msgid(res->in_reply_to, sizeof(res->in_reply_to), raw, strlen(raw));
}

static int read_header(struct cls_msg *m, struct classify_result *res)
{
	cls_fields_msgid(m->fields, res->message_id, sizeof(res->message_id));
	read_in_reply_to(m->fields, res);
	if (read_from(m->fields, res) < 0 || read_subject(m->fields, res) < 0)
		return -1;
	return 0;
}

static int is_body_text(const struct mailmime *p, void *arg)
{
	(void)arg;
	return p->mm_type == MAILMIME_SINGLE && cls_is_type(p, "text", "plain") &&
	       !cls_is_attachment(p);
}

/* The first text/plain part is the text; the heuristics read it, or the
 * raw body when there is none (a broken multipart, say). */
static void read_text(struct cls_msg *m)
{
	struct mailmime *p = m->body != NULL ? cls_find(m, m->body, is_body_text, NULL, 0) : NULL;
	if (p != NULL)
		m->text = cls_part_utf8(m, p);
	if (m->text != NULL) {
		m->scan = m->text;
	} else if (m->raw_body != NULL) {
		size_t len = m->raw_body_len < CLS_SCAN_MAX ? m->raw_body_len : CLS_SCAN_MAX;
		if ((m->scan = cls_clean_text(m->raw_body, len)) == NULL)
			m->oom = 1;
	}
}

/* The first word of a header value, as "auto-replied" in
 * "Auto-Submitted: auto-replied; owner-email=…". */
static int first_word_is(const char *v, const char *word)
{
	size_t len = strlen(v), n = 0;
	len = cls_trim(&v, len);
	while (n < len && !isspace((unsigned char)v[n]) && v[n] != ';' && v[n] != '(')
		n++;
	return n == strlen(word) && strncasecmp(v, word, n) == 0;
}

static const char *const vacation_words[] = {
	"out of office", "out of the office", "automatic reply", "auto reply", "autoreply",
	"auto-reply", "auto:", "vacation", "away from", "abwesenheit", "absence", "不在",
	"自動応答",
};

static int vacation_subject(const char *subject)
{
	for (size_t i = 0; i < sizeof(vacation_words) / sizeof(vacation_words[0]); i++)
		if (cls_find_ci(subject, strlen(subject), vacation_words[i]) != NULL)
			return 1;
	return 0;
}

static int is_mdn(const struct cls_msg *m)
{
	const char *type;
	if (m->body == NULL || !cls_is_type(m->body, "multipart", "report"))
		return 0;
	type = cls_param(m->body, "report-type");
	return type != NULL && strcasecmp(type, "disposition-notification") == 0;
}

/* RFC 3834 and the markers older responders use. */
static int auto_reply(const struct cls_msg *m, struct classify_result *res)
{
	const struct mailimf_fields *f = m->fields;
	const char *v, *why = NULL;
	char word[32];
	if ((v = cls_field(f, "Auto-Submitted", 0)) != NULL && !first_word_is(v, "no")) {
		cls_set(word, sizeof(word), v, strlen(v));
		snprintf(res->reason, sizeof(res->reason), "Auto-Submitted: %s", word);
		return 1;
	}
	if ((v = cls_field(f, "X-Autoreply", 0)) != NULL && !first_word_is(v, "no"))
		why = "X-Autoreply";
	else if (cls_field(f, "X-Autorespond", 0) != NULL)
		why = "X-Autorespond";
	else if ((v = cls_field(f, "Precedence", 0)) != NULL &&
		 (first_word_is(v, "auto_reply") || first_word_is(v, "bulk") ||
		  first_word_is(v, "junk"))) {
		cls_set(word, sizeof(word), v, strlen(v));
		snprintf(res->reason, sizeof(res->reason), "Precedence: %s", word);
		return 1;
	} else if (cls_field(f, "X-Auto-Response-Suppress", 0) != NULL &&
		   vacation_subject(res->subject))
		why = "X-Auto-Response-Suppress and a vacation subject";
	else if (is_mdn(m))
		why = "message disposition notification (RFC 8098)";
	if (why == NULL)
		return 0;
	snprintf(res->reason, sizeof(res->reason), "%s", why);
	return 1;
}

static void decide(struct cls_msg *m, const char *domain, struct classify_result *res)
{
	static const char *const tag_words[] = {"", "bounces", "verify", "reply"};
	if (cls_bounce_detect(m, res)) {
		res->cls = MAIL_BOUNCE;
		cls_bounce_read(m, res);
		if (res->tag == TAG_NONE)
			cls_tag_find_returned(m, domain, res);
	} else if (auto_reply(m, res)) {
		res->cls = MAIL_AUTO_REPLY;
	} else if (res->tag == TAG_REPLY || res->tag == TAG_VERIFY) {
		res->cls = MAIL_REPLY;
		snprintf(res->reason, sizeof(res->reason), "sent to %s+%s@%s", tag_words[res->tag],
			 res->code, domain);
	} else if (res->in_reply_to[0] != '\0') {
		res->cls = MAIL_REPLY;
		snprintf(res->reason, sizeof(res->reason), "answers <%s>", res->in_reply_to);
	} else {
		res->cls = MAIL_UNKNOWN;
		snprintf(res->reason, sizeof(res->reason), "%s%s",
			 res->tag == TAG_BOUNCES
			     ? "sent to a bounce address, but neither a bounce nor an auto-reply"
			     : "not a bounce or an auto-reply, and not sent to a reply address",
			 m->too_deep ? " (parts nested too deeply were skipped)" : "");
	}
}

int classify_message(const char *data, size_t len, const struct classify_opts *opts,
		     struct classify_result *res, const char **error_r)
{
	const char *domain = opts != NULL && opts->reply_domain != NULL ? opts->reply_domain : "";
	struct cls_msg m;
	memset(res, 0, sizeof(*res));
	if (error_r != NULL)
		*error_r = NULL;
	if (cls_msg_open(&m, data, len) < 0 || read_header(&m, res) < 0)
		goto oom;
	cls_tag_find(&m, domain, res);
	if (m.len == 0) {
		snprintf(res->reason, sizeof(res->reason), "empty message");
	} else if (m.refused != NULL) {
		/* Best effort: the header, when it was safe to read. */
		snprintf(res->reason, sizeof(res->reason), "%s; not parsed", m.refused);
	} else {
		read_text(&m);
		cls_auth_read(&m, res);
		decide(&m, domain, res);
	}
	if (m.oom)
		goto oom;
	res->text = m.text;
	if (m.scan == m.text)
		m.scan = NULL;
	m.text = NULL;
	cls_msg_close(&m);
	return 0;
oom:
	cls_msg_close(&m);
	classify_result_clear(res);
	if (error_r != NULL)
		*error_r = "out of memory";
	return -1;
}
