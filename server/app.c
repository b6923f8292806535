/*
 * app.c: the state every part of the running server shares, and the
 * per-thread store connections (SQLite connections are not shared
 * between threads).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "invited/domains.h"
#include "invited/link.h"
#include "invited/log.h"
#include "invited/ratelimit.h"
#include "invited/server.h"
#include "invited/signin.h"
#include "invited/verify.h"

static void close_store(void *st)
{
	store_close(st);
}

/* rate_take_fn: the limits' buckets in the store, shared by every server
 * on it, through the calling thread's connection. */
static int shared_take(void *ctx, const char *name, const char *client, int64_t cap,
		       int64_t cost, int64_t refill, int64_t now, int *ok_r, int64_t *units_r)
{
	const char *err;
	struct store *st = app_store(ctx, &err);
	if (st == NULL || store_rate_take(st, name, client, cap, cost, refill, now, ok_r, units_r,
					  &err) != STORE_OK) {
		msg_warn("rate limit %s: %s (this server's own count decides)", name, err);
		return -1;
	}
	return 0;
}

struct store *app_store(struct app *app, const char **error_r)
{
	struct store *st = pthread_getspecific(app->store_key);
	if (st != NULL)
		return st;
	if (store_open(app->cfg.server.database_conn, app->store_flags, &st, error_r) != STORE_OK)
		return NULL;
	if (app->checkpointer != NULL)
		store_checkpoint_by(st, app->checkpointer);
	pthread_setspecific(app->store_key, st);
	return st;
}

void app_store_release(struct app *app)
{
	struct store *st = pthread_getspecific(app->store_key);
	if (st != NULL) {
		store_close(st);
		pthread_setspecific(app->store_key, NULL);
	}
}

/*
 * The key that binds form tokens to the visitor's cookie. It lives in the
 * key folder (mode 0600) so that forms stay valid across restarts.
 */
static int load_csrf_key(struct app *app, const char **error_r)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/csrf.secret", app->cfg.server.keys);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		randombytes_buf(app->csrf_key, sizeof(app->csrf_key));
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			ssize_t w = write(fd, app->csrf_key, sizeof(app->csrf_key));
			close(fd);
			if (w == (ssize_t)sizeof(app->csrf_key))
				return 0;
		}
		*error_r = errorf("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	if (fd < 0) {
		*error_r = errorf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t r = read(fd, app->csrf_key, sizeof(app->csrf_key));
	close(fd);
	if (r != (ssize_t)sizeof(app->csrf_key)) {
		*error_r = errorf("%s is damaged; delete it to make a new one", path);
		return -1;
	}
	return 0;
}

static void init_mailer(struct app *app)
{
	struct mailer *m = &app->mailer;
	const struct config *c = &app->cfg;
	m->tpl = app->tpl;
	snprintf(m->from_addr, sizeof(m->from_addr), "%s", c->smtp_from);
	snprintf(m->from_name, sizeof(m->from_name), "%s", c->smtp_from_name);
	snprintf(m->reply_domain, sizeof(m->reply_domain), "%s", c->mail.reply_domain);
	snprintf(m->public_url, sizeof(m->public_url), "%s", c->server.public_url);
	snprintf(m->default_locale, sizeof(m->default_locale), "%s", c->mail.default_locale);
	m->lifetime = c->smtp_lifetime;
}

