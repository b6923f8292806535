/*
 * store.h: the embedded SQLite store, the only module that speaks SQL.
 * It holds organizations, API keys, invitations, link tokens,
 * relationships, contact verifications, the outbox, inbound mail state and
 * the event log. One struct store is one connection: use it from one
 * thread at a time, and open one per thread. Every statement is prepared
 * once per connection and bound; nothing is concatenated into SQL.
 *
 * Functions return STORE_OK, a positive outcome (STORE_NOT_FOUND,
 * STORE_CONFLICT), or STORE_ERROR with *error_r set.
 */
#ifndef INVITED_STORE_H
#define INVITED_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

enum store_rc {
	STORE_ERROR = -1,
	STORE_OK = 0,
	STORE_NOT_FOUND = 1,
	STORE_CONFLICT = 2, /* a uniqueness rule or a state precondition */
};

struct store;

/* ------------------------------------------------------------ lifecycle */

/*
 * Open the database at path, in WAL mode with foreign keys on.
 * STORE_CREATE creates the file (0600) when missing; STORE_MIGRATE brings
 * its schema to this build's version, logging each step. Without it, a
 * database that needs migrating is refused, with the command to run; a
 * newer schema than this build's is refused too. STORE_ANY_VERSION takes
 * any schema as it is: only for store_backup, which copies pages.
 */
enum { STORE_CREATE = 1, STORE_MIGRATE = 2, STORE_ANY_VERSION = 4 };
int store_open(const char *path, int flags, struct store **st_r, const char **error_r);
/* Whether path names a PostgreSQL database (postgresql://, postgres://):
 * then the store speaks to it through libpq, and the path's flags are
 * PostgreSQL's business (the database exists; migrations are the same). */
int store_is_pg(const char *path);
/* Whether a PostgreSQL URL carries a password (user:password@, or a
 * password parameter however encoded, as libpq reads it), or cannot be
 * read at all: refused where the URL is shown or logged. */
int store_url_has_password(const char *path);
/* "sqlite" or "postgresql". */
const char *store_backend_name(const struct store *st);
/* The database's schema version (PRAGMA user_version), of an open store
 * or of the file at path (opened read-only, migrated or not). */
int store_version(struct store *st, int *version_r, const char **error_r);
int store_file_version(const char *path, int *version_r, const char **error_r);
void store_close(struct store *st);

/* A read the store must answer: 0, or -1 with why (for /readyz). */
int store_ping(struct store *st, const char **error_r);

/* An online, consistent copy of the database into dest (a new file, 0600):
 * one read snapshot, while writers go on (WAL). */
int store_backup(struct store *st, const char *dest, const char **error_r);

/*
 * How many times SQLite had to prepare a cached statement again, and (in
 * *sql_r, when not NULL) one that was. Should stay 0: a statement whose
 * bound value decides whether a partial index applies (`kind = ?` beside
 * an index WHERE kind = 'confirm') is prepared again at every bind, which
 * costs more than the query itself; such statements are written one per
 * value instead. The tests assert it.
 */
int store_reprepares(struct store *st, const char **sql_r);

/* The schema version this build writes (PRAGMA user_version). */
int store_schema_version(void);

/* BEGIN IMMEDIATE … COMMIT. Transactions do not nest. */
int store_begin(struct store *st, const char **error_r);
int store_commit(struct store *st, const char **error_r);
void store_rollback(struct store *st);
/* A savepoint in the current transaction (they do not nest either), and
 * its end: kept (RELEASE) or undone (ROLLBACK TO, then RELEASE). An error
 * may have ended the whole transaction: see store_in_tx(). */
int store_savepoint(struct store *st, const char **error_r);
int store_savepoint_end(struct store *st, int keep, const char **error_r);
/* 1 while a transaction is open on this connection. */
int store_in_tx(struct store *st);
/* A read transaction (BEGIN DEFERRED), ended by store_rollback(): the reads
 * in it see one snapshot and take the WAL read lock once, not once each. */
int store_begin_read(struct store *st, const char **error_r);

/*
 * Bulk loading, for a database no other process has open (a benchmark's
 * fill, an import): until store_close, the connection holds the file
 * locked, keeps no journal, never syncs, skips CHECK constraints, has a
 * larger page cache and reads through mmap, so that big transactions run
 * at the speed of the inserts. Only rows made through this API belong
 * there, and a crash meanwhile can leave the file damaged. The next
 * store_open puts the database back in WAL mode.
 */
int store_bulk_load(struct store *st, const char **error_r);

/*
 * A checkpointer: a thread with its own connection that copies the WAL
 * into the database, so that commits never do it within a request. A
 * connection handed to it with store_checkpoint_by() (use it from that
 * connection's thread, before anything else) wakes it once the WAL holds
 * `pages` pages instead of checkpointing itself (unless the thread falls
 * four times that far behind). Stop it after every connection handed to
 * it is closed or taken back (store_checkpoint_by(st, NULL)).
 */
struct store_checkpointer;
int store_checkpointer_start(const char *path, int pages,
			     struct store_checkpointer **cp_r, const char **error_r);
void store_checkpointer_stop(struct store_checkpointer *cp);
void store_checkpoint_by(struct store *st, struct store_checkpointer *cp);

/*
 * synchronous = NORMAL for this connection: its commits survive a crash
 * of the process but not of the machine, and cost no fsync. Only for a
 * connection whose lost commits lose nothing: the outbox sender's (a lost
 * claim or outcome only means a mail sent again; the next durable commit
 * of any connection makes them durable too, as the WAL is one file).
 */
