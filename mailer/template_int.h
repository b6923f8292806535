/*
 * template_int.h: the parsed form of templates, shared by the loader
 * (template.c) and the renderer (template_render.c).
 */
#ifndef INVITED_TEMPLATE_INT_H
#define INVITED_TEMPLATE_INT_H

#include <limits.h>
#include <stddef.h>

#include "invited/limits.h"
#include "invited/template.h"

#define TPL_MAX_NAME 63
#define TPL_MAX_PATH 128
#define TPL_MAX_LOCALES 32
#define TPL_FALLBACK_LOCALE "en"

enum node_type { NODE_TEXT, NODE_VAR, NODE_SECTION, NODE_INVERTED, NODE_PARTIAL };

struct tpl;

struct tpl_node {
	enum node_type type;
	size_t off, len;          /* NODE_TEXT: a span of the source */
	size_t end;               /* sections: index after the last child */
	int linkify;              /* NODE_VAR */
	char name[TPL_MAX_PATH];  /* variable, section or partial name */
	const struct tpl *partial;
};

struct tpl {
	char locale[MAX_LOCALE_LEN + 1];
	char name[TPL_MAX_PATH];
	int html;                 /* escape values for HTML */
	int resolved;
	char *src;
	size_t len;
	size_t literal_bytes;     /* a first guess at the output size */
	struct tpl_node *nodes;
	size_t n_nodes, cap_nodes;
};

struct tpl_set {
	struct tpl **tpls;
	size_t n, cap;
	char locales[TPL_MAX_LOCALES][MAX_LOCALE_LEN + 1];
	size_t n_locales;
};

const struct tpl *tpl_find(const struct tpl_set *set, const char *locale,
			   const char *name);

#endif
