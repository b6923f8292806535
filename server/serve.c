/*
 * serve.c: `invited serve`. The HTTP endpoint runs in libmicrohttpd's
 * threads; beside it run the outbox senders, the webhook deliverer, the
 * sweeper that expires and reminds invitations, and (with [imap] enabled)
 * the IMAP reader. SIGINT/SIGTERM stop everything in order. The key
 * folder is re-read when it changes (within a second) and on SIGHUP; the
 * TLS certificate and key on SIGHUP.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "invited/domains.h"
#include "invited/http.h"
#include "invited/imap_reader.h"
#include "invited/inbound.h"
#include "invited/log.h"
#include "invited/outbox.h"
#include "invited/redeemer.h"
#include "invited/server.h"
#include "invited/webhook.h"

#define GATHER_MS 20 /* see sender_main */
#define MAX_THREADS (OUTBOX_MAX_SENDERS + WEBHOOK_MAX_THREADS + 2) /* + the sweeper, the IMAP reader */
#define WEBHOOK_BATCH 16 /* deliveries claimed per pass */
#define SWEEP_BATCH 200 /* invitations expired, mails pruned per transaction */
#define REMIND_BATCH 20 /* reminders per transaction: each renders and queues a
			   mail, and a transaction holds the one write lock */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* How many kicks there have been: a worker notes it before it looks for
 * work, so that a kick while it works is not lost (see sleep_for). */
static uint64_t kick_generation(struct app *app)
{
	pthread_mutex_lock(&app->kick_lock);
	uint64_t n = app->kicks;
	pthread_mutex_unlock(&app->kick_lock);
	return n;
}

/*
 * Sleep `seconds`, or until the server stops. With `seen` (kickable), a
 * kick ends the sleep too: one since *seen was noted, even one that came
 * before the sleep began (the new mail of a request answered while the
 * worker was busy), which a bare condition wait would miss and sleep the
 * whole time. 1 if a kick ended it; *seen is then the current count.
 */
