/* link: invited_store */
/*
 * test_store.c: the store's rules: schema and migrations, conditional
 * status changes, one active relationship per pair, links used once,
 * and the outbox's claim, result and recovery.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "invited/store.h"
#include "test.h"

static char db_path[64];

static struct store *fresh(void)
{
	struct store *st;
	const char *err = NULL;
	snprintf(db_path, sizeof(db_path), "/tmp/invited-store-XXXXXX");
	int fd = mkstemp(db_path);
	close(fd);
	unlink(db_path);
	if (store_open(db_path, 1, &st, &err) != STORE_OK) {
		fprintf(stderr, "open: %s\n", err);
		abort();
	}
	return st;
}

static void done(struct store *st)
{
	char wal[80];
	store_close(st);
	unlink(db_path);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", db_path);
	unlink(wal);
}

static int64_t add_org(struct store *st, enum org_kind kind, enum org_status status,
		       const char *email, const char *domain)
{
	struct org o = {.kind = kind, .status = status, .created_at = 1000};
	const char *err;
	snprintf(o.legal_name, sizeof(o.legal_name), "Org %s", email);
	snprintf(o.contact_email, sizeof(o.contact_email), "%s", email);
	if (domain != NULL) {
		snprintf(o.domains[0], sizeof(o.domains[0]), "%s", domain);
		o.n_domains = 1;
	}
	test_assert_int(store_org_insert(st, &o, &err), STORE_OK);
	return o.id;
}

TEST(schema_version_and_reopen)
{
	struct store *st = fresh();
	const char *err;
	char *ok;
	test_assert(store_schema_version() >= 1);
	test_assert_int(store_integrity_check(st, &ok, &err), STORE_OK);
	test_assert_str(ok, "ok");
	free(ok);
	store_close(st);
	/* Reopening migrates nothing and keeps the data. */
	test_assert_int(store_open(db_path, 0, &st, &err), STORE_OK);
	done(st);
}

extern const char *const store_migrations[];

/* A new database at db_path, brought to schema `version` by the shipped
 * migrations, with `rows` (SQL) in it; closed, for store_open to migrate. */
