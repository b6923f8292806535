/*
 * api_invitations.c: /api/v1/invitations. An organization's keys see and
 * act on that organization's invitations only; any other id is 404.
 */
#include <stdlib.h>
#include <string.h>

#include "invited/api.h"
#include "invited/invitation.h"
#include "invited/log.h"
#include "invited/ratelimit.h"
#include "invited/text.h"

static struct inv_env env_of(struct api_call *call)
{
	struct app *app = call->rq->app;
	return (struct inv_env){call->st, app_keys(app), &app->mailer,
				app->cfg.tokens.invitation_lifetime, call->rq->now,
				call->caller.actor};
}

static json_t *invitation_json(const struct invitation *inv)
{
	json_t *j = json_pack(
		"{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:s, s:s, s:b, s:o, s:o, s:o}",
		"id", (json_int_t)inv->id, "kind", inv_kind_str(inv->kind), "status",
		inv_status_str(inv->status), "email", inv->email, "name", inv->name, "locale",
		inv->locale, "message", inv->message, "inviter_id",
		(json_int_t)inv->inviter_org_id, "provider_id",
		inv->provider_org_id ? json_integer(inv->provider_org_id) : json_null(),
		"accepted_org_id",
		inv->accepted_org_id ? json_integer(inv->accepted_org_id) : json_null(),
		"status_reason", inv->status_reason, "subject", inv->subject, "edited",
		inv->edited, "expires_at", api_time(inv->expires_at), "created_at",
		api_time(inv->created_at), "updated_at", api_time(inv->updated_at));
	return j;
}

static int add_message(void *ctx, const struct outbox_msg *m)
{
	json_array_append_new(
		ctx, json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:o, s:o}", "id",
			       (json_int_t)m->id, "kind", outbox_kind_str(m->kind), "message_id", m->message_id,
			       "to", m->rcpt, "status", outbox_status_str(m->status),
			       "attempts", m->attempts, "last_code", m->last_code,
			       "last_reply", m->last_reply, "created_at",
			       api_time(m->created_at), "sent_at", api_time(m->sent_at)));
	return 0;
}

static int add_inbound(void *ctx, const struct inbound_row *r)
{
	json_array_append_new(
		ctx, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)r->id,
			       "class", r->cls, "action", inbound_action_str(r->action), "from", r->from_addr,
			       "subject", r->subject, "detail", r->detail, "received_at",
			       api_time(r->received_at)));
	return 0;
}

/* The full view: bodies, the link while the inviter sends it itself (see
 * invitation_reveal), the messages sent for it, and the mail that came
 * back about it (bounces, replies, auto-replies). */
static int show(struct api_call *call, int64_t id, int status, struct fault *f)
{
	struct inv_env env = env_of(call);
	struct invitation inv;
	const char *err;
	if (invitation_load(&env, call->caller.org_id, id, 1, &inv, f) < 0)
		return -1;
	json_t *j = invitation_json(&inv);
	char *link = invitation_reveal(&env, &inv, call->caller.role == ROLE_ADMIN_AGENT);
	json_object_set_new(j, "link", link ? json_string(link) : json_null());
	json_object_set_new(j, "text", inv.body_text ? json_string(inv.body_text) : json_null());
	json_object_set_new(j, "html", inv.body_html ? json_string(inv.body_html) : json_null());
	free(link);
	invitation_clear(&inv);

	json_t *messages = json_array();
	struct outbox_filter of = {.invitation_id = id, .limit = 100};
	if (store_outbox_list(call->st, &of, add_message, messages, &err) != STORE_OK) {
		json_decref(messages);
		json_decref(j);
		return fault_internal(f, err);
	}
	json_object_set_new(j, "messages", messages);
	json_t *inbound = json_array();
	if (store_inbound_list(call->st, id, add_inbound, inbound, &err) != STORE_OK) {
		json_decref(inbound);
		json_decref(j);
		return fault_internal(f, err);
	}
	json_object_set_new(j, "inbound", inbound);
	return http_respond_json(call->rq, status, j);
}

