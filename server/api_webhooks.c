/*
 * api_webhooks.c: /api/v1/webhooks, the endpoints events are delivered
 * to (see webhook.h), for an organization's admin keys and the operator's
 * (whose endpoints get every event).
 *
 *   POST   /webhooks                  {url, events?: ["invitation.accepted",
 *                                      "relationship.*"]}: 201 with the
 *                                      secret, shown this once
 *   GET    /webhooks                  the live endpoints (no secrets)
 *   GET    /webhooks/{id}/deliveries  newest first, with each one's last
 *                                      HTTP status and reply (?limit, ?cursor)
 *   DELETE /webhooks/{id}             its pending deliveries fail
 */
#include <sodium.h>
#include <string.h>

#include "invited/api.h"
#include "invited/log.h"
#include "invited/webhook.h"

/* The endpoints' owner: the caller's organization, or 0 for the operator. */
static int owner(struct api_call *call, int64_t *org_r, struct fault *f)
{
	if (call->caller.role == ROLE_OPERATOR) {
		*org_r = 0;
		return 0;
	}
	if (api_need_org(call, 1, f) < 0)
		return -1;
	*org_r = call->caller.org_id;
	return 0;
}

static json_t *events_json(const char *list)
{
	json_t *a = json_array();
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, n));
		p += n + (p[n] == ',');
	}
	return a;
}

static json_t *webhook_json(const struct webhook *w)
{
	return json_pack("{s:I, s:s, s:o, s:o}", "id", (json_int_t)w->id, "url", w->url, "events",
			 events_json(w->events), "created_at", api_time(w->created_at));
}

/* events: an array of strings, joined with commas; absent: every event. */
static int events_of(json_t *body, char *out, size_t size, struct fault *f)
{
	json_t *a = json_object_get(body, "events");
	size_t i, len = 0;
	json_t *v;
	out[0] = '\0';
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return fault_set(f, 422, "invalid_field", "events",
				 "events must be an array of event names");
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		size_t n = s ? strlen(s) : 0;
		if (s == NULL || n == 0 || strchr(s, ',') != NULL)
			return fault_set(f, 422, "invalid_field", "events",
					 "each of events must be an event name");
		if (len + n + 2 > size)
			return fault_set(f, 422, "invalid_field", "events",
					 errorf("events must be at most %d bytes in all",
						MAX_WEBHOOK_EVENTS));
		len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "," : "", s);
	}
	return 0;
}

static int create(struct api_call *call, int64_t org, struct fault *f)
{
	static const char *const fields[] = {"url", "events", NULL};
	const char *url = NULL;
	char events[MAX_WEBHOOK_EVENTS + 2], secret[WEBHOOK_SECRET_TEXT_LEN + 1];
	struct webhook w;
	json_t *body = api_body(call, f);
	if (body == NULL)
		return -1;
	int ok = api_known_fields(body, fields, f) == 0 &&
		 api_string(body, "url", MAX_URL_LEN, 1, &url, f) == 0 &&
		 events_of(body, events, sizeof(events), f) == 0 &&
		 webhook_create(call->st, &call->rq->app->cfg.webhooks, org, url, events,
				call->caller.actor, call->rq->now, &w, f) == 0;
	json_decref(body);
	if (!ok)
		return -1;
	webhook_secret_text(w.secret, secret);
	sodium_memzero(w.secret, sizeof(w.secret));
	json_t *j = webhook_json(&w);
	/* The secret is in this answer (no-store) and never again. */
	json_object_set_new(j, "secret", json_string(secret));
	sodium_memzero(secret, sizeof(secret));
	return http_respond_json(call->rq, 201, j);
}

static int add_webhook(void *ctx, const struct webhook *w)
{
	json_array_append_new(ctx, webhook_json(w));
	return 0;
}

static int list(struct api_call *call, int64_t org, struct fault *f)
{
	const char *err;
	json_t *items = json_array();
	if (store_webhook_list(call->st, org, add_webhook, items, &err) != STORE_OK) {
		json_decref(items);
		return fault_internal(f, err);
	}
	return http_respond_json(call->rq, 200, json_pack("{s:o}", "items", items));
}

struct page {
	json_t *items;
	int64_t last;
};

static int add_delivery(void *ctx, const struct delivery *d)
{
	struct page *p = ctx;
	json_array_append_new(
		p->items,
		json_pack("{s:I, s:I, s:s, s:s, s:i, s:o, s:s, s:o, s:o, s:o}", "id",
			  (json_int_t)d->id, "event_id", (json_int_t)d->event_id, "type",
			  d->event_name, "status", delivery_status_str(d->status), "attempts",
			  d->attempts, "http_status",
			  d->last_status ? json_integer(d->last_status) : json_null(), "reply",
			  d->last_error, "next_attempt_at",
			  d->status == DELIVERY_PENDING ? api_time(d->next_attempt_at) : json_null(),
			  "created_at", api_time(d->created_at), "done_at",
			  d->done_at ? api_time(d->done_at) : json_null()));
	p->last = d->id;
	return 0;
}

static int deliveries(struct api_call *call, int64_t org, int64_t id, struct fault *f)
{
	struct webhook w;
	const char *err;
	int limit;
	int64_t cursor;
	if (api_page(call, &limit, &cursor, f) < 0)
		return -1;
	int rc = store_webhook_get(call->st, id, &w, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	sodium_memzero(w.secret, sizeof(w.secret));
	if (rc != STORE_OK || w.org_id != org)
		return fault_set(f, 404, "not_found", NULL, "no such webhook");
	struct page p = {json_array(), 0};
	if (store_delivery_list(call->st, id, cursor, limit, add_delivery, &p, &err) != STORE_OK) {
		json_decref(p.items);
		return fault_internal(f, err);
	}
	return http_respond_json(call->rq, 200, api_page_result(p.items, limit, p.last));
}

int api_webhooks(struct api_call *call, const char *rest)
{
	struct fault f = {0};
	enum http_method m = call->rq->method;
	int64_t org = 0, id = -1;
	int rc = owner(call, &org, &f);
	const char *tail = "";
	if (rc == 0 && rest[0] == '/') {
		size_t n = strcspn(rest + 1, "/");
		id = api_parse_id(rest + 1, n);
		tail = rest + 1 + n;
	}
	if (rc < 0)
		;
	else if (rest[0] == '\0')
		rc = m == HTTP_GET    ? list(call, org, &f)
		     : m == HTTP_POST ? create(call, org, &f)
				      : api_not_allowed(call, "GET, POST", &f);
	else if (id <= 0)
		rc = fault_set(&f, 404, "not_found", NULL, "no such webhook");
	else if (strcmp(tail, "/deliveries") == 0)
		rc = m == HTTP_GET ? deliveries(call, org, id, &f)
				   : api_not_allowed(call, "GET", &f);
	else if (tail[0] != '\0')
		rc = fault_set(&f, 404, "not_found", NULL, "no such resource");
	else if (m != HTTP_DELETE)
		rc = api_not_allowed(call, "DELETE", &f);
	else if ((rc = webhook_delete(call->st, org, id, call->caller.actor, call->rq->now, &f)) ==
		 0)
		rc = http_respond(call->rq, 204, "application/json", NULL, 0);
	return rc < 0 ? http_respond_fault(call->rq, &f) : rc;
}
