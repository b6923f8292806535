/*
 * console_invite.c: inviting from the console, and the invitations list.
 * Invite reseller (a provider), Invite new customers and Request a
 * reseller relationship (a reseller): a form that makes a draft, then the
 * draft to review: its subject and text to edit (the link must stay), Copy,
 * Open in mail client (mailto:), Send it for me, or Done when the inviter
 * sent it itself. The list shows every invitation of the organization with
 * its messages, bounces and replies; resend and revoke. Admins change
 * things; sales agents see.
 */
#include <stdlib.h>
#include <string.h>

#include "invited/log.h"
#include "invited/text.h"
#include "console_int.h"

static const char *id_text(struct console *c, int64_t id)
{
	return cs_printf(c, "%lld", (long long)id);
}

struct provider_rows {
	struct cs_rows rows;
	int64_t chosen;
};

static int add_provider(void *ctx, const struct relationship *r, const struct org *o)
{
	struct provider_rows *p = ctx;
	struct tpl_vars *v = cs_row_next(&p->rows);
	(void)r;
	if (v == NULL)
		return 1;
	tpl_vars_set(v, "id", id_text(p->rows.c, o->id));
	tpl_vars_set(v, "name", cs_str(p->rows.c, o->legal_name));
	if (o->id == p->chosen)
		tpl_vars_set(v, "chosen", "1");
	return 0;
}

/* The invite form, with what was typed and what is wrong with it. */
static int invite_form(struct console *c, int status, const struct fault *f)
{
	const char *err;
	const char *kind = http_form(c->rq, "kind");
	if (kind == NULL)
		kind = http_query(c->rq, "kind");
	if (c->me.org.kind == ORG_PROVIDER)
		kind = "indirect_provider";
	else if (kind == NULL || strcmp(kind, "reseller") != 0)
		kind = "reseller_with_provider";
	tpl_vars_set(&c->v, cs_printf(c, "invite_%s", kind), "1");
	static const char *const fields[] = {"email", "name", "locale"};
	for (size_t i = 0; i < 3; i++)
		tpl_vars_set(&c->v, cs_printf(c, "f_%s", fields[i]), http_form(c->rq, fields[i]));
	tpl_vars_set(&c->v, "f_message", http_form_text(c->rq, "message"));
	if (c->me.org.kind == ORG_RESELLER) {
		const char *chosen = http_form(c->rq, "provider_id"), *rest;
		struct provider_rows p;
		struct rel_filter rf = {.kind = REL_INDIRECT_PROVIDER, .side = REL_LIST_UP,
					.org_id = c->me.org.id, .limit = CONSOLE_PAGE_ROWS};
		cs_rows_begin(c, &p.rows, CONSOLE_PAGE_ROWS);
		p.chosen = chosen ? cs_path_id(chosen, &rest) : 0;
		if (store_rel_list(c->st, &rf, add_provider, &p, &err) != STORE_OK) {
			msg_error("console: %s", err);
			return cs_error(c, 500, "internal");
		}
		cs_rows_end(&p.rows, "providers", 0);
	}
	if (f != NULL)
		cs_problem(c, f);
	return cs_page(c, status, "invite");
}

