/*
 * api_orgs.c: /api/v1/orgs/{id} and its relationship lists. An
 * organization sees only itself; the operator sees every organization.
 */
#include <string.h>

#include "invited/api.h"
#include "invited/domains.h"
#include "invited/log.h"

/* The org at id, if the caller may see it; 404 otherwise (an org's key
 * must not learn which other ids exist). */
static int load_visible(struct api_call *call, int64_t id, struct org *o, struct fault *f)
{
	const char *err;
	if (call->caller.role != ROLE_OPERATOR && call->caller.org_id != id)
		return fault_set(f, 404, "not_found", NULL, "no such organization");
	int rc = store_org_get(call->st, id, o, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	if (rc != STORE_OK)
		return fault_set(f, 404, "not_found", NULL, "no such organization");
	return 0;
}

struct rel_ctx {
	json_t *items;
	int64_t last_id;
};

static int add_rel(void *ctx, const struct relationship *r, const struct org *other)
{
	struct rel_ctx *rc = ctx;
	json_array_append_new(rc->items,
			      json_pack("{s:I, s:s, s:o, s:o}", "relationship_id",
					(json_int_t)r->id, "kind", rel_kind_str(r->kind),
					"since", api_time(r->created_at), "org",
					api_org_summary(other)));
	rc->last_id = r->id;
	return 0;
}

/* ?<name>= an org id, or 0 when absent. */
static int query_id(struct api_call *call, const char *name, int64_t *id_r, struct fault *f)
{
	const char *v = http_query(call->rq, name);
	*id_r = 0;
	if (v != NULL && (*id_r = api_parse_id(v, strlen(v))) < 0)
		return fault_set(f, 400, "invalid_query", name, errorf("%s must be an org id", name));
	return 0;
}

/* The customers shared with a partner are shown only while the two are in
 * an active indirect-provider relationship: a list must not tell anyone
 * whom another organization serves. The operator sees every pair. */
static int shared_with_partner(struct api_call *call, const struct org *o,
			       int64_t provider, int64_t reseller, struct fault *f)
{
	const char *err = NULL;
	if (call->caller.org_id == 0)
		return 0;
	int rc = provider ? store_rel_active(call->st, REL_INDIRECT_PROVIDER, provider,
					     o->id, &err)
			  : store_rel_active(call->st, REL_INDIRECT_PROVIDER, o->id,
					     reseller, &err);
	if (rc == STORE_ERROR)
		return fault_internal(f, err);
	if (rc != STORE_OK) /* as for an id that does not exist: no oracle */
		return fault_set(f, 404, "not_found", provider ? "provider_id" : "reseller_id",
				 "none of your active indirect-provider partners has that id");
	return 0;
}

static int is_review_verb(const char *verb)
{
	enum review_action a;
	return review_action_parse(verb, &a) == 0;
}

static int list_rel(struct api_call *call, const struct org *o, const char *what,
		    struct fault *f)
{
	struct rel_filter rf = {.org_id = o->id};
	const char *err;
	if (api_page(call, &rf.limit, &rf.before_id, f) < 0)
		return -1;
	if (strcmp(what, "indirect-resellers") == 0) {
		if (o->kind != ORG_PROVIDER)
			return fault_set(f, 400, "wrong_kind", NULL,
					 "only an indirect provider has indirect resellers");
		rf.kind = REL_INDIRECT_PROVIDER;
		rf.side = REL_LIST_DOWN;
	} else if (strcmp(what, "indirect-providers") == 0) {
		if (o->kind != ORG_RESELLER)
			return fault_set(f, 400, "wrong_kind", NULL,
					 "only a reseller has indirect providers");
		rf.kind = REL_INDIRECT_PROVIDER;
		rf.side = REL_LIST_UP;
	} else if (strcmp(what, "customers") == 0) {
		int64_t provider, reseller;
		if (o->kind == ORG_CUSTOMER)
			return fault_set(f, 400, "wrong_kind", NULL, "a customer has no customers");
		if (query_id(call, "provider_id", &provider, f) < 0 ||
		    query_id(call, "reseller_id", &reseller, f) < 0)
			return -1;
		if (provider && o->kind != ORG_RESELLER)
			return fault_set(f, 400, "invalid_query", "provider_id",
					 "provider_id is for a reseller's list");
		if (reseller && o->kind != ORG_PROVIDER)
			return fault_set(f, 400, "invalid_query", "reseller_id",
					 "reseller_id is for a provider's list");
		rf.kind = REL_RESELLER_OF_RECORD;
		rf.side = REL_LIST_DOWN;
		rf.shared_with = provider ? provider : reseller;
		if (rf.shared_with != 0 && shared_with_partner(call, o, provider, reseller, f) < 0)
			return -1;
	} else {
		return fault_set(f, 404, "not_found", NULL, "no such resource");
	}
	struct rel_ctx rc = {json_array(), 0};
	if (store_rel_list(call->st, &rf, add_rel, &rc, &err) != STORE_OK) {
		json_decref(rc.items);
		return fault_internal(f, err);
	}
	return http_respond_json(call->rq, 200, api_page_result(rc.items, rf.limit, rc.last_id));
}

/* POST /orgs/{id}/domains/check: its claimed domains' TXT records are
 * asked at the sweeper's next pass (each at most once a
 * DOMAIN_CHECK_MIN_INTERVAL): DNS may take seconds, which an HTTP thread
 * must not wait. The operator or the organization's admin; 202. */
static int domains_check_soon(struct api_call *call, struct org *o, struct fault *f)
{
	const char *err;
	if (call->caller.org_id != 0 && api_need_org(call, 1, f) < 0)
		return -1;
	if (store_domains_ask(call->st, o->id, call->rq->now - DOMAIN_CHECK_MIN_INTERVAL, &err) !=
	    STORE_OK)
		return fault_internal(f, err);
	return http_respond_json(call->rq, 202, api_org_json(o));
}

int api_orgs(struct api_call *call, const char *rest)
{
	struct fault f = {0};
	struct org o;
	const char *slash = strchr(rest, '/');
	size_t id_len = slash ? (size_t)(slash - rest) : strlen(rest);
	int64_t id = api_parse_id(rest, id_len);
	enum http_method m = call->rq->method;
	int rc;

	if (id < 0)
		rc = fault_set(&f, 404, "not_found", NULL, "no such organization");
	else if (load_visible(call, id, &o, &f) < 0)
		rc = -1;
	else if (slash == NULL)
		rc = m == HTTP_GET ? http_respond_json(call->rq, 200, api_org_json(&o))
				   : api_not_allowed(call, "GET", &f);
	else if (m == HTTP_POST && strcmp(slash + 1, "domains/check") == 0)
		rc = domains_check_soon(call, &o, &f);
	else if (m == HTTP_POST)
		rc = api_org_review(call, &o, slash + 1, &f);
	else if (m == HTTP_GET)
		rc = list_rel(call, &o, slash + 1, &f);
	else
		rc = api_not_allowed(call, is_review_verb(slash + 1) ? "POST" : "GET", &f);
	return rc < 0 ? http_respond_fault(call->rq, &f) : rc;
}
