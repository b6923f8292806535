/*
 * inbound.c: one message that came back, classified, matched to what we
 * sent, acted on and recorded in one transaction (see inbound.h).
 */
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "invited/inbound.h"
#include "invited/log.h"
#include "invited/mime.h"
#include "invited/verify.h"

/* A word of a blank- or comma-separated list, compared without case. */
static int in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;
	while (p != NULL && *p != '\0') {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, " \t,");
		if (len == n && n > 0 && strncasecmp(p, word, n) == 0)
			return 1;
		p += len;
	}
	return 0;
}

/* A public suffix (com, co.jp, test, github.io) is no one's domain: a
 * signature or DMARC result for it proves nothing about an address. With no
 * list at hand, every domain counts as one: nothing is proven. */
static int public_suffix(const char *domain)
{
	const psl_ctx_t *psl = psl_builtin();
	return psl == NULL || psl_is_public_suffix(psl, domain);
}

int inbound_authentic(const struct classify_result *res, const char *trusted_authserv,
		      const char **why_r)
{
	const char *at = strrchr(res->from_addr, '@');
	if (at == NULL) {
		*why_r = "the reply has no From address";
		return 0;
	}
	if (res->from_count > 1) {
		*why_r = "the reply has more than one From address: which one a signature vouched "
			 "for is unknowable";
		return 0;
	}
	if (res->n_auth == 0) {
		*why_r = "the reply has no Authentication-Results";
		return 0;
	}
	/* Only the topmost header counts (RFC 8601 section 5): our MTA adds
	 * its own above everything the sender wrote, and a header below it,
	 * even one naming our MTA, may be the sender's. */
	const char *server = res->auth[0].authserv_id;
	if (res->auth[0].header != 0) {
		*why_r = "the topmost Authentication-Results header shows no result";
		return 0;
	}
	if (!in_list(trusted_authserv, server)) {
		*why_r = errorf("the topmost Authentication-Results header is not from a trusted "
				"server (%s)",
				server);
		return 0;
	}
	const char *domain = at + 1;
	for (size_t i = 0; i < res->n_auth && res->auth[i].header == 0; i++) {
		const struct auth_result *a = &res->auth[i];
		if (strcasecmp(a->result, "pass") != 0 || a->domain[0] == '\0' ||
		    public_suffix(a->domain))
			continue;
		if (strcasecmp(a->method, "dkim") == 0 && domain_within(domain, a->domain)) {
			*why_r = errorf("%s: dkim=pass header.d=%s", server, a->domain);
			return 1;
		}
		if (strcasecmp(a->method, "dmarc") == 0 && strcasecmp(domain, a->domain) == 0) {
			*why_r = errorf("%s: dmarc=pass header.from=%s", server, a->domain);
			return 1;
		}
	}
	*why_r = errorf("%s shows neither dkim=pass nor dmarc=pass for %s (a public suffix "
			"proves nothing)",
			server, domain);
	return 0;
}

static void set_action(struct inbound_row *r, enum inbound_action action, const char *detail)
{
	r->action = action;
	snprintf(r->detail, sizeof(r->detail), "%s", detail != NULL ? detail : "");
}

/* The message a bounce or auto-reply answers: by the VERP code, else by
 * the Message-ID of the returned original. */
static int find_sent(struct store *st, const struct classify_result *res,
		     struct outbox_msg *m, const char **error_r)
{
	int rc = STORE_NOT_FOUND;
	if (res->tag == TAG_BOUNCES)
		rc = store_outbox_by_code(st, res->code, m, error_r);
	if (rc == STORE_NOT_FOUND && res->returned_message_id[0] != '\0')
		rc = store_outbox_by_message_id(st, res->returned_message_id, m, error_r);
	if (rc == STORE_OK)
		outbox_msg_clear(m); /* the bytes are not needed */
	return rc;
}

