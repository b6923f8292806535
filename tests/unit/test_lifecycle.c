/* link: invited_links */
/*
 * test_lifecycle.c: the transition tables of the invitation, message and
 * relationship lifecycles, every state against every event, each checked
 * against the lifecycle written out here a second time; and what their
 * entry points do on a real SQLite store: the event, the link, the mail a
 * change causes, the expiry and reminder sweeps, and a sending pass's
 * outcomes recorded from a fake SMTP batch.
 */
#include "invited/outbox.h"
#include "invited/relationship.h"
#include "links_fixture.h"

/* ------------------------------------------------------------ the tables */

struct move {
	int from, event, to;
};

/* to for (from, event) in the list, else -1. */
static int expected(const struct move *list, size_t n, int from, int event)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].from == from && list[i].event == event)
			return list[i].to;
	return -1;
}

TEST(invitation_table_every_status_and_event)
{
	static const struct move allowed[] = {
		{INV_DRAFT, INV_EV_SEND, INV_QUEUED},
		{INV_DRAFT, INV_EV_HAND_OFF, INV_HANDED_OFF},
		{INV_QUEUED, INV_EV_RESEND, INV_QUEUED},
		{INV_SENT, INV_EV_RESEND, INV_QUEUED},
		{INV_HANDED_OFF, INV_EV_RESEND, INV_QUEUED},
		{INV_BOUNCED, INV_EV_RESEND, INV_QUEUED},
		{INV_EXPIRED, INV_EV_RESEND, INV_QUEUED},
		{INV_QUEUED, INV_EV_DELIVER, INV_SENT},
		{INV_QUEUED, INV_EV_BOUNCE, INV_BOUNCED},
		{INV_SENT, INV_EV_BOUNCE, INV_BOUNCED},
		{INV_DRAFT, INV_EV_ACCEPT, INV_ACCEPTED},
		{INV_QUEUED, INV_EV_ACCEPT, INV_ACCEPTED},
		{INV_SENT, INV_EV_ACCEPT, INV_ACCEPTED},
		{INV_HANDED_OFF, INV_EV_ACCEPT, INV_ACCEPTED},
		{INV_DRAFT, INV_EV_DECLINE, INV_DECLINED},
		{INV_QUEUED, INV_EV_DECLINE, INV_DECLINED},
		{INV_SENT, INV_EV_DECLINE, INV_DECLINED},
		{INV_HANDED_OFF, INV_EV_DECLINE, INV_DECLINED},
		{INV_DRAFT, INV_EV_EXPIRE, INV_EXPIRED},
		{INV_QUEUED, INV_EV_EXPIRE, INV_EXPIRED},
		{INV_SENT, INV_EV_EXPIRE, INV_EXPIRED},
		{INV_HANDED_OFF, INV_EV_EXPIRE, INV_EXPIRED},
		{INV_DRAFT, INV_EV_REVOKE, INV_REVOKED},
		{INV_QUEUED, INV_EV_REVOKE, INV_REVOKED},
		{INV_SENT, INV_EV_REVOKE, INV_REVOKED},
		{INV_HANDED_OFF, INV_EV_REVOKE, INV_REVOKED},
		{INV_BOUNCED, INV_EV_REVOKE, INV_REVOKED},
		{INV_SENT, INV_EV_REMIND, INV_SENT},
	};
	const size_t n = sizeof(allowed) / sizeof(allowed[0]);
	size_t seen = 0;
	/* 0 and one past the last: out of range, refused too. */
	for (int s = 0; s <= INV_HANDED_OFF + 1; s++) {
		for (int e = 0; e <= INV_EV_COUNT; e++) {
			int want = expected(allowed, n, s, e);
			int got = invitation_transition((enum inv_status)s, (enum inv_event)e);
			if (got != want)
				fprintf(stderr, "invitation %s on %d: %d, want %d\n",
					inv_status_str((enum inv_status)s), e, got, want);
			test_assert_int(got, want);
			seen += want > 0;
		}
	}
	test_assert_int(seen, n);
	/* Open: what may still expire; the rest is final or waits for a resend. */
	for (int s = INV_DRAFT; s <= INV_HANDED_OFF; s++)
		test_assert_int(invitation_open((enum inv_status)s),
				s == INV_DRAFT || s == INV_QUEUED || s == INV_SENT ||
					s == INV_HANDED_OFF);
	test_assert_str(inv_event_name(INV_EV_DELIVER), "invitation.sent");
	test_assert_str(inv_event_name(INV_EV_COUNT), "invitation.unknown");
}

