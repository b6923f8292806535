/*
 * api_enrollments.c: /api/v1/enrollments and the operator's review
 * decisions on /api/v1/orgs/{id}/approve|reject|suspend.
 *
 *   POST /enrollments                          anyone, rate limited
 *   POST /enrollments/{id}/resend-verification anyone, rate limited
 *   GET  /enrollments?status=                  operator
 *
 * Enrolling needs no key, so it is limited per client address. The JSON
 * is only shaped here (types, unknown fields); every rule on the values is
 * the verifier's (enroll_check).
 */
#include <string.h>

#include "invited/api.h"
#include "invited/log.h"
#include "invited/ratelimit.h"
#include "invited/verify.h"

/* Big enough never to cut a value the verifier should judge by length. */
#define SHAPE_MAX (MAX_JSON_BODY)

/* A string member of a nested object, its fault naming "parent.name". */
static int member(json_t *obj, const char *parent, const char *name, const char **out,
		  struct fault *f)
{
	if (api_string(obj, name, SHAPE_MAX, 0, out, f) == 0)
		return 0;
	f->field = errorf("%s.%s", parent, name);
	f->message = errorf("%s.%s must be a string", parent, name);
	return -1;
}

/* An optional object member; NULL when absent. */
static int object(json_t *body, const char *name, json_t **out, struct fault *f)
{
	*out = json_object_get(body, name);
	if (*out == NULL || json_is_null(*out)) {
		*out = NULL;
		return 0;
	}
	if (!json_is_object(*out))
		return fault_set(f, 422, "invalid_field", name, errorf("%s must be an object", name));
	return 0;
}

static int read_domains(json_t *body, struct enroll_request *req, struct fault *f)
{
	json_t *a = json_object_get(body, "domains");
	size_t i;
	json_t *v;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return fault_set(f, 422, "invalid_field", "domains",
				 "domains must be an array of domain names");
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v))
			return fault_set(f, 422, "invalid_field", errorf("domains[%zu]", i),
					 errorf("domains[%zu] must be a string", i));
		if (req->n_domains <= MAX_DOMAINS)
			req->domains[req->n_domains++] = json_string_value(v);
	}
	return 0;
}

static int read_request(json_t *body, struct enroll_request *req, struct fault *f)
{
	static const char *const fields[] = {"kind",	"legal_name",	   "address",
					     "country", "partner_id",	   "domains",
					     "locale",	"primary_contact", "support_contact",
					     NULL};
	static const char *const contact_fields[] = {"name", "email", "phone", NULL};
	static const char *const support_fields[] = {"email", "phone", "url", NULL};
	json_t *pc, *sc;
	memset(req, 0, sizeof(*req));
	if (api_known_fields(body, fields, f) < 0 ||
	    api_string(body, "kind", SHAPE_MAX, 0, &req->kind, f) < 0 ||
	    api_string(body, "legal_name", SHAPE_MAX, 0, &req->legal_name, f) < 0 ||
	    api_string(body, "address", SHAPE_MAX, 0, &req->address, f) < 0 ||
	    api_string(body, "country", SHAPE_MAX, 0, &req->country, f) < 0 ||
	    api_string(body, "partner_id", SHAPE_MAX, 0, &req->partner_id, f) < 0 ||
	    api_string(body, "locale", SHAPE_MAX, 0, &req->locale, f) < 0 ||
	    read_domains(body, req, f) < 0 || object(body, "primary_contact", &pc, f) < 0 ||
	    object(body, "support_contact", &sc, f) < 0)
		return -1;
	if (pc == NULL)
		return fault_set(f, 422, "missing_field", "primary_contact",
				 "primary_contact is required: name, email and phone");
	if (api_known_fields(pc, contact_fields, f) < 0) {
		f->field = errorf("primary_contact.%s", f->field);
		return -1;
	}
	if (member(pc, "primary_contact", "name", &req->contact_name, f) < 0 ||
	    member(pc, "primary_contact", "email", &req->contact_email, f) < 0 ||
	    member(pc, "primary_contact", "phone", &req->contact_phone, f) < 0)
		return -1;
	if (sc != NULL) {
		if (api_known_fields(sc, support_fields, f) < 0) {
			f->field = errorf("support_contact.%s", f->field);
			return -1;
		}
		if (member(sc, "support_contact", "email", &req->support_email, f) < 0 ||
		    member(sc, "support_contact", "phone", &req->support_phone, f) < 0 ||
		    member(sc, "support_contact", "url", &req->support_url, f) < 0)
			return -1;
	}
	return 0;
}

/* Count the request against the client's allowance; 429 when over. */
static int limited(struct api_call *call, struct fault *f)
{
	int64_t wait = rate_limiter_take(call->rq->app->enroll_limit, call->rq->client,
					 call->rq->now);
	if (wait == 0)
		return 0;
	call->rq->retry_after = wait;
	return fault_set(f, 429, "rate_limited", NULL,
			 errorf("too many enrollment requests from your address; retry in "
				"%lld seconds",
				(long long)wait));
}

