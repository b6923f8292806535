/*
 * template.c: loading and parsing templates. Each file is parsed once into
 * a flat array of nodes (literal spans, variables, sections, partials) so
 * that rendering (template_render.c) never parses or touches the disk.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "invited/log.h"
#include "invited/text.h"
#include "template_int.h"

#define MAX_TEMPLATE_SIZE (256 * 1024)
#define MAX_DEPTH 16

static int vars_put(struct tpl_vars *vars, const char *name, const char *value,
		    const struct tpl_vars *items, size_t n_items)
{
	size_t i = 0;
	while (i < vars->n && strcmp(vars->name[i], name) != 0)
		i++;
	if (i == TPL_MAX_VARS)
		return -1;
	if (i == vars->n)
		vars->n++;
	vars->name[i] = name;
	vars->value[i] = value;
	vars->items[i] = items;
	vars->n_items[i] = n_items;
	return 0;
}

int tpl_vars_set(struct tpl_vars *vars, const char *name, const char *value)
{
	return vars_put(vars, name, value, NULL, 0);
}

int tpl_vars_list(struct tpl_vars *vars, const char *name, const struct tpl_vars *items,
		  size_t n)
{
	return vars_put(vars, name, NULL, items, n);
}

static int valid_name(const char *s, size_t n)
{
	if (n == 0 || n > TPL_MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

static int line_of(const char *src, const char *at)
{
	int line = 1;
	for (const char *p = src; p < at; p++)
		line += *p == '\n';
	return line;
}

static struct tpl_node *push(struct tpl *t)
{
	if (t->n_nodes == t->cap_nodes) {
		size_t cap = t->cap_nodes ? t->cap_nodes * 2 : 32;
		struct tpl_node *grown = realloc(t->nodes, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		t->nodes = grown;
		t->cap_nodes = cap;
	}
	struct tpl_node *n = &t->nodes[t->n_nodes++];
	memset(n, 0, sizeof(*n));
	return n;
}

/* Trim spaces around a tag's content. */
static void trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

static int parse_error(const struct tpl *t, const char *at, const char *what,
		       const char **error_r)
{
	*error_r = errorf("template %s/%s:%d: %s", t->locale, t->name,
			  line_of(t->src, at), what);
	return -1;
}

/* One {{…}} tag whose content is s[0..n). */
static int parse_tag(struct tpl *t, const char *tag_start, const char *s, size_t n,
		     size_t *stack, size_t *depth, const char **error_r)
{
	char sigil = n > 0 ? s[0] : '\0';
	if (sigil == '!')
		return 0;
	if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '>') {
		s++;
		n--;
	}
	trim(&s, &n);
	if (sigil == '/') {
		if (*depth == 0)
			return parse_error(t, tag_start, "closing a section that is not open", error_r);
		struct tpl_node *open = &t->nodes[stack[*depth - 1]];
		if (strlen(open->name) != n || strncmp(open->name, s, n) != 0)
			return parse_error(t, tag_start,
					   errorf("{{/%.*s}} closes {{#%s}}", (int)n, s, open->name),
					   error_r);
		open->end = t->n_nodes;
		(*depth)--;
		return 0;
	}
	if (sigil == '>') {
		struct tpl_node *node = push(t);
		if (node == NULL || n == 0 || n >= sizeof(node->name))
			return parse_error(t, tag_start, "bad partial name", error_r);
		node->type = NODE_PARTIAL;
		memcpy(node->name, s, n);
		return 0;
	}
	const char *bar = memchr(s, '|', n);
	size_t name_len = bar ? (size_t)(bar - s) : n;
	const char *name = s;
	trim(&name, &name_len);
	if (!valid_name(name, name_len))
		return parse_error(t, tag_start, errorf("bad name \"%.*s\"", (int)n, s), error_r);
	struct tpl_node *node = push(t);
	if (node == NULL)
		return parse_error(t, tag_start, "out of memory", error_r);
	memcpy(node->name, name, name_len);
	if (sigil == '#' || sigil == '^') {
		if (bar != NULL)
			return parse_error(t, tag_start, "a section takes no filter", error_r);
		if (*depth == MAX_DEPTH)
			return parse_error(t, tag_start, "sections nested too deep", error_r);
		node->type = sigil == '#' ? NODE_SECTION : NODE_INVERTED;
		stack[(*depth)++] = t->n_nodes - 1;
		return 0;
	}
	node->type = NODE_VAR;
	if (bar != NULL) {
		const char *filter = bar + 1;
		size_t flen = n - (size_t)(filter - s);
		trim(&filter, &flen);
		if (flen != 7 || strncmp(filter, "linkify", 7) != 0)
			return parse_error(t, tag_start,
					   errorf("unknown filter \"%.*s\"", (int)flen, filter), error_r);
		if (!t->html)
			return parse_error(t, tag_start, "linkify is only for .html templates", error_r);
		node->linkify = 1;
	}
	return 0;
}

