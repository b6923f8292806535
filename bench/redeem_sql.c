/*
 * redeem_sql.c: the baseline of the redeem figure. A bare SQLite program
 * that does a redeem's reads and writes and nothing else: no HTTP, no
 * token, no page, no mail rendered. It works on a copy of the server's
 * database taken just before its round (the same schema, indexes and
 * rows), with synchronous = FULL as the server, and redeems the same
 * live links, BATCH to a transaction, each in its savepoint, as the
 * server's group commit did (bench/pages.py passes the mean batch the
 * server's /metrics showed for its round).
 *
 * The statements are the store's own, in the order a redeem runs them
 * (traced with INVITED_SLOW_SQL_MS=0): the link page's read-only look
 * (links/redeem.c, redeem_inspect) in a read transaction of its own, then
 * in the batch: the same look again, the customer organization, the
 * relationship, the link used, the invitation accepted, each change's
 * event and webhook deliveries, and the notice queued with its bytes
 * (NOTICE_BYTES, the size of the server's notices in the same run).
 * Statements are prepared once, as the store caches them.
 *
 *	redeem_sql DB BATCH NOTICE_BYTES
 *
 * Prints "redeems seconds".
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ORG_COLUMNS                                                                                \
	"id, kind, status, legal_name, address, country, partner_id,"                              \
	" contact_name, contact_email, contact_phone, support_email,"                              \
	" support_phone, support_url, locale, status_reason, contact_verified,"                    \
	" created_at, updated_at"
#define INV_COLUMNS                                                                                \
	"id, kind, status, inviter_org_id, coalesce(provider_org_id, 0),"                          \
	" coalesce(accepted_org_id, 0), email, name, locale, message,"                             \
	" status_reason, reply_code, jti, subject, edited, expires_at,"                            \
	" created_at, updated_at"
#define OUTBOX_COLUMNS                                                                             \
	"id, code, message_id, kind, coalesce(invitation_id, 0),"                                  \
	" coalesce(verification_id, 0), coalesce(org_id, 0), env_from, rcpt,"                      \
	" status, attempts, next_attempt_at, expires_at, created_at,"                              \
	" coalesce(sent_at, 0), last_code, last_reply"

enum {
	BEGIN_READ,
	ROLLBACK,
	BEGIN_WRITE,
	COMMIT,
	SAVEPOINT,
	RELEASE,
	LINK_GET,
	INV_GET,
	RELAYED,
	ORG_GET,
	ORG_DOMAINS,
	ORG_BY_CONTACT,
	DOMAIN_OWNER,
	ORG_INSERT,
	REL_ACTIVE,
	REL_INSERT,
	EVENT_INSERT,
	DELIVERIES,
	LINK_USE,
	INV_STATUS,
	LINK_REVOKE,
	OUTBOX_OF_INV,
	INV_ACCEPTED_ORG,
	OUTBOX_ADD,
	OUTBOX_DATA,
	STATEMENTS
};

static const char *const sql[STATEMENTS] = {
    [BEGIN_READ] = "BEGIN DEFERRED",
    [ROLLBACK] = "ROLLBACK",
    [BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [COMMIT] = "COMMIT",
    [SAVEPOINT] = "SAVEPOINT part",
    [RELEASE] = "RELEASE part",
    [LINK_GET] = "SELECT jti, purpose, subject_id, kid, token, issued_at, expires_at,"
		 " state, coalesce(used_at, 0) FROM links WHERE jti = ?",
    [INV_GET] = "SELECT " INV_COLUMNS ", body_text, body_html FROM invitations WHERE id = ?",
    [RELAYED] = "SELECT EXISTS (SELECT 1 FROM inbound WHERE invitation_id = ?"
		" AND action = 'relayed')",
    [ORG_GET] = "SELECT " ORG_COLUMNS " FROM orgs WHERE id = ?",
    [ORG_DOMAINS] = "SELECT domain FROM org_domains WHERE org_id = ? ORDER BY domain",
    [ORG_BY_CONTACT] = "SELECT " ORG_COLUMNS " FROM orgs WHERE contact_email = ?"
		       " AND kind = ?2 AND (?2 = 'customer' OR status = 'approved')"
		       " ORDER BY id LIMIT 1",
    [DOMAIN_OWNER] = "SELECT " ORG_COLUMNS " FROM orgs WHERE id = (SELECT o.id FROM"
		     " org_domains d JOIN orgs o ON o.id = d.org_id WHERE d.domain = ?"
		     " AND o.kind = ?2 AND (?2 = 'customer' OR o.status = 'approved')"
		     " ORDER BY o.id LIMIT 1)",
    [ORG_INSERT] = "INSERT INTO orgs (kind, status, legal_name, address, country,"
		   " partner_id, contact_name, contact_email, contact_phone,"
		   " support_email, support_phone, support_url, locale,"
		   " status_reason, contact_verified, created_at, updated_at)"
		   " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [REL_ACTIVE] = "SELECT 1 FROM relationships WHERE kind = ? AND up_org_id = ?"
		   " AND down_org_id = ? AND active = 1",
    [REL_INSERT] = "INSERT INTO relationships (kind, up_org_id, down_org_id,"
		   " invitation_id, active, created_at) VALUES (?, ?, ?, ?, 1, ?)",
    [EVENT_INSERT] = "INSERT INTO events (at, org_id, peer_org_id, actor, name, subject,"
		     " details) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [DELIVERIES] =
	"INSERT INTO deliveries (webhook_id, event_id, status, next_attempt_at,"
	" expires_at, created_at)"
	" SELECT id, ?1, 'pending', ?2, ?2 + 259200, ?2 FROM webhooks"
	" WHERE deleted_at IS NULL AND (org_id IS NULL OR org_id = ?3 OR org_id = ?4)"
	" AND (events = '' OR instr(',' || events || ',', ',' || ?5 || ',') > 0"
	" OR instr(',' || events || ',', ',' || substr(?5, 1, instr(?5, '.')) || '*,') > 0)",
    [LINK_USE] = "UPDATE links SET state = 'used', used_at = ?, token = ''"
		 " WHERE jti = ? AND state = 'live'",
    [INV_STATUS] = "UPDATE invitations SET status = ?, status_reason = ?, updated_at = ?"
		   " WHERE id = ? AND instr(?, ',' || status || ',') > 0",
    [LINK_REVOKE] = "UPDATE links SET state = 'revoked', used_at = ?, token = ''"
		    " WHERE jti = ? AND state = 'live'",
    [OUTBOX_OF_INV] = "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE invitation_id = ?2"
		      " AND (?1 IS NULL OR status = ?1) AND id < ?3 ORDER BY id DESC LIMIT ?4",
    [INV_ACCEPTED_ORG] = "UPDATE invitations SET accepted_org_id = ? WHERE id = ?",
    [OUTBOX_ADD] = "INSERT INTO outbox (code, message_id, kind, invitation_id,"
		   " verification_id, org_id, env_from, rcpt, status,"
		   " next_attempt_at, expires_at, created_at)"
		   " VALUES (?,?,?,?,?,?,?,?,'queued',?,?,?)",
    [OUTBOX_DATA] = "INSERT INTO outbox_data (id, data) VALUES (?,?)",
};

static sqlite3 *db;
static sqlite3_stmt *st[STATEMENTS];

static void die(const char *what)
{
	fprintf(stderr, "redeem_sql: %s: %s\n", what, sqlite3_errmsg(db));
	exit(1);
}

/* Run a statement to its end; the rows read are stepped over, as the
 * store's loaders step over them (their columns copied is the store's
 * own cost, not SQLite's). */
