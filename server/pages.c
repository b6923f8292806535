/*
 * pages.c: the pages behind a link. GET shows what accepting means and
 * changes nothing; POST, with the anti-forgery field bound to the
 * visitor's cookie and the consent box ticked, redeems. Every value goes
 * through the template engine, which escapes it.
 */
#include <microhttpd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "invited/http.h"
#include "invited/link.h"
#include "invited/log.h"
#include "invited/pages.h"
#include "invited/redeem.h"
#include "invited/redeemer.h"
#include "invited/server.h"

#define CSRF_COOKIE "invited_csrf"
#define CSRF_RAW 32
#define CSRF_B64 (sodium_base64_ENCODED_LEN(CSRF_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
_Static_assert(CSRF_B64 <= PAGES_CSRF_SIZE, "PAGES_CSRF_SIZE is too small");

/* The form token: HMAC(csrf_key, cookie "|" jti), base64url. */
static void csrf_token(const struct app *app, const char *cookie, const char *jti,
		       char out[CSRF_B64])
{
	unsigned char mac[crypto_auth_hmacsha512256_BYTES];
	crypto_auth_hmacsha512256_state st;
	crypto_auth_hmacsha512256_init(&st, app->csrf_key, sizeof(app->csrf_key));
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)cookie, strlen(cookie));
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)"|", 1);
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)jti, strlen(jti));
	crypto_auth_hmacsha512256_final(&st, mac);
	sodium_bin2base64(out, CSRF_B64, mac, sizeof(mac),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Over https, "__Host-invited_csrf": only this very host may set it
 * (Secure, Path=/), not a sibling subdomain. */
static const char *csrf_cookie_name(const struct request *rq)
{
	return http_public_https(rq->app) ? "__Host-" CSRF_COOKIE : CSRF_COOKIE;
}

/* The visitor's cookie, or a new one to set (set_cookie filled). */
static const char *visitor_cookie(struct request *rq, char fresh[CSRF_B64],
				  char *set_cookie, size_t size)
{
	const char *have = http_cookie(rq, csrf_cookie_name(rq));
	set_cookie[0] = '\0';
	if (have != NULL && strlen(have) == CSRF_B64 - 1)
		return have;
	unsigned char raw[CSRF_RAW];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(fresh, CSRF_B64, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int https = http_public_https(rq->app);
	snprintf(set_cookie, size, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
		 csrf_cookie_name(rq), fresh, https ? "; Secure" : "");
	return fresh;
}

void pages_csrf_field(struct request *rq, const char *jti, char csrf[PAGES_CSRF_SIZE],
		      char *set_cookie, size_t size)
{
	char fresh[CSRF_B64];
	const char *cookie = visitor_cookie(rq, fresh, set_cookie, size);
	csrf_token(rq->app, cookie, jti, csrf);
}

int pages_render(struct request *rq, int status, const char *locale,
		 const char *name, struct tpl_vars *vars, const char *set_cookie)
{
	char path[64], *html;
	size_t len;
	const char *err;
	snprintf(path, sizeof(path), "page/%s.html", name);
	tpl_vars_set(vars, "public_url", rq->app->cfg.server.public_url);
	char page_flag[80]; /* for the page's own <title> */
	snprintf(page_flag, sizeof(page_flag), "page_%s", name);
	tpl_vars_set(vars, page_flag, "1");
	if (tpl_render(rq->app->tpl, mailer_locale(&rq->app->mailer, locale), path, vars,
		       &html, &len, &err) < 0) {
		msg_error("pages: %s", err);
		return http_respond(rq, 500, "text/plain; charset=utf-8",
				    strdup("internal error\n"), 15);
	}
	return http_respond_page(rq, status, html, len, set_cookie);
}

int pages_error(struct request *rq, int status, const char *locale, const char *code)
{
	struct tpl_vars vars = {0};
	char flag[48];
	snprintf(flag, sizeof(flag), "error_%s", code);
	tpl_vars_set(&vars, flag, "1");
	tpl_vars_set(&vars, "error_code", code);
	return pages_render(rq, status, locale, "error", &vars, NULL);
}

static void offer_vars(const struct offer *o, struct tpl_vars *v, char flag[48])
{
	snprintf(flag, 48, "kind_%s", inv_kind_str(o->inv.kind));
	tpl_vars_set(v, flag, "1");
	tpl_vars_set(v, "inviter", o->inviter.legal_name);
	tpl_vars_set(v, "provider", o->inv.provider_org_id ? o->provider.legal_name : NULL);
	tpl_vars_set(v, "acceptor", o->has_acceptor ? o->acceptor.legal_name : NULL);
	tpl_vars_set(v, "invitee_name", o->inv.name);
	tpl_vars_set(v, "invitee_email", o->inv.email);
	tpl_vars_set(v, "message", o->inv.message);
}

/* The consent page, with an optional problem to point out. */
static int show_offer(struct request *rq, const char *token, const struct offer *o,
		      int status, const char *problem)
{
	char set_cookie[160], csrf[PAGES_CSRF_SIZE], flag[48];
	struct tpl_vars v = {0};
	pages_csrf_field(rq, o->claims.jti, csrf, set_cookie, sizeof(set_cookie));
	offer_vars(o, &v, flag);
	tpl_vars_set(&v, "token", token);
	tpl_vars_set(&v, "csrf", csrf);
	char problem_var[48];
	if (problem != NULL) {
		snprintf(problem_var, sizeof(problem_var), "problem_%s", problem);
		tpl_vars_set(&v, problem_var, "1");
	}
	if (o->inv.kind == INV_INDIRECT_PROVIDER && !o->has_acceptor)
		tpl_vars_set(&v, "enroll_first", "1");
	if (o->inv.kind != INV_INDIRECT_PROVIDER && !o->has_acceptor)
		tpl_vars_set(&v, "need_name", "1");
	if (!o->proven)
		tpl_vars_set(&v, "will_confirm", "1");
	return pages_render(rq, status, o->inv.locale, "consent", &v,
			    set_cookie[0] ? set_cookie : NULL);
}

static int show_status(struct request *rq, enum redeem_status s, const char *locale)
{
	return pages_error(rq, redeem_status_http(s), locale, redeem_status_code(s));
}

/* An expired invitation link's page: the inviter can be asked for a new
 * one (a form), or was just asked. */
static int show_expired(struct request *rq, const char *token, const struct offer *o,
			int asked)
{
	char set_cookie[160], csrf[PAGES_CSRF_SIZE], flag[48];
	struct tpl_vars v = {0};
	pages_csrf_field(rq, o->claims.jti, csrf, set_cookie, sizeof(set_cookie));
	offer_vars(o, &v, flag);
	tpl_vars_set(&v, "token", token);
	tpl_vars_set(&v, "csrf", csrf);
	tpl_vars_set(&v, asked ? "asked" : "can_ask", "1");
	return pages_render(rq, asked ? 200 : 410, o->inv.locale, "expired", &v,
			    set_cookie[0] ? set_cookie : NULL);
}

/* GET of an expired link: the page to ask from, when there is someone to
 * ask; else the plain expired page. */
static int expired_link(struct request *rq, const struct inv_env *env, const char *token,
			const struct link_claims *claims)
{
	struct offer o;
	const char *err = NULL;
	int rc = store_begin_read(env->st, &err) == STORE_OK
			 ? redeem_expired_offer(env, claims, &o, &err)
			 : -1;
	store_rollback(env->st);
	if (rc < 0)
		msg_error("pages: %s", err);
	if (rc != 0)
		return show_status(rq, rc < 0 ? REDEEM_INTERNAL : REDEEM_EXPIRED, NULL);
	return show_expired(rq, token, &o, 0);
}

/* POST action=ask from the expired page. The answer is the same whether a
 * mail went now or was sent earlier today. */
static int ask_new_link(struct request *rq, const struct inv_env *env, const char *token,
			const struct link_claims *claims)
{
	struct offer o;
	const char *err = NULL;
	if (!pages_csrf_ok(rq, claims->jti))
		return pages_error(rq, 403, NULL, "form_expired");
	if (store_begin(env->st, &err) != STORE_OK)
		goto internal;
	int rc = redeem_expired_offer(env, claims, &o, &err);
	/* Only from a link whose time is over: a live one is for accepting. */
	if (rc == 0 && claims->exp > env->now && o.inv.status != INV_EXPIRED &&
	    o.inv.expires_at > env->now)
		rc = 2;
	if (rc == 0 && invitation_ask_new_link(env, o.inv.id, &err) < 0)
		rc = -1;
	if (rc == 0 && store_commit(env->st, &err) != STORE_OK)
		goto internal;
	if (rc != 0)
		store_rollback(env->st);
	if (rc < 0)
		goto internal;
	if (rc == 2)
		return pages_error(rq, 400, o.inv.locale, "bad_form");
	if (rc == 1)
		return show_status(rq, REDEEM_EXPIRED, NULL);
	app_kick_outbox(rq->app);
	return show_expired(rq, token, &o, 1);
internal:
	msg_error("pages: %s", err ? err : "internal error");
	return show_status(rq, REDEEM_INTERNAL, NULL);
}

/* A refusal that names the organizations: whom to ask (not_admin), who
 * cannot invite now (inviter_inactive), where the confirmation went. */
static int show_about_offer(struct request *rq, enum redeem_status s, const struct offer *o)
{
	struct tpl_vars v = {0};
	char flag[48];
	offer_vars(o, &v, flag);
	if (s == REDEEM_CONFIRM_SENT)
		return pages_render(rq, redeem_status_http(s), o->inv.locale, "confirm_sent",
				    &v, NULL);
	char code[48];
	snprintf(code, sizeof(code), "error_%s", redeem_status_code(s));
	tpl_vars_set(&v, code, "1");
	tpl_vars_set(&v, "error_code", redeem_status_code(s));
	/* Named only to someone who reads the invitee's mail: a draft's link
	 * is the inviter's, and the contact's name is not the inviter's to
	 * learn from it. */
	tpl_vars_set(&v, "acceptor_contact",
		     o->has_acceptor && o->proven ? o->acceptor.contact_name : NULL);
	tpl_vars_set(&v, "inactive",
		     o->inviter.status != ORG_APPROVED ? o->inviter.legal_name
						       : o->provider.legal_name);
	return pages_render(rq, redeem_status_http(s), o->inv.locale, "refused", &v, NULL);
}

/* The page for a status that is not ok, with the offer when it has one. */
static int show_refusal(struct request *rq, enum redeem_status s, const struct offer *o)
{
	if (s == REDEEM_NOT_ADMIN || s == REDEEM_INVITER_INACTIVE || s == REDEEM_CONFIRM_SENT)
		return show_about_offer(rq, s, o);
	return show_status(rq, s, s == REDEEM_INTERNAL || o->inv.locale[0] == '\0'
					  ? NULL
					  : o->inv.locale);
}

static int show_done(struct request *rq, const struct offer *o, int accepted)
{
	struct tpl_vars v = {0};
	char flag[48];
	offer_vars(o, &v, flag);
	tpl_vars_set(&v, accepted ? "accepted" : "declined", "1");
	return pages_render(rq, 200, o->inv.locale, "done", &v, NULL);
}

int pages_csrf_ok(struct request *rq, const char *jti)
{
	const char *cookie = http_cookie(rq, csrf_cookie_name(rq));
	const char *field = http_form(rq, "csrf");
	char want[CSRF_B64];
	if (cookie == NULL || field == NULL || strlen(cookie) != CSRF_B64 - 1 ||
	    strlen(field) != CSRF_B64 - 1)
		return 0;
	csrf_token(rq->app, cookie, jti, want);
	return sodium_memcmp(want, field, CSRF_B64 - 1) == 0;
}

/* The page after an accept or a decline. */
static int show_redeemed(struct request *rq, const char *token, struct redeem_item *it)
{
	const struct offer *o = &it->offer;
	histogram_observe(&rq->app->redeem_latency, metrics_since(&rq->started));
	if (it->status == REDEEM_BAD_INPUT)
		return show_offer(rq, token, o, 400, "org_name");
	if (it->status != REDEEM_OK)
		return show_refusal(rq, it->status, o);
	__atomic_add_fetch(&rq->app->redeems, 1, __ATOMIC_RELAXED);
	return show_done(rq, o, it->accept);
}

/* The redeemer has committed the job's batch (or failed it). */
static int redeemed(struct request *rq)
{
	struct redeem_job *job = rq->deferred;
	int ret = show_redeemed(rq, job->token, &job->item);
	free(job);
	return ret;
}

static int post_invitation(struct request *rq, const struct inv_env *env,
			   const char *token, const struct link_claims *claims,
			   int64_t session_user)
{
	const char *action = http_form(rq, "action");
	if (action == NULL || (strcmp(action, "accept") != 0 && strcmp(action, "decline") != 0))
		return pages_error(rq, 400, NULL, "bad_form");
	if (!pages_csrf_ok(rq, claims->jti))
		return pages_error(rq, 403, NULL, "form_expired");
	int accept = strcmp(action, "accept") == 0;
	const char *consent = http_form(rq, "consent");
	if (accept && (consent == NULL || strcmp(consent, "yes") != 0)) {
		struct offer o;
		const char *detail;
		/* A read in a snapshot, like the GET. */
		enum redeem_status s = store_begin_read(env->st, &detail) == STORE_OK
					       ? redeem_inspect(env, claims, session_user, &o,
								&detail)
					       : REDEEM_INTERNAL;
		store_rollback(env->st);
		if (s != REDEEM_OK)
			return show_refusal(rq, s, &o);
		return show_offer(rq, token, &o, 400, "consent");
	}
	struct redeem_job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return show_status(rq, REDEEM_INTERNAL, NULL);
	job->rq = rq;
	job->token = token;
	job->item.claims = *claims;
	job->item.accept = accept;
	job->item.session_user = session_user;
	job->item.in.customer_name = http_form(rq, "org_name");
	job->item.now = rq->now;
	if (redeemer_submit(rq->app->redeemer, job, redeemed, free) == 0)
		return MHD_YES; /* answered by redeemed() */
	/* No redeemer (stopping): a batch of one, here. */
	struct redeem_item *one = &job->item;
	redeem_batch(env, &one, 1);
	app_kick_outbox(rq->app);
	int ret = show_redeemed(rq, token, one);
	free(job);
	return ret;
}

int pages_link(struct request *rq, const char *token)
{
	struct link_claims claims;
	const char *err;
	if (rq->method != HTTP_GET && rq->method != HTTP_HEAD && rq->method != HTTP_POST) {
		rq->allow = "GET, HEAD, POST";
		return pages_error(rq, 405, NULL, "method");
	}
	if (strlen(token) > MAX_TOKEN_LEN)
		return show_status(rq, REDEEM_MALFORMED, NULL);
	struct store *st = app_store(rq->app, &err);
	if (st == NULL) {
		msg_error("pages: %s", err);
		return show_status(rq, REDEEM_INTERNAL, NULL);
	}
	const struct keyring *keys = app_keys(rq->app);
	enum token_status ts = link_check_cached(rq->app->token_cache, keys,
						 rq->app->cfg.server.public_url, token, rq->now,
						 &claims, &err);
	struct inv_env env = {st, keys, &rq->app->mailer,
			      rq->app->cfg.tokens.invitation_lifetime, rq->now, "link"};
	const char *action = rq->method == HTTP_POST ? http_form(rq, "action") : NULL;
	if ((ts == TOKEN_OK || ts == TOKEN_EXPIRED) && action != NULL && strcmp(action, "ask") == 0)
		return ask_new_link(rq, &env, token, &claims);
	if (ts == TOKEN_EXPIRED && rq->method != HTTP_POST)
		return expired_link(rq, &env, token, &claims);
	if (ts != TOKEN_OK)
		return show_status(rq, redeem_from_token(ts), NULL);
	if (claims.purpose == PUR_VERIFY_CONTACT)
		return pages_verify(rq, token, &claims);
	if (claims.purpose == PUR_SIGN_IN || claims.purpose == PUR_JOIN_ORG)
		return console_signin_link(rq, token, &claims);

	/* before the read snapshot: a session check notes the visit */
	int64_t session_user = console_session_user(rq, st);
	if (rq->method == HTTP_POST)
		return post_invitation(rq, &env, token, &claims, session_user);
	/* The page's reads in one snapshot, with one WAL read lock. */
	if (store_begin_read(st, &err) != STORE_OK) {
		msg_error("pages: %s", err);
		return show_status(rq, REDEEM_INTERNAL, NULL);
	}
	struct offer o;
	enum redeem_status s = redeem_inspect(&env, &claims, session_user, &o, &err);
	store_rollback(st);
	if (s == REDEEM_EXPIRED) /* its time is over, though the token's is not */
		return expired_link(rq, &env, token, &claims);
	if (s != REDEEM_OK)
		return show_refusal(rq, s, &o);
	return show_offer(rq, token, &o, 200, NULL);
}

int pages_static(struct request *rq, const char *name)
{
	char path[PATH_MAX + 64];
	if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-.") != strlen(name) ||
	    name[0] == '.' || strlen(name) > 64)
		return pages_error(rq, 404, NULL, "not_found");
	snprintf(path, sizeof(path), "%s/static/%s", rq->app->cfg.mail.templates, name);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return pages_error(rq, 404, NULL, "not_found");
	char *buf = malloc(65536);
	size_t n = buf ? fread(buf, 1, 65536, fp) : 0;
	fclose(fp);
	const char *type = strstr(name, ".css")  ? "text/css; charset=utf-8"
			   : strstr(name, ".js") ? "text/javascript; charset=utf-8"
						 : "application/octet-stream";
	return http_respond(rq, 200, type, buf, n);
}