/* POST: make the draft, then show it for review. */
static int invite_post(struct console *c)
{
	struct fault f = {0};
	struct invitation inv;
	const char *kind = http_form(c->rq, "kind"), *provider = http_form(c->rq, "provider_id");
	const char *rest;
	struct inv_request req = {
		.inviter_org_id = c->me.org.id,
		.email = http_form(c->rq, "email"),
		.name = http_form(c->rq, "name"),
		.message = http_form_text(c->rq, "message"),
		.locale = http_form(c->rq, "locale"),
		.draft = 1,
	};
	if (req.name != NULL && req.name[0] == '\0')
		req.name = NULL;
	if (req.message != NULL && req.message[0] == '\0')
		req.message = NULL;
	if (req.locale != NULL && req.locale[0] == '\0')
		req.locale = NULL;
	if (c->me.org.kind == ORG_PROVIDER)
		req.kind = INV_INDIRECT_PROVIDER;
	else if (kind != NULL && strcmp(kind, "reseller") == 0)
		req.kind = INV_RESELLER;
	else
		req.kind = INV_RESELLER_WITH_PROVIDER;
	if (req.kind == INV_RESELLER_WITH_PROVIDER)
		req.provider_org_id = provider && provider[0] ? cs_path_id(provider, &rest) : 0;
	if (req.email == NULL || req.email[0] == '\0') {
		fault_set(&f, 422, "missing_field", "email", "Enter the invitee's email address.");
		return invite_form(c, 422, &f);
	}
	if (invitations_limited(c->rq, c->me.org.id, req.email, 0, &f) < 0)
		return invite_form(c, 429, &f);
	if (invitation_create(&c->env, &req, &inv, &f) < 0)
		return f.field ? invite_form(c, f.status, &f) : cs_fault(c, &f);
	int64_t id = inv.id;
	invitation_clear(&inv);
	__atomic_add_fetch(&c->rq->app->invitations_created, 1, __ATOMIC_RELAXED);
	return cs_redirect(c, cs_printf(c, "/console/invitations/%lld", (long long)id));
}

int cs_invite(struct console *c)
{
	if (c->me.org.kind == ORG_CUSTOMER)
		return cs_error(c, 404, "not_found");
	if (!cs_admin(c))
		return cs_error(c, 403, "read_only");
	if (c->me.org.status != ORG_APPROVED)
		return cs_error(c, 403, "org_inactive");
	return c->rq->method == HTTP_POST ? invite_post(c) : invite_form(c, 200, NULL);
}

/* ------------------------------------------------------ the list */

static void status_vars(struct console *c, struct tpl_vars *v, enum inv_status s)
{
	tpl_vars_set(v, "status", inv_status_str(s));
	tpl_vars_set(v, cs_printf(c, "st_%s", inv_status_str(s)), "1");
}

static int add_inv_row(void *ctx, const struct invitation *inv)
{
	struct cs_rows *r = ctx;
	struct console *c = r->c;
	struct tpl_vars *v = cs_row_next(r);
	if (v == NULL)
		return 1;
	tpl_vars_set(v, "id", id_text(c, inv->id));
	tpl_vars_set(v, "email", cs_str(c, inv->email));
	tpl_vars_set(v, "name", inv->name[0] ? cs_str(c, inv->name) : NULL);
	tpl_vars_set(v, cs_printf(c, "ik_%s", inv_kind_str(inv->kind)), "1");
	status_vars(c, v, inv->status);
	tpl_vars_set(v, "updated", cs_time(c, inv->updated_at));
	r->last_id = inv->id;
	return 0;
}

