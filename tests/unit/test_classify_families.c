/*
 * test_classify_families.c: one sample per family of failure notice the
 * world sends (tests/corpus/classify, each with an X-Format-Source line
 * naming where its format comes from), and what the classifier must read
 * out of it: a bounce, of the right kind, naming the failed recipient,
 * with the status and the words of the diagnostic where the notice gives
 * them. Delays must read as delays, never as failures.
 */
#include "classify_test.h"

struct family {
	const char *file;
	const char *addr;
	const char *status;     /* "" where the notice gives none */
	const char *diagnostic; /* words the diagnostic holds */
	enum bounce_kind kind;
};

static const struct family families[] = {
	{"text-smtp32.eml", "gone@customer.test", "", "Delivery failed 3 attempts",
	 BOUNCE_PERMANENT},
	{"text-imail-quota.eml", "full@customer.test", "", "exceeds allowed size",
	 BOUNCE_PERMANENT},
	{"text-o365.eml", "nobody@contoso.test", "5.1.10", "RESOLVER.ADR.RecipientNotFound",
	 BOUNCE_PERMANENT},
	{"text-exchange2003.eml", "left@fabrikam.test", "5.1.1", "User unknown",
	 BOUNCE_PERMANENT},
	{"text-notes-failure-report.eml", "moved@notes.customer.test", "",
	 "not listed in Domino Directory", BOUNCE_PERMANENT},
	{"text-aol.eml", "nosuchname@aol.test", "5.1.1", "User unknown", BOUNCE_PERMANENT},
	{"text-sina.eml", "wuren@sina.test", "5.1.1", "550 5.1.1 user unknown", BOUNCE_PERMANENT},
	{"text-mailru.eml", "nikto@mail.test", "", "invalid mailbox", BOUNCE_PERMANENT},
	{"text-qmail-remote.eml", "absent@far.test", "5.1.1", "User unknown in virtual mailbox",
	 BOUNCE_PERMANENT},
	{"text-qmail-vpopmail.eml", "closed@vpop.customer.test", "",
	 "no longer accepts mail", BOUNCE_PERMANENT},
	{"text-gmail.eml", "missing@customer.test", "5.1.1", "does not exist", BOUNCE_PERMANENT},
	{"text-hmailserver.eml", "nope@hmail.customer.test", "", "550 No such user here",
	 BOUNCE_PERMANENT},
	{"text-courier.eml", "bad@courier.customer.test", "5.1.1", "User unknown",
	 BOUNCE_PERMANENT},
	{"dsn-unusual-fields.eml", "lost@odd.customer.test", "5.1.1", "no mailbox by that name",
	 BOUNCE_PERMANENT},
	{"dsn-inline-text.eml", "ghost@gw.customer.test", "5.1.1", "unknown recipient",
	 BOUNCE_PERMANENT},
	{"dsn-original-recipient.eml", "first@orig.customer.test", "5.2.1", "account disabled",
	 BOUNCE_PERMANENT},
	{"text-postfix-delay.eml", "slow@customer.test", "", "Connection timed out",
	 BOUNCE_DELAYED},
	{"text-gmail-delay.eml", "later@customer.test", "", "temporary problem", BOUNCE_DELAYED},
	{"text-exchange-delay.eml", "waiting@fabrikam.test", "", "", BOUNCE_DELAYED},
};

#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

/* Every family: a bounce naming exactly its recipient, never an
 * auto-reply; per family a line on stderr, for the closing note. */
TEST(every_family_names_its_failed_recipient)
{
	for (size_t i = 0; i < N_FAMILIES; i++) {
		const struct family *f = &families[i];
		struct classify_result r;
		classify_file(f->file, &r);
		int ok = r.cls == MAIL_BOUNCE && r.n_rcpts == 1 && r.bounce == f->kind &&
			 strcmp(r.rcpts[0].addr, f->addr) == 0 &&
			 strcmp(r.rcpts[0].status, f->status) == 0 &&
			 strstr(r.rcpts[0].diagnostic, f->diagnostic) != NULL;
		fprintf(stderr, "%-32s %s\n", f->file, ok ? "ok" : "MISSED");
		test_assert_int(r.cls, MAIL_BOUNCE);
		test_assert_int(r.bounce, f->kind);
		test_assert_int(r.n_rcpts, 1);
		expect_rcpt(&r, 0, f->addr, f->kind == BOUNCE_DELAYED ? "delayed" : "failed",
			    f->status, f->diagnostic, f->kind);
		classify_result_clear(&r);
	}
}

