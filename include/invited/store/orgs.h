/*
 * store/orgs.h: the store's organizations, their domains, API keys, people and sessions.
 * Part of store.h's interface, and included by it only.
 */
#ifndef INVITED_STORE_ORGS_H
#define INVITED_STORE_ORGS_H

#ifndef INVITED_STORE_H
#error "include invited/store.h"
#endif

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

#endif
