/*
 * console_webhooks.c: /console/webhooks, the console's face of
 * /api/v1/webhooks, for admin agents (their organization's endpoints) and
 * operators (theirs, which get every event): the endpoints, a form to add
 * one (its secret shown on that answer only), delete, and each endpoint's
 * recent deliveries with the receiver's HTTP status and reply.
 */
#include <sodium.h>
#include <string.h>

#include "console_int.h"
#include "invited/log.h"
#include "invited/server.h"
#include "invited/webhook.h"

/* The endpoints' owner: the organization, or 0 for an operator. */
static int64_t owner_of(const struct console *c)
{
	return c->me.user.role == ROLE_OPERATOR ? 0 : c->me.org.id;
}

static int add_hook_row(void *ctx, const struct webhook *w)
{
	struct cs_rows *r = ctx;
	struct console *c = r->c;
	struct tpl_vars *v = cs_row_next(r);
	if (v == NULL)
		return 1;
	tpl_vars_set(v, "id", cs_printf(c, "%lld", (long long)w->id));
	tpl_vars_set(v, "url", cs_str(c, w->url));
	tpl_vars_set(v, "events", w->events[0] ? cs_str(c, w->events) : NULL);
	tpl_vars_set(v, "created", cs_time(c, w->created_at));
	return 0;
}

static int hooks_page(struct console *c, int status, const char *secret)
{
	const char *err;
	struct cs_rows r;
	cs_rows_begin(c, &r, MAX_WEBHOOKS);
	if (store_webhook_list(c->st, owner_of(c), add_hook_row, &r, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	cs_rows_end(&r, "rows", 0);
	tpl_vars_set(&c->v, "new_secret", secret);
	return cs_page(c, status, "webhooks");
}

/* The filter as typed: blanks and empty items dropped. */
static const char *events_of(struct console *c, const char *typed)
{
	char out[MAX_WEBHOOK_EVENTS + 2];
	size_t len = 0;
	for (const char *p = typed ? typed : ""; *p != '\0';) {
		p += strspn(p, " \t\r\n,");
		size_t n = strcspn(p, " \t\r\n,");
		if (n == 0)
			break;
		if (len + n + 2 > sizeof(out))
			return NULL;
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s", len ? "," : "",
					(int)n, p);
		p += n;
	}
	out[len] = '\0';
	return cs_str(c, out);
}

static int hook_create(struct console *c)
{
	const char *url = http_form(c->rq, "url"), *typed = http_form(c->rq, "events");
	const char *events = events_of(c, typed);
	char secret[WEBHOOK_SECRET_TEXT_LEN + 1];
	struct webhook w;
	struct fault f = {0};
	if (url == NULL || typed == NULL)
		return cs_error(c, 400, "bad_form");
	if (events == NULL)
		fault_set(&f, 422, "invalid_field", "events",
			  errorf("events must be at most %d bytes", MAX_WEBHOOK_EVENTS));
	else
		webhook_create(c->st, &c->rq->app->cfg.webhooks, owner_of(c), url, events,
			       c->actor, c->rq->now, &w, &f);
	if (f.status >= 500)
		return cs_fault(c, &f);
	if (f.status != 0) {
		/* Refused: the form again, as typed, the problem by its field. */
		cs_problem(c, &f);
		tpl_vars_set(&c->v, "url_value", url);
		tpl_vars_set(&c->v, "events_value", typed);
		return hooks_page(c, f.status, NULL);
	}
	webhook_secret_text(w.secret, secret);
	sodium_memzero(w.secret, sizeof(w.secret));
	/* Shown this once, on this answer (no-store), and never again. */
	const char *shown = cs_str(c, secret);
	sodium_memzero(secret, sizeof(secret));
	return hooks_page(c, 201, shown);
}

static int add_delivery_row(void *ctx, const struct delivery *d)
{
	struct cs_rows *r = ctx;
	struct console *c = r->c;
	struct tpl_vars *v = cs_row_next(r);
	if (v == NULL)
		return 1;
	r->last_id = d->id;
	tpl_vars_set(v, "event", cs_str(c, d->event_name));
	tpl_vars_set(v, cs_printf(c, "status_%s", delivery_status_str(d->status)), "1");
	tpl_vars_set(v, "http", d->last_status ? cs_printf(c, "%d", d->last_status) : NULL);
	tpl_vars_set(v, "reply", d->last_error[0] ? cs_str(c, d->last_error) : NULL);
	tpl_vars_set(v, "attempts", cs_printf(c, "%d", d->attempts));
	tpl_vars_set(v, "created", cs_time(c, d->created_at));
	return 0;
}

static int deliveries_page(struct console *c, int64_t id)
{
	struct webhook w;
	const char *err;
	struct cs_rows r;
	int rc = store_webhook_get(c->st, id, &w, &err);
	sodium_memzero(w.secret, sizeof(w.secret));
	if (rc == STORE_ERROR) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	if (rc != STORE_OK || w.org_id != owner_of(c) || w.deleted_at != 0)
		return cs_error(c, 404, "not_found");
	cs_rows_begin(c, &r, CONSOLE_PAGE_ROWS);
	if (store_delivery_list(c->st, id, cs_cursor(c), CONSOLE_PAGE_ROWS, add_delivery_row, &r,
				&err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	cs_rows_end(&r, "rows", 1);
	tpl_vars_set(&c->v, "hook_id", cs_printf(c, "%lld", (long long)id));
	tpl_vars_set(&c->v, "hook_url", cs_str(c, w.url));
	return cs_page(c, 200, "webhook_deliveries");
}

int cs_webhooks(struct console *c, const char *rest)
{
	int post = c->rq->method == HTTP_POST;
	if (c->me.user.role != ROLE_OPERATOR && !cs_admin(c))
		return cs_error(c, 403, "read_only");
	if (rest[0] == '\0')
		return post ? hook_create(c) : hooks_page(c, 200, NULL);
	int64_t id = rest[0] == '/' ? cs_path_id(rest + 1, &rest) : -1;
	if (id < 0 || rest[0] != '\0')
		return cs_error(c, 404, "not_found");
	if (!post)
		return deliveries_page(c, id);
	struct fault f = {0};
	if (webhook_delete(c->st, owner_of(c), id, c->actor, c->rq->now, &f) < 0)
		return cs_fault(c, &f);
	return cs_redirect(c, "/console/webhooks");
}
