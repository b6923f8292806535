/* link: invited_mailer */
/*
 * test_mime.c: messages as built are valid MIME that parse back to what
 * went in; header values are encoded, folded, and guarded against
 * injection; addresses are checked.
 */
#include <libetpan/libetpan.h>
#include <stdlib.h>

#include "invited/limits.h"
#include "invited/mime.h"
#include "test.h"

static const char *const JA_SUBJECT = "招待状: 株式会社テストがあなたを招待しています";

static struct mail_spec base_spec(void)
{
	return (struct mail_spec){
		.from = {"Invitations", "invitations@example.test"},
		.to = {"Rita Reseller", "rita@example.test"},
		.reply_to = {NULL, "reply+abc@example.test"},
		.subject = "Hello",
		.text = "Line one\n.dot line\nFrom the start\nlong " \
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" \
			"日本語の本文\n",
		.html = "<p>Hello &amp; welcome</p>\n",
		.message_id = "abc123@example.test",
		.date = 1795000000,
		.auto_submitted = 1,
	};
}

static char *build(const struct mail_spec *spec, size_t *len, const char **err)
{
	char *data = NULL;
	*err = NULL;
	if (mime_build(spec, &data, len, err) < 0)
		return NULL;
	return data;
}

/* The decoded body of the n-th leaf part (0-based), malloc'd. */
static char *leaf_body(struct mailmime *m, int *n)
{
	if (m->mm_type == MAILMIME_SINGLE) {
		if ((*n)-- != 0)
			return NULL;
		struct mailmime_data *d = m->mm_data.mm_single;
		size_t idx = 0, out_len;
		char *out;
		int enc = mailmime_transfer_encoding_get(m->mm_mime_fields);
		if (mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length,
					&idx, enc, &out, &out_len) != MAILIMF_NO_ERROR)
			return NULL;
		char *copy = strndup(out, out_len);
		mmap_string_unref(out);
		return copy;
	}
	clist *parts = m->mm_type == MAILMIME_MESSAGE
			       ? NULL
			       : m->mm_data.mm_multipart.mm_mp_list;
	if (m->mm_type == MAILMIME_MESSAGE)
		return m->mm_data.mm_message.mm_msg_mime
			       ? leaf_body(m->mm_data.mm_message.mm_msg_mime, n)
			       : NULL;
	for (clistiter *it = clist_begin(parts); it; it = clist_next(it)) {
		char *b = leaf_body(clist_content(it), n);
		if (b != NULL || *n < 0)
			return b;
	}
	return NULL;
}

static char *crlf_to_lf(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
	return s;
}

/* The Subject of a built mail, unfolded and decoded back with libetpan
 * (malloc'd; NULL when it has none or libetpan refuses it). */
static char *decoded_subject(const char *data)
{
	const char *subj = strstr(data, "Subject:");
	char raw[2048];
	size_t k = 0;
	if (subj == NULL)
		return NULL;
	for (const char *p = subj + 8; *p && k < sizeof(raw) - 1; p++) {
		if (p[0] == '\r' && p[1] == '\n' && p[2] != ' ')
			break;
		if (*p != '\r' && *p != '\n')
			raw[k++] = *p;
	}
	raw[k] = '\0';
	char *decoded = NULL;
	size_t at = 0;
	if (mailmime_encoded_phrase_parse("utf-8", raw, strlen(raw), &at, "utf-8", &decoded) !=
	    MAILIMF_NO_ERROR)
		return NULL;
	return decoded;
}

TEST(multipart_alternative_round_trips)
{
	struct mail_spec spec = base_spec();
	size_t len;
	const char *err;
	char *data = build(&spec, &len, &err);
	test_assert(data != NULL);
	if (data == NULL)
		return;
	test_assert_contains(data, "MIME-Version: 1.0\r\n");
	test_assert_contains(data, "Content-Type: multipart/alternative; boundary=\"=_");
	test_assert_contains(data, "Message-ID: <abc123@example.test>\r\n");
	test_assert_contains(data, "Auto-Submitted: auto-generated\r\n");
	test_assert_contains(data, "Reply-To: reply+abc@example.test\r\n");
	test_assert_contains(data, "Date: Wed, 18 Nov 2026 11:06:40 +0000");
	test_assert_contains(data, " +0000\r\n");
	for (const char *p = data; *p; p++) /* only CRLF line ends */
		test_assert(*p != '\n' || (p > data && p[-1] == '\r'));

	struct mailmime *m = NULL;
	size_t idx = 0;
	test_assert_int(mailmime_parse(data, len, &idx, &m), MAILIMF_NO_ERROR);
	int n = 0;
	char *text = leaf_body(m, &n);
	test_assert_str(text ? crlf_to_lf(text) : NULL, spec.text);
	n = 1;
	char *html = leaf_body(m, &n);
	test_assert_str(html ? crlf_to_lf(html) : NULL, spec.html);
	free(text);
	free(html);
	mailmime_free(m);
	free(data);
}

