/*
 * template_render.c: rendering parsed templates into one growing buffer.
 * Values are escaped for HTML in .html templates, always; linkify escapes
 * first and only then wraps http(s) URLs in anchors.
 */
#include <stdlib.h>
#include <string.h>

#include "invited/log.h"
#include "template_int.h"

struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void reserve(struct out *o, size_t more)
{
	if (o->failed || o->len + more + 1 <= o->cap)
		return;
	size_t cap = o->cap ? o->cap : 256;
	while (cap < o->len + more + 1)
		cap *= 2;
	char *grown = realloc(o->buf, cap);
	if (grown == NULL) {
		o->failed = 1;
		return;
	}
	o->buf = grown;
	o->cap = cap;
}

static void put(struct out *o, const char *s, size_t n)
{
	reserve(o, n);
	if (o->failed)
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void put_escaped(struct out *o, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rep;
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = "&#96;"; break;
		default: continue;
		}
		put(o, s + start, i - start);
		put(o, rep, strlen(rep));
		start = i + 1;
	}
	put(o, s + start, n - start);
}

/* Where a URL starting at s ends: whitespace, a quote or angle bracket,
 * or a control character; trailing punctuation stays outside. */
static size_t url_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (unsigned char)s[i] > ' ' && s[i] != '<' && s[i] != '>' && s[i] != '"' &&
	       s[i] != '\'' && s[i] != '`' && s[i] != 0x7f)
		i++;
	while (i > 0 && strchr(".,;:!?)]}", s[i - 1]) != NULL)
		i--;
	return i;
}

static int url_at(const char *s, size_t n)
{
	return (n > 7 && strncmp(s, "http://", 7) == 0) || (n > 8 && strncmp(s, "https://", 8) == 0);
}

/* The length of the link that starts at s[i], or 0: a URL not glued to a
 * word before it. */
static size_t link_at(const char *s, size_t i, size_t n)
{
	size_t u;
	if ((i == 0 || !((s[i - 1] >= 'a' && s[i - 1] <= 'z') ||
			 (s[i - 1] >= 'A' && s[i - 1] <= 'Z'))) &&
	    url_at(s + i, n - i) && (u = url_len(s + i, n - i)) > 8)
		return u;
	return 0;
}

/* A blank or a control character (or the end): what surely ends a URL,
 * for any mail client's linkifier too. */
static int blank(char c)
{
	return (unsigned char)c <= ' ';
}

int tpl_text_links_to(const char *text, const char *url)
{
	size_t want = strlen(url);
	int found = 0;
	if (want == 0)
		return 0;
	for (const char *p = text; (p = strstr(p, url)) != NULL; p += want) {
		const char *after = p + want;
		while (*after != '\0' && strchr(".,;:!?)]}>", *after) != NULL)
			after++;
		if (!((p == text || blank(p[-1]) || p[-1] == '(' || p[-1] == '<') &&
		      blank(*after)))
			return 0; /* a copy inside or against other text: a trap */
		found = 1;
	}
	return found;
}

/* Only our own links are made clickable: those under "{public_url}/l/".
 * Any other address in user text (an inviter's words) stays text, so that
 * no mail of ours carries a link someone else chose. */
static int own_link(const char *s, size_t u, const char *public_url)
{
	size_t p = public_url ? strlen(public_url) : 0;
	return p > 0 && u > p + 3 && memcmp(s, public_url, p) == 0 && memcmp(s + p, "/l/", 3) == 0;
}

static void put_linkified(struct out *o, const char *s, size_t n, const char *public_url)
{
	size_t start = 0;
	for (size_t i = 0; i < n;) {
		size_t u;
		if ((u = link_at(s, i, n)) > 0 && !own_link(s + i, u, public_url)) {
			i += u; /* left as text, escaped below */
		} else if (u > 0) {
			put_escaped(o, s + start, i - start);
			put(o, "<a href=\"", 9);
			put_escaped(o, s + i, u);
			put(o, "\">", 2);
			put_escaped(o, s + i, u);
			put(o, "</a>", 4);
			i += u;
			start = i;
		} else {
			i++;
		}
	}
	put_escaped(o, s + start, n - start);
}

