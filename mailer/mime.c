/*
 * mime.c: building messages with libetpan's MIME and RFC 5322 writers.
 * Every header value is checked here for control characters (the header
 * injection guard) and written as RFC 2047 encoded words when it is not
 * plain ASCII; libetpan folds the lines and quoted-printable encodes the
 * bodies.
 */
#include <libetpan/libetpan.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "invited/limits.h"
#include "invited/log.h"
#include "invited/mime.h"
#include "invited/text.h"

#define EW_PREFIX "=?UTF-8?B?"
#define EW_MAX_RAW 36 /* 48 base64 characters: a word of 60. libetpan folds
			 * before a word that would pass column 72, and a
			 * fold right after "Subject:" reads as a leading
			 * space; 60 keeps the first word on that line. */

/* Characters on a line sent as it is, without its CRLF: RFC 5322 allows
 * 998, but libetpan's writer breaks a line when it reaches 998. */
#define MIME_LINE_MAX 997

/* The longest word (a run without a space) a header value may carry as
 * it is: what a folded line holds after its leading space. A longer one
 * cannot be folded, and libetpan breaks any line at 998 characters, in
 * the middle of the word (found by tests/fuzz/fuzz_mime). */
#define PLAIN_WORD_MAX 76

/* 1 when s is printable ASCII in foldable words, with nothing a decoder
 * might take for an encoded word. */
static int plain_ascii(const char *s)
{
	size_t word = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return 0;
		word = *p == ' ' ? 0 : word + 1;
		if (word > PLAIN_WORD_MAX)
			return 0;
	}
	return strstr(s, "=?") == NULL;
}

/* Bytes of the UTF-8 sequence starting with lead byte c. */
static size_t utf8_seq_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

char *mime_encode_header(const char *utf8)
{
	size_t len = strlen(utf8);
	if (!text_ok(utf8, len, TEXT_LINE))
		return NULL;
	if (plain_ascii(utf8))
		return strdup(utf8);
	/* Worst case: every 45 bytes become a 73-byte word plus a space. */
	size_t cap = (len / EW_MAX_RAW + 1) * 80 + 1;
	char *out = malloc(cap), *w = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = 0;
		while (i + n < len) {
			size_t seq = utf8_seq_len((unsigned char)utf8[i + n]);
			if (n + seq > EW_MAX_RAW)
				break;
			n += seq;
		}
		if (w != out)
			*w++ = ' ';
		memcpy(w, EW_PREFIX, sizeof(EW_PREFIX) - 1);
		w += sizeof(EW_PREFIX) - 1;
		sodium_bin2base64(w, cap - (size_t)(w - out), (const unsigned char *)utf8 + i, n,
				  sodium_base64_VARIANT_ORIGINAL);
		w += strlen(w);
		memcpy(w, "?=", 3);
		w += 2;
		i += n;
	}
	return out;
}