/* The recipient line that says most about a bounce, as one sentence. */
static const char *bounce_reason(const struct classify_result *res)
{
	const struct bounce_rcpt *worst = NULL;
	for (size_t i = 0; i < res->n_rcpts; i++)
		if (worst == NULL || res->rcpts[i].kind > worst->kind)
			worst = &res->rcpts[i];
	if (worst == NULL)
		return errorf("%s bounce: %s", bounce_kind_str(res->bounce), res->reason);
	const char *said = worst->diagnostic[0] ? worst->diagnostic : "delivery failed";
	/* The server's words usually carry the status and the address; add
	 * them only when they don't. */
	int has_status = worst->status[0] == '\0' || strstr(said, worst->status) != NULL;
	int has_addr = worst->addr[0] == '\0' || strcasestr(said, worst->addr) != NULL;
	return errorf("%s%s%s%s%s", has_status ? "" : worst->status, has_status ? "" : " ", said,
		      has_addr ? "" : " for ", has_addr ? "" : worst->addr);
}

static int on_bounce(const struct verifier_env *env, const struct classify_result *res,
		     struct inbound_row *r, const char **error_r)
{
	struct outbox_msg m;
	int rc = find_sent(env->st, res, &m, error_r);
	if (rc == STORE_ERROR)
		return -1;
	if (rc == STORE_NOT_FOUND) {
		set_action(r, INBOUND_UNMATCHED, "a bounce for no message we sent");
		return 0;
	}
	r->outbox_id = m.id;
	r->invitation_id = m.invitation_id;
	r->verification_id = m.verification_id;
	const char *reason = bounce_reason(res);
	/* The mail's own line, as the outbox logs a send (Postfix's way): the
	 * news came back by mail, read over IMAP. */
	if (res->bounce == BOUNCE_PERMANENT)
		msg_warn("outbox: id=%lld to=<%s> relay=imap kind=%s status=bounced (%s)",
			 (long long)m.id, m.rcpt, outbox_kind_str(m.kind), reason);
	else
		msg_info("outbox: id=%lld to=<%s> relay=imap kind=%s status=delayed (%s)",
			 (long long)m.id, m.rcpt, outbox_kind_str(m.kind), reason);
	if (res->bounce != BOUNCE_PERMANENT) {
		set_action(r, INBOUND_BOUNCE_NOTED,
			   errorf("%s of a %s mail: %s", bounce_kind_str(res->bounce),
				  outbox_kind_str(m.kind), reason));
		return 0;
	}
	/* What a bounce means for what the mail carried is its owner's to
	 * decide: the invitation's or the verification's. */
	struct mail_report rep = {
		.outcome = MAIL_BOUNCED,
		.kind = m.kind,
		.message_id = m.id,
		.invitation_id = m.invitation_id,
		.verification_id = m.verification_id,
		.org_id = m.org_id,
		.reason = reason,
		.actor = env->actor,
	};
	const char *why = NULL;
	rc = env->report_mail != NULL
		     ? env->report_mail(env->link_ctx, env->st, &rep, env->now, &why)
		     : 1;
	if (rc < 0) {
		*error_r = why;
		return -1;
	}
	if (rc == 0)
		set_action(r, INBOUND_BOUNCED, reason);
	else
		set_action(r, INBOUND_BOUNCE_NOTED,
			   errorf("permanent bounce of a %s mail (%s): %s", outbox_kind_str(m.kind),
				  why != NULL ? why : "nothing to change", reason));
	return 0;
}