int store_sync_relaxed(struct store *st, const char **error_r);

/*
 * Copy every row of from into to, an empty database of either backend at
 * this build's schema version: one read snapshot of from, one transaction
 * of to, ids kept. cb (if not NULL) hears each table and its row count as
 * it is done. For `invited db copy`, with the servers stopped: what they
 * write meanwhile is not in the copy.
 */
typedef void store_copy_cb(void *ctx, const char *table, int64_t rows);
int store_copy(struct store *from, struct store *to, store_copy_cb *cb, void *ctx,
	       const char **error_r);
/* The tables a copy moves, and how many: for checking it by counts. */
int store_copy_tables(const char *const **tables_r);
/* The rows of one of those tables. */
int store_count_rows(struct store *st, const char *table, int64_t *n_r, const char **error_r);

/*
 * More than one server on one database. Each process has an id (random,
 * made at first use) that its claims of messages and deliveries carry;
 * a serving process beats (its row in servers: host, pid, when it
 * started, seen_at now) every few seconds, and the claims of one that
 * has not beaten for a while are taken back by the others. store_shared
 * is 1 when other servers may use the database at once (PostgreSQL).
 */
const char *store_process_id(void);
int store_shared(const struct store *st);
/* The database's clock, in unix seconds: on a shared database the one
 * clock that beats, the cut-off for a silent server and the rate buckets
 * use, whatever each server's own says (SQLite: this machine's). */
int store_now(struct store *st, int64_t *now_r, const char **error_r);
int store_server_beat(struct store *st, const char *host, int64_t pid, int64_t started,
		      int64_t now, const char **error_r);
/* This process stops serving: its row goes. */
int store_server_gone(struct store *st, const char **error_r);
/* The servers' rows (for `invited db check` and the tests). */
struct server_row {
	char id[40];
	char host[256];
	int64_t pid, started_at, seen_at;
};
typedef int store_server_cb(void *ctx, const struct server_row *s);
int store_server_list(struct store *st, store_server_cb *cb, void *ctx, const char **error_r);
/*
 * A lock by number for as long as this connection lives, if no other
 * connection holds it (PostgreSQL's session advisory lock; SQLite has one
 * server, which always holds it): *held_r 1 when this connection holds it
 * now. Asking again while holding it keeps it.
 */
int store_lock_hold(struct store *st, int64_t key, int *held_r, const char **error_r);
/*
 * A token bucket shared by every server: bucket (name, client) holds up to
 * cap units, refills refill units a second, and a request costs cost;
 * *ok_r 1 when this one is allowed (taken), else 0 with *units_r what the
 * bucket holds. client is a keyed hash, never an address. On a shared
 * database now is the database's clock (store_now), not the argument.
 */
int store_rate_take(struct store *st, const char *name, const char *client, int64_t cap,
		    int64_t cost, int64_t refill, int64_t now, int *ok_r, int64_t *units_r,
		    const char **error_r);
/* Buckets untouched since before `before` (full again by then) go. */
int store_rate_prune(struct store *st, int64_t before, size_t *n_r, const char **error_r);

/* PRAGMA integrity_check; *result_r is malloc'd ("ok" when sound). */
int store_integrity_check(struct store *st, char **result_r,
			  const char **error_r);

/* ------------------------------------------------------- organizations */

enum org_kind { ORG_PROVIDER = 1, ORG_RESELLER, ORG_CUSTOMER };

enum org_status {
	ORG_NO_ENROLLMENT = 0, /* customers: they do not enroll */
	ORG_PENDING_VERIFICATION,
	ORG_IN_REVIEW,
	ORG_APPROVED,
	ORG_REJECTED,
	ORG_SUSPENDED,
};

/*
 * A domain an organization lists is only claimed until it is proven
 * (SPEC "Who may accept"): only proven domains route invitations to it,
 * name it on a page, or make another enrollment's claim domain_taken.
 * Proof: the organization's verified contact address is at the domain
 * ("contact"), the operator created the organization with it
 * ("operator"), or a DNS TXT record at _invited-challenge.<domain> holds
 * "invited-domain-verification=<token>" ("dns", re-checked daily).
 */
#define DOMAIN_TOKEN_LEN 32
#define DOMAIN_TXT_PREFIX "_invited-challenge."
#define DOMAIN_TXT_VALUE "invited-domain-verification="

enum domain_state { DOMAIN_CLAIMED, DOMAIN_PROVEN, DOMAIN_FAILED };

struct domain_proof {
	enum domain_state state;
	char method[9];                    /* contact, operator, dns; "" while claimed */
	char token[DOMAIN_TOKEN_LEN + 1];  /* the TXT record's value, after the prefix */
	int64_t checked_at;                /* last DNS check; 0: never */
};

const char *domain_state_str(enum domain_state s);

/* The TXT record that proves a domain: its name and its whole text. */
struct domain_record {
	char name[sizeof(DOMAIN_TXT_PREFIX) + MAX_DOMAIN_LEN];
	char value[sizeof(DOMAIN_TXT_VALUE) + DOMAIN_TOKEN_LEN];
};
void domain_txt_of(const char *domain, const char *token, struct domain_record *t);

