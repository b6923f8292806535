/*
 * console.c: the partner console's door (SPEC "People and sign-in",
 * CONSOLE.md's map). GET /console shows the sign-in form, or sends a
 * signed-in person on to the dashboard; POST /console mails the sign-in
 * links and answers the same whoever asked; a sign-in link's page shows a
 * button, whose POST starts the session; /console/ is the dashboard;
 * /console/signout and /console/signout-everywhere end sessions. Every
 * form carries the anti-forgery field; state changes only on POST.
 * Behind the door, every page is a struct console (console_int.h): the
 * signed-in person, whose organization is the only one its pages show.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invited/http.h"
#include "invited/log.h"
#include "invited/pages.h"
#include "invited/ratelimit.h"
#include "invited/server.h"
#include "invited/signin.h"
#include "invited/text.h"
#include "console_int.h"

#define SESSION_COOKIE "invited_session"
#define FORM_KEY_LEN (SESSION_COOKIE_SIZE + 16)

static struct inv_env env_of(struct request *rq, struct store *st)
{
	return (struct inv_env){st, app_keys(rq->app), &rq->app->mailer,
				rq->app->cfg.tokens.invitation_lifetime, rq->now, "console"};
}

/* ja when the browser puts Japanese first, else the default. */
const char *console_locale(struct request *rq)
{
	const char *al = http_header(rq, "Accept-Language");
	while (al != NULL && *al == ' ')
		al++;
	return al != NULL && strncmp(al, "ja", 2) == 0 && (al[2] == '\0' || strchr("-;,", al[2]))
		       ? "ja" : NULL;
}

/* Over https, "__Host-": the browser then takes the cookie only from this
 * very host, Secure and for the whole path, so that a sibling subdomain
 * cannot set one for us. */
static const char *session_cookie_name(struct request *rq)
{
	return http_public_https(rq->app) ? "__Host-" SESSION_COOKIE : SESSION_COOKIE;
}

/* The session cookie: HttpOnly, SameSite=Lax (a link from a mail opens a
 * signed-in page), Secure over https; value NULL clears it. */
