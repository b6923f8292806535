/*
 * api.c: the /api/v1 entry: authentication, routing to the resource
 * handlers, JSON input checks shared by all of them, and the small
 * endpoints (health, metrics, public keys).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "invited/api.h"
#include "invited/log.h"
#include "invited/rfc3339.h"
#include "invited/text.h"

json_t *api_body(struct api_call *call, struct fault *f)
{
	json_error_t jerr;
	struct request *rq = call->rq;
	if (rq->body == NULL || rq->body_len == 0) {
		fault_set(f, 400, "bad_json", NULL, "the request needs a JSON object body");
		return NULL;
	}
	json_t *j = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		fault_set(f, 400, "bad_json", NULL,
			  errorf("the body is not valid JSON: %s (line %d, column %d)",
				 jerr.text, jerr.line, jerr.column));
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		fault_set(f, 400, "bad_json", NULL, "the body must be a JSON object");
		return NULL;
	}
	return j;
}

int api_not_allowed(struct api_call *call, const char *allow, struct fault *f)
{
	call->rq->allow = allow;
	return fault_set(f, 405, "method_not_allowed", NULL,
			 errorf("this resource answers %s only", allow));
}

int api_known_fields(json_t *body, const char *const *names, struct fault *f)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		int known = 0;
		for (const char *const *n = names; *n != NULL && !known; n++)
			known = strcmp(*n, key) == 0;
		if (!known) /* the key dies with the body: keep a copy */
			return fault_set(f, 422, "unknown_field", errorf("%.64s", key),
					 errorf("unknown field \"%.64s\"", key));
	}
	return 0;
}

int api_string(json_t *body, const char *name, size_t max, int required,
	       const char **out, struct fault *f)
{
	json_t *v = json_object_get(body, name);
	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return fault_set(f, 422, "missing_field", name,
					 errorf("%s is required", name));
		return 0;
	}
	if (!json_is_string(v))
		return fault_set(f, 422, "invalid_field", name,
				 errorf("%s must be a string", name));
	if (json_string_length(v) > max)
		return fault_set(f, 422, "too_long", name,
				 errorf("%s is longer than %zu bytes", name, max));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fault_set(f, 422, "invalid_field", name,
				 errorf("%s must not contain NUL characters", name));
	*out = json_string_value(v);
	if (required && (*out)[0] == '\0')
		return fault_set(f, 422, "missing_field", name, errorf("%s is required", name));
	return 0;
}

int api_id(json_t *body, const char *name, int64_t *out, struct fault *f)
{
	json_t *v = json_object_get(body, name);
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return fault_set(f, 422, "invalid_field", name,
				 errorf("%s must be a positive integer id", name));
	*out = json_integer_value(v);
	return 0;
}

int64_t api_parse_id(const char *s, size_t len)
{
	int64_t v = 0;
	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v > 0 ? v : -1;
}

int api_page(struct api_call *call, int *limit_r, int64_t *cursor_r, struct fault *f)
{
	const char *limit = http_query(call->rq, "limit");
	const char *cursor = http_query(call->rq, "cursor");
	*limit_r = 50;
	*cursor_r = 0;
	if (limit != NULL) {
		int64_t n = api_parse_id(limit, strlen(limit));
		if (n < 1 || n > 500)
			return fault_set(f, 400, "invalid_query", "limit",
					 "limit must be between 1 and 500");
		*limit_r = (int)n;
	}
	if (cursor != NULL && (*cursor_r = api_parse_id(cursor, strlen(cursor))) < 0)
		return fault_set(f, 400, "invalid_query", "cursor", "cursor is not valid");
	return 0;
}

json_t *api_page_result(json_t *items, int limit, int64_t last_id)
{
	json_t *next = json_null();
	if (json_array_size(items) == (size_t)limit && last_id > 0) {
		char cursor[24];
		snprintf(cursor, sizeof(cursor), "%lld", (long long)last_id);
		next = json_string(cursor);
	}
	return json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
}

