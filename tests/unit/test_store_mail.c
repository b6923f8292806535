/* link: invited_store */
/*
 * test_store_mail.c: the store's mail side and logs: the outbox's claim,
 * result and recovery, retention of sent mail's bytes, API keys per
 * owner, the event log's lists, and the checkpointer under a stream of
 * queued mail.
 */
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include "store_fixture.h"

/* A message with these bytes, due at due. */
static void queue_bytes(struct store *st, const char *code, int64_t due, char *data)
{
	struct outbox_msg m = {.kind = OUTBOX_NOTICE, .env_from = "b@x.test", .rcpt = "r@x.test",
			       .created_at = due, .expires_at = due + 1000, .data = data,
			       .len = strlen(data)};
	const char *err;
	snprintf(m.code, sizeof(m.code), "%s", code);
	snprintf(m.message_id, sizeof(m.message_id), "%s@x.test", code);
	test_assert_int(store_outbox_add(st, &m, &err), STORE_OK);
}

static void queue(struct store *st, const char *code, int64_t due)
{
	queue_bytes(st, code, due, "Subject: x\r\n\r\nbody\r\n");
}

/* A mail about invitation inv (0: none), sent (or failed) at t; its id. */
static int64_t mail_at(struct store *st, const char *code, int64_t inv, enum outbox_status to,
		       int64_t t)
{
	struct outbox_msg m = {.kind = OUTBOX_INVITATION, .invitation_id = inv,
			       .env_from = "b@x.test", .rcpt = "r@x.test", .created_at = t,
			       .expires_at = t + 1000, .data = "x", .len = 1};
	const char *err;
	snprintf(m.code, sizeof(m.code), "%s", code);
	snprintf(m.message_id, sizeof(m.message_id), "%s@x.test", code);
	test_assert_int(store_outbox_add(st, &m, &err), STORE_OK);
	if (to != OUTBOX_QUEUED)
		test_assert_int(store_outbox_result(st, m.id, OUTBOX_QUEUED, to, 250, "ok", t, t,
						    &err),
				STORE_OK);
	return m.id;
}

static int has_bytes(struct store *st, int64_t id)
{
	struct outbox_msg m;
	const char *err;
	int rc = store_outbox_get(st, id, 1, &m, &err);
	outbox_msg_clear(&m);
	return rc == STORE_OK;
}

/* Retention: an old sent mail's bytes go, its record stays; recent,
 * failed, queued mail and what a bounced invitation carried keep theirs;
 * a second sweep finds nothing. */
TEST(old_sent_mail_loses_its_bytes_but_not_its_record)
{
	struct store *st = fresh();
	const char *err;
	size_t n;
	int64_t r = add_org(st, ORG_RESELLER, ORG_APPROVED, "r@r.test", "r.test");
	int64_t ok = add_invitation(st, r, INV_SENT, 500);
	int64_t bounced = add_invitation(st, r, INV_BOUNCED, 500);
	int64_t old = mail_at(st, "m1", ok, OUTBOX_SENT, 10);
	int64_t kept = mail_at(st, "m2", bounced, OUTBOX_SENT, 10);
	int64_t recent = mail_at(st, "m3", ok, OUTBOX_SENT, 90);
	int64_t failed = mail_at(st, "m4", ok, OUTBOX_FAILED, 10);
	int64_t queued = mail_at(st, "m5", 0, OUTBOX_QUEUED, 10);
	test_assert_int(store_outbox_prune(st, 50, 10, &n, &err), STORE_OK);
	test_assert_int(n, 1);
	test_assert_int(has_bytes(st, old), 0);
	test_assert_int(has_bytes(st, kept), 1);
	test_assert_int(has_bytes(st, recent), 1);
	test_assert_int(has_bytes(st, failed), 1);
	test_assert_int(has_bytes(st, queued), 1);
	struct outbox_msg m;
	test_assert_int(store_outbox_get(st, old, 0, &m, &err), STORE_OK);
	test_assert_int(m.status, OUTBOX_SENT);
	test_assert_str(m.message_id, "m1@x.test");
	test_assert_int(store_outbox_prune(st, 50, 10, &n, &err), STORE_OK);
	test_assert_int(n, 0);
	/* At most max a sweep; later, the recent one goes too. */
	test_assert_int(store_outbox_prune(st, 100, 10, &n, &err), STORE_OK);
	test_assert_int(n, 1);
	test_assert_int(has_bytes(st, recent), 0);
	done(st);
}

/* Messages "c{from}" … "c{to - 1}" of 4 kB each: a page and more each. */
static void queue_big(struct store *st, int from, int to)
{
	static char body[4000];
	char code[16];
	memset(body, 'x', sizeof(body) - 1);
	for (int i = from; i < to; i++) {
		snprintf(code, sizeof(code), "c%d", i);
		queue_bytes(st, code, 1, body);
	}
}