TEST(message_table_every_status_and_event)
{
	static const struct move allowed[] = {
		{OUTBOX_QUEUED, OUTBOX_EV_CLAIM, OUTBOX_SENDING},
		{OUTBOX_QUEUED, OUTBOX_EV_CANCEL, OUTBOX_FAILED},
		{OUTBOX_SENDING, OUTBOX_EV_SENT, OUTBOX_SENT},
		{OUTBOX_SENDING, OUTBOX_EV_DEFER, OUTBOX_QUEUED},
		{OUTBOX_SENDING, OUTBOX_EV_FAIL, OUTBOX_FAILED},
		{OUTBOX_SENDING, OUTBOX_EV_RECOVER, OUTBOX_QUEUED},
		{OUTBOX_FAILED, OUTBOX_EV_RETRY, OUTBOX_QUEUED},
	};
	const size_t n = sizeof(allowed) / sizeof(allowed[0]);
	size_t seen = 0;
	for (int s = 0; s <= OUTBOX_FAILED + 1; s++) {
		for (int e = 0; e <= OUTBOX_EV_COUNT; e++) {
			int want = expected(allowed, n, s, e);
			test_assert_int(outbox_transition((enum outbox_status)s, (enum outbox_event)e),
					want);
			seen += want > 0;
		}
	}
	test_assert_int(seen, n);
}

TEST(relationship_table_every_state_and_event)
{
	static const struct move allowed[] = {
		{REL_STATE_NONE, REL_EV_CREATE, REL_STATE_ACTIVE},
		{REL_STATE_ACTIVE, REL_EV_END, REL_STATE_ENDED},
	};
	const size_t n = sizeof(allowed) / sizeof(allowed[0]);
	size_t seen = 0;
	for (int s = 0; s <= REL_STATE_ENDED + 1; s++) {
		for (int e = 0; e <= REL_EV_COUNT; e++) {
			int want = expected(allowed, n, s, e);
			test_assert_int(relationship_transition((enum rel_state)s, (enum rel_event)e),
					want);
			seen += want > 0;
		}
	}
	test_assert_int(seen, n);
}

/* ------------------------------------------------------------ the store */

/* A reseller invitation to email, queued (draft 0) or a draft. */
static int64_t invite(struct fixture *fx, const char *email, int draft)
{
	struct inv_request req = {.kind = INV_RESELLER, .inviter_org_id = fx->reseller,
				  .email = email, .name = "Carol", .draft = draft};
	struct invitation inv;
	struct fault f = {0};
	test_assert_int(invitation_create(&fx->env, &req, &inv, &f), 0);
	invitation_clear(&inv);
	return inv.id;
}

/* apply in a transaction of its own. */
static int apply(struct fixture *fx, int64_t id, enum inv_event ev, const char *reason)
{
	const char *err;
	test_assert_int(store_begin(fx->st, &err), STORE_OK);
	int rc = invitation_apply(&fx->env, id, ev, reason, NULL, &err);
	test_assert_int(store_commit(fx->st, &err), STORE_OK);
	return rc;
}

static enum inv_status status_of(struct fixture *fx, int64_t id)
{
	struct invitation inv;
	const char *err;
	test_assert_int(store_invitation_get(fx->st, id, 0, &inv, &err), STORE_OK);
	return inv.status;
}

static const char *link_state(struct fixture *fx, int64_t id)
{
	static char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT CASE state WHEN 'live' THEN 1 WHEN 'used' THEN 2 ELSE 3 END FROM links"
		 " WHERE jti = (SELECT jti FROM invitations WHERE id = %lld)",
		 (long long)id);
	static const char *const names[] = {"", "live", "used", "revoked"};
	return names[count(fx, sql)];
}

