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

/* The verification link (purpose verify_contact). */
int pages_verify(struct request *rq, const char *token,
		 const struct link_claims *claims);

#endif
