/*
 * store/invitations.h: the store's invitations, their link tokens, and
 * the relationships accepting them makes. Part of store.h's interface,
 * and included by it only.
 */
#ifndef INVITED_STORE_INVITATIONS_H
#define INVITED_STORE_INVITATIONS_H

#ifndef INVITED_STORE_H
#error "include invited/store.h"
#endif

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

#endif
