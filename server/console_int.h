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

#define CONSOLE_PAGE_ROWS 50 /* rows on a list page; "Older" pages on */

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

/* Strings and rows that live until the page is answered. */
const char *cs_printf(struct console *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *cs_str(struct console *c, const char *s);
struct tpl_vars *cs_rows(struct console *c, size_t n);
const char *cs_time(struct console *c, int64_t t);   /* "2026-12-06 10:20 UTC" */
/* The page's list name, and any_<name> set when it has rows (for the
 * table around them). */
void cs_list(struct console *c, const char *name, const struct tpl_vars *rows, size_t n);

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

#endif