static void session_cookie(struct request *rq, const char *value, char *out, size_t size)
{
	snprintf(out, size, "%s=%s; Path=/; HttpOnly; SameSite=Lax%s%s", session_cookie_name(rq),
		 value ? value : "", http_public_https(rq->app) ? "; Secure" : "", value ? "" : "; Max-Age=0");
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

int console_form_page(struct request *rq, int status, const char *name, struct tpl_vars *v,
		      const char *locale)
{
	char set_cookie[160], csrf[PAGES_CSRF_SIZE], key[FORM_KEY_LEN];
	pages_csrf_field(rq, form_key(rq, key), csrf, set_cookie, sizeof(set_cookie));
	tpl_vars_set(v, "csrf", csrf);
	return pages_render(rq, status, locale, name, v, set_cookie[0] ? set_cookie : NULL);
}

/* The signed-in person, or 0 with nobody. */
static int signed_in(struct request *rq, struct store *st, struct signin_view *view)
{
	struct inv_env env = env_of(rq, st);
	return session_check(&env, http_cookie(rq, session_cookie_name(rq)),
			     rq->app->cfg.sessions.idle, view) == 0;
}

int64_t console_session_user(struct request *rq, struct store *st)
{
	struct signin_view view;
	if (http_cookie(rq, session_cookie_name(rq)) == NULL || !signed_in(rq, st, &view))
		return 0;
	return view.user.id;
}

static int signin_form(struct request *rq, struct store *st)
{
	struct tpl_vars v = {0};
	struct signin_view view;
	if (signed_in(rq, st, &view))
		return http_redirect(rq, "/console/", NULL);
	return console_form_page(rq, 200, "signin", &v, console_locale(rq));
}

/* Whoever asks gets the same answer: whether the address may sign in is
 * the mailbox's to know. */
static int signin_post(struct request *rq, struct store *st)
{
	struct tpl_vars v = {0};
	const char *email = http_form(rq, "email"), *err = NULL;
	char key[FORM_KEY_LEN];
	if (!pages_csrf_ok(rq, form_key(rq, key)))
		return pages_error(rq, 403, console_locale(rq), "form_expired");
	if (email == NULL || email[0] == '\0') {
		tpl_vars_set(&v, "problem_email", "1");
		return console_form_page(rq, 400, "signin", &v, console_locale(rq));
	}
	int64_t wait = rate_limiter_take(rq->app->signin_limit, rq->client, rq->now);
	if (wait > 0) {
		rq->retry_after = wait;
		tpl_vars_set(&v, "problem_rate", "1");
		return console_form_page(rq, 429, "signin", &v, console_locale(rq));
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
	if (signin_request(&env, email, console_locale(rq), &sent, &err) < 0) {
		msg_error("console: sign-in request: %s", err);
		return pages_error(rq, 500, console_locale(rq), "internal");
	}
	if (sent)
		app_kick_outbox(rq->app);
answer:
	tpl_vars_set(&v, "sent", "1");
	tpl_vars_set(&v, "email", email);
	return console_form_page(rq, 200, "signin", &v, console_locale(rq));
}

static int signout(struct request *rq, struct store *st, int everywhere)
{
	struct inv_env env = env_of(rq, st);
	const char *err = NULL;
	char cookie[160], key[FORM_KEY_LEN];
	if (!pages_csrf_ok(rq, form_key(rq, key)))
		return pages_error(rq, 403, console_locale(rq), "form_expired");
	if (session_end(&env, http_cookie(rq, session_cookie_name(rq)), everywhere,
			rq->app->cfg.sessions.idle, &err) < 0) {
		msg_error("console: sign-out: %s", err);
		return pages_error(rq, 500, console_locale(rq), "internal");
	}
	session_cookie(rq, NULL, cookie, sizeof(cookie));
	return http_redirect(rq, "/console", cookie);
}

/* ------------------------------------------------- the signed-in pages */

struct pool_block {
	struct pool_block *next;
	size_t size;
	char data[];
};

static void *pool_alloc(struct console *c, size_t n)
{
	struct pool_block *b = calloc(1, sizeof(*b) + n);
	if (b == NULL)
		msg_panic("console: out of memory");
	b->next = c->pool;
	b->size = n;
	c->pool = b;
	return b->data;
}

const char *cs_str(struct console *c, const char *s)
{
	size_t n = strlen(s);
	char *out = pool_alloc(c, n + 1);
	memcpy(out, s, n + 1);
	return out;
}

const char *cs_printf(struct console *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *out = pool_alloc(c, (size_t)(n < 0 ? 0 : n) + 1);
	va_start(ap, fmt);
	vsnprintf(out, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
	va_end(ap);
	return out;
}

void cs_rows_begin(struct console *c, struct cs_rows *r, size_t max)
{
	*r = (struct cs_rows){.c = c, .max = max};
	r->row = pool_alloc(c, (max ? max : 1) * sizeof(struct tpl_vars));
}

struct tpl_vars *cs_row_next(struct cs_rows *r)
{
	return r->n < r->max ? &r->row[r->n++] : NULL;
}

void cs_rows_end(struct cs_rows *r, const char *name, int paged)
{
	struct console *c = r->c;
	tpl_vars_list(&c->v, name, r->row, r->n);
	if (r->n > 0)
		tpl_vars_set(&c->v, cs_printf(c, "any_%s", name), "1");
	if (paged && r->n == r->max)
		tpl_vars_set(&c->v, "older", cs_printf(c, "%lld", (long long)r->last_id));
}

int64_t cs_cursor(struct console *c)
{
	const char *b = http_query(c->rq, "before"), *rest;
	int64_t id = b ? cs_path_id(b, &rest) : 0;
	return id < 0 || (b && rest[0] != '\0') ? 0 : id;
}

int cs_message_row(void *ctx, const struct outbox_msg *m)
{
	struct cs_rows *r = ctx;
	struct console *c = r->c;
	struct tpl_vars *v = cs_row_next(r);
	if (v == NULL)
		return 1;
	tpl_vars_set(v, "id", cs_printf(c, "%lld", (long long)m->id));
	tpl_vars_set(v, "kind", outbox_kind_str(m->kind));
	tpl_vars_set(v, "rcpt", cs_str(c, m->rcpt));
	tpl_vars_set(v, "status", outbox_status_str(m->status));
	tpl_vars_set(v, "attempts", cs_printf(c, "%d", m->attempts));
	tpl_vars_set(v, "created", cs_time(c, m->created_at));
	tpl_vars_set(v, "at", cs_time(c, m->sent_at ? m->sent_at : m->created_at));
	tpl_vars_set(v, "reply", m->last_reply[0] ? cs_str(c, m->last_reply) : NULL);
	r->last_id = m->id;
	return 0;
}

void cs_filter(struct console *c, const char *value)
{
	tpl_vars_set(&c->v, "filter", value);
	tpl_vars_set(&c->v, cs_printf(c, "filter_%s", value), "1");
}

void cs_problem(struct console *c, const struct fault *f)
{
	tpl_vars_set(&c->v, cs_printf(c, "problem_%s", f->field ? f->field : "form"), "1");
	tpl_vars_set(&c->v, "problem", f->message);
}

const char *cs_time(struct console *c, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return NULL;
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
	return cs_str(c, buf);
}

static void pool_free(struct console *c)
{
	while (c->pool != NULL) {
		struct pool_block *next = c->pool->next;
		sodium_memzero(c->pool->data, c->pool->size); /* a new API key may be here */
		free(c->pool);
		c->pool = next;
	}
}

int cs_admin(const struct console *c)
{
	return c->me.user.role == ROLE_ADMIN_AGENT;
}

int cs_page(struct console *c, int status, const char *name)
{
	struct tpl_vars *v = &c->v;
	if (c->me.user.role == ROLE_OPERATOR)
		tpl_vars_set(v, "operator", "1");
	else
		tpl_vars_set(v, cs_printf(c, "kind_%s", org_kind_str(c->me.org.kind)), "1");
	tpl_vars_set(v, "me_org", c->me.org.legal_name);
	tpl_vars_set(v, "me_name", c->me.user.name[0] ? c->me.user.name : c->me.user.email);
	tpl_vars_set(v, "me_email", c->me.user.email);
	tpl_vars_set(v, cs_admin(c) ? "admin" : "sales", "1");
	tpl_vars_set(v, "signed_in", "1");
	tpl_vars_set(v, cs_printf(c, "nav_%s", name), "1");
	int rc = console_form_page(c->rq, status, name, v, c->locale);
	pool_free(c);
	return rc;
}

int cs_error(struct console *c, int status, const char *code)
{
	pool_free(c);
	return pages_error(c->rq, status, c->locale, code);
}

int cs_fault(struct console *c, const struct fault *f)
{
	if (f->status >= 500) { /* the details are for the log only */
		msg_error("console: %s", f->message);
		return cs_error(c, 500, "internal");
	}
	if (f->status == 404)
		return cs_error(c, 404, "not_found");
	tpl_vars_set(&c->v, "fault_message", f->message);
	tpl_vars_set(&c->v, "fault_code", f->code);
	tpl_vars_set(&c->v, "fault_status", cs_printf(c, "%d", f->status));
	if (f->status == 429)
		c->rq->retry_after = c->rq->retry_after ? c->rq->retry_after : 60;
	return cs_page(c, f->status, "console_fault");
}

int cs_redirect(struct console *c, const char *path)
{
	int rc = http_redirect(c->rq, path, NULL);
	pool_free(c);
	return rc;
}

int console_form_ok(struct request *rq)
{
	char key[FORM_KEY_LEN];
	return pages_csrf_ok(rq, form_key(rq, key));
}

int cs_form_ok(struct console *c)
{
	return console_form_ok(c->rq);
}

int64_t cs_path_id(const char *s, const char **rest_r)
{
	int64_t id = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9' && i < 18; i++)
		id = id * 10 + (s[i] - '0');
	if (i == 0 || s[0] == '0' || (s[i] != '\0' && s[i] != '/'))
		return -1;
	*rest_r = s + i;
	return id;
}

int cs_partner(struct console *c, enum rel_kind kind, int64_t id, struct org *o)
{
	const char *err;
	int64_t me = c->me.org.id;
	if (id <= 0 || store_org_get(c->st, id, o, &err) != STORE_OK)
		return -1;
	if (store_rel_active(c->st, kind, me, id, &err) == STORE_OK ||
	    store_rel_active(c->st, kind, id, me, &err) == STORE_OK)
		return 0;
	return -1;
}

static int signed_in_route(struct request *rq, struct store *st, const char *rest)
{
	struct console c = {.rq = rq, .st = st};
	if (!signed_in(rq, st, &c.me))
		return http_redirect(rq, "/console", NULL);
	c.env = env_of(rq, st);
	snprintf(c.actor, sizeof(c.actor), "user:%lld", (long long)c.me.user.id);
	c.env.actor = c.actor;
	c.locale = c.me.user.locale[0] ? c.me.user.locale : console_locale(rq);
	int post = rq->method == HTTP_POST;
	if (post && !cs_form_ok(&c))
		return cs_error(&c, 403, "form_expired");
	if (c.me.user.role == ROLE_OPERATOR)
		return cs_operator(&c, rest);
	if (strcmp(rest, "/") == 0)
		return post ? (rq->allow = "GET, HEAD", cs_error(&c, 405, "method")) : cs_dashboard(&c);
	if (strncmp(rest, "/partners", 9) == 0)
		return cs_partners(&c, rest + 9);
	if (strcmp(rest, "/customers") == 0)
		return post ? (rq->allow = "GET, HEAD", cs_error(&c, 405, "method")) : cs_customers(&c);
	if (strcmp(rest, "/invite") == 0)
		return cs_invite(&c);
	if (strncmp(rest, "/invitations", 12) == 0)
		return cs_invitations(&c, rest + 12);
	if (strncmp(rest, "/users", 6) == 0)
		return cs_users(&c, rest + 6);
	if (strncmp(rest, "/keys", 5) == 0)
		return cs_keys(&c, rest + 5);
	if (strncmp(rest, "/domains", 8) == 0)
		return cs_domains(&c, rest + 8);
	if (strncmp(rest, "/webhooks", 9) == 0)
		return cs_webhooks(&c, rest + 9);
	return cs_error(&c, 404, "not_found");
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
	if (!get && !post) {
		rq->allow = "GET, HEAD, POST";
		return pages_error(rq, 405, console_locale(rq), "method");
	}
	if (rest[0] == '\0')
		return get ? signin_form(rq, st) : signin_post(rq, st);
	if (strcmp(rest, "/enroll") == 0)
		return console_enroll(rq, st);
	if (strcmp(rest, "/signout") == 0 && post)
		return signout(rq, st, 0);
	if (strcmp(rest, "/signout-everywhere") == 0 && post)
		return signout(rq, st, 1);
	if (rest[0] == '/')
		return signed_in_route(rq, st, rest);
	return pages_error(rq, 404, console_locale(rq), "not_found");
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
			return pages_error(rq, 403, console_locale(rq), "form_expired");
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
									 : console_locale(rq),
					    "signin_link", &v, set_cookie[0] ? set_cookie : NULL);
		}
	}
	const char *code = signin_code(s, &http);
	return pages_error(rq, http, console_locale(rq), code);
}