/*
 * Each invitation created, sent or resent counts against its organization
 * ([invitations] org_rate_limit per hour), and each one mailed against its
 * recipient address too (recipient_rate_limit, from all organizations), so
 * that a key, or many organizations together, cannot turn the server into
 * a mail cannon: 429 with Retry-After when over. A draft mails no one, so
 * it cannot use up an address's allowance for everyone. The answer does not
 * say which limit: that an address is being invited is not the caller's to
 * learn.
 */
int invitations_limited(struct request *rq, int64_t org_id, const char *email, int mails,
			struct fault *f)
{
	struct app *app = rq->app;
	char org[32], rcpt[MAX_EMAIL_LEN + 1];
	snprintf(org, sizeof(org), "org:%lld", (long long)org_id);
	snprintf(rcpt, sizeof(rcpt), "%s", email);
	ascii_lower(rcpt);
	int64_t wait = rate_limiter_take(app->invite_org_limit, org, rq->now);
	if (wait == 0 && mails)
		wait = rate_limiter_take(app->invite_rcpt_limit, rcpt, rq->now);
	if (wait == 0)
		return 0;
	rq->retry_after = wait;
	return fault_set(f, 429, "rate_limited", NULL,
			 errorf("too many invitations in the last hour; retry in %lld seconds",
				(long long)wait));
}

static int limited(struct api_call *call, const char *email, int mails, struct fault *f)
{
	return invitations_limited(call->rq, call->caller.org_id, email, mails, f);
}

static int create(struct api_call *call, struct fault *f)
{
	static const char *const fields[] = {"kind",   "email",   "name",     "provider_id",
					     "locale", "message", "delivery", NULL};
	struct inv_request req = {.inviter_org_id = call->caller.org_id};
	const char *kind, *delivery;
	struct invitation inv;

	if (api_need_org(call, 1, f) < 0)
		return -1;
	json_t *body = api_body(call, f);
	if (body == NULL)
		return -1;
	int ok = api_known_fields(body, fields, f) == 0 &&
		 api_string(body, "kind", 32, 1, &kind, f) == 0 &&
		 api_string(body, "email", MAX_EMAIL_LEN, 1, &req.email, f) == 0 &&
		 api_string(body, "name", MAX_NAME_LEN, 0, &req.name, f) == 0 &&
		 api_id(body, "provider_id", &req.provider_org_id, f) == 0 &&
		 api_string(body, "locale", MAX_LOCALE_LEN, 0, &req.locale, f) == 0 &&
		 api_string(body, "message", MAX_MESSAGE_LEN, 0, &req.message, f) == 0 &&
		 api_string(body, "delivery", 16, 0, &delivery, f) == 0;
	if (ok && inv_kind_parse(kind, &req.kind) < 0)
		ok = fault_set(f, 422, "invalid_field", "kind",
			       "kind must be indirect_provider, reseller or "
			       "reseller_with_provider") == 0;
	if (ok && delivery != NULL && strcmp(delivery, "send") != 0 &&
	    strcmp(delivery, "draft") != 0)
		ok = fault_set(f, 422, "invalid_field", "delivery",
			       "delivery must be \"send\" or \"draft\"") == 0;
	req.draft = ok && delivery != NULL && strcmp(delivery, "draft") == 0;
	struct inv_env env = env_of(call);
	if (ok && req.email != NULL && strlen(req.email) <= MAX_EMAIL_LEN)
		ok = limited(call, req.email, !req.draft, f) == 0;
	if (ok)
		ok = invitation_create(&env, &req, &inv, f) == 0;
	json_decref(body);
	if (!ok)
		return -1;
	int64_t id = inv.id;
	invitation_clear(&inv);
	__atomic_add_fetch(&call->rq->app->invitations_created, 1, __ATOMIC_RELAXED);
	if (!req.draft)
		app_kick_outbox(call->rq->app);
	return show(call, id, 201, f);
}

struct list_ctx {
	json_t *items;
	int64_t last_id;
};

static int add_item(void *ctx, const struct invitation *inv)
{
	struct list_ctx *lc = ctx;
	json_array_append_new(lc->items, invitation_json(inv));
	lc->last_id = inv->id;
	return 0;
}

