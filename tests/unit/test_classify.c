/* link: invited_verifier */
/*
 * test_classify.c: the inbound classifier on a corpus of bounces (RFC 3464
 * and the non-standard texts of Postfix, Exim, qmail, Exchange, Yahoo),
 * auto-replies, replies and hostile messages in tests/corpus/classify.
 * Every file is also read with CRLF line ends and must classify the same,
 * every result must be clean UTF-8, and mutated copies must not crash.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invited/classify.h"
#include "invited/text.h"
#include "test.h"

#define DOMAIN "example.test"

static const struct classify_opts opts = {.reply_domain = DOMAIN};

static const char *const corpus[] = {
	"auto-submitted-no.eml", "auto-submitted.eml", "dsn-base64-parts.eml",
	"dsn-delayed.eml", "dsn-multi-rcpt.eml", "dsn-postfix-permanent.eml",
	"dsn-temporary.eml", "empty.eml", "hostile-bad-charset.eml",
	"hostile-bad-encoding.eml", "hostile-big-header.eml", "hostile-broken-boundary.eml",
	"hostile-deep-comments.eml", "hostile-deep-nesting.eml", "hostile-nul-bytes.eml",
	"hostile-unterminated.eml", "mdn-read-receipt.eml", "outlook-auto-reply.eml",
	"precedence-auto-reply.eml", "precedence-junk.eml", "reply-plain.eml",
	"reply-verify-auth.eml", "text-exchange.eml", "text-exim-delayed.eml",
	"text-exim.eml", "text-postfix.eml", "text-qmail.eml", "text-yahoo.eml",
	"unknown-no-tag.eml", "vacation.eml", "x-autoreply.eml",
};

#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* ---------------------------------------------------------------- helpers */

static char *read_corpus(const char *name, size_t *len)
{
	const char *dir = getenv("INVITED_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/corpus/classify/%s", dir ? dir : ".", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size)
		exit(2);
	fclose(f);
	buf[size] = '\0';
	*len = (size_t)size;
	return buf;
}

static char *to_crlf(const char *s, size_t len, size_t *out_len)
{
	char *out = malloc(len * 2 + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			*o++ = '\r';
		*o++ = s[i];
	}
	*o = '\0';
	*out_len = (size_t)(o - out);
	return out;
}

/* What every result must be, whatever went in. */
static void check_clean(const struct classify_result *r)
{
	test_assert(r->cls <= MAIL_REPLY);
	test_assert(text_ok(r->reason, sizeof(r->reason) - 1, TEXT_LINE));
	test_assert(text_ok(r->code, MAX_CODE_LEN, TEXT_LINE));
	test_assert((r->tag == TAG_NONE) == (r->code[0] == '\0'));
	test_assert(text_ok(r->message_id, sizeof(r->message_id) - 1, TEXT_LINE));
	test_assert(text_ok(r->in_reply_to, sizeof(r->in_reply_to) - 1, TEXT_LINE));
	test_assert(text_ok(r->from_addr, MAX_EMAIL_LEN, TEXT_LINE));
	test_assert(text_ok(r->from_name, MAX_NAME_LEN, TEXT_LINE));
	test_assert(text_ok(r->subject, MAX_SUBJECT_LEN, TEXT_LINE));
	test_assert(text_ok(r->returned_message_id, 255, TEXT_LINE));
	test_assert(r->n_rcpts <= CLASSIFY_MAX_RCPTS);
	test_assert(r->n_auth <= CLASSIFY_MAX_AUTH);
	for (size_t i = 0; i < r->n_rcpts && i < CLASSIFY_MAX_RCPTS; i++) {
		const struct bounce_rcpt *b = &r->rcpts[i];
		test_assert(text_ok(b->addr, MAX_EMAIL_LEN, TEXT_LINE));
		test_assert(text_ok(b->action, 15, TEXT_LINE));
		test_assert(text_ok(b->status, 15, TEXT_LINE));
		test_assert(text_ok(b->diagnostic, 511, TEXT_LINE));
		test_assert(b->kind <= r->bounce);
	}
	for (size_t i = 0; i < r->n_auth && i < CLASSIFY_MAX_AUTH; i++) {
		test_assert(text_ok(r->auth[i].authserv_id, MAX_DOMAIN_LEN, TEXT_LINE));
		test_assert(text_ok(r->auth[i].method, 15, TEXT_LINE));
		test_assert(text_ok(r->auth[i].result, 15, TEXT_LINE));
		test_assert(text_ok(r->auth[i].domain, MAX_DOMAIN_LEN, TEXT_LINE));
	}
	if (r->text != NULL)
		test_assert(text_ok(r->text, strlen(r->text), TEXT_MULTILINE));
	char *json = classify_result_json(r);
	test_assert(json != NULL);
	free(json);
}

