/* link: invited_verifier */
/*
 * test_inbound.c: acting on inbound mail, on a real SQLite store in a
 * temporary folder: which Authentication-Results prove a reply, a message
 * handled once by UID and once by Message-ID across a UIDVALIDITY change,
 * a bounce matched by the returned Message-ID when the VERP address is
 * gone, and the mailbox state kept with each message.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_fixture.h"
#include "invited/inbound.h"
#include "mailer_fixture.h"
#include "test.h"

/* A fake of the server's reporter: it records what the reader reports and
 * changes nothing (the owners' side is tested in test_lifecycle.c). */
struct fake_reports {
	int n;
	struct mail_report last;
	char reason[512];
};

static int fake_report(void *ctx, struct store *st, const struct mail_report *r, int64_t now,
		       const char **error_r)
{
	struct fake_reports *fr = ctx;
	(void)st, (void)now, (void)error_r;
	fr->n++;
	fr->last = *r;
	snprintf(fr->reason, sizeof(fr->reason), "%s", r->reason ? r->reason : "");
	fr->last.reason = fr->reason;
	return 0;
}

struct fixture {
	char dir[64];
	struct fake_reports reports;
	struct store *st;
	struct tpl_set *tpl;
	struct mailer mailer;
	struct verifier_env env;
	struct inbound_opts opts;
};

static void setup(struct fixture *fx)
{
	const char *err;
	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/invited-inbound-XXXXXX");
	test_assert(mkdtemp(fx->dir) != NULL);
	test_assert_int(store_open(test_db_new(), STORE_CREATE | STORE_MIGRATE, &fx->st, &err),
			STORE_OK);
	mailer_fixture(&fx->mailer, &fx->tpl);
	fx->env = (struct verifier_env){.st = fx->st,
					.mailer = &fx->mailer,
					.now = 1800000000,
					.actor = "test",
					.report_mail = fake_report,
					.link_ctx = &fx->reports};
	fx->opts = (struct inbound_opts){.trusted_authserv = "mx.invited.test", .relay_per_day = 5};
}

