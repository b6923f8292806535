/*
 * template.h: the template engine for mails and pages.
 * A template set is a folder with one subfolder per locale
 * (templates/en, templates/ja); a template is named by its path under the
 * locale, e.g. "mail/invitation_indirect_provider.html". Templates are
 * parsed once at load and rendered many times, from any thread.
 *
 * Syntax, a small Mustache subset:
 *   {{name}}             the value, escaped for the template's kind
 *   {{name|linkify}}     HTML only: escaped, and our own links (under the
 *                        public_url variable's "/l/") made clickable; any
 *                        other address stays text
 *   {{#name}}…{{/name}}  the block when name is set and not empty; when
 *                        name is a list, once per item, with the item's
 *                        variables before the outer ones
 *   {{^name}}…{{/name}}  the block when name is unset or empty
 *   {{> path}}           another template of the same locale, inlined
 *   {{! comment }}
 * Templates whose name ends in ".html" escape values for HTML (text and
 * attribute context: & < > " ' and `), all others insert them verbatim.
 * There is no way to insert raw HTML: every value is escaped.
 */
#ifndef INVITED_TEMPLATE_H
#define INVITED_TEMPLATE_H

#include <stddef.h>

struct tpl_set;

#define TPL_MAX_VARS 48

/* Name/value pairs for one render. Values are UTF-8, NULL means unset.
 * A variable may instead be a list of items (rows of a table), each a
 * tpl_vars of its own. */
struct tpl_vars {
	size_t n;
	const char *name[TPL_MAX_VARS];
	const char *value[TPL_MAX_VARS];
	const struct tpl_vars *items[TPL_MAX_VARS];
	size_t n_items[TPL_MAX_VARS];
};

/* Add or replace a variable. Returns -1 when the table is full. */
int tpl_vars_set(struct tpl_vars *vars, const char *name, const char *value);

/* Add or replace a list of n items; an empty list counts as unset. The
 * items must outlive the render. */
int tpl_vars_list(struct tpl_vars *vars, const char *name, const struct tpl_vars *items,
		  size_t n);

/*
 * Load every template of every locale under dir. Fails with a message
 * naming file and line on a syntax error (unclosed block, unknown filter,
 * missing partial).
 */
int tpl_set_load(const char *dir, struct tpl_set **set_r, const char **error_r);
void tpl_set_free(struct tpl_set *set);

/* 1 when the set has the locale folder. */
int tpl_has_locale(const struct tpl_set *set, const char *locale);

/*
 * Render a template for a locale; a template missing from that locale is
 * taken from "en". *out_r is malloc'd and NUL-terminated; *len_r (if not
 * NULL) gets its length.
 */
/* Whether url stands in text as a link of its own, and only so: at least
 * one copy, and every copy with a blank, "(" or "<" (or the start) before
 * it and, past closing punctuation, a blank or the end after it. A copy
 * inside another address, or run on into more characters, would carry the
 * link wherever someone else chose, in any mail client. */
int tpl_text_links_to(const char *text, const char *url);

int tpl_render(const struct tpl_set *set, const char *locale, const char *name,
	       const struct tpl_vars *vars, char **out_r, size_t *len_r,
	       const char **error_r);

#endif
