/*
 * server.h: the running server's shared state (configuration, templates,
 * keys, mailer settings) and the threads of `invited serve`: the HTTP
 * endpoint, the outbox senders and the expiry sweeper. Each thread opens
 * its own store connection.
 */
#ifndef INVITED_SERVER_H
#define INVITED_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "config.h"
#include "domains.h"
#include "enroll.h"
#include "invitation.h"
#include "outbox.h"
#include "keys.h"
#include "mailer.h"
#include "metrics.h"
#include "store.h"
#include "template.h"
#include "token_cache.h"

#define CSRF_KEY_BYTES 32

struct app {
	struct config cfg;
	struct tpl_set *tpl;
	struct mailer mailer;
	unsigned char csrf_key[CSRF_KEY_BYTES];

	pthread_mutex_t keys_lock;
	struct keyring *keys;        /* the current keyring; see app_keys() */
	struct keyring *old_keys[64]; /* replaced keyrings, oldest first */
	int64_t old_keys_at[64];      /* when each was replaced */
	size_t n_old_keys;

	pthread_mutex_t kick_lock;   /* outbox senders wait here for work */
	pthread_cond_t kick;
	uint64_t kicks;              /* kicks so far, under kick_lock */
	_Atomic int stopping;
	int curl_ready;       /* curl_global_init done: cleanup in app_free */
	pthread_key_t store_key; /* each thread's store connection */
	int store_flags;         /* store_open's: serve migrates, others refuse */
	int store_key_made;
	int http_deferred;    /* requests deferred and not answered yet */

	struct http_server *http;
	/* `invited serve` only: copies the WAL into the database for
	 * every connection app_store() opens meanwhile. */
	struct store_checkpointer *checkpointer;
	/* `invited serve` only: commits the link pages' redeems in groups;
	 * NULL elsewhere, and the pages then redeem in their own thread. */
	struct redeemer *redeemer;
	struct rate_limiter *enroll_limit;
	struct rate_limiter *signin_limit;      /* by client address */
	struct rate_limiter *signin_pair_limit; /* by "recipient|client address" */
	struct rate_limiter *invite_org_limit;  /* by "org:ID" */
	struct rate_limiter *invite_rcpt_limit; /* by recipient address */
	struct domain_list *public_domains; /* NULL when none is configured */
	struct token_cache *token_cache;    /* links verified lately (token_cache.h) */

	/* what /readyz reports: the senders' and the IMAP reader's last news
	 * (times 0 when none yet); the texts under state_lock */
	pthread_mutex_t state_lock;
	_Atomic int64_t smtp_ok_at, smtp_failed_at, imap_pass_at;
	_Atomic int imap_connected;
	char smtp_error[256], imap_error[256];

	/* counters and histograms for /metrics (server/metrics.c) */
	struct histogram http_latency, redeem_latency, smtp_batch_latency, imap_pass_latency;
	uint64_t inbound[INBOUND_ACTIONS]; /* by enum inbound_action */
	uint64_t http_requests[6];   /* by status class: [2]=2xx … [5]=5xx */
	uint64_t invitations_created;
	uint64_t redeems;
	uint64_t redeem_commits;     /* group commits: redeems / commits = mean batch */
	uint64_t mails_sent;
	uint64_t mails_failed;
	uint64_t webhooks_delivered;
	uint64_t webhooks_failed;
};

/* WAL pages (4 KiB) that start a checkpoint in a checkpointer's thread
 * (`invited serve`, `invited mail poll`). Small, because a checkpoint ends
 * with an fsync of the database, and every commit's own fsync waits
 * behind it on the disk: 4000 pages (16 MB) held commits up to 46 ms and
 * made the create p99 at a million invitations 12 ms, 100 pages 5.5 ms
 * (bench/store.py). Under load checkpoints still grow: the thread takes
 * whatever the WAL holds when it wakes, one checkpoint at a time. */
#define APP_CHECKPOINT_PAGES 100

/* More than one server on one database (store.h, "More than one server"). */
#define SERVER_BEAT_EVERY 5   /* seconds between a server's beats */
#define SERVER_DEAD_AFTER 30  /* a server silent this long is gone: its claims are taken back */
#define RATE_BUCKET_IDLE 7200 /* a shared rate bucket untouched this long (full) goes */

/* Load config, templates and keys (not the listening socket). */
int app_init(struct app *app, const char *config_path, const char **error_r);
void app_free(struct app *app);

/* The current keyring; valid until app_free. */
const struct keyring *app_keys(struct app *app);
/* Re-read the key folder; the new keyring signs from now on. */
int app_reload_keys(struct app *app, const char **error_r);

/* This thread's store connection, opened on first use. */
struct store *app_store(struct app *app, const char **error_r);
/* Close this thread's connection (threads call this before they end). */
void app_store_release(struct app *app);

/* What the verifier needs for one request or command: the store, the
 * mailer, the public mailbox list, lifetimes, and the link minter. */
void app_verifier_env(struct app *app, struct store *st, int64_t now,
		      const char *actor, struct verifier_env *env);
/* DNS checks of org_id's claimed domains (0: every organization's) last
 * checked before `before` ([dns] servers and timeout; domains.h). */
int app_domains_check(struct app *app, struct store *st, int64_t org_id, int64_t before,
		      const char *actor, int *changed_r, const char **error_r);
/* The invitation environment: keys, mailer, the invitation lifetime. */
void app_inv_env(struct app *app, struct store *st, int64_t now, const char *actor,
		 struct inv_env *env);
/* Where the outbox and the IMAP reader report what happened to a mail:
 * to the owner of what it carried (links/ for invitations, verifier/ for
 * verifications). */
struct mail_reporter app_mail_reporter(struct app *app);

/* Wake the outbox senders: a message was queued. */
void app_kick_outbox(struct app *app);

/* `invited serve`: runs until SIGINT or SIGTERM. */
int app_serve(struct app *app);

#endif