TEST(outbox_claims_due_messages_once_and_recovers)
{
	struct store *st = fresh();
	const char *err;
	struct outbox_msg got[4];
	size_t n;
	int due = -1;
	test_assert_int(store_outbox_due(st, 20, &due, &err), STORE_OK);
	test_assert_int(due, 0);
	queue(st, "a", 10);
	queue(st, "b", 10);
	queue(st, "c", 99);
	test_assert_int(store_outbox_due(st, 9, &due, &err), STORE_OK);
	test_assert_int(due, 0);
	test_assert_int(store_outbox_due(st, 10, &due, &err), STORE_OK);
	test_assert_int(due, 1);
	test_assert_int(store_outbox_claim(st, 20, 4, got, &n, &err), STORE_OK);
	test_assert_int(n, 2);
	test_assert_int(got[0].attempts, 1);
	test_assert_int(got[0].status, OUTBOX_SENDING);
	test_assert_int(got[0].len, strlen("Subject: x\r\n\r\nbody\r\n"));
	test_assert_str(got[0].data, "Subject: x\r\n\r\nbody\r\n");
	for (size_t i = 0; i < n; i++)
		outbox_msg_clear(&got[i]);
	/* Claimed messages are not claimed again, nor due. */
	test_assert_int(store_outbox_due(st, 20, &due, &err), STORE_OK);
	test_assert_int(due, 0);
	test_assert_int(store_outbox_claim(st, 20, 4, got, &n, &err), STORE_OK);
	test_assert_int(n, 0);
	/* Claims of this process are never taken back; a restart (the claims
	 * of another process, one not beating) puts them back. */
	test_assert_int(store_outbox_recover(st, 30, INT64_MAX, &n, &err), STORE_OK);
	test_assert_int(n, 0);
	test_db_exec("UPDATE outbox SET claimed_by = 'gone'");
	test_assert_int(store_outbox_recover(st, 30, INT64_MAX, &n, &err), STORE_OK);
	test_assert_int(n, 2);
	test_assert_int(store_outbox_claim(st, 30, 4, got, &n, &err), STORE_OK);
	test_assert_int(n, 2);
	test_assert_int(got[0].attempts, 2);
	test_assert_int(store_outbox_result(st, got[0].id, OUTBOX_SENDING, OUTBOX_SENT, 250, "ok",
					    30, 31, &err),
			STORE_OK);
	test_assert_int(store_outbox_result(st, got[1].id, OUTBOX_SENDING, OUTBOX_FAILED, 550, "no",
					    30, 31, &err),
			STORE_OK);
	/* An outcome is recorded once: the message is no longer sending. */
	test_assert_int(store_outbox_result(st, got[1].id, OUTBOX_SENDING, OUTBOX_SENT, 250, "ok",
					    30, 31, &err),
			STORE_CONFLICT);
	int64_t failed = got[1].id;
	for (size_t i = 0; i < n; i++)
		outbox_msg_clear(&got[i]);
	test_assert_int(store_outbox_retry(st, failed, 40, 1000, &err), STORE_OK);
	test_assert_int(store_outbox_retry(st, failed, 40, 1000, &err), STORE_CONFLICT);
	int64_t counts[5];
	test_assert_int(store_outbox_counts(st, counts, &err), STORE_OK);
	test_assert_int(counts[OUTBOX_SENT], 1);
	test_assert_int(counts[OUTBOX_QUEUED], 2);
	done(st);
}

static int key_cb(void *ctx, const struct apikey *k)
{
	strcat(ctx, k->key_id);
	strcat(ctx, ";");
	return 0;
}

/* An organization's keys and the operator's (of no organization) are
 * listed and revoked apart. */
/* On a shared database, a claim is taken back only from a server that
 * stopped beating; a server's beats keep its claims. */
