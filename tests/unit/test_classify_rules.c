/* link: invited_verifier */
/*
 * test_classify_rules.c: the classifier on messages built in the test:
 * tag forms, what is not a bounce, the limits that keep hostile input from
 * libetpan, charsets, Authentication-Results edge cases, the JSON output,
 * and seeded fuzzing of the corpus and of random bytes.
 */
#include "../../verifier/classify_int.h" /* cls_find_ci, the rules' search */
#include "classify_test.h"

/* ------------------------------------------------ tags, built in the test */

static void classify_str(const char *msg, struct classify_result *r)
{
	classify_buf(msg, strlen(msg), r);
}

/* The case-insensitive search every rule uses: where it finds, what it
 * misses, and text built to make a naive search slow. */
TEST(find_ci_finds_in_either_case_and_stays_linear)
{
	static const char text[] = "Delivery to the following recipient FAILED permanently";
	size_t len = sizeof(text) - 1;
	test_assert(cls_find_ci(text, len, "delivery") == text);
	test_assert(cls_find_ci(text, len, "failed") == strstr(text, "FAILED"));
	test_assert(cls_find_ci(text, len, "PERMANENTLY") == strstr(text, "permanently"));
	test_assert(cls_find_ci(text, len, "ntly") == text + len - 4); /* at the very end */
	test_assert(cls_find_ci(text, len, "permanentlyx") == NULL);
	test_assert(cls_find_ci(text, len - 1, "permanently") == NULL); /* only len bytes */
	test_assert(cls_find_ci("aaab", 4, "AAB") != NULL);
	test_assert_str(cls_find_ci("aaab", 4, "AAB"), "aab");
	test_assert(cls_find_ci("x: y", 4, ": y") != NULL);
	test_assert(cls_find_ci("ab", 2, "abc") == NULL);
	test_assert(cls_find_ci(NULL, 0, "a") == NULL);
	/* A megabyte of the needle's first letter in one case, and of the
	 * other case, with the needle nowhere: linear, not a search per byte. */
	size_t big = 1 << 20;
	char *hay = malloc(big);
	test_assert(hay != NULL);
	for (size_t i = 0; i < big; i++)
		hay[i] = i % 2 ? 'M' : 'm';
	test_assert(cls_find_ci(hay, big, "mx") == NULL);
	memset(hay, 'M', big);
	test_assert(cls_find_ci(hay, big, "mailer-daemon") == NULL);
	memcpy(hay + big - 6, "mAiLer", 6);
	test_assert(cls_find_ci(hay, big, "mailer") == hay + big - 6);
	free(hay);
}