int api_need_org(struct api_call *call, int admin, struct fault *f)
{
	if (call->caller.org_id == 0)
		return fault_set(f, 403, "forbidden", NULL,
				 "this needs an organization's API key");
	if (admin && call->caller.role != ROLE_ADMIN_AGENT)
		return fault_set(f, 403, "forbidden", NULL,
				 "this needs an admin_agent API key");
	return 0;
}

int api_need_operator(struct api_call *call, struct fault *f)
{
	if (call->caller.role != ROLE_OPERATOR)
		return fault_set(f, 403, "forbidden", NULL, "this needs the operator's API key");
	return 0;
}

json_t *api_time(int64_t t)
{
	char buf[RFC3339_LEN + 1];
	return t > 0 ? json_string(rfc3339_format(t, buf)) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

json_t *api_org_summary(const struct org *o)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:o, s:{s:o, s:o}}", "id", (json_int_t)o->id,
			 "kind", org_kind_str(o->kind), "legal_name", o->legal_name,
			 "country", str_or_null(o->country), "partner_id",
			 str_or_null(o->partner_id), "primary_contact", "name",
			 str_or_null(o->contact_name), "email", str_or_null(o->contact_email));
}

/* Each listed domain's proof: its state, how it was proven, and the TXT
 * record that would prove it. */
static json_t *domain_proofs(const struct org *o)
{
	json_t *a = json_array();
	for (size_t i = 0; i < o->n_domains; i++) {
		const struct domain_proof *p = &o->proofs[i];
		struct domain_record txt;
		domain_txt_of(o->domains[i], p->token, &txt);
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:o}", "domain", o->domains[i],
				     "state", domain_state_str(p->state), "method",
				     p->method[0] ? json_string(p->method) : json_null(), "txt", "name",
				     txt.name, "value", txt.value, "checked_at", api_time(p->checked_at)));
	}
	return a;
}

json_t *api_org_json(const struct org *o)
{
	json_t *domains = json_array();
	for (size_t i = 0; i < o->n_domains; i++)
		json_array_append_new(domains, json_string(o->domains[i]));
	json_t *j = json_pack(
		"{s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o, s:b},"
		" s:{s:o, s:o, s:o}, s:o, s:o, s:s, s:o, s:o}",
		"id", (json_int_t)o->id, "kind", org_kind_str(o->kind), "legal_name",
		o->legal_name, "address", str_or_null(o->address), "country",
		str_or_null(o->country), "partner_id", str_or_null(o->partner_id),
		"domains", domains, "primary_contact", "name", str_or_null(o->contact_name),
		"email", str_or_null(o->contact_email), "phone", str_or_null(o->contact_phone),
		"verified", o->contact_verified, "support_contact", "email",
		str_or_null(o->support_email), "phone", str_or_null(o->support_phone), "url",
		str_or_null(o->support_url), "enrollment_status",
		o->kind == ORG_CUSTOMER ? json_null() : json_string(org_status_str(o->status)),
		"status_reason", str_or_null(o->status_reason), "locale", o->locale,
		"created_at", api_time(o->created_at), "updated_at", api_time(o->updated_at));
	json_object_set_new(j, "domain_proofs", domain_proofs(o));
	return j;
}

/* The length of url's origin: "https://x.example:8443" of
 * "https://x.example:8443/invited". */
static size_t origin_len(const char *url)
{
	const char *host = strstr(url, "://");
	return host == NULL ? 0 : (size_t)(host + 3 - url) + strcspn(host + 3, "/?#");
}

/* origin (an Origin header) is public_url's: scheme, host and port, the
 * default port written or not. */
static int same_origin(const char *origin, const char *public_url)
{
	size_t ol = strlen(origin), pl = origin_len(public_url);
	const char *port = strncasecmp(public_url, "https:", 6) == 0 ? ":443" : ":80";
	if (ol == pl)
		return strncasecmp(origin, public_url, pl) == 0;
	if (ol == pl + strlen(port)) /* "https://x:443" for "https://x" */
		return strncasecmp(origin, public_url, pl) == 0 && strcmp(origin + pl, port) == 0;
	if (pl == ol + strlen(port))
		return strncasecmp(origin, public_url, ol) == 0 &&
		       strncmp(public_url + ol, port, strlen(port)) == 0;
	return 0;
}