TEST(japanese_subject_and_names_are_encoded_words)
{
	struct mail_spec spec = base_spec();
	spec.subject = JA_SUBJECT;
	spec.to.name = "山田 太郎";
	size_t len;
	const char *err;
	char *data = build(&spec, &len, &err);
	test_assert(data != NULL);
	if (data == NULL)
		return;
	for (const unsigned char *p = (const unsigned char *)data; *p; p++)
		test_assert(*p < 0x80); /* 7-bit clean on the wire */
	/* Words are joined without the folding space (RFC 2047 6.2). */
	char *decoded = decoded_subject(data);
	test_assert_str(decoded, JA_SUBJECT);
	free(decoded);
	free(data);
}

TEST(long_subject_is_folded)
{
	struct mail_spec spec = base_spec();
	char subject[600];
	memset(subject, 0, sizeof(subject));
	for (int i = 0; i < 40; i++)
		strcat(subject, "word12345 ");
	spec.subject = subject;
	size_t len;
	const char *err;
	char *data = build(&spec, &len, &err);
	test_assert(data != NULL);
	size_t line = 0, longest = 0;
	for (const char *p = data; p && *p; p++) {
		if (*p == '\n') {
			longest = line > longest ? line : longest;
			line = 0;
		} else {
			line++;
		}
	}
	test_assert(longest <= 78 + 1);
	free(data);
}

/* A word too long to fold goes as encoded words, which fold between them
 * and decode back to the same word (tests/fuzz/fuzz_mime found libetpan
 * breaking such a word with a space at 998 characters). */
TEST(long_words_in_headers_are_encoded_to_fold)
{
	char subject[MAX_SUBJECT_LEN + 1], word[77 + 1];
	memset(subject, 0, sizeof(subject));
	strcpy(subject, "Re: ");
	memset(subject + 4, 'a', MAX_SUBJECT_LEN - 4);
	char *enc = mime_encode_header(subject);
	test_assert(enc != NULL && strncmp(enc, "=?UTF-8?B?", 10) == 0);
	free(enc);
	memset(word, 'b', 76);
	word[76] = '\0';
	enc = mime_encode_header(word); /* 76 fits a folded line: as it is */
	test_assert_str(enc, word);
	free(enc);
	strcat(word, "b");
	enc = mime_encode_header(word);
	test_assert(enc != NULL && strncmp(enc, "=?UTF-8?B?", 10) == 0);
	free(enc);

	struct mail_spec spec = base_spec();
	spec.subject = subject;
	size_t len;
	const char *err;
	char *data = build(&spec, &len, &err);
	test_assert(data != NULL);
	if (data == NULL)
		return;
	size_t line = 0, longest = 0;
	for (const char *p = data; *p && !(p[0] == '\r' && p[2] == '\r'); p++) {
		line = *p == '\n' ? 0 : line + 1;
		longest = line > longest ? line : longest;
	}
	test_assert(longest <= 78 + 1);
	char *decoded = decoded_subject(data);
	test_assert_str(decoded, subject);
	free(decoded);
	free(data);
}

