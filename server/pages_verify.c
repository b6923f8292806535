/*
 * pages_verify.c: the page behind a verification link (purpose
 * verify_contact). GET names the organization and the person and changes
 * nothing; POST, with the anti-forgery field and the box ticked, verifies
 * the address once.
 */
#include <string.h>

#include "invited/http.h"
#include "invited/log.h"
#include "invited/pages.h"
#include "invited/verify.h"

static void view_vars(const struct verify_view *view, struct tpl_vars *v, char flag[32])
{
	snprintf(flag, 32, "kind_%s", org_kind_str(view->org.kind));
	tpl_vars_set(v, flag, "1");
	tpl_vars_set(v, "org", view->org.legal_name);
	tpl_vars_set(v, "contact_name", view->org.contact_name);
	tpl_vars_set(v, "contact_email", view->v.email);
}

static int show(struct request *rq, const char *token, const char *jti,
		const struct verify_view *view, int status, const char *problem)
{
	char set_cookie[160], csrf[PAGES_CSRF_SIZE], flag[32];
	struct tpl_vars v = {0};
	pages_csrf_field(rq, jti, csrf, set_cookie, sizeof(set_cookie));
	view_vars(view, &v, flag);
	tpl_vars_set(&v, "token", token);
	tpl_vars_set(&v, "csrf", csrf);
	if (problem != NULL)
		tpl_vars_set(&v, "problem_consent", "1");
	return pages_render(rq, status, view->org.locale, "verify", &v,
			    set_cookie[0] ? set_cookie : NULL);
}

static int refuse(struct request *rq, enum verify_status s, const struct verify_view *view)
{
	return pages_error(rq, verify_status_http(s), view->org.locale[0] ? view->org.locale : NULL,
			   verify_status_code(s));
}

int pages_verify(struct request *rq, const char *token, const struct link_claims *claims)
{
	struct verifier_env env;
	struct verify_view view;
	const char *err;
	struct store *st = app_store(rq->app, &err);
	if (st == NULL) {
		msg_error("pages: %s", err);
		return pages_error(rq, 500, NULL, "internal");
	}
	app_verifier_env(rq->app, st, rq->now, "link", &env);
	if (rq->method != HTTP_POST) {
		enum verify_status s = verify_inspect(&env, claims->jti, &view);
		return s == VERIFY_OK ? show(rq, token, claims->jti, &view, 200, NULL)
				      : refuse(rq, s, &view);
	}
	const char *action = http_form(rq, "action");
	if (action == NULL || strcmp(action, "verify") != 0)
		return pages_error(rq, 400, NULL, "bad_form");
	if (!pages_csrf_ok(rq, claims->jti))
		return pages_error(rq, 403, NULL, "form_expired");
	const char *consent = http_form(rq, "consent");
	if (consent == NULL || strcmp(consent, "yes") != 0) {
		enum verify_status s = verify_inspect(&env, claims->jti, &view);
		return s == VERIFY_OK ? show(rq, token, claims->jti, &view, 400, "consent")
				      : refuse(rq, s, &view);
	}
	enum verify_status s = verify_confirm(&env, claims->jti, &view);
	if (s != VERIFY_OK)
		return refuse(rq, s, &view);
	app_kick_outbox(rq->app);
	struct tpl_vars v = {0};
	char flag[32];
	view_vars(&view, &v, flag);
	return pages_render(rq, 200, view.org.locale, "verified", &v, NULL);
}