static int on_auto_reply(const struct verifier_env *env, const struct classify_result *res,
			 struct inbound_row *r, const char **error_r)
{
	struct outbox_msg m;
	struct invitation inv;
	struct verification v;
	int rc = STORE_NOT_FOUND;
	if (res->tag == TAG_REPLY) {
		rc = store_invitation_by_reply_code(env->st, res->code, &inv, error_r);
		if (rc == STORE_OK)
			r->invitation_id = inv.id;
	} else if (res->tag == TAG_VERIFY) {
		rc = store_verif_by_reply_code(env->st, res->code, &v, error_r);
		if (rc == STORE_OK)
			r->verification_id = v.id;
	} else {
		rc = find_sent(env->st, res, &m, error_r);
		if (rc == STORE_OK) {
			r->outbox_id = m.id;
			r->invitation_id = m.invitation_id;
			r->verification_id = m.verification_id;
		}
	}
	if (rc == STORE_ERROR)
		return -1;
	if (rc == STORE_NOT_FOUND) {
		set_action(r, INBOUND_UNMATCHED, errorf("an auto-reply (%s) to nothing we sent",
						  res->reason));
		return 0;
	}
	set_action(r, INBOUND_AUTO_REPLY, errorf("recorded, not answered: %s", res->reason));
	return 0;
}

static int on_verify_reply(const struct verifier_env *env, const struct inbound_opts *opts,
			   const struct classify_result *res, struct inbound_row *r,
			   const char **error_r)
{
	struct verification v;
	int rc = store_verif_by_reply_code(env->st, res->code, &v, error_r);
	if (rc == STORE_ERROR)
		return -1;
	if (rc == STORE_NOT_FOUND) {
		set_action(r, INBOUND_UNMATCHED, "a reply to a verification code we do not know");
		return 0;
	}
	r->verification_id = v.id;
	const char *proof;
	if (opts->trust_relay)
		proof = "the receiving relay is trusted ([imap] trust_relay)";
	else if (!inbound_authentic(res, opts->trusted_authserv, &proof)) {
		set_action(r, INBOUND_VERIFY_IGNORED, errorf("not authenticated: %s", proof));
		return 0;
	}
	struct verify_view view;
	const char *why;
	enum verify_status s = verify_by_reply(env, res->code, res->from_addr, &view, &why);
	if (s == VERIFY_INTERNAL) {
		*error_r = why;
		return -1;
	}
	if (s != VERIFY_OK) {
		set_action(r, INBOUND_VERIFY_IGNORED, why);
		return 0;
	}
	set_action(r, INBOUND_VERIFIED, errorf("%s; %s", why, proof));
	return 0;
}

/*
 * A reply to an invitation is relayed to the inviter only when it is the
 * invitee's: from the invited address, authenticated by the same rule as
 * a reply that verifies a contact, and within opts->relay_per_day relays
 * of the invitation a day. Anything else is kept on the invitation with
 * why: a relay is a mail from our own address into the inviter's inbox,
 * which strangers must not be able to send.
 */