TEST(claims_of_a_server_that_stopped_beating_are_taken_back)
{
	struct store *st = fresh();
	const char *err;
	struct outbox_msg got[4];
	size_t n;
	queue(st, "a", 10);
	queue(st, "b", 10);
	test_assert_int(store_outbox_claim(st, 20, 4, got, &n, &err), STORE_OK);
	test_assert_int(n, 2);
	for (size_t i = 0; i < n; i++)
		outbox_msg_clear(&got[i]);
	test_assert_int(test_db_int("SELECT count(*) FROM outbox WHERE claimed_by = ''"), 0);
	/* One claim is another server's, alive (beat at 100); one a server's
	 * that beat last at 50. */
	test_db_exec("UPDATE outbox SET claimed_by = 'alive' WHERE code = 'a';"
		     "UPDATE outbox SET claimed_by = 'dead' WHERE code = 'b';"
		     "INSERT INTO servers (id, host, pid, started_at, seen_at)"
		     " VALUES ('alive', 'h', 1, 1, 100), ('dead', 'h', 2, 1, 50)");
	test_assert_int(store_outbox_recover(st, 110, 110 - 30, &n, &err), STORE_OK);
	test_assert_int(n, 1);
	test_assert_int(test_db_int("SELECT count(*) FROM outbox WHERE code = 'b'"
				    " AND status = 'queued' AND claimed_by = ''"),
			1);
	test_assert_int(test_db_int("SELECT count(*) FROM outbox WHERE code = 'a'"
				    " AND status = 'sending'"),
			1);
	/* This process beats: its row, once, with seen_at moving on. */
	test_assert_int(store_server_beat(st, "host1", 42, 5, 200, &err), STORE_OK);
	test_assert_int(store_server_beat(st, "host1", 42, 5, 205, &err), STORE_OK);
	test_assert_int(test_db_int("SELECT count(*) FROM servers"), 3);
	test_assert_int(test_db_int("SELECT max(seen_at) FROM servers WHERE host = 'host1'"), 205);
	test_assert_int(store_server_gone(st, &err), STORE_OK);
	test_assert_int(test_db_int("SELECT count(*) FROM servers"), 2);
	test_assert_int(store_shared(st), test_db_is_pg());
	done(st);
}

/* The buckets every server takes from: a burst of cap / cost, then one
 * more per cost / refill seconds; a clock behind moves nothing back. */
TEST(a_shared_rate_bucket_allows_its_burst_then_refills)
{
	struct store *st = fresh();
	const char *err;
	int ok;
	int64_t units;
	/* 3 an hour: cap 3 * 3600 units, a request 3600, 3 units a second. */
	for (int i = 0; i < 3; i++) {
		test_assert_int(store_rate_take(st, "enroll", "c1", 10800, 3600, 3, 1000, &ok, &units,
						&err),
				STORE_OK);
		test_assert_int(ok, 1);
	}
	test_assert_int(units, 0);
	test_assert_int(store_rate_take(st, "enroll", "c1", 10800, 3600, 3, 1000, &ok, &units, &err),
			STORE_OK);
	test_assert_int(ok, 0);
	/* Another client, another name: buckets of their own. */
	test_assert_int(store_rate_take(st, "enroll", "c2", 10800, 3600, 3, 1000, &ok, &units, &err),
			STORE_OK);
	test_assert_int(ok, 1);
	test_assert_int(store_rate_take(st, "signin", "c1", 10800, 3600, 3, 1000, &ok, &units, &err),
			STORE_OK);
	test_assert_int(ok, 1);
	if (test_db_is_pg()) { /* the database's clock, not these times */
		done(st);
		return;
	}
	/* A server whose clock is behind gets nothing back. */
	test_assert_int(store_rate_take(st, "enroll", "c1", 10800, 3600, 3, 400, &ok, &units, &err),
			STORE_OK);
	test_assert_int(ok, 0);
	/* 1200 s later: one more. */
	test_assert_int(store_rate_take(st, "enroll", "c1", 10800, 3600, 3, 2200, &ok, &units, &err),
			STORE_OK);
	test_assert_int(ok, 1);
	test_assert_int(store_rate_take(st, "enroll", "c1", 10800, 3600, 3, 2200, &ok, &units, &err),
			STORE_OK);
	test_assert_int(ok, 0);
	size_t n;
	test_assert_int(store_rate_prune(st, 2000, &n, &err), STORE_OK);
	test_assert_int(n, 2); /* c2 and signin's c1, last taken from at 1000 */
	done(st);
}

/* One holder at a time on a shared database, until its connection ends;
 * SQLite's one server always holds it. */
