/*
 * mailer.c: render a mail from its templates and queue its exact bytes.
 * The code that names a message (Message-ID, VERP envelope sender) is
 * made here, so every queued message can be recognised when it returns.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "invited/log.h"
#include "invited/mailer.h"

void mail_content_clear(struct mail_content *c)
{
	free(c->subject);
	free(c->text);
	free(c->html);
	c->subject = c->text = c->html = NULL;
}

void mailer_new_code(char code[MAX_CODE_LEN + 1])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[20];
	randombytes_buf(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		code[i] = alphabet[raw[i] & 31];
	code[sizeof(raw)] = '\0';
}

const char *mailer_locale(const struct mailer *m, const char *want)
{
	if (want != NULL && want[0] != '\0' && tpl_has_locale(m->tpl, want))
		return want;
	return m->default_locale;
}

/* Subjects are one line: drop the template file's trailing newlines. */
static void trim_subject(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

int mailer_render(const struct mailer *m, const char *name, const char *locale,
		  const struct tpl_vars *vars, struct mail_content *c,
		  const char **error_r)
{
	char path[128];
	memset(c, 0, sizeof(*c));
	locale = mailer_locale(m, locale);

	snprintf(path, sizeof(path), "mail/%s.subject", name);
	if (tpl_render(m->tpl, locale, path, vars, &c->subject, NULL, error_r) < 0)
		goto fail;
	trim_subject(c->subject);
	snprintf(path, sizeof(path), "mail/%s.txt", name);
	if (tpl_render(m->tpl, locale, path, vars, &c->text, NULL, error_r) < 0)
		goto fail;
	snprintf(path, sizeof(path), "mail/%s.html", name);
	if (tpl_render(m->tpl, locale, path, vars, &c->html, NULL, error_r) < 0)
		goto fail;
	return 0;
fail:
	mail_content_clear(c);
	return -1;
}

int mailer_queue(const struct mailer *m, struct store *st,
		 const struct mail_job *job, int64_t now, int64_t *id_r,
		 const char **error_r)
{
	struct outbox_msg msg;
	char reply_to[MAX_EMAIL_LEN + 1];
	memset(&msg, 0, sizeof(msg));
	mailer_new_code(msg.code);
	snprintf(msg.message_id, sizeof(msg.message_id), "%s@%s", msg.code,
		 m->reply_domain);
	snprintf(msg.env_from, sizeof(msg.env_from), "bounces+%s@%s", msg.code,
		 m->reply_domain);
	msg.kind = job->kind;
	snprintf(msg.rcpt, sizeof(msg.rcpt), "%s", job->to.addr);

	struct mail_spec spec = {
		.from = {m->from_name[0] ? m->from_name : NULL, m->from_addr},
		.to = job->to,
		.reply_to = job->reply_to,
		.subject = job->content->subject,
		.text = job->content->text,
		.html = job->content->html,
		.message_id = msg.message_id,
		.in_reply_to = job->in_reply_to,
		.date = now,
		.auto_submitted = job->auto_submitted,
	};
	if (job->reply_tag != NULL) {
		snprintf(reply_to, sizeof(reply_to), "%s+%s@%s", job->reply_tag,
			 job->reply_code, m->reply_domain);
		spec.reply_to = (struct mail_addr){NULL, reply_to};
	}
	if (mime_build(&spec, &msg.data, &msg.len, error_r) < 0)
		return -1;
	msg.invitation_id = job->invitation_id;
	msg.verification_id = job->verification_id;
	msg.org_id = job->org_id;
	msg.created_at = now;
	msg.expires_at = now + m->lifetime;
	int rc = store_outbox_add(st, &msg, error_r);
	outbox_msg_clear(&msg);
	if (rc != STORE_OK)
		return -1;
	if (id_r != NULL)
		*id_r = msg.id;
	return 0;
}

int mailer_queue_template(const struct mailer *m, struct store *st,
			  const char *name, const char *locale,
			  const struct tpl_vars *vars, struct mail_job *job,
			  int64_t now, const char **error_r)
{
	struct mail_content c;
	if (mailer_render(m, name, locale, vars, &c, error_r) < 0)
		return -1;
	job->content = &c;
	int rc = mailer_queue(m, st, job, now, NULL, error_r);
	job->content = NULL;
	mail_content_clear(&c);
	return rc;
}
