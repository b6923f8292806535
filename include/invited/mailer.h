/*
 * mailer.h: composing mail from templates and queueing it in the outbox.
 * Every message gets a fresh random code: its Message-ID is
 * <code@reply_domain> and its envelope sender bounces+code@reply_domain
 * (VERP), so a bounce or a returned header names the message it answers.
 * Queueing writes the rendered bytes to the store in the caller's
 * transaction; nothing is sent here (see outbox.h).
 */
#ifndef INVITED_MAILER_H
#define INVITED_MAILER_H

#include <stdint.h>

#include "limits.h"
#include "mime.h"
#include "store.h"
#include "template.h"

struct mailer {
	const struct tpl_set *tpl;
	char from_addr[MAX_EMAIL_LEN + 1];
	char from_name[MAX_NAME_LEN + 1];
	char reply_domain[MAX_DOMAIN_LEN + 1];
	char public_url[MAX_URL_LEN + 1];
	char default_locale[MAX_LOCALE_LEN + 1];
	int64_t lifetime; /* seconds a queued message is tried before it fails */
};

/* A rendered mail: all three malloc'd. */
struct mail_content {
	char *subject;
	char *text;
	char *html;
};

void mail_content_clear(struct mail_content *c);

/* Render mail/<name>.subject, .txt and .html for locale. */
int mailer_render(const struct mailer *m, const char *name, const char *locale,
		  const struct tpl_vars *vars, struct mail_content *c,
		  const char **error_r);

struct mail_job {
	enum outbox_kind kind;
	struct mail_addr to;
	const char *reply_tag;       /* "reply" or "verify", with reply_code */
	const char *reply_code;
	struct mail_addr reply_to;   /* explicit Reply-To (relay); addr NULL for none */
	int auto_submitted;
	const char *in_reply_to;
	int64_t invitation_id;
	int64_t verification_id;
	int64_t org_id;
	const struct mail_content *content;
};

/* Build the message and add it to the outbox; *id_r (if not NULL) gets the
 * outbox id. Runs inside the caller's transaction. */
int mailer_queue(const struct mailer *m, struct store *st,
		 const struct mail_job *job, int64_t now, int64_t *id_r,
		 const char **error_r);

/* Render a template and queue it: mailer_render + mailer_queue. */
int mailer_queue_template(const struct mailer *m, struct store *st,
			  const char *name, const char *locale,
			  const struct tpl_vars *vars, struct mail_job *job,
			  int64_t now, const char **error_r);

/* A random code of 20 characters from [a-z2-7] (100 bits). */
void mailer_new_code(char code[MAX_CODE_LEN + 1]);

/* The locale to use: want when the templates have it, else the default. */
const char *mailer_locale(const struct mailer *m, const char *want);

/*
 * The template variables every invitation mail and notice shares:
 * inviter, provider (reseller_with_provider), invitee_name, invitee_email,
 * message, kind_<kind> (set to "1"), expires (RFC 3339 date), public_url.
 * Values point into v, which must outlive the render.
 */
struct inv_mail_vars {
	struct tpl_vars vars;
	struct org inviter;
	struct org provider;
	char expires[32];
	char kind_var[48];
};

int mailer_invitation_vars(const struct mailer *m, struct store *st,
			   const struct invitation *inv, struct inv_mail_vars *v,
			   const char **error_r);

/* A reply to an invitation, as the IMAP reader found it. */
struct relayed_reply {
	const char *from_addr;
	const char *from_name;   /* may be NULL */
	const char *subject;     /* UTF-8, may be NULL */
	const char *text;        /* the reply's words, UTF-8, may be NULL */
	const char *message_id;  /* of the reply, for In-Reply-To; may be NULL */
	const char *proof;       /* how the sender was authenticated, for the inviter */
};

/*
 * Relay a reply to the inviter's primary contact, with the replier as
 * Reply-To so that answering reaches them directly. Runs in the caller's
 * transaction; *outbox_id_r (may be NULL) gets the queued message. Returns
 * 1 with *error_r when the inviter has no contact address.
 */
int mailer_invitation_reply(const struct mailer *m, struct store *st,
			    const struct invitation *inv, const struct relayed_reply *r,
			    int64_t now, int64_t *outbox_id_r, const char **error_r);

#endif