/* "application/json", with parameters (charset) or none. */
static int is_json(const char *content_type)
{
	if (content_type == NULL)
		return 0;
	size_t n = strcspn(content_type, "; \t");
	return n == 16 && strncasecmp(content_type, "application/json", 16) == 0;
}

/*
 * What a web page of another site can make its visitors' browsers send
 * without asking (no CORS preflight): a form or text/plain body, or any
 * request carrying its own Origin. The API is for servers, which send
 * neither: a body must be JSON (415), and an Origin must be ours (403).
 */
static int cross_site(struct request *rq, struct fault *f)
{
	const char *origin = http_header(rq, "Origin");
	if (origin != NULL && !same_origin(origin, rq->app->cfg.server.public_url))
		return fault_set(f, 403, "cross_origin", NULL,
				 "the API does not answer web pages of other sites (this request "
				 "came with a foreign Origin); call it from a server");
	if (rq->body_len > 0 && !is_json(http_header(rq, "Content-Type")))
		return fault_set(f, 415, "unsupported_media_type", NULL,
				 "the request body must be sent as Content-Type: application/json");
	return 0;
}

/*
 * An organization's key writes only while the organization is approved
 * (customers, which do not enroll, always): a pending, rejected or
 * suspended one's keys read, and its invitations, users, keys and hooks
 * stay as they are until the operator acts (SPEC "Who may accept").
 */
