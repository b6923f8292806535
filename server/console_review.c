/*
 * console_review.c: the operator's pages. The review queue lists the
 * enrollments by status (in review first), each with its decisions:
 * approve, reject with a reason, suspend with a reason, approve again to
 * reinstate; each is enroll_review's, with its mail to the primary contact
 * and its audit line. The outbox view shows what was sent and the mail
 * servers' answers, read-only. An operator session opens only these pages;
 * an organization's user gets 404 here, as for any page that is not its.
 */
#include <stdio.h>
#include <string.h>

#include "invited/enroll.h"
#include "invited/log.h"
#include "console_int.h"

struct review_rows {
	struct cs_rows rows;
	int64_t failed_id;          /* the row a refused decision was about */
	const struct fault *failed;
};

static int add_org(void *ctx, const struct org *o)
{
	struct review_rows *r = ctx;
	struct console *c = r->rows.c;
	struct tpl_vars *v = cs_row_next(&r->rows);
	if (v == NULL)
		return 1;
	/* Proven domains, and apart the ones only claimed, each with the TXT
	 * record that would prove it. */
	char *domains = NULL, *claimed = NULL;
	size_t dlen, clen;
	FILE *dm = open_memstream(&domains, &dlen), *cm = open_memstream(&claimed, &clen);
	for (size_t i = 0; dm != NULL && cm != NULL && i < o->n_domains; i++) {
		const struct domain_proof *p = &o->proofs[i];
		if (p->state == DOMAIN_PROVEN)
			fprintf(dm, "%s%s", ftell(dm) ? ", " : "", o->domains[i]);
		else {
			struct domain_record txt;
			domain_txt_of(o->domains[i], p->token, &txt);
			fprintf(cm, "%s%s (TXT %s \"%s\")", ftell(cm) ? ", " : "", o->domains[i],
				txt.name, txt.value);
		}
	}
	if (dm != NULL)
		fclose(dm);
	if (cm != NULL)
		fclose(cm);
	tpl_vars_set(v, "id", cs_printf(c, "%lld", (long long)o->id));
	tpl_vars_set(v, "name", cs_str(c, o->legal_name));
	tpl_vars_set(v, cs_printf(c, "kind_%s", org_kind_str(o->kind)), "1");
	tpl_vars_set(v, "country", cs_str(c, o->country));
	tpl_vars_set(v, "domains", cs_str(c, domains ? domains : ""));
	tpl_vars_set(v, "claimed", claimed && claimed[0] ? cs_str(c, claimed) : NULL);
	free(domains);
	free(claimed);
	tpl_vars_set(v, "contact", cs_str(c, o->contact_email));
	tpl_vars_set(v, "contact_name", cs_str(c, o->contact_name));
	if (o->contact_verified)
		tpl_vars_set(v, "verified", "1");
	tpl_vars_set(v, "reason", o->status_reason[0] ? cs_str(c, o->status_reason) : NULL);
	tpl_vars_set(v, "created", cs_time(c, o->created_at));
	tpl_vars_set(v, cs_printf(c, "can_%s", o->status == ORG_IN_REVIEW     ? "decide"
					       : o->status == ORG_APPROVED  ? "suspend"
					       : o->status == ORG_SUSPENDED ? "reinstate"
									    : "none"),
		     "1");
	if (o->id == r->failed_id) {
		tpl_vars_set(v, "problem", r->failed->message);
		tpl_vars_set(v, "problem_code", r->failed->code);
		tpl_vars_set(v, "typed_reason", http_form(c->rq, "reason"));
	}
	r->rows.last_id = o->id;
	return 0;
}

/* The list of enrollments in status st; a refused decision about
 * failed_id is shown on its row. */
static int review_page(struct console *c, int status, enum org_status st, int64_t failed_id,
		       const struct fault *failed)
{
	const char *err;
	struct org_filter f = {.status = (int)st, .before_id = cs_cursor(c),
			       .limit = CONSOLE_PAGE_ROWS, .enrolled_only = 1};
	struct review_rows r = {.failed_id = failed_id, .failed = failed};
	cs_rows_begin(c, &r.rows, CONSOLE_PAGE_ROWS);
	if (store_org_list(c->st, &f, add_org, &r, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	cs_rows_end(&r.rows, "rows", 1);
	tpl_vars_set(&c->v, "status", org_status_str(st));
	tpl_vars_set(&c->v, cs_printf(c, "tab_%s", org_status_str(st)), "1");
	return cs_page(c, status, "review");
}

/* A decision on one organization; a refusal is shown on its row. */
static int decide(struct console *c, int64_t id)
{
	const char *action = http_form(c->rq, "action");
	enum review_action a;
	struct verifier_env env;
	struct fault f = {0};
	struct org o;
	if (action == NULL || review_action_parse(action, &a) < 0)
		return cs_error(c, 400, "bad_form");
	app_verifier_env(c->rq->app, c->st, c->rq->now, c->actor, &env);
	if (enroll_review(&env, id, a, http_form(c->rq, "reason"), &o, &f) < 0) {
		if (f.status >= 500)
			return cs_fault(c, &f);
		const char *err;
		int rc = f.status == 404 ? STORE_NOT_FOUND : store_org_get(c->st, id, &o, &err);
		if (rc != STORE_OK)
			return cs_error(c, rc == STORE_ERROR ? 500 : 404,
					rc == STORE_ERROR ? "internal" : "not_found");
		return review_page(c, f.status, o.status, id, &f); /* on its own tab */
	}
	app_kick_outbox(c->rq->app);
	return cs_redirect(c, cs_printf(c, "/console/review?status=%s&done=%lld",
					org_status_str(o.status), (long long)o.id));
}

static int outbox_page(struct console *c)
{
	const char *want = http_query(c->rq, "status"), *err;
	enum outbox_status s;
	struct outbox_filter f = {.before_id = cs_cursor(c), .limit = CONSOLE_PAGE_ROWS};
	if (want != NULL && want[0] != '\0') {
		if (outbox_status_parse(want, &s) < 0)
			return cs_error(c, 400, "bad_filter");
		f.status = (int)s;
		cs_filter(c, want);
	}
	struct cs_rows r;
	cs_rows_begin(c, &r, CONSOLE_PAGE_ROWS);
	if (store_outbox_list(c->st, &f, cs_message_row, &r, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	cs_rows_end(&r, "rows", 1);
	return cs_page(c, 200, "outbox");
}

int cs_operator(struct console *c, const char *rest)
{
	int post = c->rq->method == HTTP_POST;
	if (strcmp(rest, "/") == 0 && !post)
		return cs_redirect(c, "/console/review");
	if (strcmp(rest, "/review") == 0 && !post) {
		const char *want = http_query(c->rq, "status");
		enum org_status st = ORG_IN_REVIEW;
		if (want != NULL && (org_status_parse(want, &st) < 0 || st == ORG_NO_ENROLLMENT))
			return cs_error(c, 400, "bad_filter");
		if (http_query(c->rq, "done") != NULL)
			tpl_vars_set(&c->v, "decided", "1");
		return review_page(c, 200, st, 0, NULL);
	}
	if (strcmp(rest, "/outbox") == 0 && !post)
		return outbox_page(c);
	if (strncmp(rest, "/webhooks", 9) == 0)
		return cs_webhooks(c, rest + 9);
	if (strncmp(rest, "/review/", 8) == 0 && post) {
		int64_t id = cs_path_id(rest + 8, &rest);
		if (id > 0 && rest[0] == '\0')
			return decide(c, id);
	}
	return cs_error(c, 404, "not_found");
}
