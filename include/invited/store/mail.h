/*
 * store/mail.h: the store's outbox, contact verifications, and inbound mail.
 * Part of store.h's interface, and included by it only.
 */
#ifndef INVITED_STORE_MAIL_H
#define INVITED_STORE_MAIL_H

#ifndef INVITED_STORE_H
#error "include invited/store.h"
#endif

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

#endif