static int writes_allowed(struct api_call *call, struct fault *f)
{
	struct org o;
	const char *err;
	enum http_method m = call->rq->method;
	if (call->caller.org_id == 0 || m == HTTP_GET || m == HTTP_HEAD)
		return 0;
	int rc = store_org_get(call->st, call->caller.org_id, &o, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	if (rc == STORE_OK && (o.kind == ORG_CUSTOMER || o.status == ORG_APPROVED))
		return 0;
	return fault_set(f, 403, "org_not_approved", NULL,
			 errorf("your organization is %s: its keys can read but not change "
				"anything until it is approved again",
				rc == STORE_OK ? org_status_str(o.status) : "gone"));
}

int api_route(struct request *rq, const char *rest)
{
	struct fault f = {0};
	struct api_call call = {.rq = rq};
	const char *err;
	int ret;

	if (cross_site(rq, &f) < 0)
		return http_respond_fault(rq, &f);

	if ((call.st = app_store(rq->app, &err)) == NULL) {
		msg_error("api: %s", err);
		fault_internal(&f, NULL);
		return http_respond_fault(rq, &f);
	}
	if (strncmp(rest, "enrollments", 11) == 0 && (rest[11] == '\0' || rest[11] == '/'))
		return api_enrollments(&call, rest + 11);
	if (apikey_check(call.st, http_header(rq, "Authorization"), &call.caller, &f) < 0 ||
	    writes_allowed(&call, &f) < 0)
		return http_respond_fault(rq, &f);
	if (strncmp(rest, "invitations", 11) == 0 && (rest[11] == '\0' || rest[11] == '/'))
		ret = api_invitations(&call, rest + 11);
	else if (strncmp(rest, "orgs/", 5) == 0)
		ret = api_orgs(&call, rest + 5);
	else if (strncmp(rest, "users", 5) == 0 && (rest[5] == '\0' || rest[5] == '/'))
		ret = api_users(&call, rest + 5);
	else if (strncmp(rest, "events", 6) == 0 && (rest[6] == '\0' || rest[6] == '/'))
		ret = api_events(&call, rest + 6);
	else if (strncmp(rest, "webhooks", 8) == 0 && (rest[8] == '\0' || rest[8] == '/'))
		ret = api_webhooks(&call, rest + 8);
	else if (strncmp(rest, "apikeys", 7) == 0 && (rest[7] == '\0' || rest[7] == '/'))
		ret = api_apikeys(&call, rest + 7);
	else if (strncmp(rest, "relationships/", 14) == 0)
		ret = api_relationships(&call, rest + 13);
	else
		ret = http_respond_fault(rq, &(struct fault){404, "not_found", NULL,
							       "no such resource"});
	return ret;
}

int api_health(struct request *rq)
{
	return http_respond_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}

static json_t *when(int64_t at)
{
	return at > 0 ? api_time(at) : json_null();
}

int api_ready(struct request *rq)
{
	struct app *app = rq->app;
	const char *err = NULL;
	struct store *st = app_store(app, &err);
	int store_ok = st != NULL && store_ping(st, &err) == 0;
	int64_t ok_at = app->smtp_ok_at, failed_at = app->smtp_failed_at;
	char smtp_error[sizeof(app->smtp_error)], imap_error[sizeof(app->imap_error)];
	pthread_mutex_lock(&app->state_lock);
	memcpy(smtp_error, app->smtp_error, sizeof(smtp_error));
	memcpy(imap_error, app->imap_error, sizeof(imap_error));
	pthread_mutex_unlock(&app->state_lock);
	const char *smtp = ok_at == 0 && failed_at == 0 ? "unknown"
			   : failed_at > ok_at		   ? "failing"
							   : "ok";
	json_t *j = json_pack("{s:s, s:s, s:{s:s, s:o, s:o, s:s?}, s:{s:b}}", "status",
			      store_ok ? "ready" : "unready", "store",
			      store_ok ? "ok" : "unusable", "smtp", "state", smtp, "last_ok",
			      when(ok_at), "last_failure", when(failed_at), "error",
			      failed_at > ok_at ? smtp_error : NULL, "imap", "enabled",
			      app->cfg.imap.enabled);
	if (app->cfg.imap.enabled) {
		json_t *imap = json_object_get(j, "imap");
		json_object_set_new(imap, "connected", json_boolean(app->imap_connected));
		json_object_set_new(imap, "last_pass", when(app->imap_pass_at));
		if (!app->imap_connected && imap_error[0])
			json_object_set_new(imap, "error", json_string(imap_error));
	}
	if (!store_ok)
		msg_error("readyz: the store: %s", err ? err : "unusable");
	return http_respond_json(rq, store_ok ? 200 : 503, j);
}

int api_public_keys(struct request *rq)
{
	char *body = keyring_public_json(app_keys(rq->app));
	if (body == NULL)
		return http_respond_fault(rq, &(struct fault){500, "internal", NULL,
							       "cannot list keys"});
	return http_respond(rq, 200, "application/json", body, strlen(body));
}

int api_metrics(struct request *rq)
{
	struct fault f = {0};
	struct api_call call = {.rq = rq};
	const char *err = NULL;
	char *buf;
	size_t len;

	if ((call.st = app_store(rq->app, &err)) == NULL) {
		msg_error("metrics: %s", err); /* the details are the operator's, not the client's */
		fault_internal(&f, NULL);
		return http_respond_fault(rq, &f);
	}
	if (apikey_check(call.st, http_header(rq, "Authorization"), &call.caller, &f) < 0 ||
	    api_need_operator(&call, &f) < 0)
		return http_respond_fault(rq, &f);
	FILE *out = open_memstream(&buf, &len);
	if (out == NULL)
		return http_respond_fault(rq, &(struct fault){500, "internal", NULL, "out of memory"});
	int rc = metrics_write(rq->app, call.st, out, &err);
	fclose(out);
	if (rc < 0) {
		free(buf);
		msg_error("metrics: %s", err);
		return http_respond_fault(rq, &(struct fault){500, "internal", NULL, "internal error"});
	}
	return http_respond(rq, 200, "text/plain; version=0.0.4", buf, len);
}