TEST(a_bounce_closes_the_invitation_tells_the_inviter_once_and_leaves_an_event)
{
	struct fixture fx;
	setup(&fx);
	int64_t id = invite(&fx, "carol@fabrikam.test", 0);
	test_assert_int(status_of(&fx, id), INV_QUEUED);
	test_assert_int(apply(&fx, id, INV_EV_DELIVER, NULL), 0);
	test_assert_int(status_of(&fx, id), INV_SENT);
	test_assert_str(link_state(&fx, id), "live");
	test_assert_int(apply(&fx, id, INV_EV_BOUNCE, "550 5.1.1 no such user"), 0);
	test_assert_int(status_of(&fx, id), INV_BOUNCED);
	test_assert_str(link_state(&fx, id), "revoked");
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE kind = 'notice'"
				   " AND rcpt = 'rita@contoso.test'"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name = 'invitation.bounced'"
				   " AND details LIKE '%no such user%' AND org_id IS NOT NULL"),
			1);
	/* Refused the second time: nothing more. */
	test_assert_int(apply(&fx, id, INV_EV_BOUNCE, "550 again"), 1);
	test_assert_int(apply(&fx, id, INV_EV_DELIVER, NULL), 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE kind = 'notice'"), 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name = 'invitation.bounced'"),
			1);
	/* A resend opens it again. */
	struct fault f = {0};
	test_assert_int(invitation_resend(&fx.env, fx.reseller, id, &f), 0);
	test_assert_int(status_of(&fx, id), INV_QUEUED);
	test_assert_str(link_state(&fx, id), "live");
	teardown(&fx);
}

TEST(revoking_cancels_the_invitees_queued_mail_but_not_the_inviters_news)
{
	struct fixture fx;
	const char *err;
	setup(&fx);
	int64_t id = invite(&fx, "carol@fabrikam.test", 0);
	struct outbox_msg news = {.kind = OUTBOX_NOTICE, .invitation_id = id, .code = "news1",
				  .message_id = "news1@x.test", .env_from = "b@x.test",
				  .rcpt = "rita@contoso.test", .data = "x", .len = 1,
				  .expires_at = fx.env.now + 99};
	test_assert_int(store_outbox_add(fx.st, &news, &err), STORE_OK);
	struct fault f = {0};
	test_assert_int(invitation_revoke(&fx.env, fx.reseller, id, &f), 0);
	test_assert_int(status_of(&fx, id), INV_REVOKED);
	test_assert_str(link_state(&fx, id), "revoked");
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE kind = 'invitation'"
				   " AND status = 'failed' AND last_reply LIKE 'cancelled%'"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE kind = 'notice'"
				   " AND status = 'queued'"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name = 'message.cancelled'"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name = 'invitation.revoked'"),
			1);
	/* Revoked is final. */
	test_assert_int(invitation_revoke(&fx.env, fx.reseller, id, &f), -1);
	test_assert_int(f.status, 409);
	teardown(&fx);
}

/* Every status, overdue: the sweep expires exactly the open ones (so the
 * store's list of open statuses is the table's). */
TEST(the_expiry_sweep_expires_exactly_the_open_statuses)
{
	struct fixture fx;
	const char *err;
	setup(&fx);
	int64_t ids[INV_HANDED_OFF + 1];
	for (int s = INV_DRAFT; s <= INV_HANDED_OFF; s++) {
		char email[64];
		snprintf(email, sizeof(email), "x%d@fabrikam.test", s);
		ids[s] = invite(&fx, email, 1);
		char sql[160];
		snprintf(sql, sizeof(sql), "UPDATE invitations SET status = '%s' WHERE id = %lld",
			 inv_status_str((enum inv_status)s), (long long)ids[s]);
		exec_other(&fx, sql);
	}
	struct inv_env later = fx.env;
	later.now += 86400 + 1;
	later.actor = "sweeper";
	size_t n;
	test_assert_int(invitation_expire_due(&later, 100, &n, &err), 0);
	test_assert_int(n, 4);
	for (int s = INV_DRAFT; s <= INV_HANDED_OFF; s++) {
		enum inv_status want = invitation_open((enum inv_status)s) ? INV_EXPIRED
									 : (enum inv_status)s;
		test_assert_int(status_of(&fx, ids[s]), want);
	}
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name = 'invitation.expired'"
				   " AND actor = 'sweeper'"),
			4);
	test_assert_int(invitation_expire_due(&later, 100, &n, &err), 0);
	test_assert_int(n, 0);
	teardown(&fx);
}

