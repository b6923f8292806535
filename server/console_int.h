/*
 * console_int.h: what the partner console's pages share (server/console*.c).
 * A request to a signed-in page becomes a struct console: the person
 * (their user and organization), the page's variables, and a pool for the
 * strings of its rows, freed once the page is rendered.
 */
#ifndef INVITED_CONSOLE_INT_H
#define INVITED_CONSOLE_INT_H

#include <stdarg.h>

#include "invited/http.h"
#include "invited/pages.h"
#include "invited/signin.h"

#define CONSOLE_PAGE_ROWS 50     /* rows on a list page; "Older" pages on */
#define CONSOLE_ACCOUNT_ROWS 200 /* users and API keys shown, unpaged */

struct pool_block;

struct console {
	struct request *rq;
	struct store *st;
	struct inv_env env;
	struct signin_view me;
	const char *locale;
	struct tpl_vars v;
	struct pool_block *pool;
	char actor[32];        /* "user:<id>", for the audit log */
};

/* The locale of a page for someone not signed in: Japanese when the
 * browser puts it first, else the default (NULL). */
const char *console_locale(struct request *rq);
/* Render page/<name>.html with the console's anti-forgery field (bound to
 * the session, if any) and answer. */
int console_form_page(struct request *rq, int status, const char *name, struct tpl_vars *v,
		      const char *locale);
/* Whether a POST carries the console's anti-forgery field. */
int console_form_ok(struct request *rq);
/* The enrollment form for a new partner, /console/enroll (signed out). */
int console_enroll(struct request *rq, struct store *st);

/* Strings that live until the page is answered. */
const char *cs_printf(struct console *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *cs_str(struct console *c, const char *s);
const char *cs_time(struct console *c, int64_t t);   /* "2026-12-06 10:20 UTC" */

/* The rows of one list on a page, read from the store by a callback that
 * takes each next row with cs_row_next (NULL once max are taken: the
 * callback then returns 1, which ends the read). */
struct cs_rows {
	struct console *c;
	struct tpl_vars *row;
	size_t n, max;
	int64_t last_id;       /* a paged list's next cursor */
};
void cs_rows_begin(struct console *c, struct cs_rows *r, size_t max);
struct tpl_vars *cs_row_next(struct cs_rows *r);
/* The rows become the page's list name, with any_<name> set when there
 * are some (for the table around them); paged, a full page also sets
 * "older" to the next page's cursor. */
void cs_rows_end(struct cs_rows *r, const char *name, int paged);
/* The before= cursor of a list page: 0 for the first. */
int64_t cs_cursor(struct console *c);
/* A store_outbox_cb: one outbox message as a row (id, kind, rcpt,
 * status, attempts, created, at: when sent or else queued, reply). */
int cs_message_row(void *ctx, const struct outbox_msg *m);
/* A list page's status filter: "filter" and filter_<value> for the
 * chosen option. */
void cs_filter(struct console *c, const char *value);
/* A refused form's fault, shown next to its field (problem_<field>, or
 * problem_form) with its sentence (problem). */
void cs_problem(struct console *c, const struct fault *f);

/* Answer with page/<name>.html: the person's and organization's
 * variables, the menu, the anti-forgery field. */
int cs_page(struct console *c, int status, const char *name);
/* The error page, in the person's locale. */
int cs_error(struct console *c, int status, const char *code);
/* A fault from a lower layer as the error page. */
int cs_fault(struct console *c, const struct fault *f);
/* 303 to a console path. */
int cs_redirect(struct console *c, const char *path);
/* Whether a POST carries this session's anti-forgery field. */
int cs_form_ok(struct console *c);
/* 1 for an admin_agent; a sales_agent sees lists and changes nothing. */
int cs_admin(const struct console *c);
/* A path segment as an id: "12/rest" gives 12 and *rest_r "/rest"; -1
 * when it is not one. */
int64_t cs_path_id(const char *s, const char **rest_r);
/* The other organization by id, when it is in an active relationship of
 * kind with c's (either side): 0, or -1 (then the caller answers 404). */
int cs_partner(struct console *c, enum rel_kind kind, int64_t id, struct org *o);

/* The pages, by file. */
int cs_dashboard(struct console *c);
int cs_partners(struct console *c, const char *rest);
int cs_customers(struct console *c);
int cs_invite(struct console *c);
int cs_invitations(struct console *c, const char *rest);
int cs_users(struct console *c, const char *rest);
int cs_keys(struct console *c, const char *rest);
/* The organization's domains, their state and TXT records; check now. */
int cs_domains(struct console *c, const char *rest);
/* Admin agents' and operators' webhook endpoints. */
int cs_webhooks(struct console *c, const char *rest);
/* An operator's session: the review queue and the outbox only. */
int cs_operator(struct console *c, const char *rest);

#endif