struct org {
	int64_t id;
	enum org_kind kind;
	enum org_status status;
	char legal_name[MAX_LEGAL_NAME_LEN + 1];
	char address[MAX_ADDRESS_LEN + 1];
	char country[3];
	char partner_id[MAX_PARTNER_ID_LEN + 1];
	char contact_name[MAX_NAME_LEN + 1];
	char contact_email[MAX_EMAIL_LEN + 1];
	char contact_phone[MAX_PHONE_LEN + 1];
	char support_email[MAX_EMAIL_LEN + 1];
	char support_phone[MAX_PHONE_LEN + 1];
	char support_url[MAX_URL_LEN + 1];
	char locale[MAX_LOCALE_LEN + 1];
	char status_reason[MAX_REASON_LEN + 1];
	int contact_verified;
	size_t n_domains;
	char domains[MAX_DOMAINS][MAX_DOMAIN_LEN + 1];
	struct domain_proof proofs[MAX_DOMAINS]; /* by index of domains */
	int64_t created_at;
	int64_t updated_at;
};

const char *org_kind_str(enum org_kind kind);
int org_kind_parse(const char *s, enum org_kind *kind_r);
/* "" for ORG_NO_ENROLLMENT */
const char *org_status_str(enum org_status status);
int org_status_parse(const char *s, enum org_status *status_r);

/* Insert o (with its domains); sets o->id. STORE_CONFLICT: a domain is
 * already owned by an approved organization. */
int store_org_insert(struct store *st, struct org *o, const char **error_r);
int store_org_get(struct store *st, int64_t id, struct org *o,
		  const char **error_r);
/* Set status and reason (and updated_at). STORE_CONFLICT when the current
 * status is not `from` (pass -1 to skip that check). */
int store_org_set_status(struct store *st, int64_t id, int from,
			 enum org_status to, const char *reason, int64_t now,
			 const char **error_r);
int store_org_set_contact_verified(struct store *st, int64_t id, int64_t now,
				   const char **error_r);

/* The approved organization of `kind` that owns the domain of email (its
 * own domain or a parent domain), or whose primary contact is email.
 * Customers do not enroll, so for ORG_CUSTOMER any status matches.
 * STORE_NOT_FOUND when none. */
/* The approved organization of kind (or the customer) whose primary
 * contact is email: its contact only, never its domains. */
int store_org_find_by_contact(struct store *st, enum org_kind kind, const char *email,
			      struct org *o, const char **error_r);
int store_org_find_by_email(struct store *st, enum org_kind kind,
			    const char *email, struct org *o,
			    const char **error_r);
/* The id of an approved organization (other than except_id) that owns
 * domain (proven), or 0. */
int store_domain_owner(struct store *st, const char *domain,
		       int64_t except_id, int64_t *org_id_r,
		       const char **error_r);
/* Mark org_id's domain (NULL: every one it lists) proven by method, unless
 * another organization has it proven: then STORE_CONFLICT and nothing
 * changes. STORE_NOT_FOUND when org_id does not list it, or has it proven
 * already otherwise than by DNS (a lasting proof is kept). */
int store_domain_prove(struct store *st, int64_t org_id, const char *domain,
		       const char *method, int64_t now, const char **error_r);
/* Record a DNS check's outcome: the state (method "dns" when proven). */
int store_domain_checked(struct store *st, int64_t org_id, const char *domain,
			 enum domain_state state, int64_t now, const char **error_r);
/* Domains whose proof is DNS's to give or keep (claimed, failed, or
 * proven by dns) last checked before `before`, of org_id (0: all), oldest
 * check first, at most limit; not those of a rejected organization or of
 * one whose contact has not verified (an enrollment of junk domains costs
 * no DNS, and there is no one to tell). */
struct domain_due {
	int64_t org_id;
	char domain[MAX_DOMAIN_LEN + 1];
	struct domain_proof proof;
};
typedef int store_domain_cb(void *ctx, const struct domain_due *d);
/* Make org_id's DNS-governed domains checked before seen_before due now
 * (checked_at 0): the sweeper asks DNS, not the HTTP thread. */
int store_domains_ask(struct store *st, int64_t org_id, int64_t seen_before,
		      const char **error_r);
int store_domains_due(struct store *st, int64_t org_id, int64_t before, int limit,
		      store_domain_cb *cb, void *ctx, const char **error_r);

struct org_filter {
	int kind;    /* enum org_kind, 0 for any */
	int status;  /* enum org_status, -1 for any */
	int64_t before_id; /* cursor: ids below this; 0 for the first page */
	int limit;
	int enrolled_only; /* leave out customers, who never enroll */
};
typedef int store_org_cb(void *ctx, const struct org *o);
int store_org_list(struct store *st, const struct org_filter *f,
		   store_org_cb *cb, void *ctx, const char **error_r);

/* ------------------------------------------------------------ API keys */

enum key_role { ROLE_OPERATOR = 1, ROLE_ADMIN_AGENT, ROLE_SALES_AGENT };

const char *key_role_str(enum key_role role);
int key_role_parse(const char *s, enum key_role *role_r);

#define APIKEY_ID_LEN 16   /* hex */
#define APIKEY_HASH_LEN 32

struct apikey {
	int64_t id;
	char key_id[APIKEY_ID_LEN + 1];
	unsigned char hash[APIKEY_HASH_LEN];
	int64_t org_id; /* 0 for the operator */
	enum key_role role;
	char label[MAX_NAME_LEN + 1];
	int64_t created_at;
	int revoked;
};

int store_apikey_insert(struct store *st, struct apikey *k,
			const char **error_r);
int store_apikey_find(struct store *st, const char *key_id, struct apikey *k,
		      const char **error_r);
typedef int store_apikey_cb(void *ctx, const struct apikey *k);
/* An organization's live keys (org_id 0: the operator's), newest first. */
int store_apikey_list(struct store *st, int64_t org_id, store_apikey_cb *cb, void *ctx,
		      const char **error_r);
