/*
 * fuzz_mime.c: the MIME builder and the header encoder on arbitrary
 * display names, subjects and bodies (the input split at NUL bytes into
 * from name, to name, subject, text, html; an empty html means none).
 * What it builds must be a mail that cannot lie about itself, checked
 * here so that a wrong mail is a crash:
 *   - 7-bit clean, CRLF line ends only, no line over 998 characters;
 *   - its header is exactly the fields we write, each once: no text of
 *     ours can add a Bcc or end the header early;
 *   - it parses back with libetpan, and the subject and the text part
 *     decode to what went in (white space runs in the subject compared
 *     as one space; in the text any line end as one, without the blanks
 *     before it, which mime_build drops).
 * mime_encode_header must give back what it was given, the same way.
 */
#include <libetpan/libetpan.h>

#include "fuzz.h"
#include "invited/mime.h"

/* s with every run of white space as one space, trimmed; malloc'd. */
static char *squeeze(const char *s)
{
	char *out = malloc(strlen(s) + 1), *w = out;
	int space = 0;
	if (out == NULL)
		abort();
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') {
			space = w != out;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = 0;
		*w++ = *s;
	}
	*w = '\0';
	return out;
}

static int same_words(const char *a, const char *b)
{
	char *x = squeeze(a), *y = squeeze(b);
	int same = strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

/* An encoded header value back to UTF-8 (NULL when libetpan refuses). */
static char *decode_words(const char *raw)
{
	char *out = NULL;
	size_t at = 0;
	if (mailmime_encoded_phrase_parse("utf-8", raw, strlen(raw), &at, "utf-8", &out) !=
	    MAILIMF_NO_ERROR)
		return NULL;
	return out;
}

static void check_wire(const char *data, size_t len)
{
	size_t line = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		FUZZ_CHECK(c != 0 && c < 0x80);
		FUZZ_CHECK(c != '\n' || (i > 0 && data[i - 1] == '\r'));
		FUZZ_CHECK(c != '\r' || (i + 1 < len && data[i + 1] == '\n'));
		line = c == '\n' ? 0 : line + 1;
		FUZZ_CHECK(line <= 998 + 1);
	}
}

/* The header: exactly our fields, each once; the subject's raw value. */
static char *check_header(const char *data, size_t len, int html)
{
	struct mailimf_fields *f = NULL;
	size_t at = 0;
	FUZZ_CHECK(mailimf_fields_parse(data, len, &at, &f) == MAILIMF_NO_ERROR);
	int n[MAILIMF_FIELD_OPTIONAL_FIELD + 1] = {0};
	int mime_version = 0, content_type = 0, encoding = 0;
	char *subject = NULL;
	for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		struct mailimf_field *fld = clist_content(it);
		FUZZ_CHECK(fld->fld_type >= 0 && fld->fld_type <= MAILIMF_FIELD_OPTIONAL_FIELD);
		n[fld->fld_type]++;
		if (fld->fld_type == MAILIMF_FIELD_SUBJECT)
			subject = strdup(fld->fld_data.fld_subject->sbj_value);
		if (fld->fld_type != MAILIMF_FIELD_OPTIONAL_FIELD)
			continue;
		const char *name = fld->fld_data.fld_optional_field->fld_name;
		if (strcasecmp(name, "MIME-Version") == 0)
			mime_version++;
		else if (strcasecmp(name, "Content-Type") == 0)
			content_type++;
		else if (strcasecmp(name, "Content-Transfer-Encoding") == 0)
			encoding++;
		else
			FUZZ_CHECK(!"a header field we never write");
	}
	FUZZ_CHECK(n[MAILIMF_FIELD_ORIG_DATE] == 1 && n[MAILIMF_FIELD_FROM] == 1 &&
		   n[MAILIMF_FIELD_TO] == 1 && n[MAILIMF_FIELD_MESSAGE_ID] == 1 &&
		   n[MAILIMF_FIELD_SUBJECT] == 1);
	FUZZ_CHECK(n[MAILIMF_FIELD_BCC] == 0 && n[MAILIMF_FIELD_CC] == 0 &&
		   n[MAILIMF_FIELD_SENDER] == 0 && n[MAILIMF_FIELD_REPLY_TO] == 0);
	FUZZ_CHECK(mime_version == 1 && content_type == 1 && encoding == (html ? 0 : 1));
	mailimf_fields_free(f);
	FUZZ_CHECK(subject != NULL);
	return subject;
}

/* The first leaf part's decoded bytes, NUL-terminated. */
static char *first_text(struct mailmime *m)
{
	while (m != NULL && m->mm_type != MAILMIME_SINGLE) {
		if (m->mm_type == MAILMIME_MESSAGE) {
			m = m->mm_data.mm_message.mm_msg_mime;
		} else {
			clistiter *it = clist_begin(m->mm_data.mm_multipart.mm_mp_list);
			m = it ? clist_content(it) : NULL;
		}
	}
	FUZZ_CHECK(m != NULL);
	struct mailmime_data *d = m->mm_data.mm_single;
	size_t at = 0, out_len;
	char *out;
	int enc = mailmime_transfer_encoding_get(m->mm_mime_fields);
	FUZZ_CHECK(mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length,
				       &at, enc, &out, &out_len) == MAILIMF_NO_ERROR);
	char *copy = strndup(out, out_len);
	mmap_string_unref(out);
	return copy;
}

/* Line ends (CRLF, LF, or a lone CR) as LF, without the blanks before
 * them (mime_build drops those), trailing line ends dropped. */
static char *plain_lines(const char *s)
{
	char *out = strdup(s), *w = out, *line = out;
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
	while (w > out && w[-1] == '\n')
		w--;
	*w = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *part[5];
	char *base;
	if (fuzz_split(data, size, part, 5, &base) < 0)
		return 0;
	struct mail_spec spec = {
		.from = {part[0], "invitations@example.test"},
		.to = {part[1], "rita@example.test"},
		.subject = part[2],
		.text = part[3],
		.html = part[4][0] ? part[4] : NULL,
		.message_id = "abc123@example.test",
		.date = 1795000000,
	};
	char *mail = NULL;
	size_t len = 0;
	const char *err = NULL;
	if (mime_build(&spec, &mail, &len, &err) == 0) {
		FUZZ_CHECK(strlen(mail) == len);
		check_wire(mail, len);
		char *raw = check_header(mail, len, spec.html != NULL);
		char *subject = decode_words(raw);
		FUZZ_CHECK(subject != NULL && same_words(subject, spec.subject));
		free(subject);
		free(raw);
		struct mailmime *m = NULL;
		size_t at = 0;
		FUZZ_CHECK(mailmime_parse(mail, len, &at, &m) == MAILIMF_NO_ERROR);
		char *text = first_text(m), *got = plain_lines(text), *want = plain_lines(spec.text);
		FUZZ_CHECK(strcmp(got, want) == 0);
		free(text);
		free(got);
		free(want);
		mailmime_free(m);
		free(mail);
	}
	char *word = mime_encode_header(part[2]);
	if (word != NULL) {
		char *back = decode_words(word);
		FUZZ_CHECK(back != NULL && same_words(back, part[2]));
		free(back);
		free(word);
	}
	free(base);
	return 0;
}
