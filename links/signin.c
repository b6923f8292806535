/*
 * signin.c: sign-in links and sessions (see signin.h). A sign-in link's
 * subject is a user; using it starts a session whose id goes to the cookie
 * and whose BLAKE2b hash goes to the store.
 */
#include <stdlib.h>
#include <string.h>

#include "invitation_int.h"
#include "invited/log.h"
#include "invited/rfc3339.h"
#include "invited/signin.h"
#include "invited/text.h"

/* An organization whose people may sign in: approved, or a customer. */
static int org_active(const struct org *o)
{
	return o->kind == ORG_CUSTOMER || o->status == ORG_APPROVED;
}

static int user_active(const struct user *u)
{
	return u->status == USER_ACTIVE || u->status == USER_INVITED;
}

/* An event about user user_id of org_id (0: an operator). */
static int user_event(const struct inv_env *env, const char *name, int64_t org_id,
		      int64_t user_id, const char *details, const char **error_r)
{
	return store_event_on(env->st, env->now, org_id, 0, env->actor, name, "user", user_id,
			      details, error_r) == STORE_OK
		       ? 0
		       : -1;
}

/* o's primary contact (email) as its first admin user, made now if o has
 * no user with that address. */
static int first_admin(const struct inv_env *env, const struct org *o, const char *email,
		       struct user *u_r, const char **error_r)
{
	int rc = store_user_by_email(env->st, o->id, email, u_r, error_r);
	if (rc == STORE_OK || rc == STORE_ERROR)
		return rc == STORE_OK ? 0 : -1;
	/* Invited until the link is used: asking proves nothing yet. */
	*u_r = (struct user){.org_id = o->id, .role = ROLE_ADMIN_AGENT, .status = USER_INVITED,
			     .created_at = env->now, .updated_at = env->now};
	snprintf(u_r->email, sizeof(u_r->email), "%s", email);
	snprintf(u_r->name, sizeof(u_r->name), "%s", o->contact_name);
	snprintf(u_r->locale, sizeof(u_r->locale), "%s", o->locale);
	if (store_user_insert(env->st, u_r, error_r) != STORE_OK)
		return -1;
	return user_event(env, "user.first_admin", o->id, u_r->id,
			  errorf("org:%lld, its primary contact", (long long)o->id), error_r);
}

/* The primary contact of an organization of kind, as its first admin user
 * (made now if it has none with that address). *u_r->id is 0 when none. */
static int contact_user(const struct inv_env *env, enum org_kind kind, const char *email,
			struct user *u_r, const char **error_r)
{
	struct org o;
	memset(u_r, 0, sizeof(*u_r));
	int rc = store_org_find_by_contact(env->st, kind, email, &o, error_r);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && kind != ORG_CUSTOMER && !o.contact_verified))
		return 0;
	if (rc != STORE_OK)
		return -1;
	return first_admin(env, &o, email, u_r, error_r);
}

struct gather {
	const struct inv_env *env;
	struct user users[SIGNIN_ORGS_PER_MAIL];
	size_t n;
};

static int add_user(struct gather *g, const struct user *u)
{
	struct org o;
	const char *err;
	if (!user_active(u) || g->n == SIGNIN_ORGS_PER_MAIL)
		return 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->users[i].id == u->id)
			return 0;
	if (u->role != ROLE_OPERATOR && /* an operator is of no organization */
	    (store_org_get(g->env->st, u->org_id, &o, &err) != STORE_OK || !org_active(&o)))
		return 0;
	g->users[g->n++] = *u;
	return 0;
}

static int gather_cb(void *ctx, const struct user *u)
{
	return add_user(ctx, u);
}