/* Revoke a live key of org_id (0: the operator's); STORE_NOT_FOUND when
 * there is none such. */
int store_apikey_revoke(struct store *st, int64_t org_id, int64_t id, int64_t now,
			const char **error_r);

/* -------------------------------------------------- people and sessions */

/* An organization's person (SPEC "People and sign-in"): an admin_agent or
 * a sales_agent; or an operator, of no organization. Invited users become
 * active when they first sign in; removed ones keep their row (the audit
 * log names them). */
enum user_status { USER_INVITED = 1, USER_ACTIVE, USER_REMOVED };

const char *user_status_str(enum user_status status);
int user_status_parse(const char *s, enum user_status *status_r);

struct user {
	int64_t id;
	int64_t org_id;
	char email[MAX_EMAIL_LEN + 1]; /* lower-cased */
	char name[MAX_NAME_LEN + 1];
	enum key_role role;            /* ROLE_ADMIN_AGENT or ROLE_SALES_AGENT; ROLE_OPERATOR
					* for a user of no organization (org_id 0) */
	enum user_status status;
	char locale[MAX_LOCALE_LEN + 1];
	int64_t created_at;
	int64_t updated_at;
};

/* STORE_CONFLICT when the organization already has that address. */
int store_user_insert(struct store *st, struct user *u, const char **error_r);
int store_user_get(struct store *st, int64_t id, struct user *u, const char **error_r);
int store_user_by_email(struct store *st, int64_t org_id, const char *email,
			struct user *u, const char **error_r);
typedef int store_user_cb(void *ctx, const struct user *u);
/* An organization's users (org_id), the operators (USERS_OPERATORS), or
 * every user with an address (org_id 0, email set), oldest first. */
#define USERS_OPERATORS (-1)
int store_user_list(struct store *st, int64_t org_id, const char *email, store_user_cb *cb,
		    void *ctx, const char **error_r);
/* New role and status, if the user's status is still `from`:
 * STORE_CONFLICT otherwise. */
int store_user_set(struct store *st, int64_t id, enum user_status from, enum key_role role,
		   enum user_status to, int64_t now, const char **error_r);
/* How many active admin agents the organization has, but except_id. */
int store_user_admins(struct store *st, int64_t org_id, int64_t except_id, int64_t *n_r,
		      const char **error_r);

#define SESSION_HASH_LEN 32

struct session {
	unsigned char hash[SESSION_HASH_LEN]; /* of the id in the cookie */
	int64_t user_id;
	int64_t created_at;
	int64_t seen_at;
	int64_t expires_at;  /* the absolute lifetime's end */
	int ended;
};

int store_session_insert(struct store *st, const struct session *s, const char **error_r);
/* The session, ended or not: the caller judges the lifetimes. */
int store_session_get(struct store *st, const unsigned char hash[SESSION_HASH_LEN],
		      struct session *s, const char **error_r);
int store_session_touch(struct store *st, const unsigned char hash[SESSION_HASH_LEN],
			int64_t now, const char **error_r);
/* Sign-out: this session ends. */
int store_session_end(struct store *st, const unsigned char hash[SESSION_HASH_LEN],
		      int64_t now, const char **error_r);
/* Sign-out everywhere: every live session of the user ends; *n_r how many. */
int store_session_end_all(struct store *st, int64_t user_id, int64_t now, size_t *n_r,
			  const char **error_r);

/* --------------------------------------------------------- invitations */

enum inv_kind {
	INV_INDIRECT_PROVIDER = 1,
	INV_RESELLER,
	INV_RESELLER_WITH_PROVIDER,
};

enum inv_status {
	INV_DRAFT = 1,
	INV_QUEUED,
	INV_SENT,
	INV_ACCEPTED,
	INV_DECLINED,
	INV_EXPIRED,
	INV_REVOKED,
	INV_BOUNCED,
	INV_HANDED_OFF,
};

const char *inv_kind_str(enum inv_kind kind);
int inv_kind_parse(const char *s, enum inv_kind *kind_r);
const char *inv_status_str(enum inv_status status);
int inv_status_parse(const char *s, enum inv_status *status_r);

struct invitation {
	int64_t id;
	enum inv_kind kind;
	enum inv_status status;
	int64_t inviter_org_id;
	int64_t provider_org_id;  /* reseller_with_provider; else 0 */
	int64_t accepted_org_id;  /* the org that accepted; else 0 */
	char email[MAX_EMAIL_LEN + 1];
	char name[MAX_NAME_LEN + 1];
	char locale[MAX_LOCALE_LEN + 1];
	char message[MAX_MESSAGE_LEN + 1];
	char status_reason[MAX_REASON_LEN + 1];
	char reply_code[MAX_CODE_LEN + 1];
	char jti[MAX_CODE_LEN + 1]; /* the live link's id; "" when none */
	char subject[MAX_SUBJECT_LEN + 1];
	char *body_text; /* malloc'd when loaded with bodies, else NULL */
	char *body_html;
	int edited;      /* the inviter changed subject or text */
	int64_t expires_at;
	int64_t created_at;
	int64_t updated_at;
};

/* Free the bodies; the struct itself is the caller's. */
void invitation_clear(struct invitation *inv);

int store_invitation_insert(struct store *st, struct invitation *inv,
			    const char **error_r);
int store_invitation_get(struct store *st, int64_t id, int with_bodies,
			 struct invitation *inv, const char **error_r);
int store_invitation_by_reply_code(struct store *st, const char *code,
				   struct invitation *inv,
				   const char **error_r);
