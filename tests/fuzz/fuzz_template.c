/*
 * fuzz_template.c: the template engine on an arbitrary template, as an
 * operator's template folder gives it one: parsed at load (tpl_set_load)
 * and rendered with fixed values, a list and a partial. The first byte
 * picks the kind: odd an .html template, even a text one. An HTML
 * template must never let a value through unescaped: rendered once with
 * markup in the values and once with plain letters, it must make as many
 * '<' of both.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "invited/template.h"

#define MARK "<i class=\"x\">&'`</i><"

static char dir[] = "/tmp/invited-fuzz-tpl.XXXXXX";
static char path_txt[128], path_html[128];

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0)
		abort();
}

static void cleanup(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_template: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char sub[128];
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(sub, sizeof(sub), "%s/en", dir);
	if (mkdir(sub, 0700) != 0)
		abort();
	snprintf(sub, sizeof(sub), "%s/en/part.txt", dir);
	static const char part_txt[] = "[{{name}}{{#rows}} {{cell}}{{/rows}}]";
	static const char part_html[] = "<b>{{name}}</b>{{#rows}}<td>{{cell}}</td>{{/rows}}";
	write_file(sub, part_txt, strlen(part_txt));
	snprintf(sub, sizeof(sub), "%s/en/part.html", dir);
	write_file(sub, part_html, strlen(part_html));
	atexit(cleanup);
	snprintf(path_txt, sizeof(path_txt), "%s/en/fuzz.txt", dir);
	snprintf(path_html, sizeof(path_html), "%s/en/fuzz.html", dir);
	return 0;
}

static int render(const struct tpl_set *set, int html, const char *value, char **out_r,
		  size_t *len_r)
{
	struct tpl_vars row[2], vars;
	const char *err;
	memset(row, 0, sizeof(row));
	memset(&vars, 0, sizeof(vars));
	tpl_vars_set(&row[0], "cell", value);
	tpl_vars_set(&row[1], "cell", "two");
	tpl_vars_set(&vars, "name", value);
	tpl_vars_set(&vars, "public_url", "https://invites.example.test");
	tpl_vars_set(&vars, "link", "https://invites.example.test/l/v4.public.abc");
	tpl_vars_set(&vars, "empty", "");
	tpl_vars_list(&vars, "rows", row, 2);
	return tpl_render(set, "en", html ? "fuzz.html" : "fuzz.txt", &vars, out_r, len_r, &err);
}

static size_t count(const char *s, char c)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	int html = data[0] & 1;
	const char *src = (const char *)data + 1;
	size_t len = size - 1;
	unlink(html ? path_txt : path_html);
	write_file(html ? path_html : path_txt, src, len);
	struct tpl_set *set = NULL;
	const char *err = NULL;
	if (tpl_set_load(dir, &set, &err) < 0)
		return 0;
	/* Rendered with markup in the values, and with plain letters: if
	 * every value is escaped, both have as many '<' (a '<' the template
	 * makes of its own pieces, as "<{{!}}i", is in both). */
	char *out = NULL, *plain = NULL;
	size_t out_len = 0, plain_len = 0;
	if (render(set, html, MARK, &out, &out_len) == 0) {
		FUZZ_CHECK(strlen(out) == out_len);
		FUZZ_CHECK(render(set, html, "Z", &plain, &plain_len) == 0);
		if (html)
			FUZZ_CHECK(count(out, '<') == count(plain, '<'));
		free(out);
		free(plain);
	}
	tpl_set_free(set);
	return 0;
}
