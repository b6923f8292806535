/*
 * invitation_int.h: what the invitation files share: rendering an
 * invitation's mail and queueing it.
 */
#ifndef INVITED_INVITATION_INT_H
#define INVITED_INVITATION_INT_H

#include "invited/invitation.h"
#include "invited/link.h"

/* Render the invitation mail for inv with link url; c is filled. */
int invitation_render(const struct inv_env *env, const struct invitation *inv,
		      const char *url, struct mail_content *c,
		      const char **error_r);

/* The HTML part for a text the inviter edited: the text, escaped, with
 * its links made clickable. malloc'd. */
int invitation_html_of_text(const struct inv_env *env, const char *locale,
			    const char *text, char **html_r,
			    const char **error_r);

/* Every occurrence of from in s replaced by to; malloc'd. */
char *invitation_replace_all(const char *s, const char *from, const char *to);

/* An event about inv, in the log: name "invitation.…". */
int invitation_event(const struct inv_env *env, const struct invitation *inv,
		     const char *name, const char *details, const char **error_r);

/* invitation_apply on an invitation the caller loaded (in this
 * transaction); inv->status follows. */
int invitation_apply_loaded(const struct inv_env *env, struct invitation *inv,
			    enum inv_event ev, const char *reason, const char *details,
			    const char **error_r);

#endif