/* Change status when it is one of the statuses in from_mask (a bit per
 * enum inv_status: 1u << status). STORE_CONFLICT otherwise. */
int store_invitation_set_status(struct store *st, int64_t id,
				unsigned from_mask, enum inv_status to,
				const char *reason, int64_t now,
				const char **error_r);
int store_invitation_set_accepted_org(struct store *st, int64_t id,
				      int64_t org_id, const char **error_r);
/* Replace subject and bodies (and the link id when jti is not NULL). */
int store_invitation_set_content(struct store *st, int64_t id,
				 const char *subject, const char *text,
				 const char *html, int edited, const char *jti,
				 int64_t expires_at, int64_t now,
				 const char **error_r);

struct inv_filter {
	int64_t inviter_org_id;
	int status;         /* enum inv_status, 0 for any */
	int64_t before_id;  /* cursor; 0 for the first page */
	int limit;
};
typedef int store_inv_cb(void *ctx, const struct invitation *inv);
int store_invitation_list(struct store *st, const struct inv_filter *f,
			  store_inv_cb *cb, void *ctx, const char **error_r);

/* The ids of up to max open invitations whose expires_at has passed. */
int store_invitation_expiring(struct store *st, int64_t now, size_t max, int64_t *ids,
			      size_t *n_r, const char **error_r);
/* The ids of up to max sent invitations expiring within `before` seconds
 * that were not reminded yet. */
int store_invitation_reminding(struct store *st, int64_t now, int64_t before, size_t max,
			       int64_t *ids, size_t *n_r, const char **error_r);
/* A new link: it will be reminded, and may be asked about, again. */
int store_invitation_reset_asks(struct store *st, int64_t id, const char **error_r);
/* The invitee asked for a new link now, unless they did within interval
 * seconds: STORE_CONFLICT then. */
int store_invitation_set_asked(struct store *st, int64_t id, int64_t now, int64_t interval,
			       const char **error_r);
/* The invitation was reminded (never again). */
int store_invitation_set_reminded(struct store *st, int64_t id, int64_t now,
				  const char **error_r);

/* ---------------------------------------------------------- link tokens */

enum link_state { LINK_LIVE = 1, LINK_USED, LINK_REVOKED };

struct link_row {
	char jti[MAX_CODE_LEN + 1];
	char purpose[32];
	int64_t subject_id;  /* invitation id, or verification id */
	char kid[MAX_KID_LEN + 1];
	char token[MAX_TOKEN_LEN + 1];
	int64_t issued_at;
	int64_t expires_at;
	enum link_state state;
	int64_t used_at;
};

int store_link_insert(struct store *st, const struct link_row *l,
		      const char **error_r);
int store_link_get(struct store *st, const char *jti, struct link_row *l,
		   const char **error_r);
/* live -> used. STORE_CONFLICT when the link is not live. */
int store_link_use(struct store *st, const char *jti, int64_t now,
		   const char **error_r);
/* live -> revoked; a link that is not live is left as it is. */
int store_link_revoke(struct store *st, const char *jti, int64_t now,
		      const char **error_r);
/* Every live link of a purpose about one subject -> revoked (a removed
 * user's sign-in and join links). */
int store_link_revoke_subject(struct store *st, const char *purpose, int64_t subject_id,
			      int64_t now, const char **error_r);

/* ------------------------------------------------------- relationships */

enum rel_kind { REL_INDIRECT_PROVIDER = 1, REL_RESELLER_OF_RECORD };

const char *rel_kind_str(enum rel_kind kind);

/*
 * A relationship runs from an upstream org to a downstream one:
 * indirect_provider: provider -> reseller; reseller_of_record: reseller
 * (or provider) -> customer.
 */
struct relationship {
	int64_t id;
	enum rel_kind kind;
	int64_t up_org_id;
	int64_t down_org_id;
	int64_t invitation_id;
	int active;
	int64_t created_at;
	int64_t ended_at;
};

/* STORE_CONFLICT when an active relationship of that kind already links
 * the two. */
int store_rel_insert(struct store *st, struct relationship *r,
		     const char **error_r);
/* STORE_OK when active, STORE_NOT_FOUND otherwise. */
int store_rel_active(struct store *st, enum rel_kind kind, int64_t up,
		     int64_t down, const char **error_r);
/* The active relationship of kind between up and down ends; *id_r gets
 * its id. STORE_NOT_FOUND when there is none. */
int store_rel_end(struct store *st, enum rel_kind kind, int64_t up, int64_t down,
		  int64_t now, int64_t *id_r, const char **error_r);
int store_rel_get(struct store *st, int64_t id, struct relationship *r, const char **error_r);

/* Which side of the relationship rows to list. */
enum rel_side { REL_LIST_DOWN, REL_LIST_UP };

struct rel_filter {
	enum rel_kind kind;
	enum rel_side side; /* DOWN: orgs below org_id; UP: orgs above */
	int64_t org_id;
	int64_t shared_with; /* customers also served by this org; 0 for none */
	int64_t before_id;   /* cursor on relationship id */
	int limit;
};
typedef int store_rel_cb(void *ctx, const struct relationship *r,
			 const struct org *other);
int store_rel_list(struct store *st, const struct rel_filter *f,
		   store_rel_cb *cb, void *ctx, const char **error_r);

/* What an organization's dashboard counts: its active indirect-provider
 * partners (either side), its customers, its invitations by status. */
struct org_counts {
	int64_t partners;
	int64_t customers;
	int64_t invitations[INV_HANDED_OFF + 1];
};
int store_org_counts(struct store *st, int64_t org_id, struct org_counts *out,
		     const char **error_r);

