/*
 * api_events.c: /api/v1/events and /api/v1/relationships.
 *
 *   GET  /events?since=ID&limit=N   the event log after event ID (0: from
 *                                   the start), oldest first: an admin
 *                                   key's organization's events (either
 *                                   side); the operator's, all of them, or
 *                                   one organization's (?org_id=)
 *   POST /relationships/{id}/end    an admin key of a side that may end it
 *
 * Polling is the other way to hear of changes than webhooks: keep the
 * answer's next_since and ask again with it.
 */
#include <string.h>

#include "invited/api.h"
#include "invited/log.h"
#include "invited/relationship.h"

#define EVENTS_PAGE_MAX 500

struct page {
	json_t *items;
	int64_t last;
};

static int add_event(void *ctx, const struct event *e)
{
	struct page *p = ctx;
	json_t *j = json_pack("{s:I, s:s, s:o, s:o, s:o, s:s, s:s, s:s}", "id", (json_int_t)e->id,
			      "type", e->name, "at", api_time(e->at), "org_id",
			      e->org_id ? json_integer(e->org_id) : json_null(), "peer_org_id",
			      e->peer_org_id ? json_integer(e->peer_org_id) : json_null(),
			      "subject", e->subject, "actor", e->actor, "details", e->details);
	json_array_append_new(p->items, j);
	p->last = e->id;
	return 0;
}

static int id_query(struct api_call *call, const char *name, int zero_ok, int64_t *out,
		    struct fault *f)
{
	const char *q = http_query(call->rq, name);
	if (q == NULL)
		return 0;
	*out = zero_ok && strcmp(q, "0") == 0 ? 0 : api_parse_id(q, strlen(q));
	if (*out < 0)
		return fault_set(f, 400, "invalid_query", name,
				 errorf("%s must be an event or organization id", name));
	return 1;
}

static int list(struct api_call *call, struct fault *f)
{
	struct event_filter ef = {.oldest_first = 1, .limit = 100};
	int64_t n = 100, org = 0;
	const char *err;
	if (call->caller.role != ROLE_OPERATOR && api_need_org(call, 1, f) < 0)
		return -1;
	if (id_query(call, "since", 1, &ef.since_id, f) < 0 ||
	    id_query(call, "limit", 0, &n, f) < 0 || id_query(call, "org_id", 0, &org, f) < 0)
		return -1;
	if (n < 1 || n > EVENTS_PAGE_MAX)
		return fault_set(f, 400, "invalid_query", "limit",
				 errorf("limit must be between 1 and %d", EVENTS_PAGE_MAX));
	if (call->caller.role == ROLE_OPERATOR)
		ef.org_id = org;
	else if (org != 0 && org != call->caller.org_id)
		return fault_set(f, 400, "invalid_query", "org_id",
				 "an organization's key reads its own events");
	else
		ef.org_id = call->caller.org_id;
	ef.limit = (int)n;
	struct page p = {json_array(), ef.since_id};
	if (store_event_list(call->st, &ef, add_event, &p, &err) != STORE_OK) {
		json_decref(p.items);
		return fault_internal(f, err);
	}
	return http_respond_json(call->rq, 200,
				 json_pack("{s:o, s:I}", "items", p.items, "next_since",
					   (json_int_t)p.last));
}

int api_events(struct api_call *call, const char *rest)
{
	struct fault f = {0};
	int rc;
	if (rest[0] != '\0')
		rc = fault_set(&f, 404, "not_found", NULL, "no such resource");
	else if (call->rq->method != HTTP_GET)
		rc = api_not_allowed(call, "GET", &f);
	else
		rc = list(call, &f);
	return rc < 0 ? http_respond_fault(call->rq, &f) : rc;
}

int api_relationships(struct api_call *call, const char *rest)
{
	struct fault f = {0};
	struct org me;
	const char *err;
	int rc = -1;
	const char *slash = rest[0] == '/' ? strchr(rest + 1, '/') : NULL;
	int64_t id = slash ? api_parse_id(rest + 1, (size_t)(slash - rest - 1)) : -1;
	if (id <= 0 || strcmp(slash, "/end") != 0)
		fault_set(&f, 404, "not_found", NULL, "no such resource");
	else if (call->rq->method != HTTP_POST)
		api_not_allowed(call, "POST", &f);
	else if (api_need_org(call, 1, &f) < 0)
		;
	else if (store_org_get(call->st, call->caller.org_id, &me, &err) != STORE_OK)
		fault_internal(&f, err);
	else {
		struct app *app = call->rq->app;
		struct inv_env env = {call->st, app_keys(app), &app->mailer,
				      app->cfg.tokens.invitation_lifetime, call->rq->now,
				      call->caller.actor};
		if (relationship_end_by_id(&env, &me, id, &f) == 0) {
			app_kick_outbox(app);
			rc = http_respond_json(call->rq, 200,
					       json_pack("{s:I, s:s}", "id", (json_int_t)id,
							 "status", "ended"));
		}
	}
	return rc < 0 ? http_respond_fault(call->rq, &f) : rc;
}