/* Each sample says where its format comes from, first thing. */
TEST(every_sample_names_its_source)
{
	for (size_t i = 0; i < N_FAMILIES; i++) {
		size_t len;
		char *data = read_corpus(families[i].file, &len);
		test_assert(strncmp(data, "X-Format-Source: ", 17) == 0);
		free(data);
	}
}

/* The same notices, their words kept, sent by a person to a reply
 * address: a reply, however many failure words it quotes. */
TEST(a_person_quoting_a_notice_is_not_a_bounce)
{
	static const char msg[] =
		"From: Carol <carol@customer.test>\r\n"
		"To: reply+r4p5l6ab@example.test\r\n"
		"Subject: Re: You are invited\r\n"
		"Message-ID: <x2@customer.test>\r\n"
		"\r\n"
		"I tried to forward it and got this back:\r\n"
		"Delivery failed 3 attempts: bob@customer.test\r\n"
		"Your message wasn't delivered to bob@customer.test because the address\r\n"
		"couldn't be found. Use my address instead.\r\n";
	struct classify_result r;
	classify_buf(msg, sizeof(msg) - 1, &r);
	test_assert_int(r.cls, MAIL_REPLY);
	test_assert_int(r.n_rcpts, 0);
	classify_result_clear(&r);
}

/* Our own tagged addresses and the postmaster a notice names are never
 * taken for the failed recipient. */
TEST(our_addresses_and_the_postmaster_are_not_recipients)
{
	static const char msg[] =
		"From: MAILER-DAEMON@mx.customer.test\r\n"
		"To: bounces+b1c2d3ab@example.test\r\n"
		"Subject: Undeliverable Mail\r\n"
		"Message-ID: <x3@mx.customer.test>\r\n"
		"\r\n"
		"Delivery failed for mail from bounces+b1c2d3ab@example.test: see below.\r\n"
		"Questions: postmaster@customer.test\r\n"
		"Unknown user: real@customer.test\r\n";
	struct classify_result r;
	classify_buf(msg, sizeof(msg) - 1, &r);
	test_assert_int(r.cls, MAIL_BOUNCE);
	test_assert_int(r.n_rcpts, 1);
	expect_rcpt(&r, 0, "real@customer.test", "failed", "", "Unknown user", BOUNCE_PERMANENT);
	classify_result_clear(&r);
}

/* From a hostile review: each message, and the one recipient it must
 * yield (NULL: an auto-reply, no recipient). */