/* -------------------------------------------------------------- outbox */

enum outbox_status { OUTBOX_QUEUED = 1, OUTBOX_SENDING, OUTBOX_SENT, OUTBOX_FAILED };

const char *outbox_status_str(enum outbox_status status);
int outbox_status_parse(const char *s, enum outbox_status *status_r);

/* What a message is: its kind decides what its outcome changes. */
enum outbox_kind {
	OUTBOX_INVITATION = 1, /* an invitation to its invitee */
	OUTBOX_VERIFICATION,   /* a primary contact's verification */
	OUTBOX_NOTICE,         /* news to an organization's contact */
	OUTBOX_RELAY,          /* a reply relayed to an inviter */
	OUTBOX_CONFIRM,        /* an invitee's acceptance confirmation */
	OUTBOX_SIGNIN,         /* a sign-in link */
	OUTBOX_JOIN,           /* an invitation to become a user */
	OUTBOX_REMINDER,       /* an invitation's reminder to its invitee */
};

const char *outbox_kind_str(enum outbox_kind kind);
int outbox_kind_parse(const char *s, enum outbox_kind *kind_r);

/* One fully rendered message: the exact bytes to send. */
struct outbox_msg {
	int64_t id;
	char code[MAX_CODE_LEN + 1];   /* VERP tag: bounces+CODE@reply_domain */
	char message_id[256];          /* without brackets */
	enum outbox_kind kind;
	int64_t invitation_id;         /* 0 when none */
	int64_t verification_id;
	int64_t org_id;
	char env_from[MAX_EMAIL_LEN + 1];
	char rcpt[MAX_EMAIL_LEN + 1];
	char *data;                    /* malloc'd when loaded with data */
	size_t len;
	enum outbox_status status;
	int attempts;
	int64_t next_attempt_at;
	int64_t expires_at;            /* give up (failed) after this */
	int64_t created_at;
	int64_t sent_at;
	int last_code;
	char last_reply[512];
};

void outbox_msg_clear(struct outbox_msg *m);

/* Queue m (status queued, due now); sets m->id. */
int store_outbox_add(struct store *st, struct outbox_msg *m,
		     const char **error_r);
/* Whether any queued message is due: a read, without the write lock a
 * claim takes even when it finds nothing. */
int store_outbox_due(struct store *st, int64_t now, int *due_r, const char **error_r);
/* Claim up to max due messages (queued, next_attempt_at <= now) for
 * sending: they become `sending` with attempts + 1, and are returned with
 * their data in out[0..*n_r). */
int store_outbox_claim(struct store *st, int64_t now, size_t max,
		       struct outbox_msg *out, size_t *n_r,
		       const char **error_r);
/* from -> to, with the last reply and the next attempt's time (an
 * attempt's outcome: sent, failed, or queued again at next_at; or a
 * queued message cancelled). STORE_CONFLICT when the status is not from. */
int store_outbox_result(struct store *st, int64_t id, enum outbox_status from,
			enum outbox_status to, int code, const char *reply, int64_t next_at,
			int64_t now, const char **error_r);
/* Messages left `sending` by another process that is gone are queued
 * again, due now: one that claimed them and has not beaten since
 * alive_since (store_server_beat; INT64_MAX: every other process, as at
 * the start of the only server of an SQLite file). */
int store_outbox_recover(struct store *st, int64_t now, int64_t alive_since, size_t *n_r,
			 const char **error_r);
/* failed -> queued, due now, with a fresh lifetime. STORE_CONFLICT when the
 * message is not failed. */
int store_outbox_retry(struct store *st, int64_t id, int64_t now,
		       int64_t expires_at, const char **error_r);
/* How many confirmation (OUTBOX_CONFIRM) or sign-in (OUTBOX_SIGNIN) mails
 * went to rcpt at or after since. */
int store_outbox_count_to(struct store *st, enum outbox_kind kind, const char *rcpt, int64_t since,
			  int *n_r, const char **error_r);
/* Drop the bytes of up to max mails sent at or before `before` (their rows
 * stay); those of a bounced invitation or verification are kept for good.
 * In the caller's transaction; *n_r how many were dropped. */
int store_outbox_prune(struct store *st, int64_t before, size_t max, size_t *n_r,
		       const char **error_r);
/* The id of the newest mail of kind about an invitation, and when it was
 * queued (either may be NULL); 0 when there is none. */
int store_outbox_newest(struct store *st, int64_t invitation_id, enum outbox_kind kind,
			int64_t *id_r, int64_t *at_r, const char **error_r);
int store_outbox_get(struct store *st, int64_t id, int with_data,
		     struct outbox_msg *m, const char **error_r);
int store_outbox_by_code(struct store *st, const char *code,
			 struct outbox_msg *m, const char **error_r);
int store_outbox_by_message_id(struct store *st, const char *message_id,
			       struct outbox_msg *m, const char **error_r);

struct outbox_filter {
	int status;            /* enum outbox_status, 0 for any */
	int64_t invitation_id; /* 0 for any */
	int64_t before_id;
	int limit;
};
typedef int store_outbox_cb(void *ctx, const struct outbox_msg *m);
int store_outbox_list(struct store *st, const struct outbox_filter *f,
		      store_outbox_cb *cb, void *ctx, const char **error_r);
/* Counts by status, for metrics: out[status] for status 1..4. */
int store_outbox_counts(struct store *st, int64_t out[5], const char **error_r);
/* When the oldest message still queued was queued; 0 when none is. */
int store_outbox_oldest_queued(struct store *st, int64_t *at_r, const char **error_r);