static void old_database(int version, const char *rows)
{
	sqlite3 *db;
	char sql[48];
	snprintf(db_path, sizeof(db_path), "/tmp/invited-store-XXXXXX");
	close(mkstemp(db_path));
	unlink(db_path);
	test_assert_int(sqlite3_open(db_path, &db), SQLITE_OK);
	test_assert_int(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
	for (int v = 0; v < version; v++)
		test_assert_int(sqlite3_exec(db, store_migrations[v], NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", version);
	test_assert_int(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	test_assert_int(sqlite3_exec(db, rows, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A database of schema 2 (the mail's bytes in the outbox row) opened by
 * this build: the bytes move to outbox_data, and the message is still
 * claimed and sent whole. */
TEST(migration_3_moves_queued_mail_bytes)
{
	const char *err;
	old_database(2, "INSERT INTO outbox (code, message_id, kind, env_from, rcpt,"
			" data, status, next_attempt_at, expires_at, created_at)"
			" VALUES ('c1', 'm1@x.test', 'notice', 'b@x.test',"
			" 'r@x.test', CAST('Subject: old\r\n\r\nkept\r\n' AS BLOB),"
			" 'queued', 10, 1000, 10)");

	struct store *st;
	test_assert_int(store_open(db_path, 0, &st, &err), STORE_OK);
	struct outbox_msg got[2];
	size_t n;
	test_assert_int(store_outbox_claim(st, 20, 2, got, &n, &err), STORE_OK);
	test_assert_int(n, 1);
	test_assert_str(got[0].code, "c1");
	test_assert_str(got[0].data, "Subject: old\r\n\r\nkept\r\n");
	outbox_msg_clear(&got[0]);
	char *ok;
	test_assert_int(store_integrity_check(st, &ok, &err), STORE_OK);
	test_assert_str(ok, "ok");
	free(ok);
	done(st);
}

/* A database of schema 5 (users of organizations only, and sessions)
 * opened by this build: the users are kept, with their ids; the sessions
 * start afresh; an operator, of no organization, can now be added once. */
TEST(migration_6_keeps_users_and_allows_operators)
{
	const char *err;
	old_database(5, "INSERT INTO orgs (kind, legal_name, contact_email, status,"
			" created_at, updated_at) VALUES ('provider', 'P', 'a@p.test',"
			" 'approved', 1, 1);"
			"INSERT INTO users (id, org_id, email, role, status, created_at,"
			" updated_at) VALUES (7, 1, 'a@p.test', 'admin_agent', 'active', 1, 1);"
			"INSERT INTO sessions (hash, user_id, created_at, seen_at, expires_at)"
			" VALUES (x'00', 7, 1, 1, 100)");

	struct store *st;
	struct user u;
	test_assert_int(store_open(db_path, 0, &st, &err), STORE_OK);
	test_assert_int(store_user_get(st, 7, &u, &err), STORE_OK);
	test_assert_str(u.email, "a@p.test");
	test_assert_int(u.org_id, 1);
	struct user op = {.role = ROLE_OPERATOR, .status = USER_INVITED, .created_at = 2,
			  .updated_at = 2};
	snprintf(op.email, sizeof(op.email), "ops@x.test");
	test_assert_int(store_user_insert(st, &op, &err), STORE_OK);
	test_assert_int(store_user_get(st, op.id, &u, &err), STORE_OK);
	test_assert_int(u.org_id, 0);
	test_assert_int(u.role, ROLE_OPERATOR);
	op.id = 0;
	test_assert_int(store_user_insert(st, &op, &err), STORE_CONFLICT);
	/* an organization's user cannot be an operator, nor an operator of one */
	struct user bad = op;
	bad.org_id = 1;
	test_assert(store_user_insert(st, &bad, &err) != STORE_OK);
	char *ok;
	test_assert_int(store_integrity_check(st, &ok, &err), STORE_OK);
	test_assert_str(ok, "ok");
	free(ok);
	done(st);
}

static int names_cb(void *ctx, const struct event *e)
{
	char *seen = ctx;
	size_t n = strlen(seen);
	snprintf(seen + n, 256 - n, "%s@%lld;", e->name, (long long)e->org_id);
	return 0;
}

/* An audit log of schema 6 becomes the event log: each row names its
 * organization (from its subject) and has today's name. */
TEST(migrations_7_to_9_turn_the_audit_log_into_events)
{
	const char *err;
	old_database(6, "INSERT INTO orgs (kind, legal_name, contact_email, status,"
			" created_at, updated_at) VALUES ('provider', 'P', 'a@p.test',"
			" 'approved', 1, 1);"
			"INSERT INTO users (id, org_id, email, role, status, created_at,"
			" updated_at) VALUES (7, 1, 'a@p.test', 'admin_agent', 'active', 1, 1);"
			"INSERT INTO api_keys (id, key_id, hash, org_id, role, created_at)"
			" VALUES (3, 'k', x'00', 1, 'admin_agent', 1);"
			"INSERT INTO invitations (id, kind, status, inviter_org_id, email,"
			" locale, reply_code, subject, body_text, body_html, expires_at,"
			" created_at, updated_at) VALUES (5, 'reseller', 'sent', 1,"
			" 'c@c.test', 'en', 'rc', 's', '', '', 9, 1, 1);"
			"INSERT INTO audit (at, actor, action, subject) VALUES"
			" (1, 'cli', 'org.create', 'org:1'),"
			" (2, 'cli', 'apikey.create', 'apikey:3'),"
			" (3, 'apikey:3', 'invitation.create', 'invitation:5'),"
			" (4, 'user:7', 'user.sign_in', 'user:7'),"
			" (5, 'mailer', 'invitation.bounced', 'invitation:5'),"
			" (6, 'cli', 'something.else', 'org:99')");
	struct store *st;
	char seen[256] = "";
	test_assert_int(store_open(db_path, 0, &st, &err), STORE_OK);
	struct event_filter f = {.oldest_first = 1, .limit = 10};
	test_assert_int(store_event_list(st, &f, names_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "org.created@1;apikey.created@1;invitation.created@1;"
			      "user.signed_in@1;invitation.bounced@1;something.else@0;");
	done(st);
}

/* Contacts and live tokens: the database, -wal and -shm are 0600 even
 * under a umask that would let everyone read them. */
TEST(database_files_are_private)
{
	mode_t old = umask(022);
	struct store *st = fresh();
	const char *err = NULL;
	umask(old);
	test_assert(store_begin(st, &err) == STORE_OK);
	test_assert(store_event_add(st, 1, 0, 0, "test", "x", "y", NULL, NULL, &err) == STORE_OK);
	test_assert(store_commit(st, &err) == STORE_OK);
	const char *suffixes[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		char p[96];
		struct stat sb;
		snprintf(p, sizeof(p), "%s%s", db_path, suffixes[i]);
		test_assert(stat(p, &sb) == 0);
		test_assert((sb.st_mode & 0777) == 0600);
	}
	done(st);
}

/* A database made readable by others (an older version, or by hand) is
 * made 0600 again when opened to be created. */
TEST(a_readable_database_is_made_private)
{
	char path[64];
	const char *err = NULL;
	struct store *st;
	snprintf(path, sizeof(path), "/tmp/invited-store-XXXXXX");
	int fd = mkstemp(path);
	test_assert(fd >= 0);
	test_assert(fchmod(fd, 0644) == 0);
	close(fd);
	test_assert_int(store_open(path, 1, &st, &err), STORE_OK);
	struct stat sb;
	test_assert(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	store_close(st);
	unlink(path);
}

TEST(open_missing_without_create_fails)
{
	struct store *st;
	const char *err = NULL;
	test_assert_int(store_open("/tmp/invited-no-such-dir/x.db", 1, &st, &err), STORE_ERROR);
	test_assert(err != NULL && strstr(err, "cannot open") != NULL);
}

TEST(org_status_change_is_conditional)
{
	struct store *st = fresh();
	const char *err;
	int64_t id = add_org(st, ORG_RESELLER, ORG_IN_REVIEW, "a@r.test", "r.test");
	test_assert_int(store_org_set_status(st, id, ORG_PENDING_VERIFICATION, ORG_APPROVED,
					     NULL, 2000, &err), STORE_CONFLICT);
	test_assert_int(store_org_set_status(st, id, ORG_IN_REVIEW, ORG_APPROVED, "ok", 2000,
					     &err), STORE_OK);
	struct org o;
	test_assert_int(store_org_get(st, id, &o, &err), STORE_OK);
	test_assert_int(o.status, ORG_APPROVED);
	test_assert_str(o.status_reason, "ok");
	test_assert_int(o.n_domains, 1);
	test_assert_str(o.domains[0], "r.test");
	done(st);
}

TEST(approved_domain_cannot_be_claimed_twice)
{
	struct store *st = fresh();
	const char *err;
	add_org(st, ORG_RESELLER, ORG_APPROVED, "a@r.test", "r.test");
	struct org o = {.kind = ORG_RESELLER, .status = ORG_PENDING_VERIFICATION,
			.n_domains = 1, .created_at = 1};
	snprintf(o.domains[0], sizeof(o.domains[0]), "r.test");
	test_assert_int(store_org_insert(st, &o, &err), STORE_CONFLICT);
	test_assert_contains(err, "r.test");
	done(st);
}

TEST(find_by_email_takes_parent_domains_and_approved_only)
{
	struct store *st = fresh();
	const char *err;
	struct org o;
	int64_t pending = add_org(st, ORG_RESELLER, ORG_IN_REVIEW, "x@p.test", "p.test");
	int64_t approved = add_org(st, ORG_RESELLER, ORG_APPROVED, "a@example.test", "example.test");
	(void)pending;
	test_assert_int(store_org_find_by_email(st, ORG_RESELLER, "bob@sales.example.test", &o, &err),
			STORE_OK);
	test_assert_int(o.id, approved);
	test_assert_int(store_org_find_by_email(st, ORG_RESELLER, "x@p.test", &o, &err),
			STORE_NOT_FOUND);
	test_assert_int(store_org_find_by_email(st, ORG_PROVIDER, "a@example.test", &o, &err),
			STORE_NOT_FOUND);
	/* A bare top-level domain never matches. */
	test_assert_int(store_org_find_by_email(st, ORG_RESELLER, "a@test", &o, &err),
			STORE_NOT_FOUND);
	done(st);
}

TEST(one_active_relationship_per_pair)
{
	struct store *st = fresh();
	const char *err;
	int64_t p = add_org(st, ORG_PROVIDER, ORG_APPROVED, "p@p.test", "p.test");
	int64_t r = add_org(st, ORG_RESELLER, ORG_APPROVED, "r@r.test", "r.test");
	struct relationship rel = {.kind = REL_INDIRECT_PROVIDER, .up_org_id = p,
				   .down_org_id = r, .created_at = 5};
	test_assert_int(store_rel_insert(st, &rel, &err), STORE_OK);
	test_assert_int(store_rel_insert(st, &rel, &err), STORE_CONFLICT);
	test_assert_int(store_rel_active(st, REL_INDIRECT_PROVIDER, p, r, &err), STORE_OK);
	int64_t ended = 0;
	test_assert_int(store_rel_end(st, REL_INDIRECT_PROVIDER, p, r, 6, &ended, &err), STORE_OK);
	test_assert_int(ended, rel.id);
	test_assert_int(store_rel_active(st, REL_INDIRECT_PROVIDER, p, r, &err), STORE_NOT_FOUND);
	test_assert_int(store_rel_end(st, REL_INDIRECT_PROVIDER, p, r, 7, &ended, &err),
			STORE_NOT_FOUND);
	struct relationship got;
	test_assert_int(store_rel_get(st, rel.id, &got, &err), STORE_OK);
	test_assert_int(got.active, 0);
	test_assert_int(got.ended_at, 6);
	/* Ended rows stay; a new active row may follow. */
	test_assert_int(store_rel_insert(st, &rel, &err), STORE_OK);
	done(st);
}

static int count_cb(void *ctx, const struct relationship *r, const struct org *o)
{
	(void)r, (void)o;
	(*(int *)ctx)++;
	return 0;
}

TEST(shared_customers_are_the_intersection)
{
	struct store *st = fresh();
	const char *err;
	int64_t p = add_org(st, ORG_PROVIDER, ORG_APPROVED, "p@p.test", "p.test");
	int64_t r = add_org(st, ORG_RESELLER, ORG_APPROVED, "r@r.test", "r.test");
	int64_t c1 = add_org(st, ORG_CUSTOMER, ORG_NO_ENROLLMENT, "c1@c.test", NULL);
	int64_t c2 = add_org(st, ORG_CUSTOMER, ORG_NO_ENROLLMENT, "c2@c.test", NULL);
	struct relationship rels[] = {
		{.kind = REL_RESELLER_OF_RECORD, .up_org_id = r, .down_org_id = c1},
		{.kind = REL_RESELLER_OF_RECORD, .up_org_id = r, .down_org_id = c2},
		{.kind = REL_RESELLER_OF_RECORD, .up_org_id = p, .down_org_id = c2},
	};
	for (size_t i = 0; i < 3; i++)
		test_assert_int(store_rel_insert(st, &rels[i], &err), STORE_OK);
	int n = 0;
	struct rel_filter f = {REL_RESELLER_OF_RECORD, REL_LIST_DOWN, r, 0, 0, 10};
	test_assert_int(store_rel_list(st, &f, count_cb, &n, &err), STORE_OK);
	test_assert_int(n, 2);
	n = 0;
	f.shared_with = p;
	test_assert_int(store_rel_list(st, &f, count_cb, &n, &err), STORE_OK);
	test_assert_int(n, 1);
	done(st);
}

TEST(link_is_used_once)
{
	struct store *st = fresh();
	const char *err;
	struct link_row l = {.jti = "abc", .purpose = "reseller", .subject_id = 1,
			     .kid = "k", .token = "t", .issued_at = 1, .expires_at = 100};
	struct link_row got;
	test_assert_int(store_link_insert(st, &l, &err), STORE_OK);
	test_assert_int(store_link_use(st, "abc", 5, &err), STORE_OK);
	test_assert_int(store_link_use(st, "abc", 6, &err), STORE_CONFLICT);
	test_assert_int(store_link_get(st, "abc", &got, &err), STORE_OK);
	test_assert_int(got.state, LINK_USED);
	test_assert_int(got.used_at, 5);
	/* Revoking a used link leaves it used. */
	test_assert_int(store_link_revoke(st, "abc", 7, &err), STORE_OK);
	test_assert_int(store_link_get(st, "abc", &got, &err), STORE_OK);
	test_assert_int(got.state, LINK_USED);
	done(st);
}

static int64_t add_invitation(struct store *st, int64_t inviter, enum inv_status status,
			      int64_t expires)
{
	static int n;
	struct invitation inv = {.kind = INV_RESELLER, .status = status,
				 .inviter_org_id = inviter, .expires_at = expires,
				 .created_at = 1};
	const char *err;
	snprintf(inv.email, sizeof(inv.email), "c%d@c.test", n);
	snprintf(inv.reply_code, sizeof(inv.reply_code), "code%d", n++);
	snprintf(inv.locale, sizeof(inv.locale), "en");
	snprintf(inv.subject, sizeof(inv.subject), "s");
	test_assert_int(store_invitation_insert(st, &inv, &err), STORE_OK);
	return inv.id;
}

TEST(invitation_status_needs_the_expected_state)
{
	struct store *st = fresh();
	const char *err;
	int64_t r = add_org(st, ORG_RESELLER, ORG_APPROVED, "r@r.test", "r.test");
	int64_t id = add_invitation(st, r, INV_SENT, 100);
	test_assert_int(store_invitation_set_status(st, id, 1u << INV_DRAFT, INV_QUEUED, NULL, 2,
						    &err), STORE_CONFLICT);
	test_assert_int(store_invitation_set_status(st, id, 1u << INV_SENT | 1u << INV_QUEUED,
						    INV_ACCEPTED, NULL, 2, &err), STORE_OK);
	/* Accepted is final for a revoke that lists only open states. */
	test_assert_int(store_invitation_set_status(st, id, 1u << INV_SENT, INV_REVOKED, NULL, 3,
						    &err), STORE_CONFLICT);
	struct invitation inv;
	test_assert_int(store_invitation_get(st, id, 1, &inv, &err), STORE_OK);
	test_assert_int(inv.status, INV_ACCEPTED);
	test_assert_str(inv.body_text, "");
	invitation_clear(&inv);
	done(st);
}

TEST(expiring_lists_only_open_overdue_invitations)
{
	struct store *st = fresh();
	const char *err;
	size_t n;
	int64_t ids[10];
	int64_t r = add_org(st, ORG_RESELLER, ORG_APPROVED, "r@r.test", "r.test");
	int64_t overdue = add_invitation(st, r, INV_SENT, 50);
	add_invitation(st, r, INV_SENT, 500);
	add_invitation(st, r, INV_ACCEPTED, 50);
	int64_t draft = add_invitation(st, r, INV_DRAFT, 60);
	test_assert_int(store_invitation_expiring(st, 100, 10, ids, &n, &err), STORE_OK);
	test_assert_int(n, 2);
	test_assert(ids[0] + ids[1] == overdue + draft);
	/* At most max. */
	test_assert_int(store_invitation_expiring(st, 100, 1, ids, &n, &err), STORE_OK);
	test_assert_int(n, 1);
	done(st);
}

/* Sent invitations expiring within `before`, each once. */
TEST(reminding_lists_sent_invitations_once)
{
	struct store *st = fresh();
	const char *err;
	size_t n;
	int64_t ids[10];
	int64_t r = add_org(st, ORG_RESELLER, ORG_APPROVED, "r@r.test", "r.test");
	int64_t soon = add_invitation(st, r, INV_SENT, 150);
	add_invitation(st, r, INV_SENT, 500);    /* not yet */
	add_invitation(st, r, INV_SENT, 90);     /* already overdue: expiring, not reminded */
	add_invitation(st, r, INV_HANDED_OFF, 150);
	test_assert_int(store_invitation_reminding(st, 100, 100, 10, ids, &n, &err), STORE_OK);
	test_assert_int(n, 1);
	test_assert_int(ids[0], soon);
	test_assert_int(store_invitation_set_reminded(st, soon, 100, &err), STORE_OK);
	test_assert_int(store_invitation_reminding(st, 100, 100, 10, ids, &n, &err), STORE_OK);
	test_assert_int(n, 0);
	done(st);
}

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
	/* A restart puts them back. */
	test_assert_int(store_outbox_recover(st, 30, &n, &err), STORE_OK);
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
TEST(checkpointer_copies_the_wal_in_its_own_thread)
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

/* ------------------------------------------------ people and sessions */

static int count_users(void *ctx, const struct user *u)
{
	(void)u;
	++*(int *)ctx;
	return 0;
}

/* One address once per organization; a status change is conditional. */
TEST(users_are_unique_per_organization_and_change_conditionally)
{
	struct store *st = fresh();
	const char *err = NULL;
	int64_t a = add_org(st, ORG_RESELLER, ORG_APPROVED, "rita@a.test", NULL);
	int64_t b = add_org(st, ORG_PROVIDER, ORG_APPROVED, "paula@b.test", NULL);
	struct user u = {.org_id = a, .role = ROLE_ADMIN_AGENT, .status = USER_ACTIVE,
			 .created_at = 1, .updated_at = 1};
	snprintf(u.email, sizeof(u.email), "rita@a.test");
	snprintf(u.name, sizeof(u.name), "Rita");
	test_assert_int(store_user_insert(st, &u, &err), STORE_OK);
	int64_t rita = u.id;
	test_assert_int(store_user_insert(st, &u, &err), STORE_CONFLICT);
	u.org_id = b; /* the same person may work for two organizations */
	u.role = ROLE_SALES_AGENT;
	test_assert_int(store_user_insert(st, &u, &err), STORE_OK);

	struct user got;
	test_assert_int(store_user_by_email(st, a, "rita@a.test", &got, &err), STORE_OK);
	test_assert(got.id == rita && got.role == ROLE_ADMIN_AGENT && got.status == USER_ACTIVE);
	test_assert_str(got.name, "Rita");
	test_assert_int(store_user_by_email(st, a, "nobody@a.test", &got, &err), STORE_NOT_FOUND);
	int n = 0;
	test_assert_int(store_user_list(st, 0, "rita@a.test", count_users, &n, &err), STORE_OK);
	test_assert_int(n, 2);
	n = 0;
	test_assert_int(store_user_list(st, a, NULL, count_users, &n, &err), STORE_OK);
	test_assert_int(n, 1);
	n = 0; /* neither an organization nor an address: nobody */
	test_assert_int(store_user_list(st, 0, NULL, count_users, &n, &err), STORE_OK);
	test_assert_int(n, 0);

	test_assert_int(store_user_set(st, rita, USER_ACTIVE, ROLE_SALES_AGENT, USER_REMOVED, 5,
				       &err),
			STORE_OK);
	test_assert_int(store_user_set(st, rita, USER_ACTIVE, ROLE_ADMIN_AGENT, USER_ACTIVE, 6,
				       &err),
			STORE_CONFLICT);
	test_assert_int(store_user_get(st, rita, &got, &err), STORE_OK);
	test_assert(got.status == USER_REMOVED && got.role == ROLE_SALES_AGENT &&
		    got.updated_at == 5);
	done(st);
}

/* A session is found by its hash; ending one, or all of a user's, holds. */
TEST(sessions_end_one_or_all)
{
	struct store *st = fresh();
	const char *err = NULL;
	int64_t a = add_org(st, ORG_RESELLER, ORG_APPROVED, "rita@a.test", NULL);
	struct user u = {.org_id = a, .role = ROLE_ADMIN_AGENT, .status = USER_ACTIVE};
	snprintf(u.email, sizeof(u.email), "rita@a.test");
	test_assert_int(store_user_insert(st, &u, &err), STORE_OK);
	struct session s[3];
	for (int i = 0; i < 3; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		memset(s[i].hash, 'a' + i, SESSION_HASH_LEN);
		s[i].user_id = u.id;
		s[i].created_at = s[i].seen_at = 100;
		s[i].expires_at = 100 + 7 * 86400;
		test_assert_int(store_session_insert(st, &s[i], &err), STORE_OK);
	}
	struct session got;
	unsigned char other[SESSION_HASH_LEN];
	memset(other, 'z', sizeof(other));
	test_assert_int(store_session_get(st, other, &got, &err), STORE_NOT_FOUND);
	test_assert_int(store_session_touch(st, s[0].hash, 200, &err), STORE_OK);
	test_assert_int(store_session_get(st, s[0].hash, &got, &err), STORE_OK);
	test_assert(got.user_id == u.id && got.seen_at == 200 && !got.ended);
	test_assert_int(store_session_end(st, s[0].hash, 300, &err), STORE_OK);
	test_assert_int(store_session_end(st, s[0].hash, 300, &err), STORE_NOT_FOUND);
	test_assert_int(store_session_touch(st, s[0].hash, 301, &err), STORE_NOT_FOUND);
	size_t n;
	test_assert_int(store_session_end_all(st, u.id, 400, &n, &err), STORE_OK);
	test_assert_int((int)n, 2);
	test_assert_int(store_session_get(st, s[2].hash, &got, &err), STORE_OK);
	test_assert(got.ended);
	done(st);
}

TEST_MAIN()
