/*
 * console.c: the partner console's door (SPEC "People and sign-in",
 * CONSOLE.md's map). GET /console shows the sign-in form, or sends a
 * signed-in person on to the dashboard; POST /console mails the sign-in
 * links and answers the same whoever asked; a sign-in link's page shows a
 * button, whose POST starts the session; /console/ is the dashboard;
 * /console/signout and /console/signout-everywhere end sessions. Every
 * form carries the anti-forgery field; state changes only on POST.
 */
#include <string.h>

#include "invited/http.h"
#include "invited/log.h"
#include "invited/pages.h"
#include "invited/ratelimit.h"
#include "invited/server.h"
#include "invited/signin.h"
#include "invited/text.h"

#define SESSION_COOKIE "invited_session"
#define FORM_KEY_LEN (SESSION_COOKIE_SIZE + 16)

static struct inv_env env_of(struct request *rq, struct store *st)
{
	return (struct inv_env){st, app_keys(rq->app), &rq->app->mailer,
				rq->app->cfg.tokens.invitation_lifetime, rq->now, "console"};
}

/* ja when the browser puts Japanese first, else the default. */
static const char *locale_of(struct request *rq)
{
	const char *al = http_header(rq, "Accept-Language");
	return al != NULL && strncmp(al, "ja", 2) == 0 ? "ja" : NULL;
}

static int https(struct request *rq)
{
	return strncmp(rq->app->cfg.server.public_url, "https:", 6) == 0;
}

/* Over https, "__Host-": the browser then takes the cookie only from this
 * very host, Secure and for the whole path, so that a sibling subdomain
 * cannot set one for us. */
static const char *session_cookie_name(struct request *rq)
{
	return https(rq) ? "__Host-" SESSION_COOKIE : SESSION_COOKIE;
}

/* The session cookie: HttpOnly, SameSite=Lax (a link from a mail opens a
 * signed-in page), Secure over https; value NULL clears it. */
static void session_cookie(struct request *rq, const char *value, char *out, size_t size)
{
	snprintf(out, size, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", session_cookie_name(rq),
		 value ? value : "", https(rq) ? "; Secure" : "", value ? "" : "; Max-Age=0");
}

/* What a console form's anti-forgery field is bound to, besides the
 * browser's cookie: the session, so that a field of one session (or of
 * the signed-out form) is worth nothing in another. */
static const char *form_key(struct request *rq, char key[FORM_KEY_LEN])
{
	const char *session = http_cookie(rq, session_cookie_name(rq));
	snprintf(key, FORM_KEY_LEN, "console|%.*s", (int)(SESSION_COOKIE_SIZE - 1),
		 session ? session : "");
	return key;
}

static int form_page(struct request *rq, int status, const char *name, struct tpl_vars *v)
{
	char set_cookie[160], csrf[PAGES_CSRF_SIZE], key[FORM_KEY_LEN];
	pages_csrf_field(rq, form_key(rq, key), csrf, set_cookie, sizeof(set_cookie));
	tpl_vars_set(v, "csrf", csrf);
	return pages_render(rq, status, locale_of(rq), name, v,
			    set_cookie[0] ? set_cookie : NULL);
}

/* The signed-in person, or 0 with nobody. */
static int signed_in(struct request *rq, struct store *st, struct signin_view *view)
{
	struct inv_env env = env_of(rq, st);
	return session_check(&env, http_cookie(rq, session_cookie_name(rq)),
			     rq->app->cfg.sessions.idle, view) == 0;
}

static int signin_form(struct request *rq, struct store *st)
{
	struct tpl_vars v = {0};
	struct signin_view view;
	if (signed_in(rq, st, &view))
		return http_redirect(rq, "/console/", NULL);
	return form_page(rq, 200, "signin", &v);
}

/* Whoever asks gets the same answer: whether the address may sign in is
 * the mailbox's to know. */
static int signin_post(struct request *rq, struct store *st)
{
	struct tpl_vars v = {0};
	const char *email = http_form(rq, "email"), *err = NULL;
	char key[FORM_KEY_LEN];
	if (!pages_csrf_ok(rq, form_key(rq, key)))
		return pages_error(rq, 403, locale_of(rq), "form_expired");
	if (email == NULL || email[0] == '\0') {
		tpl_vars_set(&v, "problem_email", "1");
		return form_page(rq, 400, "signin", &v);
	}
	int64_t wait = rate_limiter_take(rq->app->signin_limit, rq->client, rq->now);
	if (wait > 0) {
		rq->retry_after = wait;
		tpl_vars_set(&v, "problem_rate", "1");
		return form_page(rq, 429, "signin", &v);
	}
	/* An address's hour of sign-in mails is shared by all who ask
	 * (SIGNIN_MAILS_PER_ADDRESS), so one client may use only a few of
	 * them: a stranger cannot use up someone's sign-in. */
	char pair[MAX_EMAIL_LEN + sizeof(rq->client) + 2];
	snprintf(pair, sizeof(pair), "%s|%s", email, rq->client);
	ascii_lower(pair);
	struct inv_env env = env_of(rq, st);
	int sent = 0;
	if (rate_limiter_take(rq->app->signin_pair_limit, pair, rq->now) > 0)
		goto answer; /* the same answer: no word of which limit */
	if (signin_request(&env, email, locale_of(rq), &sent, &err) < 0) {
		msg_error("console: sign-in request: %s", err);
		return pages_error(rq, 500, locale_of(rq), "internal");
	}
	if (sent)
		app_kick_outbox(rq->app);
answer:
	tpl_vars_set(&v, "sent", "1");
	tpl_vars_set(&v, "email", email);
	return form_page(rq, 200, "signin", &v);
}