/* ------------------------------------------------------- verifications */

enum verif_status { VERIF_PENDING = 1, VERIF_VERIFIED, VERIF_SUPERSEDED, VERIF_BOUNCED };

const char *verif_status_str(enum verif_status status);
int verif_status_parse(const char *s, enum verif_status *status_r);

/* One attempt to prove that an organization's primary contact address is
 * real and theirs: by its link, or by an authenticated reply. */
struct verification {
	int64_t id;
	int64_t org_id;
	char email[MAX_EMAIL_LEN + 1];
	char reply_code[MAX_CODE_LEN + 1];
	char jti[MAX_CODE_LEN + 1];
	enum verif_status status;
	char method[16];             /* link, reply, operator */
	char status_reason[MAX_REASON_LEN + 1];
	int64_t expires_at;
	int64_t created_at;
	int64_t verified_at;
};

/* Insert; sets v->id. */
int store_verif_insert(struct store *st, struct verification *v,
		       const char **error_r);
int store_verif_get(struct store *st, int64_t id, struct verification *v,
		    const char **error_r);
int store_verif_by_reply_code(struct store *st, const char *code,
			      struct verification *v, const char **error_r);
int store_verif_set_jti(struct store *st, int64_t id, const char *jti,
			const char **error_r);
/* from -> to (with method and reason). STORE_CONFLICT when not from. */
int store_verif_finish(struct store *st, int64_t id, enum verif_status from,
		       enum verif_status to, const char *method, const char *reason,
		       int64_t now, const char **error_r);
/* The newest pending verification of org; STORE_NOT_FOUND when none. */
int store_verif_pending(struct store *st, int64_t org_id, struct verification *v,
			const char **error_r);
/* The newest verification of org; STORE_NOT_FOUND when none. */
/* How many verification mails went to email at or after since. */
int store_verif_count_to(struct store *st, const char *email, int64_t since, int *n_r,
			 const char **error_r);
/* An organization of kind whose contact is email and whose enrollment
 * waits for that contact's verification: STORE_OK with *id_r, or
 * STORE_NOT_FOUND. */
int store_org_pending_for_contact(struct store *st, const char *email, int64_t *id_r,
				  const char **error_r);
int store_verif_latest(struct store *st, int64_t org_id, struct verification *v,
		       const char **error_r);

/* ------------------------------------------------------- inbound mail */

/*
 * Where the IMAP reader stands in a mailbox: the UIDVALIDITY it saw and
 * the highest UID it handled. STORE_NOT_FOUND before the first message.
 */
int store_imap_state_get(struct store *st, const char *mailbox,
			 uint32_t *uidvalidity_r, uint32_t *last_uid_r,
			 const char **error_r);
/* Set both (a new UIDVALIDITY starts last_uid over); last_uid only grows
 * while UIDVALIDITY stays. */
int store_imap_state_set(struct store *st, const char *mailbox,
			 uint32_t uidvalidity, uint32_t last_uid,
			 const char **error_r);

/* What was done with a message that came back (see inbound.h). */
enum inbound_action {
	INBOUND_BOUNCED = 1,
	INBOUND_BOUNCE_NOTED,
	INBOUND_AUTO_REPLY,
	INBOUND_VERIFIED,
	INBOUND_VERIFY_IGNORED,
	INBOUND_RELAYED,
	INBOUND_REPLY_KEPT,
	INBOUND_UNMATCHED,
};
#define INBOUND_ACTIONS (INBOUND_UNMATCHED + 1)

const char *inbound_action_str(enum inbound_action a);
int inbound_action_parse(const char *s, enum inbound_action *a_r);

/* One handled message and what was done with it. */
struct inbound_row {
	int64_t id;
	char mailbox[128];
	uint32_t uidvalidity;
	uint32_t uid;
	char message_id[256];
	char cls[16];          /* bounce, auto_reply, reply, unknown */
	char tag[16];          /* bounces, verify, reply, or "" */
	char code[MAX_CODE_LEN + 1];
	int64_t invitation_id;
	int64_t verification_id;
	int64_t outbox_id;
	char from_addr[MAX_EMAIL_LEN + 1];
	char subject[MAX_SUBJECT_LEN + 1];
	enum inbound_action action; /* see inbound.h */
	char detail[512];
	int64_t received_at;
};

/* Insert; sets r->id. STORE_CONFLICT when (mailbox, uidvalidity, uid) is
 * already there. */
int store_inbound_add(struct store *st, struct inbound_row *r,
		      const char **error_r);
int store_inbound_get(struct store *st, const char *mailbox,
		      uint32_t uidvalidity, uint32_t uid, struct inbound_row *r,
		      const char **error_r);
/* The oldest row that is the same message as m: its mailbox and
 * Message-ID, and also its sender, tag and code, so that a message sent
 * ahead with a chosen Message-ID cannot make a later one look handled. */
int store_inbound_same(struct store *st, const struct inbound_row *m, struct inbound_row *r,
		       const char **error_r);
/* Rows about an invitation (its replies, bounces, auto-replies), oldest
 * first. */
/* Whether a reply to the invitation was relayed to its inviter: STORE_OK
 * with *yes_r 0 or 1. */
int store_inbound_relayed(struct store *st, int64_t invitation_id, int *yes_r,
			  const char **error_r);
/* How many replies to the invitation were relayed since (a time). */
int store_inbound_relays_since(struct store *st, int64_t invitation_id, int64_t since,
			       int64_t *n_r, const char **error_r);