static void run(int i)
{
	int rc;
	while ((rc = sqlite3_step(st[i])) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		die(sql[i]);
	sqlite3_reset(st[i]);
	sqlite3_clear_bindings(st[i]);
}

static void text(int i, int col, const char *v)
{
	sqlite3_bind_text(st[i], col, v, -1, SQLITE_STATIC);
}

static void num(int i, int col, int64_t v)
{
	sqlite3_bind_int64(st[i], col, v);
}

struct item {
	char jti[64];
	char email[256];
	char domain[256];
	int64_t invitation, inviter;
};

/* What the link page reads: the link, its invitation, the inviter and
 * whether the invitee's organization exists already. */
static void look(const struct item *it)
{
	text(LINK_GET, 1, it->jti);
	run(LINK_GET);
	num(INV_GET, 1, it->invitation);
	run(INV_GET);
	num(RELAYED, 1, it->invitation);
	run(RELAYED);
	num(ORG_GET, 1, it->inviter);
	run(ORG_GET);
	num(ORG_DOMAINS, 1, it->inviter);
	run(ORG_DOMAINS);
	text(ORG_BY_CONTACT, 1, it->email);
	text(ORG_BY_CONTACT, 2, "customer");
	run(ORG_BY_CONTACT);
	text(DOMAIN_OWNER, 1, it->domain);
	text(DOMAIN_OWNER, 2, "customer");
	run(DOMAIN_OWNER);
}

static void event(int64_t now, int64_t org, int64_t peer, const char *name, const char *subject,
		  const char *details)
{
	num(EVENT_INSERT, 1, now);
	num(EVENT_INSERT, 2, org);
	num(EVENT_INSERT, 3, peer);
	text(EVENT_INSERT, 4, "link");
	text(EVENT_INSERT, 5, name);
	text(EVENT_INSERT, 6, subject);
	text(EVENT_INSERT, 7, details);
	run(EVENT_INSERT);
	num(DELIVERIES, 1, sqlite3_last_insert_rowid(db));
	num(DELIVERIES, 2, now);
	num(DELIVERIES, 3, org);
	num(DELIVERIES, 4, peer);
	text(DELIVERIES, 5, name);
	run(DELIVERIES);
}

static void redeem(const struct item *it, int64_t now, const unsigned char *notice, int notice_len,
		   long seq)
{
	char subject[64], name[64], code[32], message_id[128], details[160];
	run(SAVEPOINT);
	look(it);
	snprintf(name, sizeof(name), "Customer %ld K.K.", seq);
	text(ORG_INSERT, 1, "customer");
	text(ORG_INSERT, 2, "approved");
	text(ORG_INSERT, 3, name);
	for (int c = 4; c <= 6; c++)
		text(ORG_INSERT, c, "");
	text(ORG_INSERT, 7, "Carol Customer");
	text(ORG_INSERT, 8, it->email);
	for (int c = 9; c <= 12; c++)
		text(ORG_INSERT, c, "");
	text(ORG_INSERT, 13, "en");
	text(ORG_INSERT, 14, "");
	num(ORG_INSERT, 15, 1);
	num(ORG_INSERT, 16, now);
	num(ORG_INSERT, 17, now);
	run(ORG_INSERT);
	int64_t customer = sqlite3_last_insert_rowid(db);
	text(REL_ACTIVE, 1, "reseller_of_record");
	num(REL_ACTIVE, 2, it->inviter);
	num(REL_ACTIVE, 3, customer);
	run(REL_ACTIVE);
	text(REL_INSERT, 1, "reseller_of_record");
	num(REL_INSERT, 2, it->inviter);
	num(REL_INSERT, 3, customer);
	num(REL_INSERT, 4, it->invitation);
	num(REL_INSERT, 5, now);
	run(REL_INSERT);
	snprintf(subject, sizeof(subject), "relationship:%lld",
		 (long long)sqlite3_last_insert_rowid(db));
	snprintf(details, sizeof(details),
		 "{\"kind\":\"reseller_of_record\",\"invitation_id\":%lld}",
		 (long long)it->invitation);
	event(now, it->inviter, customer, "relationship.created", subject, details);
	num(LINK_USE, 1, now);
	text(LINK_USE, 2, it->jti);
	run(LINK_USE);
	if (sqlite3_changes(db) != 1) {
		fprintf(stderr, "redeem_sql: link %s is not live\n", it->jti);
		exit(1);
	}
	text(INV_STATUS, 1, "accepted");
	text(INV_STATUS, 2, "");
	num(INV_STATUS, 3, now);
	num(INV_STATUS, 4, it->invitation);
	text(INV_STATUS, 5, ",draft,queued,sent,delivered,opened,");
	run(INV_STATUS);
	num(LINK_REVOKE, 1, now);
	text(LINK_REVOKE, 2, it->jti);
	run(LINK_REVOKE);
	text(OUTBOX_OF_INV, 1, "queued");
	num(OUTBOX_OF_INV, 2, it->invitation);
	num(OUTBOX_OF_INV, 3, INT64_MAX);
	num(OUTBOX_OF_INV, 4, 100);
	run(OUTBOX_OF_INV);
	snprintf(subject, sizeof(subject), "invitation:%lld", (long long)it->invitation);
	snprintf(details, sizeof(details), "{\"from\":\"sent\",\"to\":\"accepted\"}");
	event(now, it->inviter, customer, "invitation.accepted", subject, details);
	num(INV_ACCEPTED_ORG, 1, customer);
	num(INV_ACCEPTED_ORG, 2, it->invitation);
	run(INV_ACCEPTED_ORG);
	num(ORG_GET, 1, it->inviter);
	run(ORG_GET);
	num(ORG_DOMAINS, 1, it->inviter);
	run(ORG_DOMAINS);
	snprintf(code, sizeof(code), "n%015ld", seq);
	snprintf(message_id, sizeof(message_id), "<%s.%ld@example.test>", code, seq);
	text(OUTBOX_ADD, 1, code);
	text(OUTBOX_ADD, 2, message_id);
	text(OUTBOX_ADD, 3, "notice");
	num(OUTBOX_ADD, 4, it->invitation);
	sqlite3_bind_null(st[OUTBOX_ADD], 5);
	num(OUTBOX_ADD, 6, it->inviter);
	text(OUTBOX_ADD, 7, "bounce@example.test");
	text(OUTBOX_ADD, 8, "rita@contoso.example");
	num(OUTBOX_ADD, 9, now);
	num(OUTBOX_ADD, 10, now + 5 * 86400);
	num(OUTBOX_ADD, 11, now);
	run(OUTBOX_ADD);
	num(OUTBOX_DATA, 1, sqlite3_last_insert_rowid(db));
	sqlite3_bind_blob(st[OUTBOX_DATA], 2, notice, notice_len, SQLITE_STATIC);
	run(OUTBOX_DATA);
	run(RELEASE);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4 || atoi(argv[2]) < 1 || atoi(argv[3]) < 1) {
		fprintf(stderr, "usage: redeem_sql DB BATCH NOTICE_BYTES\n");
		return 2;
	}
	int batch = atoi(argv[2]), notice_len = atoi(argv[3]);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		die(argv[1]);
	/* As store_open sets a connection up, but for the checkpoints: the
	 * server's run in a thread of their own; here SQLite's own (every
	 * 1000 pages, in the commit that reaches them) are kept. And no
	 * count of memory used (set before the open), as in the store. */
	if (sqlite3_exec(db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 " PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
			 NULL, NULL, NULL) != SQLITE_OK)
		die("pragmas");
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, NULL);
	for (int i = 0; i < STATEMENTS; i++)
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) !=
		    SQLITE_OK)
			die(sql[i]);

	/* The live invitation links the server's round is to redeem. */
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db,
			       "SELECT l.jti, i.id, i.inviter_org_id, i.email FROM links l"
			       " JOIN invitations i ON i.jti = l.jti WHERE l.state = 'live'"
			       " AND i.status = 'sent' ORDER BY i.id",
			       -1, &q, NULL) != SQLITE_OK)
		die("the live links");
	size_t n = 0, cap = 1024;
	struct item *items = malloc(cap * sizeof(*items));
	while (items != NULL && sqlite3_step(q) == SQLITE_ROW) {
		if (n == cap && (items = realloc(items, (cap *= 2) * sizeof(*items))) == NULL)
			break;
		struct item *it = &items[n++];
		snprintf(it->jti, sizeof(it->jti), "%s", (const char *)sqlite3_column_text(q, 0));
		it->invitation = sqlite3_column_int64(q, 1);
		it->inviter = sqlite3_column_int64(q, 2);
		snprintf(it->email, sizeof(it->email), "%s",
			 (const char *)sqlite3_column_text(q, 3));
		const char *at = strchr(it->email, '@');
		snprintf(it->domain, sizeof(it->domain), "%s", at ? at + 1 : "");
	}
	sqlite3_finalize(q);
	unsigned char *notice = malloc((size_t)notice_len);
	if (items == NULL || notice == NULL) {
		fprintf(stderr, "redeem_sql: out of memory\n");
		return 1;
	}
	if (n == 0) {
		fprintf(stderr, "redeem_sql: no live invitation link in %s\n", argv[1]);
		return 1;
	}
	for (int i = 0; i < notice_len; i++) /* MIME text, as the notice is */
		notice[i] = (unsigned char)"abcdefghijklmnopqrstuvwxyz0123456789 =\r\n"[i % 41];

	int64_t now = (int64_t)time(NULL);
	double start = now_s();
	for (size_t i = 0; i < n; i += (size_t)batch) {
		size_t end = i + (size_t)batch < n ? i + (size_t)batch : n;
		for (size_t j = i; j < end; j++) { /* each request's page look */
			run(BEGIN_READ);
			look(&items[j]);
			run(ROLLBACK);
		}
		run(BEGIN_WRITE);
		for (size_t j = i; j < end; j++)
			redeem(&items[j], now, notice, notice_len, (long)j);
		run(COMMIT);
	}
	double took = now_s() - start;
	printf("%zu %.6f\n", n, took);
	for (int i = 0; i < STATEMENTS; i++)
		sqlite3_finalize(st[i]);
	sqlite3_close(db);
	free(items);
	free(notice);
	return 0;
}