TEST(tag_forms)
{
	static const struct {
		const char *header;
		enum mail_tag tag;
		const char *code;
	} cases[] = {
		{"To: reply+abc234@example.test\n", TAG_REPLY, "abc234"},
		{"To: <Reply+ABC234@EXAMPLE.TEST>\n", TAG_REPLY, "abc234"},
		{"To: a@b.test,\n  \"Us\" <verify+zz7@example.test>\n", TAG_VERIFY, "zz7"},
		{"To: group: bounces+qq@example.test;\n", TAG_BOUNCES, "qq"},
		{"Cc: reply+cc2@example.test\n", TAG_REPLY, "cc2"},
		{"To: prvs=1234abcd=bounces+bat@example.test\n", TAG_BOUNCES, "bat"},
		{"To: reply+abc@example.test.evil.test\n", TAG_NONE, ""},
		{"To: reply+abc@other.test\n", TAG_NONE, ""},
		{"To: xreply+abc@example.test\n", TAG_NONE, ""},
		{"To: reply+abc1@example.test\n", TAG_NONE, ""},      /* 1 is not base32 */
		{"To: reply+@example.test\n", TAG_NONE, ""},
		{"To: reply+ab-c@example.test\n", TAG_NONE, ""},
		{"To: invitations@example.test\n", TAG_NONE, ""},
		{"To: reply+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test\n", TAG_REPLY,
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, /* 40: MAX_CODE_LEN */
		{"To: reply+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test\n", TAG_NONE,
		 ""},
		/* the delivering MTA's word wins over the sender's */
		{"Delivered-To: verify+dd@example.test\nTo: reply+tt@example.test\n", TAG_VERIFY,
		 "dd"},
		{"X-Original-To: bounces+xo@example.test\nTo: reply+tt@example.test\n", TAG_BOUNCES,
		 "xo"},
		/* Return-Path names the sender, never us */
		{"Return-Path: <bounces+rp@example.test>\nTo: someone@example.test\n", TAG_NONE,
		 ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[1024];
		struct classify_result r;
		snprintf(msg, sizeof(msg), "From: a@b.test\n%sSubject: hi\n\nbody\n",
			 cases[i].header);
		classify_str(msg, &r);
		if (r.tag != cases[i].tag || strcmp(r.code, cases[i].code) != 0)
			fprintf(stderr, "case %zu: %s", i, cases[i].header);
		expect_tag(&r, cases[i].tag, cases[i].code);
		classify_result_clear(&r);
	}
}

TEST(no_reply_domain)
{
	static const char msg[] = "To: reply+abc@example.test\nSubject: x\n\nhi\n";
	const struct classify_opts none = {.reply_domain = NULL};
	struct classify_result r;
	const char *err;
	test_assert_int(classify_message(msg, strlen(msg), &none, &r, &err), 0);
	expect_tag(&r, TAG_NONE, "");
	test_assert_int(r.cls, MAIL_UNKNOWN);
	classify_result_clear(&r);
	test_assert_int(classify_message(msg, strlen(msg), NULL, &r, &err), 0);
	expect_tag(&r, TAG_NONE, "");
	classify_result_clear(&r);
}

TEST(in_reply_to_without_tag)
{
	struct classify_result r;
	classify_str("From: a@b.test\nTo: someone@example.test\n"
		     "In-Reply-To: <k7q2mz4a@example.test>\nSubject: Re: hi\n\nyes\n",
		     &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert_str(r.in_reply_to, "k7q2mz4a@example.test");
	test_assert_contains(r.reason, "answers <k7q2mz4a@example.test>");
	classify_result_clear(&r);
}

/* --------------------------------------------------- what is not a bounce */

TEST(quoted_bounce_is_a_reply)
{
	struct classify_result r;
	classify_str("From: Rita <rita@customer.test>\nTo: reply+abc@example.test\n"
		     "Subject: Re: You are invited\n\n"
		     "Your first mail bounced, see below.\n\n"
		     "> This is the mail system at host mx.customer.test.\n"
		     "> I'm sorry to have to inform you that your message could not\n"
		     "> be delivered to one or more recipients.\n",
		     &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert_int(r.n_rcpts, 0);
	classify_result_clear(&r);
}

TEST(bounce_signs_needed)
{
	struct classify_result r;
	/* only sent to the bounce address, with a null Return-Path */
	classify_str("Return-Path: <>\nFrom: someone@customer.test\n"
		     "To: bounces+abc@example.test\nSubject: hello\n\nhello\n",
		     &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_contains(r.reason, "sent to a bounce address");
	classify_result_clear(&r);

	/* a mailer daemon writing to the bounce address, in any language */
	classify_str("Return-Path: <>\nFrom: MAILER-DAEMON@mx.customer.test\n"
		     "To: bounces+abc@example.test\nSubject: Unzustellbar\n\n"
		     "Ihre Nachricht konnte nicht zugestellt werden.\n",
		     &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	expect_tag(&r, TAG_BOUNCES, "abc");
	test_assert_int(r.bounce, BOUNCE_PERMANENT);
	test_assert_contains(r.reason, "mailer daemon");
	classify_result_clear(&r);
}

TEST(subject_and_daemon)
{
	struct classify_result r;
	classify_str("From: Mail Delivery Subsystem <mailer-daemon@googlemail.test>\n"
		     "To: bounces+g2a3b4@example.test\n"
		     "Subject: Delivery Status Notification (Delay)\n\n"
		     "Delivery incomplete: there was a temporary problem delivering your message\n"
		     "to slow@customer.test. Gmail will retry for 45 more hours.\n",
		     &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "Delivery Status Notification");
	test_assert_int(r.bounce, BOUNCE_DELAYED);
	expect_tag(&r, TAG_BOUNCES, "g2a3b4");
	classify_result_clear(&r);
}

/* -------------------------------------------------------- limits, built */

static char *nested_message(int depth, size_t *len)
{
	size_t size = 256 + (size_t)depth * 96, o = 0;
	char *m = malloc(size);
	o += (size_t)snprintf(m + o, size - o,
			      "To: reply+abc@example.test\nSubject: nested\nMIME-Version: 1.0\n"
			      "Content-Type: multipart/mixed; boundary=\"b0\"\n\n");
	for (int i = 1; i < depth; i++)
		o += (size_t)snprintf(m + o, size - o,
				      "--b%d\nContent-Type: multipart/mixed; boundary=\"b%d\"\n\n",
				      i - 1, i);
	o += (size_t)snprintf(m + o, size - o, "--b%d\n\nbottom\n", depth - 1);
	for (int i = depth - 1; i >= 0; i--)
		o += (size_t)snprintf(m + o, size - o, "--b%d--\n", i);
	*len = o;
	return m;
}

TEST(nesting_limits)
{
	struct classify_result r;
	size_t len;
	char *m = nested_message(20, &len);
	classify_buf(m, len, &r);
	test_assert_int(r.cls, MAIL_REPLY); /* 20 levels: read to the bottom */
	test_assert_str(r.text, "bottom"); /* the line end belongs to the boundary */
	classify_result_clear(&r);
	free(m);

	m = nested_message(33, &len);
	classify_buf(m, len, &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_contains(r.reason, "nested too deeply");
	classify_result_clear(&r);
	free(m);

	m = nested_message(20000, &len);
	classify_buf(m, len, &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	expect_tag(&r, TAG_REPLY, "abc");
	classify_result_clear(&r);
	free(m);
}

/* multipart/digest parts default to message/rfc822: two levels for
 * every Content-Type */
TEST(digest_nesting)
{
	struct classify_result r;
	size_t size = 64 * 1024, o = 0;
	char *m = malloc(size);
	o += (size_t)snprintf(m + o, size - o, "To: reply+abc@example.test\nSubject: digest\n");
	for (int i = 0; i < 30; i++)
		o += (size_t)snprintf(m + o, size - o,
				      "Content-Type: multipart/digest; boundary=\"d%d\"\n\n"
				      "--d%d\n\nSubject: level %d\n",
				      i, i, i);
	o += (size_t)snprintf(m + o, size - o, "\ndeep text\n");
	for (int i = 29; i >= 0; i--)
		o += (size_t)snprintf(m + o, size - o, "--d%d--\n", i);
	classify_buf(m, o, &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert_str(r.subject, "digest");
	test_assert(r.text == NULL); /* enclosed messages are not the text */
	classify_result_clear(&r);
	free(m);
}

TEST(count_limits)
{
	struct classify_result r;
	size_t size = 1024 * 1024, o;
	char *m = malloc(size);
	/* more header fields than anyone writes */
	o = (size_t)snprintf(m, size, "To: reply+abc@example.test\n");
	for (int i = 0; i < 10001; i++)
		o += (size_t)snprintf(m + o, size - o, "X-F: %d\n", i);
	o += (size_t)snprintf(m + o, size - o, "\nbody\n");
	classify_buf(m, o, &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_contains(r.reason, "too many header fields");
	classify_result_clear(&r);

	/* more MIME parts: the header is still read */
	o = (size_t)snprintf(m, size, "To: reply+abc@example.test\nSubject: parts\n"
				      "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 10001; i++)
		o += (size_t)snprintf(m + o, size - o, "--b\n\n%d\n", i);
	o += (size_t)snprintf(m + o, size - o, "--b--\n");
	classify_buf(m, o, &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_contains(r.reason, "too many MIME parts");
	expect_tag(&r, TAG_REPLY, "abc");
	test_assert_str(r.subject, "parts");
	classify_result_clear(&r);

	/* and just under both limits, all is read */
	o = (size_t)snprintf(m, size, "To: reply+abc@example.test\n");
	for (int i = 0; i < 5000; i++)
		o += (size_t)snprintf(m + o, size - o, "X-F: %d\n", i);
	o += (size_t)snprintf(m + o, size - o, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 5000; i++)
		o += (size_t)snprintf(m + o, size - o, "--b\n\npart %d\n", i);
	o += (size_t)snprintf(m + o, size - o, "--b--\n");
	classify_buf(m, o, &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert_str(r.text, "part 0");
	classify_result_clear(&r);
	free(m);
}

TEST(encoded_words)
{
	struct classify_result r;
	classify_str("To: reply+abc@example.test\n"
		     "From: \"=?utf-8?B?5bGx55Sw?=\" <a@b.test>\n"
		     "Subject: x=?bad and =?utf-8?q?caf=C3=A9?=\n"
		     " =?utf-8?q?_au_lait?= =?bogus\n\nhi\n",
		     &r);
	/* a word libetpan cannot read is kept as written, the rest decoded */
	test_assert_str(r.subject, "x=?bad and café au lait =?bogus");
	test_assert_str(r.from_name, "山田");
	classify_result_clear(&r);
}

TEST(comment_limits)
{
	struct classify_result r;
	size_t n = 2000000, len;
	char *m = malloc(n + 128);
	len = (size_t)sprintf(m, "To: reply+abc@example.test\nFrom: a@b.test ");
	for (size_t i = 0; i < 64; i++)
		m[len++] = '(';
	for (size_t i = 0; i < 64; i++)
		m[len++] = ')';
	len += (size_t)sprintf(m + len, "\nSubject: ok\n\nbody\n");
	classify_buf(m, len, &r);
	test_assert_int(r.cls, MAIL_REPLY); /* 64 deep is still read */
	test_assert_str(r.from_addr, "a@b.test");
	classify_result_clear(&r);

	len = (size_t)sprintf(m, "To: reply+abc@example.test\nFrom: a@b.test ");
	memset(m + len, '(', n);
	len += n;
	classify_buf(m, len, &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_contains(r.reason, "comments");
	classify_result_clear(&r);

	/* escaped parentheses cannot hide the nesting */
	len = (size_t)sprintf(m, "To: reply+abc@example.test\nFrom: a@b.test ");
	for (size_t i = 0; i < 100000; i++) {
		memcpy(m + len, "(\\)", 3);
		len += 3;
	}
	classify_buf(m, len, &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	classify_result_clear(&r);
	free(m);
}

TEST(size_limit)
{
	struct classify_result r;
	size_t body = MAX_MAIL_SIZE + 1024 * 1024, len;
	char *m = malloc(body + 256);
	len = (size_t)sprintf(m, "To: reply+abc@example.test\nSubject: big\n\n");
	for (size_t i = 0; i < body; i++)
		m[len++] = (i % 64 == 63) ? '\n' : 'x';
	classify_buf(m, len, &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert(r.text != NULL && strlen(r.text) <= 1024 * 1024);
	classify_result_clear(&r);
	free(m);
}

TEST(header_only)
{
	struct classify_result r;
	classify_str("To: reply+abc@example.test\nSubject: no body", &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert_str(r.subject, "no body");
	classify_result_clear(&r);

	classify_str("\n\n\n", &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	classify_result_clear(&r);
}

static void body_in(const char *charset, const char *cte, const char *body, const char *want)
{
	char msg[1024];
	struct classify_result r;
	snprintf(msg, sizeof(msg),
		 "To: reply+abc@example.test\nContent-Type: text/plain; charset=\"%s\"\n"
		 "Content-Transfer-Encoding: %s\n\n%s",
		 charset, cte, body);
	classify_str(msg, &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert_str(r.text, want);
	classify_result_clear(&r);
}

TEST(body_charsets)
{
	body_in("iso-8859-1", "8bit", "Caf\xe9\n", "Café\n");
	body_in("windows-1252", "quoted-printable", "=93quoted=94 =80\n", "“quoted” €\n");
	body_in("utf-16", "base64", "//5IAGkAIQA=\n", "Hi!");
	body_in("Shift_JIS", "base64", "k/qWe4zq\n", "日本語");
	/* a name iconv would read options from is not passed to it */
	body_in("utf-8//TRANSLIT", "8bit", "Caf\xe9\n", "Caf\xef\xbf\xbd\n");
	body_in("x-unknown-charset", "8bit", "Caf\xc3\xa9\n", "Café\n");
}

TEST(auth_edges)
{
	struct classify_result r;
	classify_str("Authentication-Results: mx.example.test; none\n"
		     "Authentication-Results: \"quoted id\" 1; dkim/1 = pass (good (nested) "
		     "comment) header . d = Sig.Test;\n"
		     "  spf=fail smtp.mailfrom=\"a;b\"@semi.test; dmarc=pass\n"
		     "Authentication-Results: x; a=1; b=2; c=3; d=4; e=5; f=6; g=7; h=8\n"
		     "Authentication-Results: ; ; =; (((; \"\n"
		     "To: reply+abc@example.test\n\nhi\n",
		     &r);
	test_assert_int(r.n_auth, CLASSIFY_MAX_AUTH);
	test_assert_str(r.auth[0].authserv_id, "quoted id");
	test_assert_str(r.auth[0].method, "dkim");
	test_assert_str(r.auth[0].result, "pass");
	test_assert_str(r.auth[0].domain, "sig.test");
	test_assert_str(r.auth[1].method, "spf");
	test_assert_str(r.auth[1].result, "fail");
	test_assert_str(r.auth[1].domain, "semi.test");
	test_assert_str(r.auth[2].method, "dmarc");
	test_assert_str(r.auth[2].domain, "");
	test_assert_str(r.auth[3].authserv_id, "x");
	classify_result_clear(&r);

	/* an escaped quote does not end a quoted string, nor does ";" in it */
	classify_str("Authentication-Results: q; x-esc=\"a\\\";b\" header.d=esc.test\n"
		     "To: reply+abc@example.test\n\nhi\n",
		     &r);
	test_assert_int(r.n_auth, 1);
	test_assert_str(r.auth[0].method, "x-esc");
	test_assert_str(r.auth[0].result, "a\";b");
	test_assert_str(r.auth[0].domain, "esc.test");
	classify_result_clear(&r);
}

/* ----------------------------------------------------- output and reuse */

TEST(json)
{
	struct classify_result r;
	json_error_t jerr;
	classify_file("dsn-multi-rcpt.eml", &r);
	char *text = classify_result_json(&r);
	json_t *j = json_loads(text, 0, &jerr);
	test_assert(j != NULL);
	test_assert_str(json_string_value(json_object_get(j, "class")), "bounce");
	test_assert_str(json_string_value(json_object_get(j, "tag")), "bounces");
	test_assert_str(json_string_value(json_object_get(j, "code")), "m2r3c2d3");
	test_assert_str(json_string_value(json_object_get(j, "bounce")), "permanent");
	test_assert_str(json_string_value(json_object_get(j, "returned_message_id")),
			"m2r3c2d3@example.test");
	json_t *rcpts = json_object_get(j, "recipients");
	test_assert_int(json_array_size(rcpts), 2);
	json_t *second = json_array_get(rcpts, 1);
	test_assert_str(json_string_value(json_object_get(second, "address")),
			"blocked@other.test");
	test_assert_str(json_string_value(json_object_get(second, "status")), "5.7.1");
	test_assert_str(json_string_value(json_object_get(second, "kind")), "permanent");
	test_assert_str(json_string_value(json_object_get(second, "action")), "failed");
	test_assert_contains(json_string_value(json_object_get(second, "diagnostic")),
			     "Relay access denied");
	test_assert(json_is_array(json_object_get(j, "auth")));
	json_decref(j);
	free(text);
	classify_result_clear(&r);

	classify_file("reply-verify-auth.eml", &r);
	text = classify_result_json(&r);
	j = json_loads(text, 0, &jerr);
	test_assert(json_is_null(json_object_get(j, "bounce")));
	test_assert(json_is_null(json_object_get(j, "returned_message_id")));
	test_assert_str(json_string_value(json_object_get(j, "subject")), "確認");
	json_t *auth = json_object_get(j, "auth");
	test_assert_int(json_array_size(auth), 5);
	test_assert_str(json_string_value(json_object_get(json_array_get(auth, 2), "method")),
			"dmarc");
	test_assert(json_is_null(json_object_get(json_array_get(auth, 4), "domain")));
	json_decref(j);
	free(text);
	classify_result_clear(&r);
}

TEST(names)
{
	test_assert_str(mail_class_str(MAIL_UNKNOWN), "unknown");
	test_assert_str(mail_class_str(MAIL_BOUNCE), "bounce");
	test_assert_str(mail_class_str(MAIL_AUTO_REPLY), "auto_reply");
	test_assert_str(mail_class_str(MAIL_REPLY), "reply");
	test_assert_str(mail_class_str((enum mail_class)42), "unknown");
	test_assert_str(bounce_kind_str(BOUNCE_NONE), "none");
	test_assert_str(bounce_kind_str(BOUNCE_DELAYED), "delayed");
	test_assert_str(bounce_kind_str(BOUNCE_TEMPORARY), "temporary");
	test_assert_str(bounce_kind_str(BOUNCE_PERMANENT), "permanent");
	test_assert_str(bounce_kind_str((enum bounce_kind)42), "none");
}

TEST(reuse_result)
{
	struct classify_result r;
	classify_file("reply-plain.eml", &r);
	test_assert(r.text != NULL);
	classify_result_clear(&r);
	test_assert(r.text == NULL);
	classify_result_clear(&r); /* twice is harmless */
	classify_file("dsn-delayed.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	classify_result_clear(&r);
}

/* --------------------------------------------------------------- fuzzing */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* One damage: flip a byte, cut a range, repeat one, or splice in
 * something that parsers trip on. */
static size_t mutate(char *buf, size_t len, size_t cap)
{
	static const char *const splices[] = {
		"\n--", "(((((((((", "=?utf-8?B?", "=?x?Q?=ZZ?=", "\0\0", "\r", "\n\n",
		"Content-Type: multipart/mixed; boundary=x\n\n--x\n",
		"Content-Type: message/rfc822\n\n", "Final-Recipient: rfc822;\n",
		"<a@b>: 550 5.1.1", "Message-ID: <", "\\", "\"", "\xff\xfe",
	};
	size_t at = len ? (size_t)(rng() % len) : 0;
	switch (rng() % 4) {
	case 0:
		if (len)
			buf[at] = (char)rng();
		return len;
	case 1: {
		size_t n = (size_t)(rng() % 64);
		n = n > len - at ? len - at : n;
		memmove(buf + at, buf + at + n, len - at - n);
		return len - n;
	}
	case 2: {
		size_t n = (size_t)(rng() % 256);
		n = n > len - at ? len - at : n;
		if (len + n > cap)
			return len;
		memmove(buf + at + n, buf + at, len - at);
		return len + n;
	}
	default: {
		const char *s = splices[rng() % (sizeof(splices) / sizeof(splices[0]))];
		size_t n = s[0] == '\0' ? 2 : strlen(s);
		if (len + n > cap)
			return len;
		memmove(buf + at + n, buf + at, len - at);
		memcpy(buf + at, s, n);
		return len + n;
	}
	}
}

TEST(fuzz_corpus)
{
	for (size_t f = 0; f < N_CORPUS; f++) {
		size_t len;
		char *orig = read_corpus(corpus[f], &len);
		int rounds = len > 16384 ? 10 : 150;
		size_t cap = len + 8192;
		char *buf = malloc(cap);
		for (int i = 0; i < rounds; i++) {
			struct classify_result r;
			size_t n = len;
			memcpy(buf, orig, len);
			for (int k = 1 + (int)(rng() % 8); k > 0; k--)
				n = mutate(buf, n, cap);
			classify_buf(buf, n, &r);
			classify_result_clear(&r);
		}
		free(buf);
		free(orig);
	}
}

TEST(fuzz_garbage)
{
	char *buf = malloc(65536);
	for (int i = 0; i < 300; i++) {
		struct classify_result r;
		size_t n = (size_t)(rng() % 65536);
		unsigned alphabet = (unsigned)(rng() % 3);
		for (size_t k = 0; k < n; k++) {
			uint64_t x = rng();
			/* raw bytes, or text made of what MIME and headers are made of */
			buf[k] = alphabet == 0 ? (char)x : "-:;<>()\"\\=\n @a.bC\t?"[x % 20];
		}
		classify_buf(buf, n, &r);
		classify_result_clear(&r);
	}
	free(buf);
}

TEST_MAIN()