TEST(header_injection_is_refused)
{
	const char *bad[] = {"Hi\r\nBcc: victim@x.test", "Hi\nBcc: x@y.test", "tab\there",
			     "nul\x01", "bad utf8 \xff"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mail_spec spec = base_spec();
		size_t len;
		const char *err = NULL;
		spec.subject = bad[i];
		test_assert(build(&spec, &len, &err) == NULL);
		test_assert_contains(err, "subject");
		spec = base_spec();
		spec.to.name = bad[i];
		test_assert(build(&spec, &len, &err) == NULL);
		test_assert_contains(err, "to");
		spec = base_spec();
		spec.n_extra = 1;
		spec.extra_name[0] = "X-Invited-Kind";
		spec.extra_value[0] = bad[i];
		test_assert(build(&spec, &len, &err) == NULL);
		test_assert(mime_encode_header(bad[i]) == NULL);
	}
	struct mail_spec spec = base_spec();
	size_t len;
	const char *err = NULL;
	spec.to.addr = "a@b.test>\r\nBcc: c@d.test";
	test_assert(build(&spec, &len, &err) == NULL);
	spec = base_spec();
	spec.message_id = "x@y>\r\nBcc: z";
	test_assert(build(&spec, &len, &err) == NULL);
	spec = base_spec();
	spec.n_extra = 1;
	spec.extra_name[0] = "Bad Name:";
	spec.extra_value[0] = "v";
	test_assert(build(&spec, &len, &err) == NULL);
}

/* The transfer encoding of the n-th leaf part, as written. */
static const char *encoding_of(const char *data, int n)
{
	const char *p = data;
	for (int i = 0; i <= n && p != NULL; i++)
		if ((p = strstr(p, "Content-Transfer-Encoding: ")) != NULL)
			p += strlen("Content-Transfer-Encoding: ");
	return p == NULL ? "" : strncmp(p, "7bit\r\n", 6) == 0 ? "7bit"
			   : strncmp(p, "quoted-printable\r\n", 18) == 0 ? "quoted-printable"
									 : "other";
}

/* Build with this text (and an ASCII html part) and parse the text back. */
static const char *text_encoding(const char *text, int *round_trips)
{
	static char enc[32];
	struct mail_spec spec = base_spec();
	spec.text = text;
	spec.html = "<p>plain</p>\n";
	size_t len, idx = 0;
	const char *err;
	char *data = build(&spec, &len, &err);
	*round_trips = 0;
	if (data == NULL)
		return "refused";
	snprintf(enc, sizeof(enc), "%s", encoding_of(data, 0));
	test_assert_str(encoding_of(data, 1), "7bit"); /* the html part */
	struct mailmime *m = NULL;
	if (mailmime_parse(data, len, &idx, &m) == MAILIMF_NO_ERROR) {
		int n = 0;
		char *back = leaf_body(m, &n);
		*round_trips = back != NULL && strcmp(crlf_to_lf(back), text) == 0;
		free(back);
		mailmime_free(m);
	}
	free(data);
	return enc;
}

TEST(seven_bit_when_it_can_quoted_printable_when_it_must)
{
	char line[1200];
	int ok;
	test_assert_str(text_encoding("Hello\n.dot line\nFrom here\n", &ok), "7bit");
	test_assert(ok);
	test_assert_str(text_encoding("Hello\r\nCRLF too\r\n", &ok), "7bit");
	test_assert_str(text_encoding("日本語の本文\n", &ok), "quoted-printable");
	test_assert(ok);
	test_assert_str(text_encoding("caf\xc3\xa9\n", &ok), "quoted-printable");
	/* 997 characters a line, the CRLF aside (RFC 5322 allows 998, but
	 * libetpan's writer breaks a line at its 998th) */
	memset(line, 'a', 997);
	strcpy(line + 997, "\n");
	test_assert_str(text_encoding(line, &ok), "7bit");
	test_assert(ok);
	strcpy(line + 997, "\r\n");
	test_assert_str(text_encoding(line, &ok), "7bit");
	memset(line, 'a', 998);
	strcpy(line + 998, "\n");
	test_assert_str(text_encoding(line, &ok), "quoted-printable");
	test_assert(ok);
	line[998] = '\0'; /* the last line, without a line end */
	test_assert_str(text_encoding(line, &ok), "quoted-printable");
}

/* A lone CR is a line end, as a CRLF, and blanks at the end of a line go:
 * libetpan's quoted-printable writer doubled a blank before a line end and
 * dropped the text after a lone CR (found by tests/fuzz/fuzz_mime). */