TEST(a_sent_invitation_is_reminded_once_with_its_own_link)
{
	struct fixture fx;
	const char *err;
	setup(&fx);
	int64_t id = invite(&fx, "carol@fabrikam.test", 0);
	int64_t other = invite(&fx, "dan@tailspin.test", 0);
	test_assert_int(apply(&fx, id, INV_EV_DELIVER, NULL), 0);
	/* other stays queued: never reminded. */
	struct inv_env later = fx.env;
	size_t n;
	test_assert_int(invitation_remind_due(&later, 3600, 100, &n, &err), 0);
	test_assert_int(n, 0); /* not yet */
	later.now += 86400 - 1800;
	test_assert_int(invitation_remind_due(&later, 0, 100, &n, &err), 0);
	test_assert_int(n, 0); /* reminders off */
	test_assert_int(invitation_remind_due(&later, 3600, 100, &n, &err), 0);
	test_assert_int(n, 1);
	test_assert_int(status_of(&fx, id), INV_SENT);
	test_assert_int(status_of(&fx, other), INV_QUEUED);
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE kind = 'reminder'"), 1);
	/* The reminder carries a link, and the invitation kept its own: the
	 * link it has is the one it had, still live. */
	test_assert_int(count(&fx, test_db_is_pg()
					   ? "SELECT count(*) FROM outbox o JOIN outbox_data d USING (id)"
					     " WHERE o.kind = 'reminder' AND"
					     " position('http://invited.test/l/v4.public.' IN"
					     " convert_from(d.data, 'UTF8')) > 0"
					   : "SELECT count(*) FROM outbox o JOIN outbox_data d USING (id)"
					     " WHERE o.kind = 'reminder' AND instr(CAST(d.data AS TEXT),"
					     " 'http://invited.test/l/v4.public.') > 0"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM links WHERE purpose = 'reseller'"), 2);
	test_assert_str(link_state(&fx, id), "live");
	test_assert_int(invitation_remind_due(&later, 3600, 100, &n, &err), 0);
	test_assert_int(n, 0);
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name = 'invitation.reminded'"),
			1);
	teardown(&fx);
}

/* A resend replaces the link: the old mail still queued is cancelled
 * (and is not retried), what becomes of the old mail changes nothing,
 * and the new lifetime gets its own reminder. */
TEST(a_resend_cancels_the_old_mail_and_ignores_what_becomes_of_it)
{
	struct fixture fx;
	const char *err;
	setup(&fx);
	int64_t id = invite(&fx, "carol@fabrikam.test", 0);
	int64_t old = count(&fx, "SELECT max(id) FROM outbox WHERE kind = 'invitation'");
	exec_other(&fx, "UPDATE invitations SET reminded_at = 5");
	struct fault f = {0};
	fx.env.now += 60;
	test_assert_int(invitation_resend(&fx.env, fx.reseller, id, &f), 0);
	int64_t fresh = count(&fx, "SELECT max(id) FROM outbox WHERE kind = 'invitation'");
	test_assert(fresh > old);
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE kind = 'invitation'"
				   " AND status = 'failed' AND last_reply LIKE 'cancelled:%'"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM invitations WHERE reminded_at IS NULL"),
			1);
	test_assert_int(outbox_retry(fx.st, old, 3600, fx.env.now, "cli", &err), 1);
	test_assert_contains(err, "cancelled");
	/* A bounce of the old mail: nothing changes; of the new one: bounced. */
	struct mail_report r = {.outcome = MAIL_BOUNCED, .kind = OUTBOX_INVITATION,
				.message_id = old, .invitation_id = id, .reason = "550 old",
				.actor = "imap"};
	test_assert_int(store_begin(fx.st, &err), STORE_OK);
	test_assert_int(invitation_mail_outcome(&fx.env, &r, &err), 1);
	test_assert_contains(err, "older mail");
	r.outcome = MAIL_SENT;
	test_assert_int(invitation_mail_outcome(&fx.env, &r, &err), 1);
	r.message_id = fresh;
	test_assert_int(invitation_mail_outcome(&fx.env, &r, &err), 0);
	r.outcome = MAIL_BOUNCED;
	test_assert_int(invitation_mail_outcome(&fx.env, &r, &err), 0);
	test_assert_int(store_commit(fx.st, &err), STORE_OK);
	test_assert_int(status_of(&fx, id), INV_BOUNCED);
	teardown(&fx);
}