static int atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int local_part_valid(const char *s, size_t n)
{
	if (n == 0 || n > MAX_LOCAL_PART_LEN || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
		if (s[i] != '.' && !atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int domain_valid(const char *s)
{
	size_t n = strlen(s), label = 0, labels = 0;
	if (n == 0 || n > MAX_DOMAIN_LEN)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			labels++;
			label = 0;
			continue;
		}
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 (c == '-' && label > 0);
		if (!ok)
			return 0;
		label++;
	}
	return labels >= 2;
}

int mime_addr_valid(const char *s)
{
	const char *at = s ? strrchr(s, '@') : NULL;
	if (at == NULL || strlen(s) > MAX_EMAIL_LEN)
		return 0;
	return local_part_valid(s, (size_t)(at - s)) && domain_valid(at + 1);
}

int mime_addr_personal(const char *s)
{
	const char *at = s != NULL ? strrchr(s, '@') : NULL;
	return mime_addr_valid(s) && strcspn(s, "%!") > (size_t)(at - s);
}

const char *mime_addr_why(const char *s)
{
	if (!mime_addr_valid(s))
		return "is not an email address";
	return "has a % or ! before the @: such source-routed addresses, which a relay "
	       "may pass on to another host, are refused";
}

/* A header value checked and encoded, or NULL with *error_r naming field. */
static char *header_value(const char *v, const char *field, const char **error_r)
{
	char *enc = mime_encode_header(v);
	if (enc == NULL)
		*error_r = errorf("%s: control characters or invalid UTF-8 are not allowed", field);
	return enc;
}

static int check_addr(const struct mail_addr *a, const char *field, const char **error_r)
{
	if (!mime_addr_valid(a->addr)) {
		*error_r = errorf("%s: \"%.80s\" is not a valid address", field,
				  a->addr ? a->addr : "");
		return -1;
	}
	return 0;
}

static struct mailimf_mailbox *mailbox(const struct mail_addr *a, const char *field,
				       const char **error_r)
{
	char *name = NULL;
	if (check_addr(a, field, error_r) < 0)
		return NULL;
	if (a->name != NULL && a->name[0] != '\0' &&
	    (name = header_value(a->name, field, error_r)) == NULL)
		return NULL;
	struct mailimf_mailbox *mb = mailimf_mailbox_new(name, strdup(a->addr));
	if (mb == NULL)
		free(name);
	return mb;
}

static struct mailimf_date_time *utc_date(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	return mailimf_date_time_new(tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour,
				     tm.tm_min, tm.tm_sec, 0);
}

static int field_name_valid(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 76)
		return 0;
	for (const char *p = s; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == ':')
			return 0;
	return 1;
}

static int msg_id_valid(const char *s)
{
	return s != NULL && strchr(s, '@') != NULL && text_ok(s, 250, TEXT_LINE) &&
	       strpbrk(s, "<> \"") == NULL;
}

static struct mailimf_fields *build_fields(const struct mail_spec *spec, const char **error_r)
{
	struct mailimf_mailbox_list *from = mailimf_mailbox_list_new_empty();
	struct mailimf_address_list *to = mailimf_address_list_new_empty();
	struct mailimf_address_list *reply_to = NULL;
	struct mailimf_mailbox *mb;
	clist *in_reply_to = NULL;
	char *subject = NULL;

	if (from == NULL || to == NULL)
		goto fail;
	if ((mb = mailbox(&spec->from, "from", error_r)) == NULL)
		goto fail;
	mailimf_mailbox_list_add(from, mb);
	if ((mb = mailbox(&spec->to, "to", error_r)) == NULL)
		goto fail;
	mailimf_address_list_add(to, mailimf_address_new(MAILIMF_ADDRESS_MAILBOX, mb, NULL));
	if (spec->reply_to.addr != NULL) {
		if ((mb = mailbox(&spec->reply_to, "reply_to", error_r)) == NULL)
			goto fail;
		reply_to = mailimf_address_list_new_empty();
		mailimf_address_list_add(reply_to, mailimf_address_new(MAILIMF_ADDRESS_MAILBOX, mb, NULL));
	}
	if (!msg_id_valid(spec->message_id)) {
		*error_r = "message_id: not a valid message id";
		goto fail;
	}
	if (spec->in_reply_to != NULL) {
		if (!msg_id_valid(spec->in_reply_to)) {
			*error_r = "in_reply_to: not a valid message id";
			goto fail;
		}
		in_reply_to = clist_new();
		clist_append(in_reply_to, strdup(spec->in_reply_to));
	}
	if ((subject = header_value(spec->subject ? spec->subject : "", "subject", error_r)) == NULL)
		goto fail;
	struct mailimf_fields *f = mailimf_fields_new_with_data_all(
		utc_date(spec->date), from, NULL, reply_to, to, NULL, NULL,
		strdup(spec->message_id), in_reply_to, NULL, subject);
	if (f == NULL)
		goto fail_all;
	if (spec->auto_submitted)
		mailimf_fields_add(f, mailimf_field_new_custom(strdup("Auto-Submitted"),
							       strdup("auto-generated")));
	for (size_t i = 0; i < spec->n_extra && i < MAIL_MAX_EXTRA; i++) {
		char *v;
		if (!field_name_valid(spec->extra_name[i])) {
			*error_r = errorf("extra header name \"%.40s\" is not valid",
					  spec->extra_name[i] ? spec->extra_name[i] : "");
			mailimf_fields_free(f);
			return NULL;
		}
		if ((v = header_value(spec->extra_value[i], spec->extra_name[i], error_r)) == NULL) {
			mailimf_fields_free(f);
			return NULL;
		}
		mailimf_fields_add(f, mailimf_field_new_custom(strdup(spec->extra_name[i]), v));
	}
	return f;
fail:
	free(subject);
fail_all:
	if (in_reply_to != NULL) {
		for (clistiter *it = clist_begin(in_reply_to); it; it = clist_next(it))
			free(clist_content(it));
		clist_free(in_reply_to);
	}
	if (reply_to != NULL)
		mailimf_address_list_free(reply_to);
	if (from != NULL)
		mailimf_mailbox_list_free(from);
	if (to != NULL)
		mailimf_address_list_free(to);
	if (*error_r == NULL)
		*error_r = "out of memory";
	return NULL;
}