static int parse(struct tpl *t, const char **error_r)
{
	size_t stack[MAX_DEPTH], depth = 0;
	const char *p = t->src, *end = t->src + t->len;
	while (p < end) {
		const char *open = strstr(p, "{{");
		const char *lit_end = open ? open : end;
		if (lit_end > p) {
			struct tpl_node *node = push(t);
			if (node == NULL)
				return parse_error(t, p, "out of memory", error_r);
			node->type = NODE_TEXT;
			node->off = (size_t)(p - t->src);
			node->len = (size_t)(lit_end - p);
			t->literal_bytes += node->len;
		}
		if (open == NULL)
			break;
		const char *close = strstr(open + 2, "}}");
		if (close == NULL)
			return parse_error(t, open, "unclosed {{", error_r);
		if (parse_tag(t, open, open + 2, (size_t)(close - open - 2), stack, &depth,
			      error_r) < 0)
			return -1;
		p = close + 2;
	}
	if (depth > 0)
		return parse_error(t, end, errorf("section {{#%s}} is not closed",
						  t->nodes[stack[depth - 1]].name), error_r);
	return 0;
}

static int read_file(const char *path, char **data_r, size_t *len_r, const char **error_r)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		*error_r = errorf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = malloc(MAX_TEMPLATE_SIZE + 1);
	size_t n = buf ? fread(buf, 1, MAX_TEMPLATE_SIZE + 1, fp) : 0;
	int bad = ferror(fp) || n > MAX_TEMPLATE_SIZE || buf == NULL;
	fclose(fp);
	if (bad) {
		free(buf);
		*error_r = errorf("cannot read %s (or it is over %d bytes)", path, MAX_TEMPLATE_SIZE);
		return -1;
	}
	buf[n] = '\0';
	*data_r = buf;
	*len_r = n;
	return 0;
}

/* The first byte of s[0..len) that is not text (text_ok's rules for
 * several lines), or NULL. */
static const char *first_bad_byte(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		size_t n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		if (*p == 0 || *p == 0x7f ||
		    (*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') ||
		    n > (size_t)(end - p) || !utf8_valid((const char *)p, n))
			return (const char *)p;
		p += n;
	}
	return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int add_template(struct tpl_set *set, const char *locale, const char *name,
			const char *path, const char **error_r)
{
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct tpl **grown = realloc(set->tpls, cap * sizeof(*grown));
		if (grown == NULL) {
			*error_r = "out of memory";
			return -1;
		}
		set->tpls = grown;
		set->cap = cap;
	}
	struct tpl *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	set->tpls[set->n++] = t;
	snprintf(t->locale, sizeof(t->locale), "%s", locale);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->html = ends_with(name, ".html");
	if (read_file(path, &t->src, &t->len, error_r) < 0)
		return -1;
	/* What a template renders must be text a mail or a page can carry:
	 * refused here, with the place, rather than when a mail is built. */
	const char *bad = first_bad_byte(t->src, t->len);
	if (bad != NULL)
		return parse_error(t, bad, "not UTF-8 text (a NUL byte, a control "
					   "character or invalid UTF-8)", error_r);
	return parse(t, error_r);
}