static const struct {
	const char *name, *body, *want;
	enum mail_class cls;
} tricky[] = {
	{"an auto-reply saying mail couldn't be delivered to its writer",
	 "From: Anna Berg <anna.berg@acme.test>\r\nTo: bounces+f3o3a6ab@example.test\r\n"
	 "Return-Path: <>\r\nSubject: Automatic reply: You are invited\r\n"
	 "Auto-Submitted: auto-replied\r\n\r\n"
	 "I have left Acme, so your message couldn't be delivered to me personally.\r\n"
	 "This mailbox is no longer read; please write to jane.doe@acme.test instead.\r\n",
	 NULL, MAIL_AUTO_REPLY},
	{"a stem inside a word (full in successfully)",
	 "From: mailer-daemon@mx.acme.test\r\nTo: bounces+f3o3a6ab@example.test\r\n"
	 "Subject: Delivery Status Notification (Failure)\r\n\r\n"
	 "Your message was forwarded successfully from alice@acme.test to bob@elsewhere.test.\r\n"
	 "Delivery to bob@elsewhere.test failed permanently:\r\n\r\n"
	 "550 5.1.1 <bob@elsewhere.test>: Recipient address rejected: User unknown\r\n",
	 "bob@elsewhere.test", MAIL_BOUNCE},
	{"the returned mail's sender after \"from\"",
	 "From: MAILER-DAEMON@mx.acme.test\r\nTo: bounces+f3o3a6ab@example.test\r\n"
	 "Subject: Mail delivery failed\r\n\r\n"
	 "The message from invitations@example.test to bob@acme.test was rejected.\r\n\r\n"
	 "Reason: 550 5.1.1 mailbox unavailable\r\n",
	 "bob@acme.test", MAIL_BOUNCE},
	{"our bounce address after from=",
	 "From: MAILER-DAEMON@mx.acme.test\r\nTo: bounces+f3o3a6ab@example.test\r\n"
	 "Subject: Mail delivery failed\r\n\r\n"
	 "Delivery failed for envelope from=bounces+f3o3a6ab@example.test rcpt=bob@acme.test\r\n"
	 "550 5.1.1 user unknown\r\n",
	 "bob@acme.test", MAIL_BOUNCE},
	{"an address before a full-width comma",
	 "From: MAILER-DAEMON@mx.acme.test\r\nTo: bounces+f3o3a6ab@example.test\r\n"
	 "Subject: =?UTF-8?B?6YCA5L+h?=\r\n\r\n"
	 "\xe6\x94\xb6\xe4\xbb\xb6\xe4\xba\xba\xef\xbc\x9a" "bob@acme.test"
	 "\xef\xbc\x8c\xe7\x94\xa8\xe6\x88\xb7\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8\r\n",
	 "bob@acme.test", MAIL_BOUNCE},
	{"an address before an ideographic full stop",
	 "From: MAILER-DAEMON@mx.acme.test\r\nTo: bounces+f3o3a6ab@example.test\r\n"
	 "Subject: Mail delivery failed\r\n\r\n"
	 "\xe6\x9c\xaa\xe8\x83\xbd\xe9\x80\x81\xe8\xbe\xbe " "bob@acme.test"
	 "\xe3\x80\x82\xe8\xaf\xa5\xe7\x94\xa8\xe6\x88\xb7\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8\r\n",
	 "bob@acme.test", MAIL_BOUNCE},
	{"an address inside an indented diagnostic",
	 "From: Mail Delivery System <Mailer-Daemon@mx.acme.test>\r\n"
	 "To: bounces+f3o3a6ab@example.test\r\nSubject: Mail delivery failed\r\n\r\n"
	 "This message was created automatically by mail delivery software.\r\n\r\n"
	 "  bob@acme.test\r\n    SMTP error from remote mail server after end of data:\r\n"
	 "    550 5.7.1 Message from invitations@example.test rejected by content policy\r\n",
	 "bob@acme.test", MAIL_BOUNCE},
	{"report fields naming nobody, then the notice's words",
	 "From: MAILER-DAEMON@mx.acme.test\r\nTo: bounces+f3o3a6ab@example.test\r\n"
	 "Subject: Mail delivery failed\r\n\r\nUnknown user: bob@acme.test\r\n\r\n"
	 "Final-Recipient:\r\n",
	 "bob@acme.test", MAIL_BOUNCE},
};

TEST(what_a_review_tried_reads_right)
{
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		struct classify_result r;
		fprintf(stderr, "%s\n", tricky[i].name);
		classify_buf(tricky[i].body, strlen(tricky[i].body), &r);
		test_assert_int(r.cls, tricky[i].cls);
		test_assert_int(r.n_rcpts, tricky[i].want != NULL);
		if (tricky[i].want != NULL && r.n_rcpts == 1) {
			test_assert_str(r.rcpts[0].addr, tricky[i].want);
			test_assert_int(r.rcpts[0].kind, BOUNCE_PERMANENT);
		}
		classify_result_clear(&r);
	}
}

TEST_MAIN()
