/* link: invited_verifier */
/*
 * test_classify.c: the inbound classifier on a corpus of bounces (RFC 3464
 * and the non-standard texts of Postfix, Exim, qmail, Exchange, Yahoo,
 * Domino, GroupWise, Sendmail, and a notice in no known format),
 * auto-replies, replies and hostile messages in tests/corpus/classify.
 * Every file is also read with CRLF line ends and must classify the same,
 * every result must be clean UTF-8, and mutated copies must not crash.
 */
#include "classify_test.h"

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

/* Lotus/HCL Domino: the address alone, the reason under "because:". */
TEST(text_domino)
{
	struct classify_result r;
	classify_file("text-domino.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "Domino");
	expect_tag(&r, TAG_BOUNCES, "d7m2n4ab");
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "nouser@customer.test", "failed", "",
		    "User nouser (nouser@customer.test) not listed in Domino Directory",
		    BOUNCE_PERMANENT);
	test_assert_int(r.bounce, BOUNCE_PERMANENT);
	classify_result_clear(&r);
}

/* GroupWise: the reason in parentheses after the address. */
TEST(text_groupwise)
{
	struct classify_result r;
	classify_file("text-groupwise.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "GroupWise");
	expect_tag(&r, TAG_BOUNCES, "g5w6s7ab");
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "nouser@customer.test", "failed", "", "user not found",
		    BOUNCE_PERMANENT);
	test_assert_str(r.returned_message_id, "g5w6s7ab@example.test");
	classify_result_clear(&r);
}

/* No known format: a mailer daemon's failure words make it a bounce, its
 * Auto-Submitted: auto-replied notwithstanding, and "Unknown user: x@y"
 * names the recipient. */
TEST(text_simple_failure_words_from_a_daemon)
{
	struct classify_result r;
	classify_file("text-simple.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "failure notice from a mailer daemon");
	expect_tag(&r, TAG_BOUNCES, "s2m3p4ab");
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "nouser@customer.test", "failed", "",
		    "Unknown user: nouser@customer.test", BOUNCE_PERMANENT);
	test_assert_str(r.returned_message_id, "s2m3p4ab@example.test");
	classify_result_clear(&r);
}

/* The same words from a person, to a reply address: not a bounce. */
TEST(failure_words_from_a_person_are_a_reply)
{
	static const char msg[] =
		"From: Carol <carol@customer.test>\r\n"
		"To: reply+r4p5l6ab@example.test\r\n"
		"Subject: Re: You are invited\r\n"
		"Message-ID: <x1@customer.test>\r\n"
		"\r\n"
		"Our old address gave \"user unknown\" for a while; this one works.\r\n";
	struct classify_result r;
	const char *err;
	test_assert_int(classify_message(msg, sizeof(msg) - 1, &opts, &r, &err), 0);
	test_assert_int(r.cls, MAIL_REPLY);
	classify_result_clear(&r);
}

/* Sendmail without a report part: "x@y... User unknown". */
TEST(text_sendmail_transcript)
{
	struct classify_result r;
	classify_file("text-sendmail.eml", &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_contains(r.reason, "Sendmail");
	expect_tag(&r, TAG_BOUNCES, "s5m6l7ab");
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "nouser@customer.test", "failed", "5.1.1", "User unknown",
		    BOUNCE_PERMANENT);
	test_assert_int(r.bounce, BOUNCE_PERMANENT);
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