static int on_invitation_reply(const struct verifier_env *env, const struct inbound_opts *opts,
			       const struct classify_result *res, struct inbound_row *r,
			       const char **error_r)
{
	struct invitation inv;
	int rc = store_invitation_by_reply_code(env->st, res->code, &inv, error_r);
	if (rc == STORE_ERROR)
		return -1;
	if (rc == STORE_NOT_FOUND) {
		set_action(r, INBOUND_UNMATCHED, "a reply to an invitation code we do not know");
		return 0;
	}
	r->invitation_id = inv.id;
	/* No one to answer: a relay needs the replier's address for Reply-To. */
	if (res->from_addr[0] == '\0' || !mime_addr_valid(res->from_addr)) {
		set_action(r, INBOUND_UNMATCHED, "a reply without a valid From address: not relayed");
		return 0;
	}
	if (strcasecmp(res->from_addr, inv.email) != 0) {
		set_action(r, INBOUND_REPLY_KEPT,
			   errorf("not relayed: from %s, not the invited address", res->from_addr));
		return 0;
	}
	const char *proof;
	if (opts->trust_relay)
		proof = "the receiving relay is trusted ([imap] trust_relay)";
	else if (!inbound_authentic(res, opts->trusted_authserv, &proof)) {
		set_action(r, INBOUND_REPLY_KEPT, errorf("not relayed: not authenticated: %s", proof));
		return 0;
	}
	char why[256];
	snprintf(why, sizeof(why), "%s", proof); /* errorf's buffer is reused below */
	int64_t relays = 0;
	if (store_inbound_relays_since(env->st, inv.id, env->now - 86400, &relays, error_r) !=
	    STORE_OK)
		return -1;
	if (relays >= opts->relay_per_day) {
		set_action(r, INBOUND_REPLY_KEPT,
			   errorf("not relayed: %lld replies relayed in the last 24 hours "
				  "([mail] relay_per_day)", (long long)relays));
		return 0;
	}
	struct relayed_reply reply = {
		.from_addr = res->from_addr,
		.from_name = res->from_name,
		.subject = res->subject,
		.text = res->text,
		.message_id = res->message_id[0] ? res->message_id : NULL,
		.proof = why,
	};
	int64_t outbox_id = 0;
	rc = mailer_invitation_reply(env->mailer, env->st, &inv, &reply, env->now, &outbox_id,
				     error_r);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		set_action(r, INBOUND_REPLY_KEPT, *error_r);
		return 0;
	}
	r->outbox_id = outbox_id;
	set_action(r, INBOUND_RELAYED, errorf("relayed to the inviter (outbox %lld)",
					      (long long)outbox_id));
	struct mail_report rep = {
		.outcome = MAIL_REPLIED,
		.kind = OUTBOX_INVITATION,
		.invitation_id = inv.id,
		.org_id = inv.inviter_org_id,
		.reason = errorf("from %s, relayed to the inviter", res->from_addr),
		.actor = env->actor,
	};
	if (env->report_mail != NULL &&
	    env->report_mail(env->link_ctx, env->st, &rep, env->now, error_r) < 0)
		return -1;
	return 0;
}

static int act(const struct verifier_env *env, const struct inbound_opts *opts,
	       const struct classify_result *res, struct inbound_row *r,
	       const char **error_r)
{
	switch (res->cls) {
	case MAIL_BOUNCE:
		return on_bounce(env, res, r, error_r);
	case MAIL_AUTO_REPLY:
		return on_auto_reply(env, res, r, error_r);
	case MAIL_REPLY:
		if (res->tag == TAG_VERIFY)
			return on_verify_reply(env, opts, res, r, error_r);
		if (res->tag == TAG_REPLY)
			return on_invitation_reply(env, opts, res, r, error_r);
		set_action(r, INBOUND_UNMATCHED, "a reply to none of our reply addresses");
		return 0;
	case MAIL_UNKNOWN:
		break;
	}
	set_action(r, INBOUND_UNMATCHED, res->reason);
	return 0;
}

/* Already handled: the same UID, or the same message (a UIDVALIDITY
 * change renumbers what was left in the mailbox): its Message-ID with its
 * sender, tag and code, since anyone may choose a Message-ID. A message
 * not read (res NULL) is known by its UID only. */
static int find_done(struct store *st, const struct inbound_where *w,
		     const struct classify_result *res, struct inbound_outcome *out,
		     const char **error_r)
{
	int rc = store_inbound_get(st, w->mailbox, w->uidvalidity, w->uid, &out->row, error_r);
	if (rc == STORE_NOT_FOUND && res != NULL && res->message_id[0] != '\0') {
		struct inbound_row m;
		memset(&m, 0, sizeof(m));
		snprintf(m.mailbox, sizeof(m.mailbox), "%s", w->mailbox);
		snprintf(m.message_id, sizeof(m.message_id), "%s", res->message_id);
		snprintf(m.from_addr, sizeof(m.from_addr), "%s", res->from_addr);
		snprintf(m.tag, sizeof(m.tag), "%s", mail_tag_str(res->tag));
		snprintf(m.code, sizeof(m.code), "%s", res->code);
		rc = store_inbound_same(st, &m, &out->row, error_r);
	}
	if (rc == STORE_OK) {
		out->duplicate = 1;
		out->unmatched = out->row.action == INBOUND_UNMATCHED;
	}
	return rc;
}