static int inv_list(struct console *c)
{
	const char *status = http_query(c->rq, "status"), *err;
	enum inv_status s;
	struct inv_filter filter = {.inviter_org_id = c->me.org.id, .limit = CONSOLE_PAGE_ROWS,
				    .before_id = cs_cursor(c)};
	if (status != NULL && status[0] != '\0') {
		if (inv_status_parse(status, &s) < 0)
			return cs_error(c, 400, "bad_filter");
		filter.status = s;
		cs_filter(c, status);
	}
	struct cs_rows r;
	cs_rows_begin(c, &r, CONSOLE_PAGE_ROWS);
	if (store_invitation_list(c->st, &filter, add_inv_row, &r, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	cs_rows_end(&r, "rows", 1);
	return cs_page(c, 200, "invitations");
}

/* ------------------------------------------------- one invitation */

static int add_inbound(void *ctx, const struct inbound_row *in)
{
	struct cs_rows *r = ctx;
	struct console *c = r->c;
	struct tpl_vars *v = cs_row_next(r);
	if (v == NULL)
		return 1;
	tpl_vars_set(v, "cls", cs_str(c, in->cls));
	tpl_vars_set(v, "from", in->from_addr[0] ? cs_str(c, in->from_addr) : NULL);
	tpl_vars_set(v, "subject", cs_str(c, in->subject));
	tpl_vars_set(v, "detail", in->detail[0] ? cs_str(c, in->detail) : NULL);
	tpl_vars_set(v, "at", cs_time(c, in->received_at));
	return 0;
}

/* "mailto:addr?subject=…&body=…", percent-encoded (RFC 6068). */
static const char *mailto(struct console *c, const struct invitation *inv)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *parts[] = {inv->email, "?subject=", inv->subject, "&body=", inv->body_text};
	size_t cap = 16;
	for (size_t i = 0; i < 5; i++) /* at most 6 bytes each: "\n" is "%0D%0A" */
		cap += 6 * strlen(parts[i] ? parts[i] : "");
	char *out = malloc(cap), *w = out;
	if (out == NULL)
		return NULL;
	w += sprintf(w, "mailto:");
	for (size_t i = 0; i < 5; i++) {
		const unsigned char *p = (const unsigned char *)(parts[i] ? parts[i] : "");
		int literal = i == 1 || i == 3;
		for (; *p; p++) {
			if (literal || (*p < 0x80 && (strchr("-._~", *p) || (*p >= '0' && *p <= '9') ||
						       ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
						       (i == 0 && *p == '@')))) {
				*w++ = (char)*p;
			} else if (*p == '\n' && i == 4) {
				memcpy(w, "%0D%0A", 6), w += 6;
			} else {
				*w++ = '%', *w++ = hex[*p >> 4], *w++ = hex[*p & 15];
			}
		}
	}
	*w = '\0';
	const char *kept = cs_str(c, out);
	free(out);
	return kept;
}

static int inv_show(struct console *c, int64_t id, int status, const struct fault *problem)
{
	struct fault f = {0};
	struct invitation inv;
	const char *err;
	if (invitation_load(&c->env, c->me.org.id, id, 1, &inv, &f) < 0)
		return cs_fault(c, &f);
	char *link = invitation_reveal(&c->env, &inv, cs_admin(c));
	struct tpl_vars *v = &c->v;
	tpl_vars_set(v, "id", id_text(c, inv.id));
	tpl_vars_set(v, "email", cs_str(c, inv.email));
	tpl_vars_set(v, "name", inv.name[0] ? cs_str(c, inv.name) : NULL);
	tpl_vars_set(v, cs_printf(c, "ik_%s", inv_kind_str(inv.kind)), "1");
	status_vars(c, v, inv.status);
	tpl_vars_set(v, "reason", inv.status_reason[0] ? cs_str(c, inv.status_reason) : NULL);
	tpl_vars_set(v, "expires", cs_time(c, inv.expires_at));
	tpl_vars_set(v, "subject", cs_str(c, inv.subject));
	/* what was typed, when a change was refused */
	const char *typed = problem ? http_form_text(c->rq, "text") : NULL;
	tpl_vars_set(v, "text", cs_str(c, typed ? typed : inv.body_text ? inv.body_text : ""));
	if (problem && http_form(c->rq, "subject"))
		tpl_vars_set(v, "subject", cs_str(c, http_form(c->rq, "subject")));
	if (link != NULL) {
		tpl_vars_set(v, "link", cs_str(c, link));
		if (inv.status == INV_DRAFT && cs_admin(c)) {
			tpl_vars_set(v, "review", "1");
			tpl_vars_set(v, "mailto", mailto(c, &inv));
		}
	}
	/* The buttons the table allows (a draft is sent, not resent). */
	if (cs_admin(c) && invitation_transition(inv.status, INV_EV_REVOKE) > 0)
		tpl_vars_set(v, "can_revoke", "1");
	if (cs_admin(c) && invitation_transition(inv.status, INV_EV_RESEND) > 0)
		tpl_vars_set(v, "can_resend", "1");
	if (problem != NULL)
		cs_problem(c, problem);
	free(link);
	invitation_clear(&inv);

	struct cs_rows m, in;
	struct outbox_filter of = {.invitation_id = id, .limit = CONSOLE_PAGE_ROWS};
	cs_rows_begin(c, &m, CONSOLE_PAGE_ROWS);
	cs_rows_begin(c, &in, CONSOLE_PAGE_ROWS);
	if (store_outbox_list(c->st, &of, cs_message_row, &m, &err) != STORE_OK ||
	    store_inbound_list(c->st, id, add_inbound, &in, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	cs_rows_end(&m, "messages", 0);
	cs_rows_end(&in, "inbound", 0);
	return cs_page(c, status, "invitation");
}

/* A textarea's lines come as CRLF; the store keeps LF. */
static char *lf_only(const char *s)
{
	char *out = strdup(s), *w = out;
	if (out == NULL)
		return NULL;
	for (const char *p = s; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*w++ = *p == '\r' ? '\n' : *p;
	*w = '\0';
	return out;
}

/* Save the reviewed subject and text of inv (loaded with its bodies)
 * when they changed. */
static int save_edits(struct console *c, const struct invitation *inv, struct fault *f)
{
	const char *subject = http_form(c->rq, "subject");
	const char *text = http_form_text(c->rq, "text");
	char *lf = text ? lf_only(text) : NULL;
	if (subject != NULL && strcmp(subject, inv->subject) == 0)
		subject = NULL;
	if (lf != NULL && inv->body_text != NULL && strcmp(lf, inv->body_text) == 0) {
		free(lf);
		lf = NULL;
	}
	int rc = subject || lf ? invitation_edit(&c->env, c->me.org.id, inv->id, subject, lf, f)
			       : 0;
	free(lf);
	return rc;
}

/* The review's buttons (save, send, done: each saves the edits first) and
 * resend and revoke. A refusal (a limit, an edit without the link) comes
 * before any change. */
static int inv_action(struct console *c, int64_t id)
{
	const char *action = http_form(c->rq, "action");
	struct fault f = {0};
	struct invitation inv;
	int rc;
	if (!cs_admin(c))
		return cs_error(c, 403, "read_only");
	if (action == NULL)
		return cs_error(c, 400, "bad_form");
	int save = strcmp(action, "save") == 0, send = strcmp(action, "send") == 0;
	int done = strcmp(action, "done") == 0, resend = strcmp(action, "resend") == 0;
	int revoke = strcmp(action, "revoke") == 0;
	if (!save && !send && !done && !resend && !revoke)
		return cs_error(c, 400, "bad_form");
	int edits = save || send || done, mails = send || resend;
	if (invitation_load(&c->env, c->me.org.id, id, edits, &inv, &f) < 0)
		return cs_fault(c, &f);
	rc = mails ? invitations_limited(c->rq, c->me.org.id, inv.email, 1, &f) : 0;
	if (rc == 0 && edits)
		rc = save_edits(c, &inv, &f);
	invitation_clear(&inv);
	if (rc < 0)
		return f.field ? inv_show(c, id, f.status, &f) : cs_fault(c, &f);
	if (send)
		rc = invitation_send(&c->env, c->me.org.id, id, &f);
	else if (done)
		rc = invitation_handed_off(&c->env, c->me.org.id, id, &f);
	else if (resend)
		rc = invitation_resend(&c->env, c->me.org.id, id, &f);
	else if (revoke)
		rc = invitation_revoke(&c->env, c->me.org.id, id, &f);
	if (rc < 0)
		return cs_fault(c, &f);
	if (mails)
		app_kick_outbox(c->rq->app);
	return cs_redirect(c, cs_printf(c, "/console/invitations/%lld", (long long)id));
}

int cs_invitations(struct console *c, const char *rest)
{
	int post = c->rq->method == HTTP_POST;
	if (rest[0] == '\0')
		return post ? (c->rq->allow = "GET, HEAD", cs_error(c, 405, "method")) : inv_list(c);
	int64_t id = rest[0] == '/' ? cs_path_id(rest + 1, &rest) : -1;
	if (id < 0 || rest[0] != '\0')
		return cs_error(c, 404, "not_found");
	return post ? inv_action(c, id) : inv_show(c, id, 200, NULL);
}