static int sleep_for(struct app *app, int seconds, uint64_t *seen)
{
	struct timespec until;
	int kicked = 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&app->kick_lock);
	while (!app->stopping) {
		if (seen != NULL && app->kicks != *seen) {
			*seen = app->kicks;
			kicked = 1;
			break;
		}
		if (pthread_cond_timedwait(&app->kick, &app->kick_lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&app->kick_lock);
	return kicked;
}

/* A worker thread's own store connection; NULL (logged) when it cannot
 * open. */
static struct store *thread_store(struct app *app, const char *who)
{
	const char *err;
	struct store *st = app_store(app, &err);
	if (st == NULL)
		msg_error("%s: %s", who, err);
	return st;
}

/* For /readyz: a session that got mail through, or one that got nothing
 * through and why. */
static void note_smtp(struct app *app, const struct outbox_stats *stats)
{
	if (stats->sent > 0 || stats->failed > 0) {
		app->smtp_ok_at = (int64_t)time(NULL);
	} else if (stats->claimed > 0 && stats->deferred == stats->claimed) {
		pthread_mutex_lock(&app->state_lock);
		snprintf(app->smtp_error, sizeof(app->smtp_error), "%s", stats->smtp_error);
		pthread_mutex_unlock(&app->state_lock);
		app->smtp_failed_at = (int64_t)time(NULL);
	}
}

static void imap_state(void *ctx, int connected, const char *error)
{
	struct app *app = ctx;
	pthread_mutex_lock(&app->state_lock);
	snprintf(app->imap_error, sizeof(app->imap_error), "%s", error != NULL ? error : "");
	pthread_mutex_unlock(&app->state_lock);
	app->imap_connected = connected;
}

static void imap_pass_done(void *ctx, const struct imap_stats *stats, double seconds)
{
	struct app *app = ctx;
	for (int i = 0; i < INBOUND_ACTIONS; i++)
		__atomic_add_fetch(&app->inbound[i], stats->by_action[i], __ATOMIC_RELAXED);
	histogram_observe(&app->imap_pass_latency, seconds);
	app->imap_pass_at = (int64_t)time(NULL);
}

static void *sender_main(void *arg)
{
	struct app *app = arg;
	const char *err;
	struct store *st = thread_store(app, "outbox");
	if (st == NULL)
		return NULL;
	if (store_sync_relaxed(st, &err) != STORE_OK) {
		msg_error("outbox: %s", err);
		return NULL;
	}
	while (!app->stopping) {
		struct outbox_stats stats;
		struct mail_reporter rep = app_mail_reporter(app);
		uint64_t seen = kick_generation(app); /* before the claim */
		struct timespec started;
		clock_gettime(CLOCK_MONOTONIC, &started);
		if (outbox_run_once(st, &app->cfg.outbox, &rep, (int64_t)time(NULL), &stats,
				    &err) < 0) {
			msg_error("outbox: %s", err);
			sleep_for(app, 5, NULL); /* a kick is no reason to try a failing store again */
			continue;
		}
		if (stats.claimed > 0) /* a pass that found nothing opened no session */
			histogram_observe(&app->smtp_batch_latency, metrics_since(&started));
		note_smtp(app, &stats);
		__atomic_add_fetch(&app->mails_sent, stats.sent, __ATOMIC_RELAXED);
		__atomic_add_fetch(&app->mails_failed, stats.failed, __ATOMIC_RELAXED);
		int64_t retry_base = app->cfg.outbox.retry_base;
		/* Nothing got through: the SMTP server is down or deferring
		 * everything. Each message waits out its own backoff; the
		 * sender also holds off, as Postfix does with a dead
		 * destination, rather than cycling through every due message
		 * and keeping the store's write lock from the API. */
		if (stats.claimed > 0 && stats.deferred == stats.claimed)
			sleep_for(app, (int)(retry_base < 30 ? retry_base : 30), NULL);
		/* A full batch means more may be due: go again at once. */
		else if (stats.claimed < app->cfg.outbox.batch_size &&
			 sleep_for(app, 1, &seen)) {
			/* A kick is a mail or two just queued, and more may
			 * follow (a burst of redeems, each with its notices):
			 * gathering them for a moment lets one claim, one SMTP
			 * connection and one commit carry them all. */
			struct timespec gather = {0, GATHER_MS * 1000000L};
			nanosleep(&gather, NULL);
		}
	}
	app_store_release(app);
	return NULL;
}

/* One pass of a sweep: up to `batch` rows, one transaction; *n_r how many. */
typedef int sweep_fn(struct app *app, struct store *st, size_t batch, size_t *n_r,
		     const char **error_r);

static int expire_pass(struct app *app, struct store *st, size_t batch, size_t *n_r,
		       const char **error_r)
{
	struct inv_env env;
	app_inv_env(app, st, (int64_t)time(NULL), "sweeper", &env);
	return invitation_expire_due(&env, (int)batch, n_r, error_r);
}

static int prune_pass(struct app *app, struct store *st, size_t batch, size_t *n_r,
		      const char **error_r)
{
	return outbox_prune(st, app->cfg.mail.keep_sent, (int64_t)time(NULL), batch, n_r, error_r);
}

static int remind_pass(struct app *app, struct store *st, size_t batch, size_t *n_r,
		       const char **error_r)
{
	struct inv_env env;
	app_inv_env(app, st, (int64_t)time(NULL), "sweeper", &env);
	int rc = invitation_remind_due(&env, app->cfg.tokens.reminder_before, (int)batch, n_r,
				       error_r);
	if (rc == 0 && *n_r > 0)
		app_kick_outbox(app); /* the reminders are queued */
	return rc;
}

/* Pass after pass while they come back full; `what` names the rows done
 * in the log (NULL: not logged). */
static void sweep(struct app *app, struct store *st, sweep_fn *pass, size_t batch,
		  const char *what)
{
	size_t n = 0;
	const char *err;
	do {
		if (pass(app, st, batch, &n, &err) < 0) {
			msg_error("sweeper: %s", err);
			return;
		}
		if (n > 0 && what != NULL)
			msg_info("sweeper: %zu %s", n, what);
	} while (n == batch && !app->stopping);
}

/* Claimed domains, and those DNS proved, checked once a day. */
static void domains_pass(struct app *app, struct store *st)
{
	const char *err;
	int changed = 0;
	if (app_domains_check(app, st, 0, (int64_t)time(NULL) - DOMAIN_CHECK_EVERY, "sweeper",
			      &changed, &err) < 0)
		msg_error("domains: %s", err);
}

static void *sweeper_main(void *arg)
{
	struct app *app = arg;
	struct store *st = thread_store(app, "sweeper");
	if (st == NULL)
		return NULL;
	while (!app->stopping) {
		sweep(app, st, expire_pass, SWEEP_BATCH, "invitations expired");
		sweep(app, st, prune_pass, SWEEP_BATCH, NULL);
		sweep(app, st, remind_pass, REMIND_BATCH, "invitations reminded");
		domains_pass(app, st);
		/* Not kickable: every new invitation kicks the senders, and a
		 * sweep per kick would hold the write lock over and over. */
		sleep_for(app, (int)app->cfg.server.sweep_interval, NULL);
	}
	app_store_release(app);
	return NULL;
}

static void *imap_main(void *arg)
{
	struct app *app = arg;
	struct verifier_env env;
	struct store *st = thread_store(app, "imap");
	if (st == NULL)
		return NULL;
	const struct imap_config *cfg = &app->cfg.imap;
	struct inbound_opts opts = {cfg->trusted_authserv, cfg->trust_relay,
				    app->cfg.mail.relay_per_day};
	app_verifier_env(app, st, (int64_t)time(NULL), "imap", &env);
	struct imap_watch_report rep = {imap_state, imap_pass_done, app};
	imap_watch(cfg, &env, &opts, &rep, &app->stopping);
	app_store_release(app);
	return NULL;
}

static void *webhooks_main(void *arg)
{
	struct app *app = arg;
	const char *err;
	struct store *st = thread_store(app, "webhooks");
	if (st == NULL)
		return NULL;
	while (!app->stopping) {
		struct webhook_stats stats;
		uint64_t seen = kick_generation(app);
		if (webhook_run_once(st, &app->cfg.webhooks, WEBHOOK_BATCH, &app->stopping,
				     (int64_t)time(NULL), &stats, &err) < 0) {
			msg_error("webhooks: %s", err);
			sleep_for(app, 5, NULL);
			continue;
		}
		__atomic_add_fetch(&app->webhooks_delivered, stats.delivered, __ATOMIC_RELAXED);
		__atomic_add_fetch(&app->webhooks_failed, stats.failed, __ATOMIC_RELAXED);
		/* A full batch means more may be due: go again at once. */
		if (stats.claimed < WEBHOOK_BATCH)
			sleep_for(app, 1, &seen);
	}
	app_store_release(app);
	return NULL;
}

/*
 * Messages and deliveries a dead process left `sending` are due again: the
 * message is sent again, the delivery attempted again (with the same
 * webhook-id, so that a receiver can tell). On SQLite, at the start, every
 * other process is dead (one server per file); on a shared database, a
 * server is dead once it has not beaten for SERVER_DEAD_AFTER.
 */
static int recover(struct app *app, int64_t alive_since, const char **error_r)
{
	size_t n, d;
	int64_t now = (int64_t)time(NULL); /* due now by the senders' clock */
	struct store *st = app_store(app, error_r);
	if (st == NULL)
		return -1;
	if (store_outbox_recover(st, now, alive_since, &n, error_r) != STORE_OK ||
	    store_delivery_recover(st, now, alive_since, &d, error_r) != STORE_OK)
		return -1;
	if (n > 0)
		msg_info("outbox: %zu messages were being sent by a server that stopped; "
			 "they will be sent again", n);
	if (d > 0)
		msg_info("webhooks: %zu deliveries were being attempted by a server that "
			 "stopped; they will be attempted again", d);
	return 0;
}

/*
 * Every SERVER_BEAT_EVERY: this server is alive (its row in servers, by
 * the database's clock), and on a shared database the claims of servers
 * that stopped beating are taken back, and rate-limit buckets idle long
 * enough to be full again go. A server takes claims back only once it has
 * itself beaten without a break for SERVER_DEAD_AFTER: after the database
 * was out of reach (no one could beat), or at its start, the others are
 * given the time to beat again first.
 */
struct beats {
	time_t last;          /* this machine's clock: when to beat next */
	int64_t since;        /* the database's clock: beating without a break */
	time_t started;
};

static void beat(struct app *app, struct beats *b)
{
	const char *err;
	char host[256] = "";
	int64_t now;
	if (time(NULL) - b->last < SERVER_BEAT_EVERY)
		return;
	b->last = time(NULL);
	struct store *st = app_store(app, &err);
	gethostname(host, sizeof(host) - 1);
	if (st == NULL || store_now(st, &now, &err) != STORE_OK ||
	    store_server_beat(st, host, (int64_t)getpid(), (int64_t)b->started, now, &err) !=
		    STORE_OK) {
		msg_warn("serve: %s", err);
		b->since = 0;
		return;
	}
	if (b->since == 0)
		b->since = now;
	if (!store_shared(st) || now - b->since < SERVER_DEAD_AFTER)
		return;
	size_t pruned;
	if (recover(app, now - SERVER_DEAD_AFTER, &err) < 0 ||
	    store_rate_prune(st, now - RATE_BUCKET_IDLE, &pruned, &err) != STORE_OK)
		msg_warn("serve: %s", err);
}

/* Start a thread the server needs; 0, or -1 (logged) when it cannot. */
static int start(pthread_t *threads, size_t *n, void *(*fn)(void *), struct app *app,
		 const char *what)
{
	int rc = pthread_create(&threads[*n], NULL, fn, app);
	if (rc != 0) {
		msg_error("cannot start the %s thread: %s", what, strerror(rc));
		return -1;
	}
	(*n)++;
	return 0;
}

static void stop_threads(struct app *app, pthread_t *threads, size_t n)
{
	pthread_mutex_lock(&app->kick_lock);
	app->stopping = 1;
	pthread_cond_broadcast(&app->kick);
	pthread_mutex_unlock(&app->kick_lock);
	for (size_t i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}

/* How often the main thread looks at the key folder. */
#define KEYS_CHECK_SECONDS 1

/* What changes when a key file is added to or moved out of the folder. */
struct keys_stamp {
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	struct timespec ctime;
};

static struct keys_stamp keys_stamp_of(const char *dir)
{
	struct keys_stamp k;
	struct stat sb;
	memset(&k, 0, sizeof(k));
	if (stat(dir, &sb) == 0) {
		k.dev = sb.st_dev;
		k.ino = sb.st_ino;
		k.mtime = sb.st_mtim;
		k.ctime = sb.st_ctim;
	}
	return k;
}

int app_serve(struct app *app)
{
	pthread_t threads[MAX_THREADS];
	size_t n = 0;
	const char *err;
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked before any thread starts, so that threads inherit the mask
	 * and only the main thread, in sigtimedwait, takes these signals. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	/* This server beats before any of its threads claims: its claims are
	 * never a stranger's. On SQLite, every other process's claims are
	 * taken back now (one server per file); on a shared database, by the
	 * beats, once the others had the time to beat (see beat). */
	struct beats beats = {.started = time(NULL)};
	beat(app, &beats);
	const struct store *first = app_store(app, &err);
	if (first == NULL || (!store_shared(first) && recover(app, INT64_MAX, &err) < 0) ||
	    store_checkpointer_start(app->cfg.server.database_conn, APP_CHECKPOINT_PAGES,
				     &app->checkpointer, &err) !=
		    STORE_OK) {
		msg_error("%s", err);
		return 1;
	}
	if (redeemer_start(app, &app->redeemer, &err) < 0 ||
	    http_server_start(app, &err) < 0) {
		msg_error("%s", err);
		redeemer_free(app->redeemer);
		app->redeemer = NULL;
		store_checkpointer_stop(app->checkpointer);
		app->checkpointer = NULL;
		return 1;
	}
	int senders = app->cfg.outbox.concurrency, failed = 0;
	if (senders > OUTBOX_MAX_SENDERS)
		senders = OUTBOX_MAX_SENDERS;
	for (int i = 0; i < senders && !failed; i++)
		failed = start(threads, &n, sender_main, app, "outbox sender") < 0;
	for (int i = 0; i < app->cfg.webhooks.concurrency && i < WEBHOOK_MAX_THREADS && !failed; i++)
		failed = start(threads, &n, webhooks_main, app, "webhooks") < 0;
	failed = failed || start(threads, &n, sweeper_main, app, "sweeper") < 0 ||
		 (app->cfg.imap.enabled && start(threads, &n, imap_main, app, "IMAP reader") < 0);
	if (failed) {
		/* Half a server would accept work it cannot do: stop. */
		redeemer_stop(app->redeemer);
		http_server_stop(app);
		redeemer_free(app->redeemer);
		app->redeemer = NULL;
		stop_threads(app, threads, n);
		store_checkpointer_stop(app->checkpointer);
		app->checkpointer = NULL;
		return 1;
	}
	msg_info("serving %s on %s (public URL %s), %d outbox senders",
		 app->cfg.server.database, app->cfg.server.listen,
		 app->cfg.server.public_url, senders);

	/* The key folder is the source of truth: `invited keys rotate` and
	 * `retire` change it, and the server follows within a second, SIGHUP
	 * or not (a retired key must stop verifying at once). */
	struct keys_stamp stamp = keys_stamp_of(app->cfg.server.keys);
	const struct timespec every = {KEYS_CHECK_SECONDS, 0};
	int retry = 0;           /* the last reload failed: try again */
	time_t last_error = 0;
	for (int sig = 0; sig != SIGINT && sig != SIGTERM;) {
		beat(app, &beats);
		sig = sigtimedwait(&block, NULL, &every);
		/* certbot renewed: new connections get the new pair. */
		if (sig == SIGHUP && http_server_reload_tls(app, &err) < 0)
			msg_error("%s (still serving the certificate loaded before)", err);
		struct keys_stamp now = keys_stamp_of(app->cfg.server.keys);
		if (sig != SIGHUP && !retry && memcmp(&now, &stamp, sizeof(now)) == 0)
			continue;
		/* A key being written (rotate creates, then fills the file) fails
		 * to load: the folder's stamp is kept only after a good load, and
		 * a failure is tried again every second, logged once a minute. */
		retry = app_reload_keys(app, &err) < 0;
		if (!retry)
			stamp = now;
		else if (time(NULL) - last_error >= 60) {
			msg_error("keys: %s (trying again every second)", err);
			last_error = time(NULL);
		}
	}
	msg_info("stopping");
	/* Redeems waiting for their commit get it, and their connections
	 * are resumed, before libmicrohttpd closes connections; later ones
	 * are redeemed in their HTTP thread. */
	redeemer_stop(app->redeemer);
	http_server_stop(app);
	redeemer_free(app->redeemer);
	app->redeemer = NULL;
	stop_threads(app, threads, n);
	struct store *st = app_store(app, &err);
	if (st != NULL && store_server_gone(st, &err) != STORE_OK)
		msg_warn("serve: %s", err);
	app_store_release(app);
	/* Every connection that used it is closed now. */
	store_checkpointer_stop(app->checkpointer);
	app->checkpointer = NULL;
	return 0;
}