/* Load every file under dir/prefix, recursively. */
static int load_dir(struct tpl_set *set, const char *locale, const char *root,
		    const char *prefix, const char **error_r)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s%s%s", root, prefix[0] ? "/" : "", prefix);
	DIR *d = opendir(path);
	if (d == NULL) {
		*error_r = errorf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char name[TPL_MAX_PATH], full[PATH_MAX];
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, name);
		if (stat(full, &sb) < 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			rc = load_dir(set, locale, root, name, error_r);
		else if (S_ISREG(sb.st_mode))
			rc = add_template(set, locale, name, full, error_r);
	}
	closedir(d);
	return rc;
}

const struct tpl *tpl_find(const struct tpl_set *set, const char *locale, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->tpls[i]->locale, locale) == 0 &&
		    strcmp(set->tpls[i]->name, name) == 0)
			return set->tpls[i];
	return NULL;
}

/* Point each partial at its template (same locale, else en); refuse
 * missing partials and cycles. */
static int resolve(struct tpl_set *set, struct tpl *t, int depth, const char **error_r)
{
	if (t->resolved)
		return 0;
	if (depth > MAX_DEPTH) {
		*error_r = errorf("template %s/%s: partials include each other in a cycle",
				  t->locale, t->name);
		return -1;
	}
	for (size_t i = 0; i < t->n_nodes; i++) {
		struct tpl_node *n = &t->nodes[i];
		if (n->type != NODE_PARTIAL)
			continue;
		const struct tpl *p = tpl_find(set, t->locale, n->name);
		if (p == NULL)
			p = tpl_find(set, TPL_FALLBACK_LOCALE, n->name);
		if (p == NULL) {
			*error_r = errorf("template %s/%s: partial \"%s\" not found", t->locale,
					  t->name, n->name);
			return -1;
		}
		/* An .html template escapes its values, a text one does not:
		 * a text partial inside HTML would let values through raw
		 * (found by tests/fuzz/fuzz_template). */
		if (p->html != t->html) {
			*error_r = errorf("template %s/%s: partial \"%s\" is %s, and %s "
					  "template includes only %s partials",
					  t->locale, t->name, n->name, p->html ? "HTML" : "text",
					  t->html ? "an HTML" : "a text", t->html ? "HTML" : "text");
			return -1;
		}
		if (resolve(set, (struct tpl *)p, depth + 1, error_r) < 0)
			return -1;
		n->partial = p;
	}
	t->resolved = 1;
	return 0;
}

int tpl_has_locale(const struct tpl_set *set, const char *locale)
{
	for (size_t i = 0; i < set->n_locales; i++)
		if (strcmp(set->locales[i], locale) == 0)
			return 1;
	return 0;
}

static int is_locale_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > MAX_LOCALE_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-' ||
		      s[i] == '_'))
			return 0;
	return strcmp(s, "static") != 0;
}

int tpl_set_load(const char *dir, struct tpl_set **set_r, const char **error_r)
{
	struct tpl_set *set = calloc(1, sizeof(*set));
	DIR *d = opendir(dir);
	if (set == NULL || d == NULL) {
		*error_r = errorf("cannot read the template folder %s: %s", dir, strerror(errno));
		free(set);
		if (d != NULL)
			closedir(d);
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!is_locale_name(e->d_name) || stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
			continue;
		if (set->n_locales == TPL_MAX_LOCALES) {
			*error_r = errorf("%s: too many locale folders", dir);
			rc = -1;
			break;
		}
		snprintf(set->locales[set->n_locales++], MAX_LOCALE_LEN + 1, "%s", e->d_name);
		rc = load_dir(set, e->d_name, path, "", error_r);
	}
	closedir(d);
	for (size_t i = 0; rc == 0 && i < set->n; i++)
		rc = resolve(set, set->tpls[i], 0, error_r);
	if (rc == 0 && set->n_locales == 0) {
		*error_r = errorf("%s has no locale folder (such as en/)", dir);
		rc = -1;
	}
	if (rc < 0) {
		tpl_set_free(set);
		return -1;
	}
	*set_r = set;
	return 0;
}

void tpl_set_free(struct tpl_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->tpls[i]->src);
		free(set->tpls[i]->nodes);
		free(set->tpls[i]);
	}
	free(set->tpls);
	free(set);
}
