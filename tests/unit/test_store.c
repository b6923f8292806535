/* link: invited_store */
/*
 * test_store.c: the store's rules: schema and migrations, file modes,
 * conditional status changes, one active relationship per pair, links
 * used once, the invitation sweeps' lists, people and sessions (the
 * outbox, keys, events and the checkpointer are in test_store_mail.c).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_fixture.h"

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

/* Without STORE_MIGRATE (every command but serve and db migrate) an old
 * database is refused, with the command to run, and left as it was; a
 * newer one is refused even with it. */
TEST(an_old_database_needs_an_explicit_migration_a_newer_one_is_refused) /* sqlite only: SQLite files of old schemas */
{
	const char *err = NULL;
	struct store *st = NULL;
	int version;
	old_database(9, "");
	test_assert_int(store_open(db_path, 0, &st, &err), STORE_ERROR);
	test_assert(strstr(err, "schema version 9") != NULL);
	test_assert(strstr(err, "run `invited db migrate`") != NULL);
	test_assert_int(store_file_version(db_path, &version, &err), STORE_OK);
	test_assert_int(version, 9);
	test_assert_int(store_open(db_path, STORE_MIGRATE, &st, &err), STORE_OK);
	test_assert_int(store_version(st, &version, &err), STORE_OK);
	test_assert_int(version, store_schema_version());
	store_close(st);

	sqlite3 *db;
	char sql[48];
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", store_schema_version() + 1);
	test_assert_int(sqlite3_open(db_path, &db), SQLITE_OK);
	test_assert_int(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	test_assert_int(store_open(db_path, STORE_MIGRATE, &st, &err), STORE_ERROR);
	test_assert(strstr(err, "newer than this build's") != NULL);
	test_assert_int(store_open(db_path, 0, &st, &err), STORE_ERROR);
	unlink(db_path);
}

/* A database of schema 2 (the mail's bytes in the outbox row) opened by
 * this build: the bytes move to outbox_data, and the message is still
 * claimed and sent whole. */
TEST(migration_3_moves_queued_mail_bytes) /* sqlite only: SQLite files of old schemas */
{
	const char *err;
	old_database(2, "INSERT INTO outbox (code, message_id, kind, env_from, rcpt,"
			" data, status, next_attempt_at, expires_at, created_at)"
			" VALUES ('c1', 'm1@x.test', 'notice', 'b@x.test',"
			" 'r@x.test', CAST('Subject: old\r\n\r\nkept\r\n' AS BLOB),"
			" 'queued', 10, 1000, 10)");

	struct store *st;
	test_assert_int(store_open(db_path, STORE_MIGRATE, &st, &err), STORE_OK);
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
TEST(migration_6_keeps_users_and_allows_operators) /* sqlite only: SQLite files of old schemas */
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
	test_assert_int(store_open(db_path, STORE_MIGRATE, &st, &err), STORE_OK);
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
TEST(migrations_7_to_9_turn_the_audit_log_into_events) /* sqlite only: SQLite files of old schemas */
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
	test_assert_int(store_open(db_path, STORE_MIGRATE, &st, &err), STORE_OK);
	struct event_filter f = {.oldest_first = 1, .limit = 10};
	test_assert_int(store_event_list(st, &f, names_cb, seen, &err), STORE_OK);
	test_assert_str(seen, "org.created@1;apikey.created@1;invitation.created@1;"
			      "user.signed_in@1;invitation.bounced@1;something.else@0;");
	done(st);
}

/* Contacts and live tokens: the database, -wal and -shm are 0600 even
 * under a umask that would let everyone read them. */
TEST(database_files_are_private) /* sqlite only: file modes */
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
TEST(a_readable_database_is_made_private) /* sqlite only: file modes */
{
	char path[64];
	const char *err = NULL;
	struct store *st;
	snprintf(path, sizeof(path), "/tmp/invited-store-XXXXXX");
	int fd = mkstemp(path);
	test_assert(fd >= 0);
	test_assert(fchmod(fd, 0644) == 0);
	close(fd);
	test_assert_int(store_open(path, STORE_CREATE | STORE_MIGRATE, &st, &err), STORE_OK);
	struct stat sb;
	test_assert(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	store_close(st);
	unlink(path);
}

TEST(open_missing_without_create_fails) /* sqlite only: a file path */
{
	struct store *st;
	const char *err = NULL;
	test_assert_int(store_open("/tmp/invited-no-such-dir/x.db", STORE_CREATE | STORE_MIGRATE, &st, &err), STORE_ERROR);
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

/* Only an approved organization's proof stands in another's way: a
 * rejected or pending one's must not block the domain's owner. */
TEST(only_an_approved_proof_blocks_another)
{
	struct store *st = fresh();
	const char *err;
	int64_t ids[3];
	const enum org_status status[3] = {ORG_REJECTED, ORG_IN_REVIEW, ORG_IN_REVIEW};
	for (int i = 0; i < 3; i++) { /* each lists r.test, claimed */
		struct org o = {.kind = ORG_RESELLER, .status = status[i], .n_domains = 1,
				.created_at = 1};
		snprintf(o.contact_email, sizeof(o.contact_email), "%c@r.test", 'a' + i);
		snprintf(o.domains[0], sizeof(o.domains[0]), "r.test");
		test_assert_int(store_org_insert(st, &o, &err), STORE_OK);
		ids[i] = o.id;
	}
	test_assert_int(store_domain_prove(st, ids[0], "r.test", "contact", 1, &err), STORE_OK);
	test_assert_int(store_domain_prove(st, ids[1], "r.test", "contact", 2, &err), STORE_OK);
	test_assert_int(store_org_set_status(st, ids[1], -1, ORG_APPROVED, "", 3, &err), STORE_OK);
	test_assert_int(store_domain_prove(st, ids[2], "r.test", "contact", 4, &err),
			STORE_CONFLICT);
	/* A lasting proof is kept when another comes. */
	test_assert_int(store_domain_prove(st, ids[1], "r.test", "dns", 5, &err), STORE_NOT_FOUND);
	struct org o;
	test_assert_int(store_org_get(st, ids[1], &o, &err), STORE_OK);
	test_assert_str(o.proofs[0].method, "contact");
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
	/* A link that can no longer be mailed keeps no token. */
	test_assert_str(got.token, "");
	/* Revoking a used link leaves it used. */
	test_assert_int(store_link_revoke(st, "abc", 7, &err), STORE_OK);
	test_assert_int(store_link_get(st, "abc", &got, &err), STORE_OK);
	test_assert_int(got.state, LINK_USED);
	/* A live link keeps its token until revoked. */
	struct link_row k = l;
	snprintf(k.jti, sizeof(k.jti), "def");
	test_assert_int(store_link_insert(st, &k, &err), STORE_OK);
	test_assert_int(store_link_get(st, "def", &got, &err), STORE_OK);
	test_assert_str(got.token, "t");
	test_assert_int(store_link_revoke_subject(st, "reseller", 1, 8, &err), STORE_OK);
	test_assert_int(store_link_get(st, "def", &got, &err), STORE_OK);
	test_assert_int(got.state, LINK_REVOKED);
	test_assert_str(got.token, "");
	done(st);
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
static int count_inv(void *ctx, const struct invitation *inv)
{
	(void)inv;
	++*(int *)ctx;
	return 0;
}

static int count_msg(void *ctx, const struct outbox_msg *m)
{
	(void)m;
	++*(int *)ctx;
	return 0;
}

/* Lists and counts filtered by a bound status, each status in turn: no
 * statement is prepared again for a new value (done() asserts it), which
 * SQLite did at every call while a bound `status = ?` could decide
 * whether a partial index on status applies. */
TEST(statements_filtered_by_a_bound_status_are_prepared_once)
{
	struct store *st = fresh();
	const char *err = NULL;
	int64_t org = add_org(st, ORG_PROVIDER, ORG_APPROVED, "p@p.test", NULL);
	add_invitation(st, org, INV_SENT, 100);
	add_invitation(st, org, INV_QUEUED, 100);
	int n = 0;
	for (int s = INV_QUEUED; s <= INV_HANDED_OFF; s++) {
		struct inv_filter f = {.inviter_org_id = org, .status = s, .limit = 10};
		test_assert_int(store_invitation_list(st, &f, count_inv, &n, &err), STORE_OK);
		struct outbox_filter of = {.status = OUTBOX_QUEUED + (s % 4), .limit = 10};
		test_assert_int(store_outbox_list(st, &of, count_msg, &n, &err), STORE_OK);
	}
	test_assert_int(n, 2);
	struct org_counts counts;
	for (int i = 0; i < 3; i++)
		test_assert_int(store_org_counts(st, org, &counts, &err), STORE_OK);
	test_assert_int(counts.invitations[INV_SENT], 1);
	done(st);
}

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

/* "table.column" lines of the SQLite database at path, in column order. */
static void sqlite_columns(const char *path, char *out, size_t size)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	size_t n = 0;
	test_assert_int(sqlite3_open(path, &db), SQLITE_OK);
	test_assert_int(sqlite3_prepare_v2(db,
					   "SELECT m.name, p.name, p.type, p.pk FROM sqlite_schema m,"
					   " pragma_table_info(m.name) p WHERE m.type = 'table'"
					   " ORDER BY m.name, p.cid",
					   -1, &s, NULL),
			SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		n += (size_t)snprintf(out + n, size - n, "%s.%s %s%s\n", sqlite3_column_text(s, 0),
				      sqlite3_column_text(s, 1),
				      strcmp((const char *)sqlite3_column_text(s, 2), "BLOB") == 0
					      ? "bytes"
					      : "value",
				      sqlite3_column_int(s, 3) ? " key" : "");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* The same of the PostgreSQL database at url (its own invited_schema aside). */
static void pg_columns(const char *url, char *out, size_t size)
{
	size_t n = 0;
	PGconn *c = PQconnectdb(url);
	test_assert(PQstatus(c) == CONNECTION_OK);
	PGresult *r = PQexec(c, "SELECT c.table_name, c.column_name, c.data_type,"
				" EXISTS (SELECT 1 FROM information_schema.key_column_usage k"
				"  JOIN information_schema.table_constraints t USING (constraint_name)"
				"  WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_name = c.table_name"
				"  AND k.column_name = c.column_name)"
				" FROM information_schema.columns c WHERE c.table_schema = 'public'"
				" AND c.table_name != 'invited_schema'"
				" ORDER BY c.table_name, c.ordinal_position");
	test_assert(PQresultStatus(r) == PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++)
		n += (size_t)snprintf(out + n, size - n, "%s.%s %s%s\n", PQgetvalue(r, i, 0),
				      PQgetvalue(r, i, 1),
				      strcmp(PQgetvalue(r, i, 2), "bytea") == 0 ? "bytes" : "value",
				      PQgetvalue(r, i, 3)[0] == 't' ? " key" : "");
	PQclear(r);
	PQfinish(c);
}

/* Version N is the same schema on both backends: the same tables, the
 * same columns in the same order, the same keys, bytes where SQLite keeps
 * a BLOB. */
TEST(both_backends_have_the_same_schema_at_each_version) /* postgresql only */
{
	static char lite[16384], pg[16384];
	struct store *st = fresh(); /* PostgreSQL's */
	char path[] = "/tmp/invited-schema-XXXXXX";
	const char *err;
	struct store *other;
	close(mkstemp(path));
	unlink(path);
	test_assert_int(store_open(path, STORE_CREATE | STORE_MIGRATE, &other, &err), STORE_OK);
	store_close(other);
	sqlite_columns(path, lite, sizeof(lite));
	pg_columns(db_path, pg, sizeof(pg));
	unlink(path);
	test_assert(strlen(lite) > 1000);
	test_assert_str(pg, lite);
	done(st);
}

TEST_MAIN()