int app_init(struct app *app, const char *config_path, const char **error_r)
{
	memset(app, 0, sizeof(*app));
	if (pthread_key_create(&app->store_key, close_store) != 0) {
		*error_r = "cannot make the per-thread store key";
		return -1;
	}
	app->store_key_made = 1;
	pthread_mutex_init(&app->keys_lock, NULL);
	pthread_mutex_init(&app->kick_lock, NULL);
	pthread_mutex_init(&app->state_lock, NULL);
	pthread_cond_init(&app->kick, NULL);
	if (sodium_init() < 0) {
		*error_r = "libsodium failed to initialize";
		return -1;
	}
	/* Not thread-safe: here, before any thread starts. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		*error_r = "libcurl failed to initialize";
		return -1;
	}
	app->curl_ready = 1;
	if (config_load(config_path, &app->cfg, error_r) < 0)
		return -1;
	if (tpl_set_load(app->cfg.mail.templates, &app->tpl, error_r) < 0)
		return -1;
	if (!tpl_has_locale(app->tpl, app->cfg.mail.default_locale)) {
		*error_r = errorf("[mail] default_locale: the templates have no \"%s\" folder",
				  app->cfg.mail.default_locale);
		return -1;
	}
	if (keyring_load(app->cfg.server.keys, &app->keys, error_r) < 0)
		return -1;
	if (load_csrf_key(app, error_r) < 0)
		return -1;
	if (app->cfg.enrollment.public_domains[0] != '\0' &&
	    domain_list_load(app->cfg.enrollment.public_domains, &app->public_domains,
			     error_r) < 0) {
		*error_r = errorf("[enrollment] public_domains: %s", *error_r);
		return -1;
	}
	app->enroll_limit = rate_limiter_new(app->cfg.enrollment.rate_limit, 3600);
	app->signin_limit = rate_limiter_new(app->cfg.sessions.rate_limit, 3600);
	app->signin_pair_limit = rate_limiter_new(SIGNIN_MAILS_PER_PAIR, 3600);
	app->invite_org_limit = rate_limiter_new(app->cfg.invitations.org_rate_limit, 3600);
	app->invite_rcpt_limit =
		rate_limiter_new(app->cfg.invitations.recipient_rate_limit, 3600);
	app->token_cache = token_cache_new();
	if (app->enroll_limit == NULL || app->signin_limit == NULL ||
	    app->signin_pair_limit == NULL || app->invite_org_limit == NULL ||
	    app->invite_rcpt_limit == NULL || app->token_cache == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (store_is_pg(app->cfg.server.database)) {
		/* The buckets' key: from the key folder's secret, which every
		 * server has (and the database has not). */
		unsigned char key[RATE_SHARE_KEY_BYTES];
		crypto_generichash(key, sizeof(key), (const unsigned char *)"invited rate limits", 19,
				   app->csrf_key, sizeof(app->csrf_key));
		rate_limiter_share(app->enroll_limit, "enroll", key, shared_take, app);
		rate_limiter_share(app->signin_limit, "signin", key, shared_take, app);
		rate_limiter_share(app->signin_pair_limit, "signin_pair", key, shared_take, app);
		rate_limiter_share(app->invite_org_limit, "invite_org", key, shared_take, app);
		rate_limiter_share(app->invite_rcpt_limit, "invite_rcpt", key, shared_take, app);
		sodium_memzero(key, sizeof(key));
	}
	init_mailer(app);
	return 0;
}