/* A reminder whose mail cannot be made is passed over (and not tried
 * again): the others still go. */
TEST(a_reminder_that_fails_does_not_hold_up_the_others)
{
	struct fixture fx;
	const char *err;
	size_t n;
	setup(&fx);
	int64_t bad = invite(&fx, "bad@fabrikam.test", 0);
	int64_t good = invite(&fx, "good@fabrikam.test", 0);
	test_assert_int(apply(&fx, bad, INV_EV_DELIVER, NULL), 0);
	test_assert_int(apply(&fx, good, INV_EV_DELIVER, NULL), 0);
	char sql[128];
	snprintf(sql, sizeof(sql), "UPDATE invitations SET email = 'no address' WHERE id = %lld",
		 (long long)bad);
	exec_other(&fx, sql);
	struct inv_env later = fx.env;
	later.now += 86400 - 600;
	test_assert_int(invitation_remind_due(&later, 3600, 100, &n, &err), 0);
	test_assert_int(n, 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE kind = 'reminder'"), 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM invitations WHERE reminded_at IS NULL"),
			0);
	test_assert_int(invitation_remind_due(&later, 3600, 100, &n, &err), 0);
	test_assert_int(n, 0);
	teardown(&fx);
}

/* --------------------------------------------------- a sending pass */

/* The owner's side, as the server wires it: invitations hear of their
 * mail. */
struct heard {
	struct fixture *fx;
	int n[MAIL_REPLIED + 1];
};

static int owner(void *ctx, struct store *st, const struct mail_report *r, int64_t now,
		 const char **error_r)
{
	struct heard *h = ctx;
	struct inv_env env = h->fx->env;
	env.st = st;
	env.now = now;
	h->n[r->outcome]++;
	if (r->kind != OUTBOX_INVITATION)
		return 1;
	if (r->outcome == MAIL_SENT)
		return invitation_apply(&env, r->invitation_id, INV_EV_DELIVER, NULL, NULL, error_r);
	if (r->outcome == MAIL_FAILED)
		return invitation_apply(&env, r->invitation_id, INV_EV_BOUNCE, r->reason, NULL,
					error_r);
	return 1;
}