static void teardown(struct fixture *fx)
{
	char cmd[128];
	store_close(fx->st);
	test_db_drop();
	tpl_set_free(fx->tpl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	test_assert(system(cmd) == 0);
}

static struct inbound_outcome handle(struct fixture *fx, uint32_t uidvalidity, uint32_t uid,
				     const char *msg)
{
	struct inbound_where w = {"INBOX", uidvalidity, uid};
	struct inbound_outcome out;
	const char *err = "";
	if (inbound_handle(&fx->env, &fx->opts, &w, msg, strlen(msg), &out, &err) != 0) {
		fprintf(stderr, "inbound_handle: %s\n", err);
		test_assert(0);
	}
	return out;
}

/* ------------------------------------------- Authentication-Results */

static struct classify_result reply_from(const char *from)
{
	struct classify_result r;
	memset(&r, 0, sizeof(r));
	r.cls = MAIL_REPLY;
	snprintf(r.from_addr, sizeof(r.from_addr), "%s", from);
	return r;
}

/* One result in header number `header` (0: the topmost). */
static void add_auth_in(struct classify_result *r, int header, const char *server,
			const char *method, const char *result, const char *domain)
{
	struct auth_result *a = &r->auth[r->n_auth++];
	snprintf(a->authserv_id, sizeof(a->authserv_id), "%s", server);
	snprintf(a->method, sizeof(a->method), "%s", method);
	snprintf(a->result, sizeof(a->result), "%s", result);
	snprintf(a->domain, sizeof(a->domain), "%s", domain);
	a->header = header;
}

/* One result in a header of its own, below the ones added before. */
static void add_auth(struct classify_result *r, const char *server, const char *method,
		     const char *result, const char *domain)
{
	add_auth_in(r, (int)r->n_auth, server, method, result, domain);
}

/* Two From addresses (two fields, or a list): a verifier signs one, the
 * classifier reads the first; which was signed is unknowable. */
TEST(authentic_needs_exactly_one_from_address)
{
	const char *why;
	struct classify_result r = reply_from("rita@contoso.test");
	add_auth(&r, "mx1.invited.test", "dkim", "pass", "contoso.test");
	r.from_count = 1;
	test_assert_int(inbound_authentic(&r, "mx1.invited.test", &why), 1);
	r.from_count = 2;
	test_assert_int(inbound_authentic(&r, "mx1.invited.test", &why), 0);
	test_assert_contains(why, "more than one From address");
	/* The classifier counts every From field and every mailbox in them. */
	static const char two_fields[] = "From: rita@contoso.test\r\nFrom: mallory@contoso.test\r\n"
					 "To: reply+aaaaaaaaaaaaaaaaaaaa@invited.test\r\n"
					 "Subject: Re: hi\r\n\r\nHello.\r\n";
	static const char a_list[] = "From: rita@contoso.test, mallory@contoso.test\r\n"
				     "To: reply+aaaaaaaaaaaaaaaaaaaa@invited.test\r\n"
				     "Subject: Re: hi\r\n\r\nHello.\r\n";
	static const char one[] = "From: Rita <rita@contoso.test>\r\n"
				  "To: reply+aaaaaaaaaaaaaaaaaaaa@invited.test\r\n"
				  "Subject: Re: hi\r\n\r\nHello.\r\n";
	const char *const msgs[] = {two_fields, a_list, one};
	const int want[] = {2, 2, 1};
	const struct classify_opts opts = {.reply_domain = "invited.test"};
	for (size_t i = 0; i < 3; i++) {
		struct classify_result res;
		test_assert_int(classify_message(msgs[i], strlen(msgs[i]), &opts, &res, &why), 0);
		test_assert_int(res.from_count, want[i]);
		classify_result_clear(&res);
	}
}

TEST(authentic_needs_a_trusted_server_and_a_pass_for_the_from_domain)
{
	const char *why;
	const char *trusted = "mx1.invited.test, MX2.invited.test";
	struct classify_result r = reply_from("rita@sales.contoso.test");
	test_assert_int(inbound_authentic(&r, trusted, &why), 0);
	test_assert_contains(why, "no Authentication-Results");

	add_auth(&r, "mx.attacker.test", "dkim", "pass", "contoso.test");
	test_assert_int(inbound_authentic(&r, trusted, &why), 0);
	test_assert_contains(why, "trusted");

	r = reply_from("rita@sales.contoso.test");
	add_auth(&r, "mx2.invited.test", "dkim", "pass", "contoso.test"); /* parent: aligned */
	test_assert_int(inbound_authentic(&r, trusted, &why), 1);
	test_assert_contains(why, "dkim=pass header.d=contoso.test");

	r = reply_from("rita@contoso.test");
	add_auth(&r, "mx1.invited.test", "dkim", "pass", "sales.contoso.test"); /* child: not */
	add_auth(&r, "mx1.invited.test", "spf", "pass", "contoso.test");      /* SPF: not */
	add_auth(&r, "mx1.invited.test", "dmarc", "fail", "contoso.test");
	test_assert_int(inbound_authentic(&r, trusted, &why), 0);
	test_assert_contains(why, "neither");

	r = reply_from("rita@contoso.test");
	add_auth(&r, "mx1.invited.test", "dmarc", "pass", "contoso.test");
	test_assert_int(inbound_authentic(&r, trusted, &why), 1);

	/* Only the topmost results of the trusted server count: a pass
	 * further down, below another server's header, was written by the
	 * sender. */
	r = reply_from("rita@contoso.test");
	add_auth(&r, "mx1.invited.test", "dkim", "fail", "contoso.test");
	add_auth(&r, "relay.elsewhere.test", "spf", "pass", "contoso.test");
	add_auth(&r, "mx1.invited.test", "dkim", "pass", "contoso.test");
	test_assert_int(inbound_authentic(&r, trusted, &why), 0);

	/* The trusted server's header on top says none or fail; a header
	 * below it naming the same server and passing was the sender's. */
	r = reply_from("rita@contoso.test");
	add_auth(&r, "mx1.invited.test", "dkim", "none", "contoso.test");
	add_auth(&r, "mx1.invited.test", "dkim", "pass", "contoso.test");
	add_auth(&r, "mx1.invited.test", "dmarc", "pass", "contoso.test");
	test_assert_int(inbound_authentic(&r, trusted, &why), 0);
	test_assert_contains(why, "neither");

	/* Several results of the topmost header all count. */
	r = reply_from("rita@contoso.test");
	add_auth_in(&r, 0, "mx1.invited.test", "dkim", "fail", "contoso.test");
	add_auth_in(&r, 0, "mx1.invited.test", "dmarc", "pass", "contoso.test");
	add_auth_in(&r, 1, "mx1.invited.test", "dkim", "pass", "contoso.test");
	test_assert_int(inbound_authentic(&r, trusted, &why), 1);
	test_assert_contains(why, "dmarc=pass");

	/* A topmost header with no result ("mx1; none") leaves nothing to
	 * trust below it. */
	r = reply_from("rita@contoso.test");
	add_auth_in(&r, 1, "mx1.invited.test", "dkim", "pass", "contoso.test");
	test_assert_int(inbound_authentic(&r, trusted, &why), 0);
	test_assert_contains(why, "topmost");

	/* A public suffix signs for no one: com, co.jp, test. */
	const char *suffix_cases[][2] = {{"rita@contoso.test", "test"},
					 {"rita@sales.example.co.jp", "co.jp"},
					 {"rita@github.io", "github.io"}};
	for (size_t i = 0; i < 3; i++) {
		r = reply_from(suffix_cases[i][0]);
		add_auth_in(&r, 0, "mx1.invited.test", "dkim", "pass", suffix_cases[i][1]);
		test_assert_int(inbound_authentic(&r, trusted, &why), 0);
		r = reply_from(suffix_cases[i][0]);
		add_auth_in(&r, 0, "mx1.invited.test", "dmarc", "pass",
			    strchr(suffix_cases[i][0], '@') + 1);
		/* DMARC for the From domain itself: contoso.test and
		 * sales.example.co.jp are domains, github.io a suffix */
		test_assert_int(inbound_authentic(&r, trusted, &why), i == 2 ? 0 : 1);
	}

	/* A list of no servers trusts nobody. */
	r = reply_from("rita@contoso.test");
	add_auth(&r, "mx1.invited.test", "dkim", "pass", "contoso.test");
	test_assert_int(inbound_authentic(&r, "", &why), 0);
	test_assert_int(inbound_authentic(&r, " , ", &why), 0);
}

/* --------------------------------------------------- against the store */

static const char unknown_msg[] =
	"From: someone@elsewhere.test\r\n"
	"To: postmaster@invited.test\r\n"
	"Subject: hello\r\n"
	"Message-ID: <one@elsewhere.test>\r\n"
	"\r\n"
	"Just saying hello.\r\n";

TEST(a_message_is_handled_once_by_uid_and_by_message_id)
{
	struct fixture fx;
	const char *err;
	uint32_t uidvalidity, last_uid;
	setup(&fx);
	struct inbound_outcome out = handle(&fx, 7, 5, unknown_msg);
	test_assert_int(out.duplicate, 0);
	test_assert_int(out.unmatched, 1);
	test_assert_int(out.row.action, INBOUND_UNMATCHED);
	test_assert_str(out.row.message_id, "one@elsewhere.test");
	test_assert_int(store_imap_state_get(fx.st, "INBOX", &uidvalidity, &last_uid, &err),
			STORE_OK);
	test_assert_int(uidvalidity, 7);
	test_assert_int(last_uid, 5);

	/* The same UID again: recognized, not acted on. */
	out = handle(&fx, 7, 5, unknown_msg);
	test_assert_int(out.duplicate, 1);
	test_assert_int(out.unmatched, 1);

	/* After a UIDVALIDITY change the message has another UID, but the
	 * same Message-ID. */
	out = handle(&fx, 8, 1, unknown_msg);
	test_assert_int(out.duplicate, 1);

	/* A new message under the new UIDVALIDITY starts the count over. */
	char other[sizeof(unknown_msg)];
	memcpy(other, unknown_msg, sizeof(unknown_msg));
	memcpy(strstr(other, "<one@"), "<two@", 5);
	out = handle(&fx, 8, 2, other);
	test_assert_int(out.duplicate, 0);
	test_assert_int(store_imap_state_get(fx.st, "INBOX", &uidvalidity, &last_uid, &err),
			STORE_OK);
	test_assert_int(uidvalidity, 8);
	test_assert_int(last_uid, 2);

	/* Last UID only grows while UIDVALIDITY stays. */
	test_assert_int(store_imap_state_set(fx.st, "INBOX", 8, 1, &err), STORE_OK);
	test_assert_int(store_imap_state_get(fx.st, "INBOX", &uidvalidity, &last_uid, &err),
			STORE_OK);
	test_assert_int(last_uid, 2);
	teardown(&fx);
}

/* Anyone may choose a Message-ID: a message sent ahead with the one a
 * real message will carry must not make that one look handled. The same
 * message is its Message-ID with its sender, tag and code. */
TEST(a_message_id_sent_ahead_does_not_hide_the_real_one)
{
	struct fixture fx;
	setup(&fx);
	struct inbound_outcome out = handle(&fx, 7, 1, unknown_msg);
	test_assert_int(out.duplicate, 0);
	/* Another sender, the same Message-ID. */
	char other[sizeof(unknown_msg) + 16];
	snprintf(other, sizeof(other), "%s", unknown_msg);
	memcpy(strstr(other, "someone@"), "someon3@", 8);
	out = handle(&fx, 7, 2, other);
	test_assert_int(out.duplicate, 0);
	/* The same sender to a tagged address: another message too. */
	char tagged[sizeof(unknown_msg) + 64];
	snprintf(tagged, sizeof(tagged),
		 "From: someone@elsewhere.test\r\nTo: reply+aaaaaaaaaaaaaaaaaaaa@invited.test\r\n"
		 "Subject: hello\r\nMessage-ID: <one@elsewhere.test>\r\n\r\nHello.\r\n");
	out = handle(&fx, 7, 3, tagged);
	test_assert_int(out.duplicate, 0);
	test_assert_str(out.row.tag, "reply");
	/* The very same message under a new UIDVALIDITY: handled already. */
	out = handle(&fx, 8, 1, unknown_msg);
	test_assert_int(out.duplicate, 1);
	out = handle(&fx, 8, 2, tagged);
	test_assert_int(out.duplicate, 1);
	teardown(&fx);
}

TEST(skipped_message_is_recorded_unmatched_with_its_reason)
{
	struct fixture fx;
	struct inbound_outcome out;
	const char *err;
	setup(&fx);
	struct inbound_where w = {"INBOX", 3, 9};
	test_assert_int(inbound_skip(&fx.env, &w, "not read: too large", &out, &err), 0);
	test_assert_int(out.unmatched, 1);
	test_assert_int(inbound_skip(&fx.env, &w, "not read: too large", &out, &err), 0);
	test_assert_int(out.duplicate, 1);
	test_assert_str(out.row.detail, "not read: too large");
	teardown(&fx);
}

/* An invitation from a provider, and the mail that carried it. */
static int64_t sent_invitation(struct fixture *fx, struct outbox_msg *m)
{
	const char *err;
	struct org o = {.kind = ORG_PROVIDER, .status = ORG_APPROVED};
	snprintf(o.legal_name, sizeof(o.legal_name), "Northwind");
	snprintf(o.contact_name, sizeof(o.contact_name), "Paula");
	snprintf(o.contact_email, sizeof(o.contact_email), "paula@northwind.test");
	snprintf(o.locale, sizeof(o.locale), "en");
	test_assert_int(store_org_insert(fx->st, &o, &err), STORE_OK);
	struct invitation inv = {.kind = INV_INDIRECT_PROVIDER, .status = INV_SENT,
				 .inviter_org_id = o.id, .expires_at = fx->env.now + 86400,
				 .created_at = fx->env.now, .updated_at = fx->env.now};
	snprintf(inv.email, sizeof(inv.email), "rita@contoso.test");
	snprintf(inv.locale, sizeof(inv.locale), "en");
	snprintf(inv.reply_code, sizeof(inv.reply_code), "replycodereplycode22");
	test_assert_int(store_invitation_insert(fx->st, &inv, &err), STORE_OK);
	*m = (struct outbox_msg){.kind = OUTBOX_INVITATION, .invitation_id = inv.id,
				 .org_id = o.id, .data = "x", .len = 1,
				 .expires_at = fx->env.now + 86400, .created_at = fx->env.now};
	snprintf(m->code, sizeof(m->code), "verpcodeverpcode2222");
	snprintf(m->message_id, sizeof(m->message_id), "verpcodeverpcode2222@invited.test");
	snprintf(m->env_from, sizeof(m->env_from), "bounces+%s@invited.test", m->code);
	snprintf(m->rcpt, sizeof(m->rcpt), "rita@contoso.test");
	test_assert_int(store_outbox_add(fx->st, m, &err), STORE_OK);
	m->data = NULL;
	return inv.id;
}

/* A bounce whose VERP address was rewritten away (sent to the postmaster),
 * carrying the original's headers. */
static const char bounce_by_headers[] =
	"From: Mail Delivery System <MAILER-DAEMON@mx.contoso.test>\r\n"
	"To: postmaster@invited.test\r\n"
	"Subject: Undelivered Mail Returned to Sender\r\n"
	"Message-ID: <dsn-1@mx.contoso.test>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n"
	"\r\n"
	"--b\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Your message could not be delivered.\r\n"
	"--b\r\n"
	"Content-Type: message/delivery-status\r\n"
	"\r\n"
	"Reporting-MTA: dns; mx.contoso.test\r\n"
	"\r\n"
	"Final-Recipient: rfc822; rita@contoso.test\r\n"
	"Action: failed\r\n"
	"Status: 5.1.1\r\n"
	"Diagnostic-Code: smtp; 550 5.1.1 <rita@contoso.test>: no such user\r\n"
	"--b\r\n"
	"Content-Type: text/rfc822-headers\r\n"
	"\r\n"
	"From: invitations@invited.test\r\n"
	"To: rita@contoso.test\r\n"
	"Subject: Northwind invites you\r\n"
	"Message-ID: <verpcodeverpcode2222@invited.test>\r\n"
	"--b--\r\n";

TEST(bounce_matched_by_returned_message_id_is_reported_once)
{
	struct fixture fx;
	struct outbox_msg m;
	setup(&fx);
	int64_t id = sent_invitation(&fx, &m);
	struct inbound_outcome out = handle(&fx, 1, 1, bounce_by_headers);
	test_assert_str(out.row.cls, "bounce");
	test_assert_int(out.row.action, INBOUND_BOUNCED);
	test_assert_int(out.row.invitation_id, id);
	test_assert_int(out.row.outbox_id, m.id);
	test_assert_contains(out.row.detail, "5.1.1");
	test_assert_contains(out.row.detail, "no such user");
	/* The invitation's owner hears of it, with the server's words. */
	test_assert_int(fx.reports.n, 1);
	test_assert_int(fx.reports.last.outcome, MAIL_BOUNCED);
	test_assert_int(fx.reports.last.kind, OUTBOX_INVITATION);
	test_assert_int(fx.reports.last.invitation_id, id);
	test_assert_int(fx.reports.last.message_id, m.id);
	test_assert_contains(fx.reports.last.reason, "no such user");
	/* The same bounce again, as a copy under another UID: nothing more. */
	out = handle(&fx, 1, 2, bounce_by_headers);
	test_assert_int(out.duplicate, 1);
	test_assert_int(fx.reports.n, 1);
	teardown(&fx);
}

TEST_MAIN()
