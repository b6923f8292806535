/*
 * api_apikeys.c: /api/v1/apikeys, an organization's API keys, for its
 * admin keys (the operator's key: the operator's own keys).
 *
 *   GET    /apikeys        the live keys: {id, key_id, role, label, created_at}
 *   DELETE /apikeys/{id}   the key stops working at once (a key may revoke
 *                          itself); another owner's key is 404
 *
 * Keys are made with `invited apikey create` or in the console, where the
 * key is shown once; there is no POST here, so that a leaked key cannot
 * mint others.
 */
#include <string.h>

#include "invited/api.h"
#include "invited/log.h"

static int owner(struct api_call *call, int64_t *org_r, struct fault *f)
{
	*org_r = call->caller.role == ROLE_OPERATOR ? 0 : call->caller.org_id;
	return call->caller.role == ROLE_OPERATOR ? 0 : api_need_org(call, 1, f);
}

static int add_key(void *ctx, const struct apikey *k)
{
	json_array_append_new(ctx, json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)k->id,
					     "key_id", k->key_id, "role", key_role_str(k->role),
					     "label", k->label, "created_at",
					     api_time(k->created_at)));
	return 0;
}

int api_apikeys(struct api_call *call, const char *rest)
{
	struct fault f = {0};
	const char *err;
	int64_t org = 0;
	enum http_method m = call->rq->method;
	int rc = owner(call, &org, &f);
	if (rc < 0)
		;
	else if (rest[0] == '\0' && m == HTTP_GET) {
		json_t *items = json_array();
		if (store_apikey_list(call->st, org, add_key, items, &err) != STORE_OK) {
			json_decref(items);
			rc = fault_internal(&f, err);
		} else {
			rc = http_respond_json(call->rq, 200, json_pack("{s:o}", "items", items));
		}
	} else if (rest[0] == '\0') {
		rc = api_not_allowed(call, "GET", &f);
	} else {
		int64_t id = rest[0] == '/' ? api_parse_id(rest + 1, strlen(rest + 1)) : -1;
		if (id <= 0)
			rc = fault_set(&f, 404, "not_found", NULL, "no such key");
		else if (m != HTTP_DELETE)
			rc = api_not_allowed(call, "DELETE", &f);
		else if (store_begin(call->st, &err) != STORE_OK)
			rc = fault_internal(&f, err);
		else if ((rc = apikey_revoke(call->st, org, id, call->caller.actor, call->rq->now,
					     &err)) != 0 ||
			 store_commit(call->st, &err) != STORE_OK) {
			store_rollback(call->st);
			rc = rc == 1 ? fault_set(&f, 404, "not_found", NULL, "no such key")
				     : fault_internal(&f, err);
		} else {
			rc = http_respond(call->rq, 204, "application/json", NULL, 0);
		}
	}
	return rc < 0 ? http_respond_fault(call->rq, &f) : rc;
}