/* verify_link_fn: a verify_contact link, minted by the links module. */
static int issue_verify_link(void *ctx, struct store *st, int64_t verification_id,
			     int64_t now, int64_t lifetime, char jti[MAX_CODE_LEN + 1],
			     char **url_r, const char **error_r)
{
	struct app *app = ctx;
	struct link_row row;
	if (link_issue(st, app_keys(app), app->cfg.server.public_url, PUR_VERIFY_CONTACT,
		       verification_id, now, lifetime, &row, error_r) != 0)
		return -1;
	snprintf(jti, MAX_CODE_LEN + 1, "%s", row.jti);
	if ((*url_r = link_url(app->cfg.server.public_url, row.token)) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	return 0;
}

static int first_signin(void *ctx, struct store *st, const struct org *o, int64_t now,
			char **url_r, const char **error_r)
{
	struct app *app = ctx;
	struct inv_env env = {st, app_keys(app), &app->mailer, 0, now, "review"};
	return signin_first_link(&env, o, url_r, error_r);
}

void app_inv_env(struct app *app, struct store *st, int64_t now, const char *actor,
		 struct inv_env *env)
{
	*env = (struct inv_env){st, app_keys(app), &app->mailer,
				app->cfg.tokens.invitation_lifetime, now, actor};
}

static int report_mail(void *ctx, struct store *st, const struct mail_report *r, int64_t now,
		       const char **error_r)
{
	struct app *app = ctx;
	if ((r->kind == OUTBOX_INVITATION || r->kind == OUTBOX_REMINDER) && r->invitation_id != 0) {
		struct inv_env env;
		app_inv_env(app, st, now, r->actor, &env);
		return invitation_mail_outcome(&env, r, error_r);
	}
	if (r->kind == OUTBOX_VERIFICATION && r->verification_id != 0 &&
	    (r->outcome == MAIL_FAILED || r->outcome == MAIL_BOUNCED)) {
		struct verifier_env env;
		app_verifier_env(app, st, now, r->actor, &env);
		return verification_bounced(&env, r->verification_id, r->reason, error_r);
	}
	*error_r = "nothing to change";
	return 1;
}

struct mail_reporter app_mail_reporter(struct app *app)
{
	return (struct mail_reporter){report_mail, app};
}

void app_verifier_env(struct app *app, struct store *st, int64_t now, const char *actor,
		      struct verifier_env *env)
{
	*env = (struct verifier_env){
		.st = st,
		.mailer = &app->mailer,
		.public_domains = app->public_domains,
		.verification_lifetime = app->cfg.tokens.verification_lifetime,
		.resend_interval = app->cfg.enrollment.resend_interval,
		.recipient_limit = app->cfg.enrollment.recipient_rate_limit,
		.now = now,
		.actor = actor,
		.issue_link = issue_verify_link,
		.first_signin = first_signin,
		.report_mail = report_mail,
		.link_ctx = app,
	};
}

int app_domains_check(struct app *app, struct store *st, int64_t org_id, int64_t before,
		      const char *actor, int *changed_r, const char **error_r)
{
	struct verifier_env env;
	app_verifier_env(app, st, (int64_t)time(NULL), actor, &env);
	return domains_check(&env, org_id, before, app->cfg.dns.servers,
			     (int)app->cfg.dns.timeout * 1000, &app->stopping, changed_r, error_r);
}

void app_free(struct app *app)
{
	keyring_free(app->keys);
	token_cache_free(app->token_cache);
	for (size_t i = 0; i < app->n_old_keys; i++)
		keyring_free(app->old_keys[i]);
	tpl_set_free(app->tpl);
	domain_list_free(app->public_domains);
	rate_limiter_free(app->enroll_limit);
	rate_limiter_free(app->signin_limit);
	rate_limiter_free(app->signin_pair_limit);
	rate_limiter_free(app->invite_org_limit);
	rate_limiter_free(app->invite_rcpt_limit);
	sodium_memzero(app->csrf_key, sizeof(app->csrf_key));
	if (app->store_key_made) {
		app_store_release(app);
		pthread_key_delete(app->store_key);
	}
	pthread_mutex_destroy(&app->keys_lock);
	pthread_mutex_destroy(&app->kick_lock);
	pthread_mutex_destroy(&app->state_lock);
	pthread_cond_destroy(&app->kick);
	if (app->curl_ready)
		curl_global_cleanup();
}

const struct keyring *app_keys(struct app *app)
{
	return __atomic_load_n(&app->keys, __ATOMIC_ACQUIRE);
}

/* Seconds a replaced keyring is kept for readers that may still hold it. */
#define KEYRING_GRACE 60

int app_reload_keys(struct app *app, const char **error_r)
{
	struct keyring *kr;
	if (keyring_load(app->cfg.server.keys, &kr, error_r) < 0)
		return -1;
	pthread_mutex_lock(&app->keys_lock);
	const size_t cap = sizeof(app->old_keys) / sizeof(app->old_keys[0]);
	int64_t now = (int64_t)time(NULL);
	/* Readers may still hold a replaced keyring for the length of a
	 * request: keep each a while, then free the oldest to make room. */
	if (app->n_old_keys == cap && now - app->old_keys_at[0] > KEYRING_GRACE) {
		keyring_free(app->old_keys[0]);
		memmove(app->old_keys, app->old_keys + 1, (cap - 1) * sizeof(app->old_keys[0]));
		memmove(app->old_keys_at, app->old_keys_at + 1,
			(cap - 1) * sizeof(app->old_keys_at[0]));
		app->n_old_keys--;
	}
	if (app->n_old_keys == cap) {
		pthread_mutex_unlock(&app->keys_lock);
		keyring_free(kr);
		*error_r = "the keys changed more than 64 times in a minute; waiting";
		return -1;
	}
	app->old_keys_at[app->n_old_keys] = now;
	app->old_keys[app->n_old_keys++] = app->keys;
	__atomic_store_n(&app->keys, kr, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&app->keys_lock);
	/* A retired key's links are refused from now on, cached or not. */
	token_cache_keep_keys(app->token_cache, kr);
	msg_info("keys reloaded: %s signs", keyring_key(kr, 0)->kid);
	return 0;
}

void app_kick_outbox(struct app *app)
{
	pthread_mutex_lock(&app->kick_lock);
	app->kicks++;
	pthread_cond_broadcast(&app->kick);
	pthread_mutex_unlock(&app->kick_lock);
}