/* The variables in force: a list item's, then those around it. */
struct scope {
	const struct tpl_vars *vars;
	const struct scope *up;
};

/* The innermost variable called name, as its index in *vars_r; -1 when
 * none is. */
static int find(const struct scope *sc, const char *name, const struct tpl_vars **vars_r)
{
	for (; sc != NULL; sc = sc->up)
		for (size_t i = 0; i < sc->vars->n; i++)
			if (strcmp(sc->vars->name[i], name) == 0) {
				*vars_r = sc->vars;
				return (int)i;
			}
	return -1;
}

static const char *lookup(const struct scope *sc, const char *name)
{
	const struct tpl_vars *v;
	int i = find(sc, name, &v);
	return i < 0 ? NULL : v->value[i];
}

static void render(const struct tpl *t, size_t from, size_t to, const struct scope *vars,
		   struct out *o);

/* A section: its block once when the value is set, once per item of a
 * list; an inverted one when neither. */
static void section(const struct tpl *t, size_t i, const struct scope *sc, struct out *o)
{
	const struct tpl_node *n = &t->nodes[i];
	const struct tpl_vars *v;
	int k = find(sc, n->name, &v);
	size_t items = k < 0 ? 0 : v->n_items[k];
	int set = items > 0 || (k >= 0 && v->value[k] != NULL && v->value[k][0] != '\0');
	if (n->type == NODE_INVERTED) {
		if (!set)
			render(t, i + 1, n->end, sc, o);
		return;
	}
	if (items == 0 && set)
		render(t, i + 1, n->end, sc, o);
	for (size_t j = 0; j < items; j++) {
		struct scope inner = {&v->items[k][j], sc};
		render(t, i + 1, n->end, &inner, o);
	}
}

static void render(const struct tpl *t, size_t from, size_t to, const struct scope *vars,
		   struct out *o)
{
	for (size_t i = from; i < to && !o->failed;) {
		const struct tpl_node *n = &t->nodes[i];
		const char *v;
		switch (n->type) {
		case NODE_TEXT:
			put(o, t->src + n->off, n->len);
			i++;
			break;
		case NODE_VAR:
			v = lookup(vars, n->name);
			if (v != NULL && n->linkify)
				put_linkified(o, v, strlen(v), lookup(vars, "public_url"));
			else if (v != NULL && t->html)
				put_escaped(o, v, strlen(v));
			else if (v != NULL)
				put(o, v, strlen(v));
			i++;
			break;
		case NODE_SECTION:
		case NODE_INVERTED:
			section(t, i, vars, o);
			i = n->end;
			break;
		case NODE_PARTIAL:
			render(n->partial, 0, n->partial->n_nodes, vars, o);
			i++;
			break;
		}
	}
}

int tpl_render(const struct tpl_set *set, const char *locale, const char *name,
	       const struct tpl_vars *vars, char **out_r, size_t *len_r,
	       const char **error_r)
{
	const struct tpl *t = locale ? tpl_find(set, locale, name) : NULL;
	if (t == NULL)
		t = tpl_find(set, TPL_FALLBACK_LOCALE, name);
	if (t == NULL) {
		*error_r = errorf("no template %s (locale %s or %s)", name,
				  locale ? locale : "-", TPL_FALLBACK_LOCALE);
		return -1;
	}
	struct out o = {0};
	reserve(&o, t->literal_bytes + t->literal_bytes / 2 + 256);
	struct scope top = {vars, NULL};
	render(t, 0, t->n_nodes, &top, &o);
	put(&o, "", 0);
	if (o.failed) {
		free(o.buf);
		*error_r = "template: out of memory";
		return -1;
	}
	o.buf[o.len] = '\0';
	*out_r = o.buf;
	if (len_r != NULL)
		*len_r = o.len;
	return 0;
}
