/*
 * webhook.h: delivering events to the endpoints organizations and the
 * operator register (SPEC "Events and webhooks"), the Standard Webhooks
 * way: a POST of {"type", "timestamp", "data"} with the headers
 * webhook-id (the delivery's, the same on every attempt), webhook-
 * timestamp and webhook-signature ("v1," + base64 HMAC-SHA256 of
 * "id.timestamp.body" under the endpoint's secret).
 *
 * An endpoint's secret is a capability: whoever holds it can make a
 * receiver believe a message came from us. It is shown once, when the
 * endpoint is made, and kept in the store (mode 0600) to sign with. An
 * endpoint itself lets its owner receive the events it may read anyway
 * through GET /api/v1/events, and nothing more.
 *
 * Deliveries are rows queued in their event's transaction; a worker
 * claims the due ones, POSTs each with libcurl (no redirects, no proxy,
 * a timeout), and records the outcome: delivered on a 2xx, else pending
 * again with exponential backoff until the retry time is over (failed).
 * The lifecycle (server/webhooks.c owns it):
 *   claim    pending -> sending
 *   deliver  sending -> delivered     (a 2xx)
 *   retry    sending -> pending       (anything else, while there is time)
 *   give_up  sending -> failed        (out of time)
 *   drop     pending -> failed        (the endpoint was deleted)
 *   recover  sending -> pending       (its worker died; at start-up)
 *
 * Where a delivery may go: https only unless the operator allows http,
 * and never to a loopback, private, link-local, unique-local, multicast
 * or unspecified address unless the operator allows it; checked when an
 * endpoint is registered (with a clear error) and again on every
 * connection (the name may resolve elsewhere by then).
 */
#ifndef INVITED_WEBHOOK_H
#define INVITED_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fault.h"
#include "store.h"

struct webhook_config {
	int allow_http;      /* [webhooks] allow_http */
	int allow_private;   /* [webhooks] allow_private */
	int64_t timeout;     /* seconds for one attempt */
	int64_t retry_base;  /* seconds before the first retry (doubling, jittered) */
	int64_t retry_cap;   /* longest wait between two attempts */
	int concurrency;     /* delivery threads (used by the server) */
};

enum delivery_event {
	DELIVERY_EV_CLAIM = 1,
	DELIVERY_EV_DELIVER,
	DELIVERY_EV_RETRY,
	DELIVERY_EV_GIVE_UP,
	DELIVERY_EV_DROP,
	DELIVERY_EV_RECOVER,
	DELIVERY_EV_COUNT
};

/* The status a delivery in `from` goes to on ev; -1: refused. */
int delivery_transition(enum delivery_status from, enum delivery_event ev);

/* 1 when a webhook may connect to this address without allow_private. */
int webhook_address_public(const struct sockaddr *sa);

/* "whsec_" + base64 of the secret, as a receiver configures it. */
#define WEBHOOK_SECRET_TEXT_LEN 64
void webhook_secret_text(const unsigned char secret[WEBHOOK_SECRET_LEN],
			 char out[WEBHOOK_SECRET_TEXT_LEN + 1]);

/* "v1," + base64 HMAC-SHA256 of "id.timestamp.body". */
#define WEBHOOK_SIGNATURE_LEN 48
void webhook_sign(const unsigned char secret[WEBHOOK_SECRET_LEN], const char *id, int64_t ts,
		  const char *body, size_t len, char out[WEBHOOK_SIGNATURE_LEN + 1]);

/*
 * Register an endpoint of org_id (0: the operator's) in a transaction of
 * its own, with its event "webhook.created": url checked as above, events
 * a comma-separated list of event names or "<thing>.*" ("" or NULL: every
 * event), at most MAX_WEBHOOKS live per owner. On success w_r holds the
 * endpoint and its secret; 422 or 409 faults say what is wrong.
 */
int webhook_create(struct store *st, const struct webhook_config *cfg, int64_t org_id,
		   const char *url, const char *events, const char *actor, int64_t now,
		   struct webhook *w_r, struct fault *f);
/* Delete a live endpoint of org_id (0: the operator's): its pending
 * deliveries fail. 404 when there is none such. */
int webhook_delete(struct store *st, int64_t org_id, int64_t id, const char *actor,
		   int64_t now, struct fault *f);

struct webhook_stats {
	size_t claimed;
	size_t delivered;
	size_t retried;
	size_t failed;
};

/* One pass: claim up to max due deliveries and attempt each, one after
 * the other, until *stop (may be NULL). -1 on a store error. */
int webhook_run_once(struct store *st, const struct webhook_config *cfg, size_t max,
		     const _Atomic int *stop, int64_t now, struct webhook_stats *stats,
		     const char **error_r);

#endif