static void classify_buf(const char *data, size_t len, struct classify_result *r)
{
	const char *err = "unset";
	test_assert_int(classify_message(data, len, &opts, r, &err), 0);
	test_assert(err == NULL);
	check_clean(r);
}

/* Classify a corpus file; its CRLF twin must come out the same. */
static void classify_file(const char *name, struct classify_result *r)
{
	size_t len, crlf_len;
	char *data = read_corpus(name, &len), *crlf = to_crlf(data, len, &crlf_len);
	struct classify_result twin;
	classify_buf(data, len, r);
	classify_buf(crlf, crlf_len, &twin);
	test_assert_int(twin.cls, r->cls);
	test_assert_int(twin.tag, r->tag);
	test_assert_str(twin.code, r->code);
	test_assert_int(twin.bounce, r->bounce);
	test_assert_int(twin.n_rcpts, r->n_rcpts);
	test_assert_str(twin.subject, r->subject);
	test_assert_str(twin.returned_message_id, r->returned_message_id);
	for (size_t i = 0; i < r->n_rcpts && i < twin.n_rcpts; i++) {
		test_assert_str(twin.rcpts[i].addr, r->rcpts[i].addr);
		test_assert_str(twin.rcpts[i].status, r->rcpts[i].status);
		test_assert_str(twin.rcpts[i].diagnostic, r->rcpts[i].diagnostic);
	}
	classify_result_clear(&twin);
	free(crlf);
	free(data);
}

static void expect_rcpt(const struct classify_result *r, size_t i, const char *addr,
			const char *action, const char *status, const char *diag,
			enum bounce_kind kind)
{
	test_assert(i < r->n_rcpts);
	if (i >= r->n_rcpts)
		return;
	test_assert_str(r->rcpts[i].addr, addr);
	test_assert_str(r->rcpts[i].action, action);
	test_assert_str(r->rcpts[i].status, status);
	test_assert_contains(r->rcpts[i].diagnostic, diag);
	test_assert_int(r->rcpts[i].kind, kind);
}

static void expect_tag(const struct classify_result *r, enum mail_tag tag, const char *code)
{
	test_assert_int(r->tag, tag);
	test_assert_str(r->code, code);
}

/* ------------------------------------------------------ RFC 3464 reports */

TEST(dsn_postfix_permanent)
{
	struct classify_result r;
	classify_file("dsn-postfix-permanent.eml", &r);
	/* it also says Auto-Submitted: auto-replied; a bounce wins */
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "RFC 3464");
	expect_tag(&r, TAG_BOUNCES, "k7q2mz4a");
	test_assert_int(r.bounce, BOUNCE_PERMANENT);
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "nobody@customer.test", "failed", "5.1.1",
		    "550 5.1.1 <nobody@customer.test>: Recipient address rejected: User unknown "
		    "in virtual mailbox table",
		    BOUNCE_PERMANENT);
	test_assert(strncmp(r.rcpts[0].diagnostic, "550 5.1.1", 9) == 0); /* "smtp;" dropped */
	test_assert_str(r.returned_message_id, "k7q2mz4a@example.test");
	test_assert_str(r.message_id, "20250114100210.4Xk2Lq1Zz9z1@mx.sender.test");
	test_assert_str(r.from_addr, "mailer-daemon@mx.sender.test");
	test_assert_str(r.subject, "Undelivered Mail Returned to Sender");
	test_assert_contains(r.text, "I'm sorry to have to inform you");
	classify_result_clear(&r);
}