static int enroll(struct api_call *call, struct fault *f)
{
	struct enroll_request req;
	struct verifier_env env;
	struct org o;
	struct verification v;
	const char *err;
	json_t *body = api_body(call, f);
	if (body == NULL)
		return -1;
	int rc = read_request(body, &req, f);
	if (rc == 0) {
		app_verifier_env(call->rq->app, call->st, call->rq->now,
				 errorf("enroll:%s", call->rq->client), &env);
		rc = enroll_create(&env, &req, &o, f);
	}
	json_decref(body);
	if (rc < 0)
		return -1;
	app_kick_outbox(call->rq->app);
	json_t *j = api_org_json(&o);
	if (store_verif_latest(call->st, o.id, &v, &err) == STORE_OK)
		json_object_set_new(j, "verification",
				    json_pack("{s:s, s:o}", "sent_to", v.email, "expires_at",
					      api_time(v.expires_at)));
	return http_respond_json(call->rq, 201, j);
}

/* Anyone may ask, so the answer is the same whatever the id: missing,
 * decided, pending, or asked again too soon (design.md). */
static int resend(struct api_call *call, int64_t id, struct fault *f)
{
	struct verifier_env env;
	int queued;
	app_verifier_env(call->rq->app, call->st, call->rq->now,
			 errorf("enroll:%s", call->rq->client), &env);
	if (verify_resend(&env, id, &queued, f) < 0)
		return -1;
	if (queued)
		app_kick_outbox(call->rq->app);
	return http_respond_json(
		call->rq, 202,
		json_pack("{s:I, s:s}", "id", (json_int_t)id, "status",
			  "if this enrollment waits for its contact to verify, and no "
			  "verification mail was sent to it within the resend interval, a new "
			  "one is on its way and earlier links no longer work"));
}

struct list_ctx {
	json_t *items;
	int64_t last_id;
};

static int add_org(void *ctx, const struct org *o)
{
	struct list_ctx *lc = ctx;
	json_array_append_new(lc->items, api_org_json(o));
	lc->last_id = o->id;
	return 0;
}

/* GET /enrollments?status=&kind=: the operator's review queue. */
static int list(struct api_call *call, struct fault *f)
{
	struct org_filter of = {.status = -1, .enrolled_only = 1};
	enum org_status status;
	enum org_kind kind;
	const char *err, *s = http_query(call->rq, "status"), *k = http_query(call->rq, "kind");
	if (apikey_check(call->st, http_header(call->rq, "Authorization"), &call->caller, f) < 0 ||
	    api_need_operator(call, f) < 0 || api_page(call, &of.limit, &of.before_id, f) < 0)
		return -1;
	if (s != NULL && (org_status_parse(s, &status) < 0 || status == ORG_NO_ENROLLMENT))
		return fault_set(f, 400, "invalid_query", "status",
				 "status must be pending_verification, in_review, approved, "
				 "rejected or suspended");
	if (k != NULL && (org_kind_parse(k, &kind) < 0 || kind == ORG_CUSTOMER))
		return fault_set(f, 400, "invalid_query", "kind", "kind must be provider or reseller");
	of.status = s ? (int)status : -1;
	of.kind = k ? (int)kind : 0;
	struct list_ctx lc = {json_array(), 0};
	if (store_org_list(call->st, &of, add_org, &lc, &err) != STORE_OK) {
		json_decref(lc.items);
		return fault_internal(f, err);
	}
	return http_respond_json(call->rq, 200, api_page_result(lc.items, of.limit, lc.last_id));
}

int api_enrollments(struct api_call *call, const char *rest)
{
	struct fault f = {0};
	enum http_method m = call->rq->method;
	int rc;
	if (rest[0] == '\0' && m == HTTP_POST)
		rc = limited(call, &f) < 0 ? -1 : enroll(call, &f);
	else if (rest[0] == '\0' && m == HTTP_GET)
		rc = list(call, &f);
	else if (rest[0] == '\0')
		rc = api_not_allowed(call, "GET, POST", &f);
	else {
		const char *slash = strchr(rest + 1, '/');
		int64_t id = slash ? api_parse_id(rest + 1, (size_t)(slash - rest - 1)) : -1;
		if (id < 0 || strcmp(slash, "/resend-verification") != 0)
			rc = fault_set(&f, 404, "not_found", NULL, "no such resource");
		else if (m != HTTP_POST)
			rc = api_not_allowed(call, "POST", &f);
		else
			rc = limited(call, &f) < 0 ? -1 : resend(call, id, &f);
	}
	return rc < 0 ? http_respond_fault(call->rq, &f) : rc;
}

/* POST /orgs/{id}/approve|reject|suspend {"reason": …}, operator only. */
int api_org_review(struct api_call *call, struct org *o, const char *verb, struct fault *f)
{
	static const char *const fields[] = {"reason", NULL};
	enum review_action action;
	struct verifier_env env;
	const char *reason;
	struct org after;
	if (review_action_parse(verb, &action) < 0)
		return fault_set(f, 404, "not_found", NULL, "no such resource");
	if (api_need_operator(call, f) < 0)
		return -1;
	json_t *body = call->rq->body_len > 0 ? api_body(call, f) : json_object();
	if (body == NULL)
		return -1;
	int rc = api_known_fields(body, fields, f) < 0 ||
				 api_string(body, "reason", SHAPE_MAX, 0, &reason, f) < 0
			 ? -1
			 : 0;
	if (rc == 0) {
		app_verifier_env(call->rq->app, call->st, call->rq->now, call->caller.actor, &env);
		rc = enroll_review(&env, o->id, action, reason, &after, f);
	}
	json_decref(body);
	if (rc < 0)
		return -1;
	app_kick_outbox(call->rq->app);
	return http_respond_json(call->rq, 200, api_org_json(&after));
}