static int list(struct api_call *call, struct fault *f)
{
	struct inv_filter filter = {.inviter_org_id = call->caller.org_id};
	const char *status = http_query(call->rq, "status"), *err;
	enum inv_status s;
	if (api_need_org(call, 0, f) < 0 || api_page(call, &filter.limit, &filter.before_id, f) < 0)
		return -1;
	if (status != NULL) {
		if (inv_status_parse(status, &s) < 0)
			return fault_set(f, 400, "invalid_query", "status", "unknown status");
		filter.status = s;
	}
	struct list_ctx lc = {json_array(), 0};
	if (store_invitation_list(call->st, &filter, add_item, &lc, &err) != STORE_OK) {
		json_decref(lc.items);
		return fault_internal(f, err);
	}
	return http_respond_json(call->rq, 200, api_page_result(lc.items, filter.limit, lc.last_id));
}

static int edit(struct api_call *call, int64_t id, struct fault *f)
{
	static const char *const fields[] = {"subject", "text", NULL};
	const char *subject, *text;
	if (api_need_org(call, 1, f) < 0)
		return -1;
	json_t *body = api_body(call, f);
	if (body == NULL)
		return -1;
	struct inv_env env = env_of(call);
	int ok = api_known_fields(body, fields, f) == 0 &&
		 api_string(body, "subject", MAX_SUBJECT_LEN, 0, &subject, f) == 0 &&
		 api_string(body, "text", MAX_BODY_LEN, 0, &text, f) == 0;
	if (ok && subject == NULL && text == NULL)
		ok = fault_set(f, 422, "missing_field", "text",
			       "give a new subject, a new text, or both") == 0;
	if (ok)
		ok = invitation_edit(&env, call->caller.org_id, id, subject, text, f) == 0;
	json_decref(body);
	return ok ? show(call, id, 200, f) : -1;
}

static int action(struct api_call *call, int64_t id, const char *verb, struct fault *f)
{
	struct inv_env env = env_of(call);
	int64_t org = call->caller.org_id;
	int rc;
	if (api_need_org(call, 1, f) < 0)
		return -1;
	if (strcmp(verb, "send") == 0 || strcmp(verb, "resend") == 0) {
		struct invitation inv;
		if (invitation_load(&env, org, id, 0, &inv, f) < 0)
			return -1;
		rc = limited(call, inv.email, 1, f);
		invitation_clear(&inv);
		if (rc < 0)
			return -1;
	}
	if (strcmp(verb, "send") == 0)
		rc = invitation_send(&env, org, id, f);
	else if (strcmp(verb, "handed-off") == 0)
		rc = invitation_handed_off(&env, org, id, f);
	else if (strcmp(verb, "resend") == 0)
		rc = invitation_resend(&env, org, id, f);
	else if (strcmp(verb, "revoke") == 0)
		rc = invitation_revoke(&env, org, id, f);
	else
		return fault_set(f, 404, "not_found", NULL, "no such action");
	if (rc < 0)
		return -1;
	if (strcmp(verb, "send") == 0 || strcmp(verb, "resend") == 0)
		app_kick_outbox(call->rq->app);
	return show(call, id, 200, f);
}

int api_invitations(struct api_call *call, const char *rest)
{
	struct fault f = {0};
	enum http_method m = call->rq->method;
	int rc;

	if (rest[0] == '\0') {
		rc = m == HTTP_POST  ? create(call, &f)
		     : m == HTTP_GET ? list(call, &f)
				     : api_not_allowed(call, "GET, POST", &f);
	} else {
		const char *id_s = rest + 1, *slash = strchr(id_s, '/');
		size_t id_len = slash ? (size_t)(slash - id_s) : strlen(id_s);
		int64_t id = api_parse_id(id_s, id_len);
		if (id < 0)
			rc = fault_set(&f, 404, "not_found", NULL, "no such invitation");
		else if (slash == NULL)
			rc = m == HTTP_GET     ? (api_need_org(call, 0, &f) < 0 ? -1 : show(call, id, 200, &f))
			     : m == HTTP_PATCH ? edit(call, id, &f)
					       : api_not_allowed(call, "GET, PATCH", &f);
		else
			rc = m == HTTP_POST ? action(call, id, slash + 1, &f)
					    : api_not_allowed(call, "POST", &f);
	}
	return rc < 0 ? http_respond_fault(call->rq, &f) : rc;
}
