/*
 * console_account.c: Account settings. User management (every user sees
 * who is in the organization; admins invite, change roles with Update, and
 * remove) and API keys (admins only: create, shown once, and revoke). An
 * API key is a capability for machines: it acts for the organization with
 * the role it was made with, until revoked.
 */
#include <string.h>

#include <sodium.h>

#include "invited/api.h"
#include "invited/log.h"
#include "invited/text.h"
#include "console_int.h"

static int add_user_row(void *ctx, const struct user *u)
{
	struct cs_rows *r = ctx;
	struct console *c = r->c;
	struct tpl_vars *v;
	if (u->status == USER_REMOVED)
		return 0;
	if ((v = cs_row_next(r)) == NULL)
		return 1;
	tpl_vars_set(v, "id", cs_printf(c, "%lld", (long long)u->id));
	tpl_vars_set(v, "email", cs_str(c, u->email));
	tpl_vars_set(v, "name", u->name[0] ? cs_str(c, u->name) : NULL);
	tpl_vars_set(v, u->role == ROLE_ADMIN_AGENT ? "is_admin" : "is_sales", "1");
	tpl_vars_set(v, u->status == USER_INVITED ? "invited" : "active", "1");
	if (u->id == c->me.user.id)
		tpl_vars_set(v, "is_me", "1");
	return 0;
}

static int users_page(struct console *c, int status, const struct fault *problem)
{
	const char *err;
	struct cs_rows r;
	cs_rows_begin(c, &r, CONSOLE_ACCOUNT_ROWS);
	if (store_user_list(c->st, c->me.org.id, NULL, add_user_row, &r, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	cs_rows_end(&r, "rows", 0);
	if (http_query(c->rq, "invited") != NULL)
		tpl_vars_set(&c->v, "invited_done", "1");
	if (problem != NULL) {
		cs_problem(c, problem);
		tpl_vars_set(&c->v, "f_email", http_form(c->rq, "email"));
		tpl_vars_set(&c->v, "f_name", http_form(c->rq, "name"));
	}
	return cs_page(c, status, "users");
}

static int parse_role(const char *s, enum key_role *role_r)
{
	return s != NULL && key_role_parse(s, role_r) == 0 &&
		       (*role_r == ROLE_ADMIN_AGENT || *role_r == ROLE_SALES_AGENT)
		   ? 0
		   : -1;
}

int cs_users(struct console *c, const char *rest)
{
	struct fault f = {0};
	enum key_role role = 0;
	int post = c->rq->method == HTTP_POST;
	if (rest[0] == '\0' && !post)
		return users_page(c, 200, NULL);
	if (!post)
		return cs_error(c, 404, "not_found");
	if (!cs_admin(c))
		return cs_error(c, 403, "read_only");
	const char *action = http_form(c->rq, "action");
	if (rest[0] == '\0') { /* invite */
		const char *name = http_form(c->rq, "name"), *email = http_form(c->rq, "email");
		parse_role(http_form(c->rq, "role"), &role);
		/* a join_org mail counts as an invitation mailed: the same
		 * per-organization and per-recipient hourly limits */
		if (email != NULL && strlen(email) <= MAX_EMAIL_LEN &&
		    invitations_limited(c->rq, c->me.org.id, email, 1, &f) < 0)
			return users_page(c, 429, &f);
		if (user_invite(&c->env, &c->me, email,
				name && name[0] ? name : NULL, role, NULL, &f) < 0)
			return f.status >= 500 ? cs_fault(c, &f) : users_page(c, f.status, &f);
		app_kick_outbox(c->rq->app);
		return cs_redirect(c, "/console/users?invited=1");
	}
	int64_t id = rest[0] == '/' ? cs_path_id(rest + 1, &rest) : -1;
	if (id < 0 || rest[0] != '\0' || action == NULL)
		return cs_error(c, 404, "not_found");
	int remove = strcmp(action, "remove") == 0;
	if (!remove && (strcmp(action, "update") != 0 ||
			parse_role(http_form(c->rq, "role"), &role) < 0))
		return cs_error(c, 400, "bad_form");
	if (user_change(&c->env, &c->me, id, role, remove, &f) < 0)
		return cs_fault(c, &f);
	return cs_redirect(c, "/console/users");
}

/* ------------------------------------------------------------ keys */

static int add_key_row(void *ctx, const struct apikey *k)
{
	struct cs_rows *r = ctx;
	struct console *c = r->c;
	struct tpl_vars *v = cs_row_next(r);
	if (v == NULL)
		return 1;
	tpl_vars_set(v, "id", cs_printf(c, "%lld", (long long)k->id));
	tpl_vars_set(v, "key_id", cs_str(c, k->key_id));
	tpl_vars_set(v, "label", k->label[0] ? cs_str(c, k->label) : NULL);
	tpl_vars_set(v, k->role == ROLE_ADMIN_AGENT ? "is_admin" : "is_sales", "1");
	tpl_vars_set(v, "created", cs_time(c, k->created_at));
	return 0;
}

static int keys_page(struct console *c, int status, const char *shown)
{
	const char *err;
	struct cs_rows r;
	cs_rows_begin(c, &r, CONSOLE_ACCOUNT_ROWS);
	if (store_apikey_list(c->st, c->me.org.id, add_key_row, &r, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	cs_rows_end(&r, "rows", 0);
	tpl_vars_set(&c->v, "new_key", shown);
	return cs_page(c, status, "keys");
}

static int key_create(struct console *c)
{
	char text[APIKEY_TEXT_LEN + 1];
	const char *label = http_form(c->rq, "label"), *err;
	enum key_role role;
	int64_t id;
	if (parse_role(http_form(c->rq, "role"), &role) < 0 || label == NULL ||
	    !text_ok(label, MAX_NAME_LEN, TEXT_LINE))
		return cs_error(c, 400, "bad_form");
	if (store_begin(c->st, &err) != STORE_OK)
		return cs_error(c, 500, "internal");
	if (apikey_create(c->st, c->me.org.id, role, label, c->actor, c->rq->now, text, &id,
			  &err) < 0 ||
	    store_commit(c->st, &err) != STORE_OK) {
		store_rollback(c->st);
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	/* Shown this once, on this answer (no-store), and never again. */
	const char *shown = cs_str(c, text);
	sodium_memzero(text, sizeof(text));
	return keys_page(c, 201, shown);
}

static int key_revoke(struct console *c, int64_t id)
{
	const char *err;
	if (store_begin(c->st, &err) != STORE_OK)
		return cs_error(c, 500, "internal");
	int rc = apikey_revoke(c->st, c->me.org.id, id, c->actor, c->rq->now, &err);
	if (rc == 1) {
		store_rollback(c->st);
		return cs_error(c, 404, "not_found");
	}
	if (rc != 0 || store_commit(c->st, &err) != STORE_OK) {
		store_rollback(c->st);
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	return cs_redirect(c, "/console/keys");
}

int cs_keys(struct console *c, const char *rest)
{
	int post = c->rq->method == HTTP_POST;
	if (!cs_admin(c))
		return cs_error(c, 403, "read_only");
	if (rest[0] == '\0')
		return post ? key_create(c) : keys_page(c, 200, NULL);
	int64_t id = rest[0] == '/' ? cs_path_id(rest + 1, &rest) : -1;
	if (id < 0 || rest[0] != '\0' || !post)
		return cs_error(c, 404, "not_found");
	return key_revoke(c, id);
}
