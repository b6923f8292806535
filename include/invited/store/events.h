/*
 * store/events.h: the store's event log and the webhooks that carry it.
 * Part of store.h's interface, and included by it only.
 */
#ifndef INVITED_STORE_EVENTS_H
#define INVITED_STORE_EVENTS_H

#ifndef INVITED_STORE_H
#error "include invited/store.h"
#endif

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
