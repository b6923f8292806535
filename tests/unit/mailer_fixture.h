/*
 * mailer_fixture.h: the mailer the store-backed unit tests share: the
 * source tree's templates (INVITED_SOURCE_DIR, else the current folder)
 * and invited.test addresses. Free *tpl_r with tpl_set_free().
 */
#ifndef INVITED_TEST_MAILER_FIXTURE_H
#define INVITED_TEST_MAILER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "invited/mailer.h"

static inline void mailer_fixture(struct mailer *m, struct tpl_set **tpl_r)
{
	char dir[4096];
	const char *err;
	snprintf(dir, sizeof(dir), "%s/templates",
		 getenv("INVITED_SOURCE_DIR") ? getenv("INVITED_SOURCE_DIR") : ".");
	if (tpl_set_load(dir, tpl_r, &err) < 0) {
		fprintf(stderr, "templates: %s\n", err);
		exit(1);
	}
	*m = (struct mailer){.tpl = *tpl_r, .lifetime = 86400};
	snprintf(m->from_addr, sizeof(m->from_addr), "invitations@invited.test");
	snprintf(m->reply_domain, sizeof(m->reply_domain), "invited.test");
	snprintf(m->public_url, sizeof(m->public_url), "http://invited.test");
	snprintf(m->default_locale, sizeof(m->default_locale), "en");
}

#endif