/* A fake SMTP batch: the outcomes are given, nothing is sent. */
TEST(a_pass_records_each_outcome_and_reports_it_to_the_owner)
{
	struct fixture fx;
	const char *err;
	setup(&fx);
	int64_t sent = invite(&fx, "a@fabrikam.test", 0);
	int64_t later = invite(&fx, "b@fabrikam.test", 0);
	int64_t refused = invite(&fx, "c@fabrikam.test", 0);
	int64_t overdue = invite(&fx, "d@fabrikam.test", 0);
	struct outbox_msg msgs[8];
	size_t n;
	int64_t now = fx.env.now + 10;
	test_assert_int(store_outbox_claim(fx.st, now, 8, msgs, &n, &err), STORE_OK);
	test_assert_int(n, 4);
	struct smtp_item items[4] = {0};
	for (size_t i = 0; i < n; i++) {
		msgs[i].status = OUTBOX_SENDING;
		int64_t inv = msgs[i].invitation_id;
		items[i].outcome = inv == sent ? SMTP_SENT : inv == refused ? SMTP_PERMFAIL
										: SMTP_TEMPFAIL;
		items[i].code = inv == sent ? 250 : inv == refused ? 550 : 451;
		snprintf(items[i].reply, sizeof(items[i].reply), "%s",
			 inv == sent ? "2.0.0 ok" : inv == refused ? "5.1.1 no such user"
								   : "4.2.0 try later");
		if (inv == overdue)
			msgs[i].expires_at = now; /* its lifetime is over */
	}
	struct outbox_config cfg = {.retry_base = 60, .retry_cap = 3600};
	struct outbox_stats stats = {0};
	struct heard h = {&fx, {0}};
	struct mail_reporter rep = {owner, &h};
	test_assert_int(outbox_record(fx.st, &cfg, &rep, msgs, items, n, now, &stats, &err), 0);
	test_assert_int(stats.sent, 1);
	test_assert_int(stats.deferred, 1);
	test_assert_int(stats.failed, 2);
	test_assert_int(h.n[MAIL_SENT], 1);
	test_assert_int(h.n[MAIL_DEFERRED], 1);
	test_assert_int(h.n[MAIL_FAILED], 2);
	test_assert_int(status_of(&fx, sent), INV_SENT);
	test_assert_int(status_of(&fx, later), INV_QUEUED);
	test_assert_int(status_of(&fx, refused), INV_BOUNCED);
	test_assert_int(status_of(&fx, overdue), INV_BOUNCED);
	/* Deferred with backoff: 60 s ± 25 %, queued again. */
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE status = 'queued'"
				   " AND kind = 'invitation' AND next_attempt_at BETWEEN 1800000055"
				   " AND 1800000085"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM outbox WHERE status = 'failed'"
				   " AND last_reply LIKE 'gave up after 1 attempts: 451%'"),
			1);
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name LIKE 'message.%'"), 4);
	/* The same outcomes again change nothing: the messages are no longer
	 * sending (an operator's retry or a recovery got there first). */
	memset(&stats, 0, sizeof(stats));
	for (size_t i = 0; i < n; i++)
		msgs[i].status = OUTBOX_SENDING;
	test_assert_int(outbox_record(fx.st, &cfg, &rep, msgs, items, n, now, &stats, &err), 0);
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name LIKE 'message.%'"), 4);
	test_assert_int(h.n[MAIL_SENT], 1);
	for (size_t i = 0; i < n; i++)
		outbox_msg_clear(&msgs[i]);
	/* A failed one may be retried, once. */
	int64_t failed = count(&fx, "SELECT min(id) FROM outbox WHERE status = 'failed'");
	test_assert_int(outbox_retry(fx.st, failed, 3600, now, "cli", &err), 0);
	test_assert_int(outbox_retry(fx.st, failed, 3600, now, "cli", &err), 1);
	test_assert_int(count(&fx, "SELECT count(*) FROM events WHERE name = 'message.retried'"), 1);
	teardown(&fx);
}

TEST(creating_and_ending_a_relationship_leaves_an_event_for_both_sides)
{
	struct fixture fx;
	const char *err;
	setup(&fx);
	struct org p = {.kind = ORG_PROVIDER, .status = ORG_APPROVED, .created_at = 1};
	snprintf(p.legal_name, sizeof(p.legal_name), "Northwind");
	snprintf(p.contact_email, sizeof(p.contact_email), "pat@northwind.test");
	snprintf(p.locale, sizeof(p.locale), "en");
	test_assert_int(store_org_insert(fx.st, &p, &err), STORE_OK);
	test_assert_int(store_begin(fx.st, &err), STORE_OK);
	test_assert_int(relationship_create(&fx.env, REL_INDIRECT_PROVIDER, p.id, fx.reseller, 0,
					    &err),
			0);
	test_assert_int(relationship_create(&fx.env, REL_INDIRECT_PROVIDER, p.id, fx.reseller, 0,
					    &err),
			1);
	test_assert_int(store_commit(fx.st, &err), STORE_OK);
	int64_t rel = count(&fx, "SELECT id FROM relationships");
	struct org me;
	test_assert_int(store_org_get(fx.st, fx.reseller, &me, &err), STORE_OK);
	struct fault f = {0};
	test_assert_int(relationship_end_by_id(&fx.env, &me, rel, &f), 0);
	f = (struct fault){0};
	test_assert_int(relationship_end_by_id(&fx.env, &me, rel, &f), -1);
	test_assert_int(f.status, 409);
	f = (struct fault){0};
	test_assert_int(relationship_end_by_id(&fx.env, &me, rel + 100, &f), -1);
	test_assert_int(f.status, 404);
	char sql[200];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM events WHERE subject = 'relationship:%lld'"
		 " AND org_id = %lld AND peer_org_id = %lld",
		 (long long)rel, (long long)p.id, (long long)fx.reseller);
	test_assert_int(count(&fx, sql), 2);
	teardown(&fx);
}

TEST_MAIN()