/* 1 when a body can go as it is (RFC 2045 "7bit"): ASCII, no CR, and no
 * line longer than MIME_LINE_MAX. Bodies come here with LF line ends
 * (clean_line_ends), so any CR sends the body quoted-printable. (A loop
 * a compiler makes wide, and memchr: this runs on every mail's bodies.) */
static int seven_bit(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned char high = 0;
	for (size_t i = 0; i < len; i++)
		high |= p[i];
	if ((high & 0x80) || memchr(s, '\r', len) != NULL)
		return 0;
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		const unsigned char *eol = nl ? nl : end;
		if (eol - p > MIME_LINE_MAX)
			return 0;
		p = eol + 1;
	}
	return 1;
}

/* A text part, UTF-8: as it is when it is plain ASCII in short lines (as
 * most mail programs send such text; libetpan's quoted-printable writer
 * costs some 10 ns a byte), else quoted-printable. The body is not
 * copied: it must live until the message is written. */
static struct mailmime *text_part(const char *type, const char *body)
{
	size_t len = strlen(body);
	struct mailmime_fields *mf = mailmime_fields_new_encoding(
		seven_bit(body, len) ? MAILMIME_MECHANISM_7BIT : MAILMIME_MECHANISM_QUOTED_PRINTABLE);
	struct mailmime_content *ct = mailmime_content_new_with_str(type);
	if (mf == NULL || ct == NULL) {
		if (mf)
			mailmime_fields_free(mf);
		if (ct)
			mailmime_content_free(ct);
		return NULL;
	}
	clist_append(ct->ct_parameters, mailmime_param_new_with_data("charset", "utf-8"));
	struct mailmime *part = mailmime_new_empty(ct, mf);
	if (part == NULL)
		return NULL;
	mailmime_set_body_text(part, (char *)body, len);
	return part;
}

/* multipart/alternative, with libetpan's guessable boundary replaced by
 * a random one. */
static struct mailmime *alternative(void)
{
	unsigned char raw[12];
	char boundary[40] = "=_";
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(boundary + 2, sizeof(boundary) - 2, raw, sizeof(raw));
	struct mailmime *alt = mailmime_multiple_new("multipart/alternative");
	if (alt == NULL)
		return NULL;
	clist *params = alt->mm_content_type->ct_parameters;
	for (clistiter *it = clist_begin(params); it != NULL; it = clist_next(it)) {
		struct mailmime_parameter *p = clist_content(it);
		if (strcasecmp(p->pa_name, "boundary") != 0)
			continue;
		char *mine = strdup(boundary);
		if (mine == NULL) {
			mailmime_free(alt);
			return NULL;
		}
		free(p->pa_value);
		p->pa_value = mine;
	}
	return alt;
}

static int body_ok(const char *s, const char *field, const char **error_r)
{
	if (s == NULL || !text_ok(s, MAX_MAIL_SIZE, TEXT_MULTILINE)) {
		*error_r = errorf("%s: not valid UTF-8 text", field);
		return -1;
	}
	return 0;
}

