/*
 * api_users.c: /api/v1/users, an organization's people, for its API keys.
 *
 *   GET    /users              any key of the organization (the operator:
 *                              ?org_id=)
 *   POST   /users              admin key: {email, name?, role} invites by a
 *                              join_org mail, as the console does
 *   PATCH  /users/{id}         admin key: {role}
 *   DELETE /users/{id}         admin key: the user is removed
 *
 * An admin key acts for the organization: it may change any of its users
 * but never remove or demote its last active admin agent. A user of
 * another organization is 404.
 */
#include <string.h>

#include "invited/api.h"
#include "invited/log.h"
#include "invited/signin.h"
#include "invited/text.h"

static struct inv_env env_of(struct api_call *call)
{
	return (struct inv_env){call->st, app_keys(call->rq->app), &call->rq->app->mailer,
				call->rq->app->cfg.tokens.invitation_lifetime, call->rq->now,
				call->caller.actor};
}

static json_t *user_json(const struct user *u)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)u->id,
			 "org_id", (json_int_t)u->org_id, "email", u->email, "name", u->name,
			 "role", key_role_str(u->role), "status", user_status_str(u->status),
			 "created_at", api_time(u->created_at), "updated_at",
			 api_time(u->updated_at));
}

static int add_user(void *ctx, const struct user *u)
{
	json_array_append_new(ctx, user_json(u));
	return 0;
}

static int list(struct api_call *call, struct fault *f)
{
	const char *q = http_query(call->rq, "org_id"), *err;
	int64_t org = call->caller.org_id;
	if (call->caller.role == ROLE_OPERATOR) {
		if (q == NULL || (org = api_parse_id(q, strlen(q))) <= 0)
			return fault_set(f, 400, "invalid_query", "org_id",
					 "the operator names the organization: ?org_id=");
	} else if (q != NULL) {
		return fault_set(f, 400, "invalid_query", "org_id",
				 "an organization's key lists its own users");
	}
	json_t *items = json_array();
	if (store_user_list(call->st, org, NULL, add_user, items, &err) != STORE_OK) {
		json_decref(items);
		return fault_internal(f, err);
	}
	return http_respond_json(call->rq, 200, json_pack("{s:o}", "items", items));
}

/* The organization behind an admin key, as the one who acts. */
static int acting(struct api_call *call, struct signin_view *by, struct fault *f)
{
	const char *err;
	memset(by, 0, sizeof(*by));
	if (api_need_org(call, 1, f) < 0)
		return -1;
	if (store_org_get(call->st, call->caller.org_id, &by->org, &err) != STORE_OK)
		return fault_internal(f, err);
	/* as for invitations: a suspended, rejected or not yet approved
	 * organization changes nothing (SPEC "Who may accept") */
	if (by->org.kind != ORG_CUSTOMER && by->org.status != ORG_APPROVED)
		return fault_set(f, 403, "org_inactive", NULL,
				 "your organization is not approved now");
	by->user.role = ROLE_ADMIN_AGENT; /* id 0: the key, not a person */
	snprintf(by->user.name, sizeof(by->user.name), "%s", by->org.legal_name);
	snprintf(by->user.email, sizeof(by->user.email), "%s", by->org.contact_email);
	snprintf(by->user.locale, sizeof(by->user.locale), "%s", by->org.locale);
	return 0;
}

static int role_of(json_t *body, enum key_role *role_r, struct fault *f)
{
	const char *role;
	if (api_string(body, "role", 32, 1, &role, f) < 0)
		return -1;
	if (key_role_parse(role, role_r) < 0 || *role_r == ROLE_OPERATOR)
		return fault_set(f, 422, "invalid_field", "role",
				 "role must be admin_agent or sales_agent");
	return 0;
}

static int invite(struct api_call *call, struct fault *f)
{
	static const char *const fields[] = {"email", "name", "role", NULL};
	struct signin_view by;
	struct inv_env env = env_of(call);
	const char *email, *name, *err;
	enum key_role role;
	struct user u;
	if (acting(call, &by, f) < 0)
		return -1;
	json_t *body = api_body(call, f);
	if (body == NULL)
		return -1;
	int ok = api_known_fields(body, fields, f) == 0 &&
		 api_string(body, "email", MAX_EMAIL_LEN, 1, &email, f) == 0 &&
		 api_string(body, "name", MAX_NAME_LEN, 0, &name, f) == 0 &&
		 role_of(body, &role, f) == 0 &&
		 invitations_limited(call->rq, by.org.id, email, 1, f) == 0 &&
		 user_invite(&env, &by, email, name, role, NULL, f) == 0;
	char addr[MAX_EMAIL_LEN + 1];
	if (ok)
		snprintf(addr, sizeof(addr), "%s", email);
	json_decref(body);
	if (!ok)
		return -1;
	ascii_lower(addr);
	if (store_user_by_email(call->st, by.org.id, addr, &u, &err) != STORE_OK)
		return fault_internal(f, err);
	app_kick_outbox(call->rq->app);
	return http_respond_json(call->rq, 201, user_json(&u));
}

static int change(struct api_call *call, int64_t id, int remove, struct fault *f)
{
	static const char *const fields[] = {"role", NULL};
	struct signin_view by;
	struct inv_env env = env_of(call);
	enum key_role role = 0;
	struct user u;
	const char *err;
	if (acting(call, &by, f) < 0)
		return -1;
	if (!remove) {
		json_t *body = api_body(call, f);
		if (body == NULL)
			return -1;
		int ok = api_known_fields(body, fields, f) == 0 && role_of(body, &role, f) == 0;
		json_decref(body);
		if (!ok)
			return -1;
	}
	if (user_change(&env, &by, id, role, remove, f) < 0)
		return -1;
	if (store_user_get(call->st, id, &u, &err) != STORE_OK)
		return fault_internal(f, err);
	return http_respond_json(call->rq, 200, user_json(&u));
}

int api_users(struct api_call *call, const char *rest)
{
	struct fault f = {0};
	enum http_method m = call->rq->method;
	int rc;
	if (rest[0] == '\0')
		rc = m == HTTP_GET    ? list(call, &f)
		     : m == HTTP_POST ? invite(call, &f)
				      : api_not_allowed(call, "GET, POST", &f);
	else {
		int64_t id = rest[0] == '/' ? api_parse_id(rest + 1, strlen(rest + 1)) : -1;
		if (id <= 0)
			rc = fault_set(&f, 404, "not_found", NULL, "no such user");
		else if (m == HTTP_PATCH || m == HTTP_DELETE)
			rc = change(call, id, m == HTTP_DELETE, &f);
		else
			rc = api_not_allowed(call, "PATCH, DELETE", &f);
	}
	return rc < 0 ? http_respond_fault(call->rq, &f) : rc;
}