/* Record r and move the mailbox's last UID, in the open transaction. */
static int record(const struct verifier_env *env, const struct inbound_where *w,
		  struct inbound_outcome *out, const char **error_r)
{
	struct inbound_row *r = &out->row;
	snprintf(r->mailbox, sizeof(r->mailbox), "%s", w->mailbox);
	r->uidvalidity = w->uidvalidity;
	r->uid = w->uid;
	r->received_at = env->now;
	out->unmatched = r->action == INBOUND_UNMATCHED;
	if (store_inbound_add(env->st, r, error_r) != STORE_OK ||
	    store_imap_state_set(env->st, w->mailbox, w->uidvalidity, w->uid, error_r) !=
		    STORE_OK)
		return -1;
	return 0;
}

/* Act on a classified message and record it, unless it was handled. */
static int handle_classified(const struct verifier_env *env, const struct inbound_opts *opts,
			     const struct inbound_where *where,
			     const struct classify_result *res, struct inbound_outcome *out,
			     const char **error_r)
{
	int found = find_done(env->st, where, res, out, error_r);
	if (found != STORE_NOT_FOUND)
		return found == STORE_OK ? 0 : -1;
	struct inbound_row *r = &out->row;
	snprintf(r->message_id, sizeof(r->message_id), "%s", res->message_id);
	snprintf(r->cls, sizeof(r->cls), "%s", mail_class_str(res->cls));
	snprintf(r->tag, sizeof(r->tag), "%s", mail_tag_str(res->tag));
	snprintf(r->code, sizeof(r->code), "%s", res->code);
	snprintf(r->from_addr, sizeof(r->from_addr), "%s", res->from_addr);
	snprintf(r->subject, sizeof(r->subject), "%s", res->subject);
	if (act(env, opts, res, r, error_r) < 0)
		return -1;
	return record(env, where, out, error_r);
}

int inbound_handle_in_tx(const struct verifier_env *env, const struct inbound_opts *opts,
			 const struct inbound_where *where, const char *data, size_t len,
			 struct inbound_outcome *out, const char **error_r)
{
	struct classify_opts copts = {.reply_domain = env->mailer->reply_domain};
	struct classify_result res;
	memset(out, 0, sizeof(*out));
	if (classify_message(data, len, &copts, &res, error_r) < 0)
		return -1;
	int rc = handle_classified(env, opts, where, &res, out, error_r);
	classify_result_clear(&res);
	return rc;
}

int inbound_handle(const struct verifier_env *env, const struct inbound_opts *opts,
		   const struct inbound_where *where, const char *data, size_t len,
		   struct inbound_outcome *out, const char **error_r)
{
	if (store_begin(env->st, error_r) != STORE_OK)
		return -1;
	if (inbound_handle_in_tx(env, opts, where, data, len, out, error_r) < 0 ||
	    store_commit(env->st, error_r) != STORE_OK) {
		store_rollback(env->st);
		return -1;
	}
	return 0;
}

int inbound_skip(const struct verifier_env *env, const struct inbound_where *where,
		 const char *reason, struct inbound_outcome *out, const char **error_r)
{
	memset(out, 0, sizeof(*out));
	if (store_begin(env->st, error_r) != STORE_OK)
		return -1;
	int found = find_done(env->st, where, NULL, out, error_r);
	if (found != STORE_NOT_FOUND) {
		store_rollback(env->st);
		return found == STORE_OK ? 0 : -1;
	}
	snprintf(out->row.cls, sizeof(out->row.cls), "unknown");
	set_action(&out->row, INBOUND_UNMATCHED, reason);
	if (record(env, where, out, error_r) < 0 || store_commit(env->st, error_r) != STORE_OK) {
		store_rollback(env->st);
		return -1;
	}
	return 0;
}