/*
 * A body with each line end as LF, which libetpan writes as CRLF (a CRLF,
 * and a lone CR, which RFC 5322 has no place for), and without the blanks
 * at the end of a line. libetpan's quoted-printable writer doubles a
 * blank before a line end, and drops the text after a lone CR (found by
 * tests/fuzz/fuzz_mime); a blank at the end of a line shows nowhere. s
 * itself when there is nothing to change; else a malloc'd copy in
 * *copy_r (NULL when out of memory).
 */
static const char *clean_line_ends(const char *s, char **copy_r)
{
	*copy_r = NULL;
	int change = 0;
	for (const char *r = s; *r && !change; r++)
		change = *r == '\r' || ((*r == ' ' || *r == '\t') &&
					 (r[1] == '\n' || r[1] == '\r' || r[1] == '\0'));
	if (!change)
		return s;
	char *out = malloc(strlen(s) + 1), *w = out, *line = out;
	if (out == NULL)
		return NULL;
	for (const char *r = s;; r++) {
		if (r[0] == '\r' && r[1] == '\n')
			continue;
		if (*r == '\r' || *r == '\n' || *r == '\0') {
			while (w > line && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
			if (*r == '\0')
				break;
			*w++ = '\n';
			line = w;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
	return *copy_r = out;
}

static int build(const struct mail_spec *spec, const char *text_body, const char *html_body,
		 char **data_r, size_t *len_r, const char **error_r);

int mime_build(const struct mail_spec *spec, char **data_r, size_t *len_r,
	       const char **error_r)
{
	*error_r = NULL;
	if (body_ok(spec->text, "text", error_r) < 0 ||
	    (spec->html != NULL && body_ok(spec->html, "html", error_r) < 0))
		return -1;
	char *text_copy, *html_copy = NULL;
	const char *text = clean_line_ends(spec->text, &text_copy);
	const char *html = spec->html != NULL ? clean_line_ends(spec->html, &html_copy) : NULL;
	int rc;
	if (text == NULL || (spec->html != NULL && html == NULL)) {
		*error_r = "out of memory";
		rc = -1;
	} else {
		rc = build(spec, text, html, data_r, len_r, error_r);
	}
	free(text_copy);
	free(html_copy);
	return rc;
}

/* The message of spec with these bodies, which live until it is written. */
static int build(const struct mail_spec *spec, const char *text_body, const char *html_body,
		 char **data_r, size_t *len_r, const char **error_r)
{
	struct mailimf_fields *fields = build_fields(spec, error_r);
	if (fields == NULL)
		return -1;
	struct mailmime *msg = mailmime_new_message_data(NULL);
	if (msg == NULL) {
		mailimf_fields_free(fields);
		*error_r = "out of memory";
		return -1;
	}
	mailmime_set_imf_fields(msg, fields);
	int ok = 1;
	if (html_body != NULL) {
		struct mailmime *alt = alternative(), *text = NULL, *html = NULL;
		ok = alt && mailmime_smart_add_part(msg, alt) == MAILIMF_NO_ERROR &&
		     (text = text_part("text/plain", text_body)) &&
		     mailmime_smart_add_part(alt, text) == MAILIMF_NO_ERROR &&
		     (html = text_part("text/html", html_body)) &&
		     mailmime_smart_add_part(alt, html) == MAILIMF_NO_ERROR;
	} else {
		struct mailmime *text = text_part("text/plain", text_body);
		ok = text && mailmime_smart_add_part(msg, text) == MAILIMF_NO_ERROR;
	}
	MMAPString *s = ok ? mmap_string_new("") : NULL;
	int col = 0;
	if (s == NULL || mailmime_write_mem(s, &col, msg) != MAILIMF_NO_ERROR) {
		if (s != NULL)
			mmap_string_free(s);
		mailmime_free(msg);
		*error_r = "cannot build the message";
		return -1;
	}
	*data_r = malloc(s->len + 1);
	if (*data_r != NULL) {
		memcpy(*data_r, s->str, s->len);
		(*data_r)[s->len] = '\0';
		*len_r = s->len;
	}
	mmap_string_free(s);
	mailmime_free(msg);
	if (*data_r == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	return 0;
}
