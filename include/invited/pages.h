/*
 * pages.h: HTML pages rendered from templates/<locale>/page/, shared by
 * the invitation and verification handlers behind /l/{token}.
 */
#ifndef INVITED_PAGES_H
#define INVITED_PAGES_H

#include "http.h"
#include "link.h"
#include "template.h"

/* Render page/<name>.html with vars (public_url added) and answer. */
int pages_render(struct request *rq, int status, const char *locale,
		 const char *name, struct tpl_vars *vars, const char *set_cookie);

/* The error page for code (sets error_<code> for the template). */
int pages_error(struct request *rq, int status, const char *locale,
		const char *code);

/*
 * Anti-forgery for the forms behind a link: a cookie per visitor, and a
 * form field that is an HMAC of it and the link's jti. pages_csrf_field
 * fills the field (and set_cookie, "" when the visitor has a cookie);
 * pages_csrf_ok says whether a posted form carries the right one.
 */
#define PAGES_CSRF_SIZE 48
void pages_csrf_field(struct request *rq, const char *jti, char csrf[PAGES_CSRF_SIZE],
		      char *set_cookie, size_t size);
int pages_csrf_ok(struct request *rq, const char *jti);

/* The page behind a sign-in link (server/console.c). */
int console_signin_link(struct request *rq, const char *token,
			const struct link_claims *claims);

/* The user signed in to the console on this request, or 0. */
int64_t console_session_user(struct request *rq, struct store *st);

/* The verification link (purpose verify_contact). */
int pages_verify(struct request *rq, const char *token,
		 const struct link_claims *claims);

#endif