TEST(a_lock_has_one_holder_until_its_connection_ends)
{
	struct store *st = fresh(), *other;
	const char *err;
	int held;
	test_assert_int(store_open(test_db, 0, &other, &err), STORE_OK);
	test_assert_int(store_lock_hold(st, 77, &held, &err), STORE_OK);
	test_assert_int(held, 1);
	test_assert_int(store_lock_hold(st, 77, &held, &err), STORE_OK);
	test_assert_int(held, 1);
	test_assert_int(store_lock_hold(other, 77, &held, &err), STORE_OK);
	test_assert_int(held, !test_db_is_pg());
	store_close(st);
	/* The server lets go as the holder's session ends, a moment later. */
	for (int i = 0; i < 100; i++) {
		test_assert_int(store_lock_hold(other, 77, &held, &err), STORE_OK);
		if (held)
			break;
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	test_assert_int(held, 1);
	store_close(other);
	test_db_drop();
}

TEST(api_keys_list_and_revoke_per_owner)
{
	struct store *st = fresh();
	const char *err;
	char seen[128] = "";
	int64_t org = add_org(st, ORG_PROVIDER, ORG_APPROVED, "p@p.test", "p.test");
	struct apikey mine = {.key_id = "0000000000000001", .org_id = org,
			      .role = ROLE_ADMIN_AGENT, .created_at = 1};
	struct apikey op = {.key_id = "0000000000000002", .role = ROLE_OPERATOR, .created_at = 1};
	test_assert_int(store_apikey_insert(st, &mine, &err), STORE_OK);
	test_assert_int(store_apikey_insert(st, &op, &err), STORE_OK);
	test_assert_int(store_apikey_list(st, 0, key_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "0000000000000002;");
	seen[0] = '\0';
	test_assert_int(store_apikey_list(st, org, key_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "0000000000000001;");
	test_assert_int(store_apikey_revoke(st, org, op.id, 2, &err), STORE_NOT_FOUND);
	test_assert_int(store_apikey_revoke(st, 0, op.id, 2, &err), STORE_OK);
	seen[0] = '\0';
	test_assert_int(store_apikey_list(st, 0, key_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "");
	done(st);
}

static int event_cb(void *ctx, const struct event *e)
{
	char *seen = ctx;
	strcat(seen, e->name);
	strcat(seen, ";");
	return 0;
}

TEST(events_list_newest_first_or_since_an_id_per_organization)
{
	struct store *st = fresh();
	const char *err;
	char seen[128] = "";
	int64_t a = add_org(st, ORG_RESELLER, ORG_APPROVED, "a@a.test", "a.test");
	int64_t b = add_org(st, ORG_PROVIDER, ORG_APPROVED, "b@b.test", "b.test");
	int64_t first;
	test_assert_int(store_event_add(st, 1, a, 0, "cli", "a.one", "org:1", "", &first, &err),
			STORE_OK);
	test_assert_int(store_event_add(st, 2, b, 0, "cli", "b.two", "org:2", "x", NULL, &err),
			STORE_OK);
	test_assert_int(store_event_add(st, 3, b, a, "cli", "both.three", "r:1", "", NULL, &err),
			STORE_OK);
	test_assert_int(store_event_add(st, 4, 0, 0, "cli", "none.four", "x", "", NULL, &err),
			STORE_OK);
	struct event_filter f = {.limit = 10};
	test_assert_int(store_event_list(st, &f, event_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "none.four;both.three;b.two;a.one;");
	seen[0] = '\0';
	f.before_id = first + 2;
	test_assert_int(store_event_list(st, &f, event_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "b.two;a.one;");
	/* An organization's: its own and those where it is the other side. */
	seen[0] = '\0';
	f = (struct event_filter){.org_id = a, .limit = 10};
	test_assert_int(store_event_list(st, &f, event_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "both.three;a.one;");
	seen[0] = '\0';
	f = (struct event_filter){.org_id = a, .oldest_first = 1, .since_id = first, .limit = 10};
	test_assert_int(store_event_list(st, &f, event_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "both.three;");
	seen[0] = '\0';
	f = (struct event_filter){.oldest_first = 1, .since_id = 0, .limit = 2};
	test_assert_int(store_event_list(st, &f, event_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "a.one;b.two;");
	done(st);
}


static off_t file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* Commits of a connection handed to the checkpointer leave the WAL to it:
 * the pages reach the database file while the writer does nothing, and
 * stopping it leaves everything in the database. */
TEST(checkpointer_copies_the_wal_in_its_own_thread) /* sqlite only: the WAL file */
{
	struct store *st = fresh();
	struct store_checkpointer *cp;
	const char *err;
	char wal[80];
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	test_assert_int(store_checkpointer_start(db_path, 1000, &cp, &err), STORE_OK);
	store_checkpoint_by(st, cp);
	off_t before = file_size(db_path);
	queue_big(st, 0, 1200);
	test_assert(file_size(wal) > 1000 * 4096);
	off_t after = before;
	for (int waited = 0; waited < 500 && after < 1000 * 4096; waited++) {
		struct timespec ms10 = {0, 10000000L};
		nanosleep(&ms10, NULL);
		after = file_size(db_path);
	}
	test_assert(after >= 1000 * 4096);
	/* Taken back, the connection checkpoints in its own commits again
	 * and no longer calls the stopped checkpointer (ASan would see it). */
	store_checkpoint_by(st, NULL);
	store_checkpointer_stop(cp);
	queue_big(st, 1200, 1500);
	store_close(st);
	test_assert_int(store_open(db_path, 0, &st, &err), STORE_OK);
	int64_t counts[5];
	test_assert_int(store_outbox_counts(st, counts, &err), STORE_OK);
	test_assert_int(counts[OUTBOX_QUEUED], 1500);
	done(st);
}

TEST_MAIN()