/* One line per organization: "name: link". */
static int links_text(const struct inv_env *env, struct gather *g, char **text_r,
		      const char **error_r)
{
	size_t cap = 1, len = 0;
	char *text = calloc(1, 1);
	for (size_t i = 0; text != NULL && i < g->n; i++) {
		struct org o;
		struct link_row link;
		memset(&o, 0, sizeof(o));
		snprintf(o.legal_name, sizeof(o.legal_name), "%s", "Operator");
		if ((g->users[i].role != ROLE_OPERATOR &&
		     store_org_get(env->st, g->users[i].org_id, &o, error_r) != STORE_OK) ||
		    link_issue(env->st, env->keys, env->mailer->public_url, PUR_SIGN_IN,
			       g->users[i].id, env->now, SIGNIN_LINK_LIFETIME, &link,
			       error_r) < 0) {
			free(text);
			return -1;
		}
		char *url = link_url(env->mailer->public_url, link.token);
		size_t need = strlen(o.legal_name) + (url ? strlen(url) : 0) + 8;
		char *grown = url ? realloc(text, cap + need) : NULL;
		if (grown == NULL) {
			free(url);
			free(text);
			text = NULL;
			break;
		}
		text = grown;
		cap += need;
		len += (size_t)snprintf(text + len, cap - len, "%s%s:\n%s\n", i ? "\n" : "",
					o.legal_name, url);
		free(url);
	}
	if (text == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	*text_r = text;
	return 0;
}

static int request_in_tx(const struct inv_env *env, const char *email, const char *locale,
			 int *sent_r, const char **error_r)
{
	struct gather g = {.env = env};
	struct user u;
	int to_address;
	if (store_outbox_count_to(env->st, OUTBOX_SIGNIN, email, env->now - 3600, &to_address,
				  error_r) != STORE_OK)
		return -1;
	if (to_address >= SIGNIN_MAILS_PER_ADDRESS)
		return 0; /* its hour's mails went out: none more, and no word of it */
	if (store_user_list(env->st, 0, email, gather_cb, &g, error_r) != STORE_OK)
		return -1;
	static const enum org_kind kinds[] = {ORG_PROVIDER, ORG_RESELLER, ORG_CUSTOMER};
	for (size_t i = 0; i < 3; i++) {
		if (contact_user(env, kinds[i], email, &u, error_r) < 0)
			return -1;
		if (u.id != 0)
			add_user(&g, &u);
	}
	if (g.n == 0)
		return 0;
	char *text;
	if (links_text(env, &g, &text, error_r) < 0)
		return -1;
	struct tpl_vars vars = {0};
	char expires[RFC3339_LEN + 1], minutes[16];
	snprintf(minutes, sizeof(minutes), "%d", SIGNIN_LINK_LIFETIME / 60);
	tpl_vars_set(&vars, "links", text);
	tpl_vars_set(&vars, "minutes", minutes);
	tpl_vars_set(&vars, "email", email);
	tpl_vars_set(&vars, "public_url", env->mailer->public_url);
	rfc3339_format(env->now + SIGNIN_LINK_LIFETIME, expires);
	tpl_vars_set(&vars, "expires", expires);
	struct mail_job job = {
		.kind = OUTBOX_SIGNIN,
		.to = {g.users[0].name[0] ? g.users[0].name : NULL, email},
		.auto_submitted = 1,
		.org_id = g.users[0].org_id,
	};
	int rc = mailer_queue_template(env->mailer, env->st, "signin",
				       locale && locale[0] ? locale : g.users[0].locale, &vars,
				       &job, env->now, error_r);
	free(text);
	*sent_r = rc == 0;
	return rc;
}

int signin_request(const struct inv_env *env, const char *email, const char *locale,
		   int *sent_r, const char **error_r)
{
	char addr[MAX_EMAIL_LEN + 1];
	*sent_r = 0;
	if (strlen(email) > MAX_EMAIL_LEN || !mime_addr_personal(email))
		return 0; /* no one: the same answer */
	snprintf(addr, sizeof(addr), "%s", email);
	ascii_lower(addr);
	if (store_begin(env->st, error_r) != STORE_OK)
		return -1;
	if (request_in_tx(env, addr, locale, sent_r, error_r) < 0 ||
	    store_commit(env->st, error_r) != STORE_OK) {
		store_rollback(env->st);
		*sent_r = 0;
		return -1;
	}
	return 0;
}

/* The user and organization behind a user id, if both are active. */
static enum signin_status load_view(const struct inv_env *env, int64_t user_id,
				    struct signin_view *view)
{
	const char *err;
	int rc = store_user_get(env->st, user_id, &view->user, &err);
	if (rc == STORE_OK && view->user.role == ROLE_OPERATOR) /* of no organization */
		return user_active(&view->user) ? SIGNIN_OK : SIGNIN_CLOSED;
	if (rc == STORE_OK)
		rc = store_org_get(env->st, view->user.org_id, &view->org, &err);
	if (rc == STORE_NOT_FOUND)
		return SIGNIN_CLOSED;
	if (rc != STORE_OK) {
		msg_error("signin: %s", err);
		return SIGNIN_INTERNAL;
	}
	return user_active(&view->user) && org_active(&view->org) ? SIGNIN_OK : SIGNIN_CLOSED;
}

enum signin_status signin_inspect(const struct inv_env *env, const struct link_claims *claims,
				  struct signin_view *view)
{
	struct link_row row;
	const char *err;
	memset(view, 0, sizeof(*view));
	if (claims->purpose != PUR_SIGN_IN && claims->purpose != PUR_JOIN_ORG)
		return SIGNIN_UNKNOWN;
	if (claims->exp <= env->now)
		return SIGNIN_EXPIRED;
	int rc = store_link_get(env->st, claims->jti, &row, &err);
	if (rc == STORE_ERROR) {
		msg_error("signin: %s", err);
		return SIGNIN_INTERNAL;
	}
	if (rc != STORE_OK || strcmp(row.purpose, link_purpose_str(claims->purpose)) != 0)
		return SIGNIN_UNKNOWN;
	if (row.state != LINK_LIVE)
		return SIGNIN_USED;
	return load_view(env, row.subject_id, view);
}

static void session_hash(const char *cookie, unsigned char hash[SESSION_HASH_LEN])
{
	crypto_generichash(hash, SESSION_HASH_LEN, (const unsigned char *)cookie,
			   strlen(cookie), NULL, 0);
}

enum signin_status signin_redeem(const struct inv_env *env, const struct link_claims *claims,
				 int64_t lifetime, struct signin_view *view,
				 char cookie_r[SESSION_COOKIE_SIZE])
{
	const char *err = NULL;
	unsigned char id[32];
	struct session s = {0};
	if (store_begin(env->st, &err) != STORE_OK)
		return SIGNIN_INTERNAL;
	enum signin_status st = signin_inspect(env, claims, view);
	if (st == SIGNIN_OK) {
		randombytes_buf(id, sizeof(id));
		sodium_bin2base64(cookie_r, SESSION_COOKIE_SIZE, id, sizeof(id),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		session_hash(cookie_r, s.hash);
		s.user_id = view->user.id;
		s.created_at = s.seen_at = env->now;
		s.expires_at = env->now + lifetime;
		int rc = store_link_use(env->st, claims->jti, env->now, &err);
		if (rc == STORE_CONFLICT)
			st = SIGNIN_USED;
		else if (rc != STORE_OK ||
			 (view->user.status == USER_INVITED &&
			  store_user_set(env->st, view->user.id, USER_INVITED, view->user.role,
					 USER_ACTIVE, env->now, &err) != STORE_OK) ||
			 store_session_insert(env->st, &s, &err) != STORE_OK ||
			 user_event(env, "user.signed_in", view->user.org_id, view->user.id, NULL, &err) < 0)
			st = SIGNIN_INTERNAL;
	}
	sodium_memzero(id, sizeof(id));
	if (st == SIGNIN_OK && store_commit(env->st, &err) == STORE_OK)
		return SIGNIN_OK;
	store_rollback(env->st);
	if (st == SIGNIN_OK || st == SIGNIN_INTERNAL) {
		msg_error("signin: %s", err ? err : "internal error");
		st = SIGNIN_INTERNAL;
	}
	sodium_memzero(cookie_r, SESSION_COOKIE_SIZE);
	return st;
}

int session_check(const struct inv_env *env, const char *cookie, int64_t idle,
		  struct signin_view *view)
{
	struct session s;
	const char *err;
	unsigned char hash[SESSION_HASH_LEN];
	if (cookie == NULL || strlen(cookie) != SESSION_COOKIE_SIZE - 1)
		return -1;
	session_hash(cookie, hash);
	if (store_session_get(env->st, hash, &s, &err) != STORE_OK || s.ended ||
	    env->now >= s.expires_at || env->now - s.seen_at >= idle ||
	    load_view(env, s.user_id, view) != SIGNIN_OK)
		return -1;
	/* "Last seen" at most once a minute: a page view is not a write. */
	if (env->now - s.seen_at >= SESSION_TOUCH_INTERVAL &&
	    store_session_touch(env->st, hash, env->now, &err) == STORE_ERROR)
		msg_warn("session: %s", err);
	return 0;
}

int session_end(const struct inv_env *env, const char *cookie, int everywhere, int64_t idle,
		const char **error_r)
{
	struct session s;
	unsigned char hash[SESSION_HASH_LEN];
	size_t n;
	if (cookie == NULL || strlen(cookie) != SESSION_COOKIE_SIZE - 1)
		return 0;
	session_hash(cookie, hash);
	int rc = store_session_get(env->st, hash, &s, error_r);
	if (rc == STORE_NOT_FOUND)
		return 0;
	if (rc != STORE_OK)
		return -1;
	if (s.ended || env->now >= s.expires_at || env->now - s.seen_at >= idle)
		return 0;
	rc = everywhere ? store_session_end_all(env->st, s.user_id, env->now, &n, error_r)
			: store_session_end(env->st, hash, env->now, error_r);
	return rc == STORE_ERROR ? -1 : 0;
}

/* ---------------------------------------------------------- users */


int user_invite(const struct inv_env *env, const struct signin_view *by, const char *email,
		const char *name, enum key_role role, const char *locale, struct fault *f)
{
	char addr[MAX_EMAIL_LEN + 1];
	const char *err = NULL;
	struct user u;
	struct link_row link;
	if (email == NULL || email[0] == '\0')
		return fault_set(f, 422, "missing_field", "email", "Enter the person's email address.");
	if (strlen(email) > MAX_EMAIL_LEN || !mime_addr_valid(email))
		return fault_set(f, 422, "invalid_field", "email", "This is not an email address.");
	if (!mime_addr_personal(email))
		return fault_set(f, 422, "invalid_field", "email",
				 "An address with % or ! before the @ (a source route) is refused.");
	if (name != NULL && !text_ok(name, MAX_NAME_LEN, TEXT_LINE))
		return fault_set(f, 422, "invalid_field", "name",
				 "A name is one line of at most 200 characters.");
	if (role != ROLE_ADMIN_AGENT && role != ROLE_SALES_AGENT)
		return fault_set(f, 422, "invalid_field", "role", "Choose a role.");
	snprintf(addr, sizeof(addr), "%s", email);
	ascii_lower(addr);
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	int rc = store_user_by_email(env->st, by->org.id, addr, &u, &err);
	if (rc == STORE_OK && u.status != USER_REMOVED) {
		store_rollback(env->st);
		return fault_set(f, 409, "exists", "email", "This person is a user already.");
	}
	if (rc == STORE_ERROR)
		goto internal;
	if (rc == STORE_OK) { /* removed before: invited again */
		if (store_user_set(env->st, u.id, USER_REMOVED, role, USER_INVITED, env->now,
				   &err) != STORE_OK)
			goto internal;
	} else {
		u = (struct user){.org_id = by->org.id, .role = role, .status = USER_INVITED,
				  .created_at = env->now, .updated_at = env->now};
		snprintf(u.email, sizeof(u.email), "%s", addr);
		snprintf(u.name, sizeof(u.name), "%s", name ? name : "");
		snprintf(u.locale, sizeof(u.locale), "%s", locale ? locale : "");
		if (store_user_insert(env->st, &u, &err) != STORE_OK)
			goto internal;
	}
	if (link_issue(env->st, env->keys, env->mailer->public_url, PUR_JOIN_ORG, u.id,
		       env->now, JOIN_LINK_LIFETIME, &link, &err) < 0)
		goto internal;
	char *url = link_url(env->mailer->public_url, link.token);
	struct tpl_vars v = {0};
	char days[16];
	snprintf(days, sizeof(days), "%d", JOIN_LINK_LIFETIME / 86400);
	tpl_vars_set(&v, "link", url);
	tpl_vars_set(&v, "org", by->org.legal_name);
	tpl_vars_set(&v, "by", by->user.name[0] ? by->user.name : by->user.email);
	tpl_vars_set(&v, "by_email", by->user.email);
	tpl_vars_set(&v, role == ROLE_ADMIN_AGENT ? "admin" : "sales", "1");
	tpl_vars_set(&v, "days", days);
	tpl_vars_set(&v, "public_url", env->mailer->public_url);
	struct mail_job job = {
		.kind = OUTBOX_JOIN, /* not counted in the address's sign-in mails */
		.to = {u.name[0] ? u.name : NULL, u.email},
		.auto_submitted = 1,
		.org_id = by->org.id,
	};
	rc = url ? mailer_queue_template(env->mailer, env->st, "join_org",
					 u.locale[0] ? u.locale : by->user.locale, &v, &job,
					 env->now, &err)
		 : -1;
	free(url);
	if (rc < 0 || user_event(env, "user.invited", u.org_id, u.id, role == ROLE_ADMIN_AGENT
								? "admin_agent" : "sales_agent",
				 &err) < 0 ||
	    store_commit(env->st, &err) != STORE_OK)
		goto internal;
	return 0;
internal:
	store_rollback(env->st);
	return fault_internal(f, err ? err : "out of memory");
}

/* A user removed, in the caller's transaction: its sessions end and its
 * sign-in and join links die with it. */
static int remove_in_tx(const struct inv_env *env, const struct user *u, const char **error_r)
{
	size_t ended;
	if (store_user_set(env->st, u->id, u->status, u->role, USER_REMOVED, env->now,
			   error_r) != STORE_OK ||
	    store_session_end_all(env->st, u->id, env->now, &ended, error_r) != STORE_OK)
		return -1;
	static const enum link_purpose theirs[] = {PUR_SIGN_IN, PUR_JOIN_ORG};
	for (size_t i = 0; i < 2; i++)
		if (store_link_revoke_subject(env->st, link_purpose_str(theirs[i]), u->id,
					      env->now, error_r) != STORE_OK)
			return -1;
	return user_event(env, "user.removed", u->org_id, u->id, NULL, error_r);
}

/* A user's new role, in the caller's transaction. */
static int role_in_tx(const struct inv_env *env, const struct user *u, enum key_role role,
		      const char **error_r)
{
	if (store_user_set(env->st, u->id, u->status, role, u->status, env->now, error_r) !=
	    STORE_OK)
		return -1;
	return user_event(env, "user.role_changed", u->org_id, u->id, key_role_str(role), error_r);
}

/* An organization keeps an active admin agent, whoever acts: 0, or -1
 * with f (409 "last_admin", or internal) when removing u, or giving it
 * role, would leave none. */
static int keeps_an_admin(const struct inv_env *env, const struct user *u, int remove,
			  enum key_role role, struct fault *f)
{
	const char *err;
	int64_t admins;
	if (u->org_id == 0 || u->role != ROLE_ADMIN_AGENT || u->status != USER_ACTIVE ||
	    (!remove && role == ROLE_ADMIN_AGENT))
		return 0;
	if (store_user_admins(env->st, u->org_id, u->id, &admins, &err) != STORE_OK)
		return fault_internal(f, err);
	if (admins == 0)
		return fault_set(f, 409, "last_admin", NULL,
				 "This is the organization's last admin agent.");
	return 0;
}

int user_change(const struct inv_env *env, const struct signin_view *by, int64_t user_id,
		enum key_role role, int remove, struct fault *f)
{
	const char *err = NULL;
	struct user u;
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	int rc = store_user_get(env->st, user_id, &u, &err);
	if (rc == STORE_ERROR)
		goto internal;
	if (rc != STORE_OK || u.org_id != by->org.id || u.status == USER_REMOVED) {
		store_rollback(env->st);
		return fault_set(f, 404, "not_found", NULL, "no such user");
	}
	/* A person acts as who they are now, in this transaction: still an
	 * active admin, and not on themselves. An admin API key (by->user.id
	 * 0) acts for the organization. */
	if (by->user.id != 0) {
		struct user actor;
		rc = store_user_get(env->st, by->user.id, &actor, &err);
		if (rc == STORE_ERROR)
			goto internal;
		if (rc != STORE_OK || actor.role != ROLE_ADMIN_AGENT ||
		    actor.status != USER_ACTIVE) {
			store_rollback(env->st);
			return fault_set(f, 403, "read_only", NULL,
					 "Only an admin agent can change users.");
		}
		if (u.id == by->user.id) {
			store_rollback(env->st);
			return fault_set(f, 409, "self", NULL,
					 "You cannot change your own role or remove yourself: ask "
					 "another admin agent.");
		}
	}
	if (!remove && role != ROLE_ADMIN_AGENT && role != ROLE_SALES_AGENT) {
		store_rollback(env->st);
		return fault_set(f, 422, "invalid_field", "role", "Choose a role.");
	}
	if ((rc = keeps_an_admin(env, &u, remove, role, f)) != 0) {
		store_rollback(env->st);
		return -1;
	}
	rc = remove ? remove_in_tx(env, &u, &err) : role_in_tx(env, &u, role, &err);
	if (rc < 0 || store_commit(env->st, &err) != STORE_OK)
		goto internal;
	return 0;
internal:
	store_rollback(env->st);
	return fault_internal(f, err);
}

int user_add(const struct inv_env *env, int64_t org_id, const char *email, const char *name,
	     enum key_role role, struct user *u_r, struct fault *f)
{
	const char *err = NULL;
	if (email == NULL || strlen(email) > MAX_EMAIL_LEN || !mime_addr_personal(email))
		return fault_set(f, 422, "invalid_field", "email",
				 errorf("email %s", mime_addr_why(email)));
	if (name != NULL && !text_ok(name, MAX_NAME_LEN, TEXT_LINE))
		return fault_set(f, 422, "invalid_field", "name", "a name is one line of text");
	if ((org_id == 0) != (role == ROLE_OPERATOR))
		return fault_set(f, 422, "invalid_field", "role",
				 "an operator is of no organization; anyone else is of one");
	*u_r = (struct user){.org_id = org_id, .role = role, .status = USER_INVITED,
			     .created_at = env->now, .updated_at = env->now};
	snprintf(u_r->email, sizeof(u_r->email), "%s", email);
	ascii_lower(u_r->email);
	snprintf(u_r->name, sizeof(u_r->name), "%s", name ? name : "");
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	struct user old;
	int rc = store_user_by_email(env->st, org_id, u_r->email, &old, &err);
	if (rc == STORE_OK && old.status != USER_REMOVED) {
		store_rollback(env->st);
		return fault_set(f, 409, "exists", "email", "this address is a user already");
	}
	if (rc == STORE_OK) { /* removed before: added again */
		u_r->id = old.id;
		rc = store_user_set(env->st, old.id, USER_REMOVED, role, USER_INVITED, env->now,
				    &err);
	} else if (rc == STORE_NOT_FOUND) {
		rc = store_user_insert(env->st, u_r, &err);
	}
	if (rc != STORE_OK || user_event(env, "user.added", u_r->org_id, u_r->id, key_role_str(role), &err) < 0 ||
	    store_commit(env->st, &err) != STORE_OK) {
		store_rollback(env->st);
		return fault_internal(f, err);
	}
	return 0;
}

int user_remove(const struct inv_env *env, int64_t user_id, struct fault *f)
{
	const char *err = NULL;
	struct user u;
	if (store_begin(env->st, &err) != STORE_OK)
		return fault_internal(f, err);
	int rc = store_user_get(env->st, user_id, &u, &err);
	if (rc == STORE_OK && u.status != USER_REMOVED) {
		if (keeps_an_admin(env, &u, 1, 0, f) < 0) {
			store_rollback(env->st);
			return -1;
		}
		if (remove_in_tx(env, &u, &err) == 0 && store_commit(env->st, &err) == STORE_OK)
			return 0;
		rc = STORE_ERROR;
	}
	store_rollback(env->st);
	return rc == STORE_ERROR ? fault_internal(f, err)
				 : fault_set(f, 404, "not_found", NULL, "no such user");
}

int signin_first_link(const struct inv_env *env, const struct org *o, char **url_r,
		      const char **error_r)
{
	struct user u;
	struct link_row link;
	char email[MAX_EMAIL_LEN + 1];
	*url_r = NULL;
	if (o->contact_email[0] == '\0' || !o->contact_verified)
		return 0; /* no verified address: no link */
	snprintf(email, sizeof(email), "%s", o->contact_email);
	ascii_lower(email);
	if (first_admin(env, o, email, &u, error_r) < 0)
		return -1;
	if (u.status == USER_REMOVED)
		return 0; /* removed by its own admins: no link */
	if (link_issue(env->st, env->keys, env->mailer->public_url, PUR_JOIN_ORG, u.id,
		       env->now, JOIN_LINK_LIFETIME, &link, error_r) < 0)
		return -1;
	if ((*url_r = link_url(env->mailer->public_url, link.token)) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	return 0;
}
