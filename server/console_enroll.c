/*
 * console_enroll.c: /console/enroll, the enrollment of a new partner as an
 * HTML form (Enroll now). The same rules as POST /api/v1/enrollments, all
 * of them the verifier's (enroll_create): this file only maps the form to
 * an enroll_request and each refusal to the field it names, shown next to
 * that field. Anyone may enroll, so a POST counts against the client's
 * enrollment allowance, as the API's does. Nothing is bound by enrolling:
 * the primary contact must still verify the address, and the operator
 * review the organization.
 */
#include <stdlib.h>
#include <string.h>

#include "invited/enroll.h"
#include "invited/log.h"
#include "invited/ratelimit.h"
#include "console_int.h"

/* The form's fields, as the API's JSON names them where they differ. */
static const struct {
	const char *form, *api;
} fields[] = {
	{"kind", ENROLL_F_KIND},
	{"legal_name", ENROLL_F_LEGAL_NAME},
	{"address", ENROLL_F_ADDRESS},
	{"country", ENROLL_F_COUNTRY},
	{"partner_id", ENROLL_F_PARTNER_ID},
	{"domains", ENROLL_F_DOMAINS},
	{"contact_name", ENROLL_F_CONTACT_NAME},
	{"contact_email", ENROLL_F_CONTACT_EMAIL},
	{"contact_phone", ENROLL_F_CONTACT_PHONE},
	{"support_email", ENROLL_F_SUPPORT_EMAIL},
	{"support_phone", ENROLL_F_SUPPORT_PHONE},
	{"support_url", ENROLL_F_SUPPORT_URL},
	{"support_email", ENROLL_F_SUPPORT}, /* "one of the three": shown at the first */
	{"locale", ENROLL_F_LOCALE},
};

/* The form field a fault names ("domains[2]" is the domains field). */
static const char *form_field(const char *api)
{
	if (api == NULL)
		return "form";
	if (strncmp(api, "domains[", 8) == 0)
		return "domains";
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(api, fields[i].api) == 0)
			return fields[i].form;
	return "form";
}

static const char *value(struct request *rq, const char *name)
{
	const char *v = http_form_text(rq, name);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Domains, one per line or separated by commas or blanks, into req. */
static void split_domains(char *list, struct enroll_request *req)
{
	for (char *save = NULL, *d = strtok_r(list, " ,\t\r\n", &save); d != NULL;
	     d = strtok_r(NULL, " ,\t\r\n", &save))
		if (req->n_domains <= MAX_DOMAINS) /* one more, to see "too many" */
			req->domains[req->n_domains++] = d;
}

static int show(struct request *rq, int status, struct tpl_vars *v, const struct fault *f)
{
	char flag[48];
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].api, ENROLL_F_SUPPORT) != 0)
			tpl_vars_set(v, fields[i].form, http_form_text(rq, fields[i].form));
	const char *kind = http_form(rq, "kind") ? http_form(rq, "kind") : http_query(rq, "kind");
	tpl_vars_set(v, kind && strcmp(kind, "provider") == 0 ? "is_provider" : "is_reseller",
		     "1");
	if (f != NULL) {
		snprintf(flag, sizeof(flag), "problem_%s", form_field(f->field));
		tpl_vars_set(v, flag, "1");
		tpl_vars_set(v, "problem", f->message);
		tpl_vars_set(v, "problem_code", f->code);
	}
	return console_form_page(rq, status, "enroll", v, console_locale(rq));
}

static int enroll_post(struct request *rq, struct store *st)
{
	struct tpl_vars v = {0};
	struct enroll_request req = {
		.kind = value(rq, "kind"),
		.legal_name = value(rq, "legal_name"),
		.address = value(rq, "address"),
		.country = value(rq, "country"),
		.partner_id = value(rq, "partner_id"),
		.contact_name = value(rq, "contact_name"),
		.contact_email = value(rq, "contact_email"),
		.contact_phone = value(rq, "contact_phone"),
		.support_email = value(rq, "support_email"),
		.support_phone = value(rq, "support_phone"),
		.support_url = value(rq, "support_url"),
		.locale = value(rq, "locale"),
	};
	struct verifier_env env;
	struct fault f = {0};
	struct org o;
	char client[80];
	if (!console_form_ok(rq))
		return pages_error(rq, 403, console_locale(rq), "form_expired");
	int64_t wait = rate_limiter_take(rq->app->enroll_limit, rq->client, rq->now);
	if (wait > 0) {
		rq->retry_after = wait;
		fault_set(&f, 429, "rate_limited", NULL,
			  "Too many enrollments from your network. Try again later.");
		return show(rq, 429, &v, &f);
	}
	const char *domains = value(rq, "domains");
	char *list = domains ? strdup(domains) : NULL;
	if (list != NULL)
		split_domains(list, &req);
	snprintf(client, sizeof(client), "enroll:%s", rq->client);
	app_verifier_env(rq->app, st, rq->now, client, &env);
	int rc = enroll_create(&env, &req, &o, &f);
	free(list);
	if (rc < 0) {
		if (f.status >= 500) {
			msg_error("console: enroll: %s", f.message);
			return pages_error(rq, 500, console_locale(rq), "internal");
		}
		return show(rq, f.status, &v, &f);
	}
	app_kick_outbox(rq->app);
	tpl_vars_set(&v, "enrolled", "1");
	tpl_vars_set(&v, "enrolled_org", o.legal_name);
	tpl_vars_set(&v, "enrolled_email", o.contact_email);
	return console_form_page(rq, 201, "enroll", &v, console_locale(rq));
}

int console_enroll(struct request *rq, struct store *st)
{
	struct tpl_vars v = {0};
	if (rq->method == HTTP_POST)
		return enroll_post(rq, st);
	return show(rq, 200, &v, NULL);
}