typedef int store_inbound_cb(void *ctx, const struct inbound_row *r);
int store_inbound_list(struct store *st, int64_t invitation_id,
		       store_inbound_cb *cb, void *ctx, const char **error_r);

/* -------------------------------------------------------------- events */

/*
 * The event log (SPEC "Events and webhooks"): one row per change of an
 * invitation, enrollment, verification, relationship, message, user or
 * key, written in the change's transaction by the module that owns the
 * change. Names are "<thing>.<what happened>" (invitation.accepted). An
 * event concerns org_id (0: none; the operator's), and a relationship's
 * also its other side, peer_org_id. The audit log is this log.
 */
struct event {
	int64_t id;
	int64_t at;
	int64_t org_id;
	int64_t peer_org_id;
	const char *actor, *name, *subject, *details; /* valid in the callback */
};

/* *id_r (may be NULL) gets the event's id. */
int store_event_add(struct store *st, int64_t now, int64_t org_id, int64_t peer_org_id,
		    const char *actor, const char *name, const char *subject,
		    const char *details, int64_t *id_r, const char **error_r);

/* store_event_add about "<thing>:<id>" (invitation:12). */
int store_event_on(struct store *st, int64_t now, int64_t org_id, int64_t peer_org_id,
		   const char *actor, const char *name, const char *thing, int64_t id,
		   const char *details, const char **error_r);

struct event_filter {
	int64_t org_id;     /* an organization's (either side), or 0 for all */
	int oldest_first;   /* 1: ids above since_id, oldest first; 0: newest first */
	int64_t since_id;
	int64_t before_id;  /* newest first: ids below this; 0 for the newest */
	int limit;
};
typedef int store_event_cb(void *ctx, const struct event *e);
int store_event_list(struct store *st, const struct event_filter *f, store_event_cb *cb,
		     void *ctx, const char **error_r);

/* One event by id, read by cb (in which its strings are valid). */
int store_event_get(struct store *st, int64_t id, store_event_cb *cb, void *ctx,
		    const char **error_r);

/* ------------------------------------------------------------ webhooks */

/*
 * An endpoint an organization (org_id) or the operator (org_id 0)
 * registered: every event it may read that its filter names is delivered
 * to url, signed with secret. store_event_add queues the deliveries in the
 * event's transaction, so that none is lost.
 */
#define WEBHOOK_SECRET_LEN 32

struct webhook {
	int64_t id;
	int64_t org_id;
	char url[MAX_URL_LEN + 1];
	char events[MAX_WEBHOOK_EVENTS + 1]; /* "a.b,c.*" ; "" for every event */
	unsigned char secret[WEBHOOK_SECRET_LEN];
	int64_t created_at;
	int64_t deleted_at; /* 0 while live */
};

int store_webhook_insert(struct store *st, struct webhook *w, const char **error_r);
/* Live or deleted. */
int store_webhook_get(struct store *st, int64_t id, struct webhook *w, const char **error_r);
typedef int store_webhook_cb(void *ctx, const struct webhook *w);
/* The live endpoints of org_id (0: the operator's), oldest first. */
int store_webhook_list(struct store *st, int64_t org_id, store_webhook_cb *cb, void *ctx,
		       const char **error_r);
int store_webhook_count(struct store *st, int64_t org_id, int64_t *n_r, const char **error_r);
/* A live endpoint of org_id (0: the operator's) is deleted, and its pending
 * deliveries fail with why. STORE_NOT_FOUND when there is none such. */
int store_webhook_delete(struct store *st, int64_t org_id, int64_t id, const char *why,
			 int64_t now, const char **error_r);

enum delivery_status {
	DELIVERY_PENDING = 1,
	DELIVERY_SENDING,
	DELIVERY_DELIVERED,
	DELIVERY_FAILED,
};

const char *delivery_status_str(enum delivery_status s);

struct delivery {
	int64_t id;
	int64_t webhook_id;
	int64_t event_id;
	char event_name[64];
	enum delivery_status status;
	int attempts;
	int64_t next_attempt_at;
	int64_t expires_at;  /* given up (failed) after this */
	int last_status;     /* the receiver's HTTP status; 0 when none */
	char last_error[WEBHOOK_RESPONSE_KEPT + 200];
	int64_t created_at;
	int64_t done_at;
};

/* Whether a pending delivery is due (a read, without the write lock). */
int store_delivery_due(struct store *st, int64_t now, int *due_r, const char **error_r);
/* Claim up to max due deliveries: pending -> sending, attempts + 1. */
int store_delivery_claim(struct store *st, int64_t now, size_t max, struct delivery *out,
			 size_t *n_r, const char **error_r);
/* from -> to with the receiver's status, what went wrong, the next
 * attempt's time. STORE_CONFLICT when the status is not from. */
int store_delivery_result(struct store *st, int64_t id, enum delivery_status from,
			  enum delivery_status to, int http_status, const char *error,
			  int64_t next_at, int64_t now, const char **error_r);
/* Deliveries left sending by a process that is gone (as
 * store_outbox_recover) are pending again, due now. */
int store_delivery_recover(struct store *st, int64_t now, int64_t alive_since, size_t *n_r,
			   const char **error_r);
typedef int store_delivery_cb(void *ctx, const struct delivery *d);
/* An endpoint's deliveries, newest first, below before_id (0: the newest). */
int store_delivery_list(struct store *st, int64_t webhook_id, int64_t before_id, int limit,
			store_delivery_cb *cb, void *ctx, const char **error_r);
/* Counts by status, for metrics: out[status] for status 1..4. */
int store_delivery_counts(struct store *st, int64_t out[5], const char **error_r);

#endif