TEST(lone_cr_is_a_line_end_and_line_ends_lose_their_blanks)
{
	const char *texts[] = {"caf\xc3\xa9 a\t\rb\n", "caf\xc3\xa9 a \r\r\t\rb\r\n.dot\r:\n",
			       "one\rtwo\n"};
	const char *want[] = {"caf\xc3\xa9 a\nb\n", "caf\xc3\xa9 a\n\n\nb\n.dot\n:\n",
			      "one\ntwo\n"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct mail_spec spec = base_spec();
		spec.text = texts[i];
		spec.html = NULL;
		size_t len, idx = 0;
		const char *err;
		char *data = build(&spec, &len, &err);
		test_assert(data != NULL);
		if (data == NULL)
			continue;
		struct mailmime *m = NULL;
		test_assert_int(mailmime_parse(data, len, &idx, &m), MAILIMF_NO_ERROR);
		int n = 0;
		char *back = m ? leaf_body(m, &n) : NULL;
		test_assert_str(back ? crlf_to_lf(back) : NULL, want[i]);
		free(back);
		if (m)
			mailmime_free(m);
		free(data);
	}
}

TEST(text_only_message)
{
	struct mail_spec spec = base_spec();
	spec.html = NULL;
	spec.auto_submitted = 0;
	size_t len;
	const char *err;
	char *data = build(&spec, &len, &err);
	test_assert(data != NULL);
	test_assert_contains(data, "Content-Type: text/plain; charset=\"utf-8\"");
	test_assert(strstr(data, "multipart") == NULL);
	test_assert(strstr(data, "Auto-Submitted") == NULL);
	free(data);
}

TEST(address_validation)
{
	const char *good[] = {"a@b.test", "first.last+tag@sub.example.co.jp", "x_y-z@a-b.test",
			      "o'neil@example.test"};
	const char *bad[] = {"", "plain", "@b.test", "a@", "a@b", "a@.test", "a@b..test",
			     ".a@b.test", "a.@b.test", "a..b@c.test", "a b@c.test", "\"q\"@c.test",
			     "a@[127.0.0.1]", "a@-b.test", "a@b-.test", "a@b_c.test",
			     "a@b.test\r\n", "rcpt<@b.test"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		test_assert(mime_addr_valid(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mime_addr_valid(bad[i])) {
			fprintf(stderr, "accepted %s\n", bad[i]);
			test_assert(0);
		}
	char longlocal[80];
	memset(longlocal, 'a', 65);
	strcpy(longlocal + 65, "@b.test");
	test_assert(!mime_addr_valid(longlocal));
}

/* Source routes ("a%b@relay", "b!a@relay") are valid addresses, but not
 * a person's: a relay may pass them on to another host. */
TEST(source_routes_are_not_personal)
{
	const char *routed[] = {"alice%victim.example@relay.test", "victim.example!alice@relay.test",
				"a%@b.test", "!a@b.test"};
	for (size_t i = 0; i < sizeof(routed) / sizeof(routed[0]); i++) {
		test_assert(mime_addr_valid(routed[i]));
		test_assert(!mime_addr_personal(routed[i]));
		test_assert_contains(mime_addr_why(routed[i]), "% or ! before the @");
	}
	test_assert(mime_addr_personal("first.last+tag@sub.example.co.jp"));
	test_assert(!mime_addr_personal("plain"));
	test_assert(!mime_addr_personal(NULL));
	test_assert_str(mime_addr_why("plain"), "is not an email address");
}

TEST(python_email_sees_no_defects)
{
	struct mail_spec spec = base_spec();
	spec.subject = JA_SUBJECT;
	spec.to.name = "Smith, John \"JJ\"";
	size_t len;
	const char *err;
	char *data = build(&spec, &len, &err);
	test_assert(data != NULL);
	FILE *py = popen("python3 -c '"
			 "import sys, email, email.policy\n"
			 "m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)\n"
			 "bad = [d for p in m.walk() for d in p.defects]\n"
			 "bad += [d for p in m.walk() for v in p.values() for d in getattr(v, \"defects\", ())]\n"
			 "assert not bad, bad\n"
			 "assert str(m[\"Subject\"]) == sys.argv[1], str(m[\"Subject\"])\n"
			 "assert m[\"To\"].addresses[0].display_name == \"Smith, John \\\"JJ\\\"\", m[\"To\"]\n"
			 "print(\"clean\")' '" "招待状: 株式会社テストがあなたを招待しています" "'",
			 "w");
	test_assert(py != NULL);
	fwrite(data, 1, len, py);
	test_assert_int(pclose(py), 0);
	free(data);
}

TEST_MAIN()