TEST(dsn_temporary)
{
	struct classify_result r;
	classify_file("dsn-temporary.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	expect_tag(&r, TAG_BOUNCES, "t4x5w6y7"); /* from X-Original-To */
	test_assert_int(r.bounce, BOUNCE_TEMPORARY);
	test_assert_int(r.n_rcpts, 1);
	/* "<…>" and the "(mailbox full)" comment after the status are dropped;
	 * the folded diagnostic is one line */
	expect_rcpt(&r, 0, "full@customer.test", "failed", "4.2.2",
		    "452 4.2.2 <full@customer.test>: Mailbox full, try again later",
		    BOUNCE_TEMPORARY);
	test_assert_str(r.returned_message_id, "t4x5w6y7@example.test"); /* text/rfc822-headers */
	test_assert_str(r.from_name, "Mail Delivery Subsystem");
	classify_result_clear(&r);
}

TEST(dsn_delayed)
{
	struct classify_result r;
	classify_file("dsn-delayed.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	expect_tag(&r, TAG_BOUNCES, "d3l4y5ab");
	test_assert_int(r.bounce, BOUNCE_DELAYED);
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "slow@customer.test", "delayed", "4.4.1",
		    "connect to mx.slow.test[192.0.2.7]:25: Connection timed out", BOUNCE_DELAYED);
	test_assert_str(r.returned_message_id, "d3l4y5ab@example.test");
	classify_result_clear(&r);
}

TEST(dsn_multi_rcpt)
{
	struct classify_result r;
	classify_file("dsn-multi-rcpt.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	/* not sent to a tag: found in the returned message's Return-Path */
	expect_tag(&r, TAG_BOUNCES, "m2r3c2d3");
	test_assert_int(r.n_rcpts, 2);
	expect_rcpt(&r, 0, "full@customer.test", "failed", "4.2.2", "Mailbox over quota",
		    BOUNCE_TEMPORARY);
	expect_rcpt(&r, 1, "blocked@other.test", "failed", "5.7.1", "Relay access denied",
		    BOUNCE_PERMANENT);
	test_assert_int(r.bounce, BOUNCE_PERMANENT); /* the worst of the two */
	test_assert_str(r.returned_message_id, "m2r3c2d3@example.test");
	classify_result_clear(&r);
}

TEST(dsn_base64_parts)
{
	struct classify_result r;
	classify_file("dsn-base64-parts.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	/* base64 report and returned message; the tag only in its Message-ID */
	expect_tag(&r, TAG_BOUNCES, "b6a5e4d3");
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "former.employee@customer.test", "failed", "5.1.10",
		    "550 5.1.10 RESOLVER.ADR.RecipientNotFound", BOUNCE_PERMANENT);
	test_assert_int(r.bounce, BOUNCE_PERMANENT);
	test_assert_str(r.returned_message_id, "b6a5e4d3@example.test");
	test_assert_str(r.from_name, "Microsoft Outlook");
	classify_result_clear(&r);
}

/* -------------------------------------------------- non-standard bounces */

TEST(text_postfix)
{
	struct classify_result r;
	classify_file("text-postfix.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "Postfix");
	expect_tag(&r, TAG_BOUNCES, "p5f6x7ab");
	test_assert_int(r.n_rcpts, 1);
	/* the wrapped "<x>: Recipient address rejected" belongs to the first */
	expect_rcpt(&r, 0, "gone@customer.test", "failed", "5.1.1",
		    "550 5.1.1 <gone@customer.test>: Recipient address rejected: User unknown in "
		    "local recipient table",
		    BOUNCE_PERMANENT);
	test_assert_int(r.bounce, BOUNCE_PERMANENT);
	test_assert_str(r.returned_message_id, "p5f6x7ab@example.test");
	classify_result_clear(&r);
}

TEST(text_exim)
{
	struct classify_result r;
	classify_file("text-exim.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "Exim");
	expect_tag(&r, TAG_BOUNCES, "e2x3m4cd");
	test_assert_int(r.n_rcpts, 2);
	expect_rcpt(&r, 0, "gone@customer.test", "failed", "5.1.1",
		    "550 5.1.1 <gone@customer.test>: Recipient address rejected: User unknown",
		    BOUNCE_PERMANENT);
	test_assert(strncmp(r.rcpts[0].diagnostic, "550 ", 4) == 0);
	expect_rcpt(&r, 1, "other@customer.test", "failed", "5.7.1",
		    "Mailbox disabled for this recipient", BOUNCE_PERMANENT);
	test_assert_int(r.bounce, BOUNCE_PERMANENT);
	test_assert_str(r.returned_message_id, "e2x3m4cd@example.test");
	classify_result_clear(&r);
}

TEST(text_exim_delayed)
{
	struct classify_result r;
	classify_file("text-exim-delayed.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	expect_tag(&r, TAG_BOUNCES, "w3a4r5nz");
	test_assert_int(r.n_rcpts, 1);
	/* a 4.7.1 in a warning that delivery goes on is a delay */
	expect_rcpt(&r, 0, "slow@customer.test", "delayed", "4.7.1",
		    "451 4.7.1 Greylisted, please try again later", BOUNCE_DELAYED);
	test_assert_int(r.bounce, BOUNCE_DELAYED);
	test_assert_str(r.returned_message_id, "");
	classify_result_clear(&r);
}

TEST(text_qmail)
{
	struct classify_result r;
	classify_file("text-qmail.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "qmail");
	expect_tag(&r, TAG_BOUNCES, "q2m3l7ab");
	test_assert_int(r.n_rcpts, 1);
	/* no enhanced status: the 550 alone makes it permanent; qmail's
	 * "Giving up on …" is not part of the server's words */
	expect_rcpt(&r, 0, "nouser@customer.test", "failed", "", "550 No such user here",
		    BOUNCE_PERMANENT);
	test_assert_str(r.rcpts[0].diagnostic, "550 No such user here");
	test_assert_str(r.returned_message_id, "q2m3l7ab@example.test");
	classify_result_clear(&r);
}

TEST(text_exchange)
{
	struct classify_result r;
	classify_file("text-exchange.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "Exchange");
	expect_tag(&r, TAG_BOUNCES, "x4c2h3ab");
	/* named twice (for users, for administrators): one recipient, with
	 * the mention that has the server's reply; quoted-printable decoded */
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "former.employee@customer.test", "failed", "5.1.1",
		    "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", BOUNCE_PERMANENT);
	test_assert_str(r.rcpts[0].diagnostic, "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found");
	test_assert_str(r.returned_message_id, "x4c2h3ab@example.test");
	classify_result_clear(&r);
}

TEST(text_yahoo)
{
	struct classify_result r;
	classify_file("text-yahoo.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "Yahoo");
	expect_tag(&r, TAG_BOUNCES, "y4h5o6ab");
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "full@customer.test", "failed", "4.2.2",
		    "452 4.2.2 <full@customer.test>... Mailbox full", BOUNCE_TEMPORARY);
	test_assert_int(r.bounce, BOUNCE_TEMPORARY);
	test_assert_str(r.returned_message_id, "y4h5o6ab@example.test");
	classify_result_clear(&r);
}

/* ------------------------------------------------------------ auto-replies */

TEST(auto_submitted)
{
	struct classify_result r;
	classify_file("auto-submitted.eml", &r);
	test_assert_int(r.cls, MAIL_AUTO_REPLY);
	test_assert_contains(r.reason, "Auto-Submitted: auto-replied");
	expect_tag(&r, TAG_REPLY, "a5u6t7ab");
	test_assert_int(r.n_rcpts, 0);
	test_assert_int(r.bounce, BOUNCE_NONE);
	classify_result_clear(&r);
}

TEST(auto_submitted_no)
{
	struct classify_result r;
	classify_file("auto-submitted-no.eml", &r);
	test_assert_int(r.cls, MAIL_REPLY); /* "no" means a person wrote it */
	expect_tag(&r, TAG_REPLY, "n2a3b4cd");
	test_assert_str(r.in_reply_to, "n2a3b4cd@example.test");
	test_assert_str(r.text, "Thanks, I will accept later today.\n");
	classify_result_clear(&r);
}

TEST(x_autoreply)
{
	struct classify_result r;
	classify_file("x-autoreply.eml", &r);
	test_assert_int(r.cls, MAIL_AUTO_REPLY);
	test_assert_contains(r.reason, "X-Autoreply");
	expect_tag(&r, TAG_REPLY, "x6a7r2ab");
	test_assert_str(r.from_name, "Tom Tester");
	classify_result_clear(&r);
}

TEST(precedence_auto_reply)
{
	struct classify_result r;
	classify_file("precedence-auto-reply.eml", &r);
	test_assert_int(r.cls, MAIL_AUTO_REPLY);
	test_assert_str(r.reason, "Precedence: auto_reply");
	expect_tag(&r, TAG_VERIFY, "p2r3c4ab");
	classify_result_clear(&r);
}

TEST(precedence_junk)
{
	struct classify_result r;
	classify_file("precedence-junk.eml", &r);
	test_assert_int(r.cls, MAIL_AUTO_REPLY);
	test_assert_str(r.reason, "Precedence: junk");
	expect_tag(&r, TAG_REPLY, "j5u6n7ab");
	classify_result_clear(&r);
}

TEST(vacation)
{
	struct classify_result r;
	classify_file("vacation.eml", &r);
	/* sent to our envelope sender with a null Return-Path, as RFC 3834
	 * asks: an auto-reply, not a bounce */
	test_assert_int(r.cls, MAIL_AUTO_REPLY);
	test_assert_str(r.reason, "Precedence: bulk");
	expect_tag(&r, TAG_BOUNCES, "v4c5a6ab");
	test_assert_int(r.n_rcpts, 0);
	test_assert_contains(r.text, "I will not be reading my mail");
	classify_result_clear(&r);
}

TEST(outlook_auto_reply)
{
	struct classify_result r;
	classify_file("outlook-auto-reply.eml", &r);
	test_assert_int(r.cls, MAIL_AUTO_REPLY);
	test_assert_contains(r.reason, "X-Auto-Response-Suppress");
	expect_tag(&r, TAG_REPLY, "o7u2t3ab");
	test_assert_str(r.from_name, "山田 花子");
	test_assert_str(r.subject, "Automatic reply: You are invited");
	test_assert_contains(r.text, "ただいま不在にしております。");
	test_assert(strchr(r.text, '\r') == NULL);
	classify_result_clear(&r);
}

TEST(mdn_read_receipt)
{
	struct classify_result r;
	classify_file("mdn-read-receipt.eml", &r);
	test_assert_int(r.cls, MAIL_AUTO_REPLY);
	test_assert_contains(r.reason, "disposition notification");
	expect_tag(&r, TAG_REPLY, "r3a4d5ab");
	classify_result_clear(&r);
}

/* ------------------------------------------------------------------ replies */

TEST(reply_plain)
{
	struct classify_result r;
	classify_file("reply-plain.eml", &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert_str(r.reason, "sent to reply+r7e2p3ly@example.test");
	expect_tag(&r, TAG_REPLY, "r7e2p3ly");
	test_assert_str(r.from_addr, "juergen@mueller.test"); /* lower-cased */
	test_assert_str(r.from_name, "Jürgen Müller");        /* ISO-8859-1 word */
	test_assert_str(r.subject, "Re: Einladung für Müller & Söhne GmbH");
	test_assert_str(r.message_id, "CAF=reply.1@mail.mueller.test");
	test_assert_str(r.in_reply_to, "r7e2p3ly@example.test");
	/* the text/plain alternative, quoted-printable decoded */
	test_assert_contains(r.text, "Our legal name is Müller & Söhne GmbH.\nRegards, Jürgen\n");
	test_assert(strstr(r.text, "<p>") == NULL);
	test_assert_int(r.n_auth, 0);
	classify_result_clear(&r);
}

TEST(reply_verify_auth)
{
	struct classify_result r;
	classify_file("reply-verify-auth.eml", &r);
	test_assert_int(r.cls, MAIL_REPLY);
	expect_tag(&r, TAG_VERIFY, "v2e3r4fy");
	test_assert_str(r.from_name, "山田");
	test_assert_str(r.subject, "確認");
	test_assert_str(r.text, "確認のため返信します。\n株式会社テスト 山田\n"); /* ISO-2022-JP */
	test_assert_int(r.n_auth, 5);
	static const char *const want[5][4] = {
		{"mail.example.test", "dkim", "pass", "test-corp.test"},
		{"mail.example.test", "spf", "pass", "test-corp.test"},
		{"mail.example.test", "dmarc", "pass", "test-corp.test"},
		{"mx.relay.test", "dkim", "fail", "test-corp.test"},
		{"mx.relay.test", "arc", "none", ""},
	};
	for (size_t i = 0; i < 5 && i < r.n_auth; i++) {
		test_assert_str(r.auth[i].authserv_id, want[i][0]);
		test_assert_str(r.auth[i].method, want[i][1]);
		test_assert_str(r.auth[i].result, want[i][2]);
		test_assert_str(r.auth[i].domain, want[i][3]);
	}
	classify_result_clear(&r);
}

TEST(unknown_no_tag)
{
	struct classify_result r;
	classify_file("unknown-no-tag.eml", &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_contains(r.reason, "not sent to a reply address");
	expect_tag(&r, TAG_NONE, "");
	test_assert_str(r.from_addr, "sam@spam.test");
	classify_result_clear(&r);
}

/* ---------------------------------------------------------------- hostile */

TEST(hostile_broken_boundary)
{
	struct classify_result r;
	classify_file("hostile-broken-boundary.eml", &r);
	/* the report's parts cannot be found: its raw words are read */
	test_assert_int(r.cls, MAIL_BOUNCE);
	expect_tag(&r, TAG_BOUNCES, "b7r2k3na");
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "lost@customer.test", "failed", "5.1.1", "User unknown",
		    BOUNCE_PERMANENT);
	test_assert_str(r.returned_message_id, "b7r2k3na@example.test");
	classify_result_clear(&r);
}

TEST(hostile_unterminated)
{
	struct classify_result r;
	classify_file("hostile-unterminated.eml", &r);
	test_assert_int(r.cls, MAIL_REPLY);
	expect_tag(&r, TAG_REPLY, "h2s7i3ea");
	test_assert_str(r.text, "This is the first part, and the only one that ends.\n");
	classify_result_clear(&r);
}

TEST(hostile_big_header)
{
	struct classify_result r;
	classify_file("hostile-big-header.eml", &r);
	test_assert_int(r.cls, MAIL_REPLY);
	expect_tag(&r, TAG_REPLY, "h2s7i3ea");
	test_assert_str(r.subject, "Re: You are invited (after a 200 KB header)");
	test_assert_str(r.message_id, "big-header@evil.test");
	test_assert_str(r.text, "The header above is long.\n");
	classify_result_clear(&r);
}

TEST(hostile_deep_nesting)
{
	struct classify_result r;
	classify_file("hostile-deep-nesting.eml", &r);
	/* 100 levels: the header is read, the MIME structure is not */
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_contains(r.reason, "nested too deeply");
	expect_tag(&r, TAG_REPLY, "h2s7i3ea");
	test_assert_str(r.subject, "Re: nested");
	test_assert(r.text == NULL);
	classify_result_clear(&r);
}

TEST(hostile_deep_comments)
{
	struct classify_result r;
	classify_file("hostile-deep-comments.eml", &r);
	/* 100000 nested "(" would run libetpan out of stack */
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_contains(r.reason, "comments nested too deeply");
	expect_tag(&r, TAG_NONE, "");
	classify_result_clear(&r);
}

TEST(hostile_bad_encoding)
{
	struct classify_result r;
	classify_file("hostile-bad-encoding.eml", &r);
	test_assert_int(r.cls, MAIL_REPLY);
	expect_tag(&r, TAG_REPLY, "h2s7i3ea");
	/* the base64 decoder skips what is not base64 */
	test_assert_contains(r.text, "Hello from a broken base64 part");
	classify_result_clear(&r);
}

TEST(hostile_bad_charset)
{
	struct classify_result r;
	classify_file("hostile-bad-charset.eml", &r);
	test_assert_int(r.cls, MAIL_REPLY);
	expect_tag(&r, TAG_REPLY, "h2s7i3ea");
	/* an encoded word in an unknown charset is read as ISO-8859-1 */
	test_assert_str(r.subject, "Café menu");
	/* a body in an unknown charset is read as UTF-8; bytes that are not
	 * become U+FFFD, the escape character goes */
	test_assert_contains(r.text, "Café ok \xef\xbf\xbd\xef\xbf\xbd end");
	test_assert(strchr(r.text, 0x1b) == NULL);
	test_assert_contains(r.text, "[31m escape \xef\xbf\xbd\xef\xbf\xbd overlong");
	classify_result_clear(&r);
}

TEST(hostile_nul_bytes)
{
	struct classify_result r;
	classify_file("hostile-nul-bytes.eml", &r);
	test_assert_int(r.cls, MAIL_REPLY);
	expect_tag(&r, TAG_REPLY, "h2s7i3ea");
	test_assert_str(r.subject, "Re: You are invited");
	test_assert_str(r.text, "Thanks for the invitation.\n\n"); /* NULs dropped */
	classify_result_clear(&r);
}

TEST(empty)
{
	struct classify_result r;
	classify_file("empty.eml", &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_str(r.reason, "empty message");
	test_assert(r.text == NULL);
	classify_result_clear(&r);

	classify_buf(NULL, 0, &r);
	test_assert_int(r.cls, MAIL_UNKNOWN);
	test_assert_str(r.reason, "empty message");
	classify_result_clear(&r);
}

/* ------------------------------------------------ tags, built in the test */

static void classify_str(const char *msg, struct classify_result *r)
{
	classify_buf(msg, strlen(msg), r);
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

TEST(corpus_complete)
{
	/* every file of the corpus is in the list the fuzzer reads */
	const char *dir = getenv("INVITED_SOURCE_DIR");
	char path[4096];
	struct dirent *e;
	size_t seen = 0;
	snprintf(path, sizeof(path), "%s/tests/corpus/classify", dir ? dir : ".");
	DIR *d = opendir(path);
	test_assert(d != NULL);
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name), found = 0;
		if (n < 4 || strcmp(e->d_name + n - 4, ".eml") != 0)
			continue;
		for (size_t i = 0; i < N_CORPUS; i++)
			found |= strcmp(corpus[i], e->d_name) == 0;
		if (!found)
			fprintf(stderr, "%s is not in corpus[]\n", e->d_name);
		test_assert(found);
		seen++;
	}
	if (d != NULL)
		closedir(d);
	test_assert_int(seen, N_CORPUS);
}

TEST_MAIN()