static int dashboard(struct request *rq, struct store *st)
{
	struct signin_view view;
	if (!signed_in(rq, st, &view))
		return http_redirect(rq, "/console", NULL);
	struct tpl_vars v = {0};
	char kind[32];
	snprintf(kind, sizeof(kind), "kind_%s", org_kind_str(view.org.kind));
	tpl_vars_set(&v, kind, "1");
	tpl_vars_set(&v, "org", view.org.legal_name);
	tpl_vars_set(&v, "name", view.user.name[0] ? view.user.name : view.user.email);
	tpl_vars_set(&v, "email", view.user.email);
	tpl_vars_set(&v, view.user.role == ROLE_ADMIN_AGENT ? "admin" : "sales", "1");
	return form_page(rq, 200, "console", &v);
}

static int signout(struct request *rq, struct store *st, int everywhere)
{
	struct inv_env env = env_of(rq, st);
	const char *err = NULL;
	char cookie[160], key[FORM_KEY_LEN];
	if (!pages_csrf_ok(rq, form_key(rq, key)))
		return pages_error(rq, 403, locale_of(rq), "form_expired");
	if (session_end(&env, http_cookie(rq, session_cookie_name(rq)), everywhere,
			rq->app->cfg.sessions.idle, &err) < 0) {
		msg_error("console: sign-out: %s", err);
		return pages_error(rq, 500, locale_of(rq), "internal");
	}
	session_cookie(rq, NULL, cookie, sizeof(cookie));
	return http_redirect(rq, "/console", cookie);
}

int console_route(struct request *rq, const char *rest)
{
	const char *err;
	struct store *st = app_store(rq->app, &err);
	if (st == NULL) {
		msg_error("console: %s", err);
		return pages_error(rq, 500, NULL, "internal");
	}
	int get = rq->method == HTTP_GET || rq->method == HTTP_HEAD;
	int post = rq->method == HTTP_POST;
	if (rest[0] == '\0' && (get || post))
		return get ? signin_form(rq, st) : signin_post(rq, st);
	if (strcmp(rest, "/") == 0 && get)
		return dashboard(rq, st);
	if (strcmp(rest, "/signout") == 0 && post)
		return signout(rq, st, 0);
	if (strcmp(rest, "/signout-everywhere") == 0 && post)
		return signout(rq, st, 1);
	return pages_error(rq, get || post ? 404 : 405, locale_of(rq),
			   get || post ? "not_found" : "method");
}

static const char *signin_code(enum signin_status s, int *http_r)
{
	switch (s) {
	case SIGNIN_USED:
		*http_r = 409;
		return "signin_used";
	case SIGNIN_EXPIRED:
		*http_r = 410;
		return "signin_expired";
	case SIGNIN_CLOSED:
		*http_r = 403;
		return "signin_closed";
	case SIGNIN_UNKNOWN:
		*http_r = 404;
		return "unknown";
	case SIGNIN_OK:
	case SIGNIN_INTERNAL:
		break;
	}
	*http_r = 500;
	return "internal";
}

/* GET shows a button and changes nothing (a link scanner signs nobody
 * in); POST, from that page, signs in. */
int console_signin_link(struct request *rq, const char *token,
			const struct link_claims *claims)
{
	const char *err;
	struct signin_view view;
	struct store *st = app_store(rq->app, &err);
	if (st == NULL)
		return pages_error(rq, 500, NULL, "internal");
	struct inv_env env = env_of(rq, st);
	enum signin_status s;
	int http;
	if (rq->method == HTTP_POST) {
		char cookie[SESSION_COOKIE_SIZE], set_cookie[160];
		if (!pages_csrf_ok(rq, claims->jti))
			return pages_error(rq, 403, locale_of(rq), "form_expired");
		s = signin_redeem(&env, claims, rq->app->cfg.sessions.lifetime, &view, cookie);
		if (s == SIGNIN_OK) {
			session_cookie(rq, cookie, set_cookie, sizeof(set_cookie));
			sodium_memzero(cookie, sizeof(cookie));
			return http_redirect(rq, "/console/", set_cookie);
		}
	} else {
		s = store_begin_read(st, &err) == STORE_OK ? signin_inspect(&env, claims, &view)
							   : SIGNIN_INTERNAL;
		store_rollback(st);
		if (s == SIGNIN_OK) {
			char set_cookie[160], csrf[PAGES_CSRF_SIZE];
			struct tpl_vars v = {0};
			pages_csrf_field(rq, claims->jti, csrf, set_cookie, sizeof(set_cookie));
			tpl_vars_set(&v, "csrf", csrf);
			tpl_vars_set(&v, "token", token);
			tpl_vars_set(&v, "org", view.org.legal_name);
			tpl_vars_set(&v, "email", view.user.email);
			return pages_render(rq, 200, view.user.locale[0] ? view.user.locale
									 : locale_of(rq),
					    "signin_link", &v, set_cookie[0] ? set_cookie : NULL);
		}
	}
	const char *code = signin_code(s, &http);
	return pages_error(rq, http, locale_of(rq), code);
}
