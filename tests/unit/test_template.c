/* link: invited_mailer */
/*
 * test_template.c: the template engine: escaping, sections, partials,
 * locale fallback, linkify, and the load errors that name file and line.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invited/template.h"
#include "test.h"

static char root[64];

static void put_file(const char *rel, const char *content)
{
	char path[256], dir[256];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + strlen(root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0700);
			*p = '/';
		}
	}
	FILE *fp = fopen(path, "w");
	fputs(content, fp);
	fclose(fp);
}

static void new_root(void)
{
	snprintf(root, sizeof(root), "/tmp/invited-tpl-XXXXXX");
	if (mkdtemp(root) == NULL)
		abort();
}

static void remove_root(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		abort();
}

static struct tpl_set *load_ok(void)
{
	struct tpl_set *set = NULL;
	const char *err = NULL;
	if (tpl_set_load(root, &set, &err) < 0)
		fprintf(stderr, "load: %s\n", err);
	test_assert(set != NULL);
	return set;
}

static char *render(struct tpl_set *set, const char *locale, const char *name,
		    struct tpl_vars *vars)
{
	char *out = NULL;
	const char *err = NULL;
	if (tpl_render(set, locale, name, vars, &out, NULL, &err) < 0)
		fprintf(stderr, "render: %s\n", err);
	return out;
}

TEST(html_escapes_every_value_text_does_not)
{
	new_root();
	put_file("en/a.html", "<p title=\"{{v}}\">{{v}}</p>");
	put_file("en/a.txt", "{{v}}");
	struct tpl_set *set = load_ok();
	struct tpl_vars vars = {0};
	tpl_vars_set(&vars, "v", "<script>alert('x')</script> & \"q\" `b`");
	char *html = render(set, "en", "a.html", &vars);
	test_assert_str(html, "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
			      "&quot;q&quot; &#96;b&#96;\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; "
			      "&amp; &quot;q&quot; &#96;b&#96;</p>");
	char *text = render(set, "en", "a.txt", &vars);
	test_assert_str(text, "<script>alert('x')</script> & \"q\" `b`");
	free(html);
	free(text);
	tpl_set_free(set);
	remove_root();
}

TEST(sections_inverted_and_nested)
{
	new_root();
	put_file("en/s.txt", "{{#a}}A{{#b}}B{{/b}}{{^b}}!B{{/b}}{{/a}}{{^a}}none{{/a}}|{{missing}}|");
	struct tpl_set *set = load_ok();
	struct tpl_vars vars = {0};
	char *out = render(set, "en", "s.txt", &vars);
	test_assert_str(out, "none||");
	free(out);
	tpl_vars_set(&vars, "a", "1");
	out = render(set, "en", "s.txt", &vars);
	test_assert_str(out, "A!B||");
	free(out);
	tpl_vars_set(&vars, "b", "yes");
	out = render(set, "en", "s.txt", &vars);
	test_assert_str(out, "AB||");
	free(out);
	/* An empty value counts as unset. */
	tpl_vars_set(&vars, "a", "");
	out = render(set, "en", "s.txt", &vars);
	test_assert_str(out, "none||");
	free(out);
	tpl_set_free(set);
	remove_root();
}

TEST(lists_repeat_their_block_with_item_variables_first)
{
	new_root();
	put_file("en/l.html", "<ul>{{#rows}}<li>{{name}} of {{org}}</li>{{/rows}}</ul>"
			      "{{^rows}}empty{{/rows}}");
	struct tpl_set *set = load_ok();
	struct tpl_vars vars = {0}, rows[2] = {{0}};
	tpl_vars_set(&vars, "org", "A&B");
	tpl_vars_set(&vars, "name", "outer");
	char *out = render(set, "en", "l.html", &vars);
	test_assert_str(out, "<ul></ul>empty");
	free(out);
	tpl_vars_set(&rows[0], "name", "<x>");
	tpl_vars_set(&rows[1], "name", "y");
	tpl_vars_set(&rows[1], "org", "C");
	tpl_vars_list(&vars, "rows", rows, 2);
	out = render(set, "en", "l.html", &vars);
	test_assert_str(out, "<ul><li>&lt;x&gt; of A&amp;B</li><li>y of C</li></ul>");
	free(out);
	/* An empty list is unset; a list may be replaced by a plain value. */
	tpl_vars_list(&vars, "rows", rows, 0);
	out = render(set, "en", "l.html", &vars);
	test_assert_str(out, "<ul></ul>empty");
	free(out);
	tpl_vars_set(&vars, "rows", "1");
	out = render(set, "en", "l.html", &vars);
	test_assert_str(out, "<ul><li>outer of A&amp;B</li></ul>");
	free(out);
	tpl_set_free(set);
	remove_root();
}

TEST(partials_and_locale_fallback)
{
	new_root();
	put_file("en/page/_head.html", "<h1>{{t}}</h1>");
	put_file("en/page/p.html", "{{> page/_head.html}}en");
	put_file("en/only_en.txt", "english");
	put_file("ja/page/p.html", "{{> page/_head.html}}ja");
	struct tpl_set *set = load_ok();
	struct tpl_vars vars = {0};
	tpl_vars_set(&vars, "t", "a<b");
	char *out = render(set, "ja", "page/p.html", &vars);
	test_assert_str(out, "<h1>a&lt;b</h1>ja");
	free(out);
	out = render(set, "ja", "only_en.txt", &vars);
	test_assert_str(out, "english");
	free(out);
	out = render(set, "xx", "page/p.html", &vars);
	test_assert_str(out, "<h1>a&lt;b</h1>en");
	free(out);
	test_assert(tpl_has_locale(set, "ja"));
	test_assert(!tpl_has_locale(set, "fr"));
	const char *err = NULL;
	char *none = NULL;
	test_assert(tpl_render(set, "en", "nope.txt", &vars, &none, NULL, &err) < 0);
	test_assert_contains(err, "nope.txt");
	tpl_set_free(set);
	remove_root();
}

static void expect_load_error(const char *file, const char *content, const char *words)
{
	new_root();
	put_file(file, content);
	struct tpl_set *set = NULL;
	const char *err = NULL;
	test_assert(tpl_set_load(root, &set, &err) < 0);
	test_assert(set == NULL);
	test_assert_contains(err, words);
	remove_root();
}

TEST(load_errors_name_file_and_line)
{
	expect_load_error("en/a.txt", "one\ntwo {{#x}} three", "a.txt:2: section {{#x}} is not closed");
	expect_load_error("en/a.txt", "{{#x}}{{/y}}", "closes {{#x}}");
	expect_load_error("en/a.txt", "{{/x}}", "not open");
	expect_load_error("en/a.txt", "{{x", "unclosed {{");
	expect_load_error("en/a.txt", "{{Bad Name}}", "bad name");
	expect_load_error("en/a.txt", "{{x|linkify}}", "only for .html");
	expect_load_error("en/a.html", "{{x|shout}}", "unknown filter");
	expect_load_error("en/a.txt", "{{> missing.txt}}", "partial \"missing.txt\" not found");
	expect_load_error("en/a.txt", "{{> a.txt}}", "cycle");
}

/* Values in HTML are always escaped: an HTML template may not take them
 * through a text partial (found by tests/fuzz/fuzz_template), nor a text
 * one through an HTML partial, which would escape them for no reader. */
TEST(partials_are_of_the_including_kind)
{
	new_root();
	put_file("en/p.txt", "{{x}}");
	put_file("en/a.html", "<p>{{> p.txt}}</p>");
	struct tpl_set *set = NULL;
	const char *err = NULL;
	test_assert(tpl_set_load(root, &set, &err) < 0);
	test_assert_contains(err, "partial \"p.txt\" is text, and an HTML template includes only HTML");
	remove_root();
	new_root();
	put_file("en/p.html", "<b>{{x}}</b>");
	put_file("en/a.txt", "{{> p.html}}");
	test_assert(tpl_set_load(root, &set, &err) < 0);
	test_assert_contains(err, "is HTML, and a text template");
	remove_root();
}

/* A template must be text a mail or a page can carry; a NUL byte used to
 * end the parse early and go out in the page (found by
 * tests/fuzz/fuzz_template). */
TEST(templates_must_be_utf8_text)
{
	expect_load_error("en/a.txt", "one\ntwo \x01", "a.txt:2: not UTF-8 text");
	expect_load_error("en/a.html", "caf\xe9", "a.html:1: not UTF-8 text");
	expect_load_error("en/a.txt", "\xc0\xaf", "not UTF-8 text");
	expect_load_error("en/a.txt", "x\x7f", "not UTF-8 text");
	expect_load_error("en/a.txt", "\xe6\x97", "not UTF-8 text"); /* cut short */
	new_root();
	put_file("en/a.txt", "");
	char path[128];
	snprintf(path, sizeof(path), "%s/en/a.txt", root);
	FILE *f = fopen(path, "wb");
	test_assert(f != NULL && fwrite("a\0{{b}}", 1, 8, f) == 8 && fclose(f) == 0);
	struct tpl_set *set = NULL;
	const char *err = NULL;
	test_assert(tpl_set_load(root, &set, &err) < 0);
	test_assert_contains(err, "a.txt:1: not UTF-8 text");
	remove_root();
	/* tabs, CRLF and UTF-8 are text */
	new_root();
	put_file("en/a.txt", "\tcaf\xc3\xa9\r\n\xe6\x97\xa5 {{x}}\n");
	set = load_ok();
	tpl_set_free(set);
	remove_root();
}

TEST(linkify_makes_only_our_links_and_escapes_everything)
{
	new_root();
	put_file("en/l.html", "{{v|linkify}}");
	struct tpl_set *set = load_ok();
	struct tpl_vars vars = {0};
	tpl_vars_set(&vars, "public_url", "https://x.test");
	tpl_vars_set(&vars, "v", "See https://x.test/l/abc.def_1-2. Or javascript:alert(1) "
				 "and http://a.test/\"><script>x</script> or https://x.test/other "
				 "or https://x.test.evil/l/abc");
	char *out = render(set, "en", "l.html", &vars);
	test_assert_str(out, "See <a href=\"https://x.test/l/abc.def_1-2\">https://x.test/l/abc.def_1-2</a>. "
			     "Or javascript:alert(1) and http://a.test/"
			     "&quot;&gt;&lt;script&gt;x&lt;/script&gt; or https://x.test/other "
			     "or https://x.test.evil/l/abc");
	free(out);
	/* Without a public URL, nothing is ours: no link at all. */
	struct tpl_vars bare = {0};
	tpl_vars_set(&bare, "v", "https://x.test/l/abc");
	out = render(set, "en", "l.html", &bare);
	test_assert_str(out, "https://x.test/l/abc");
	free(out);
	tpl_set_free(set);
	remove_root();
}

TEST(large_values_and_many_variables)
{
	new_root();
	put_file("en/big.txt", "[{{v}}]{{a0}}{{a39}}");
	struct tpl_set *set = load_ok();
	struct tpl_vars vars = {0};
	char *big = malloc(200001), names[40][8];
	memset(big, 'x', 200000);
	big[200000] = '\0';
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i);
		test_assert_int(tpl_vars_set(&vars, names[i], names[i]), 0);
	}
	tpl_vars_set(&vars, "v", big);
	char *out = NULL;
	size_t len = 0;
	const char *err;
	test_assert_int(tpl_render(set, "en", "big.txt", &vars, &out, &len, &err), 0);
	test_assert_int(len, 200000 + 2 + 2 + 3);
	test_assert(out[0] == '[' && out[200001] == ']');
	/* The table is full at TPL_MAX_VARS: one more is refused. */
	static char more[TPL_MAX_VARS][8];
	int refused = 0;
	for (int i = 0; i < TPL_MAX_VARS; i++) {
		snprintf(more[i], sizeof(more[i]), "m%d", i);
		refused += tpl_vars_set(&vars, more[i], "") < 0;
	}
	test_assert_int(vars.n, TPL_MAX_VARS);
	test_assert_int(refused, 41); /* 40 names and "v" were already set */
	free(out);
	free(big);
	tpl_set_free(set);
	remove_root();
}

TEST(shipped_templates_load)
{
	struct tpl_set *set = NULL;
	const char *err = NULL;
	test_assert_int(tpl_set_load("templates", &set, &err), 0);
	if (set == NULL) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	test_assert(tpl_has_locale(set, "en"));
	test_assert(tpl_has_locale(set, "ja"));
	tpl_set_free(set);
}

/* Every file of one locale's folder exists in the other's. */
static int same_files(const char *tpl_root, const char *a, const char *b, const char *sub)
{
	char dir_a[4200], path_b[4400];
	int missing = 0;
	snprintf(dir_a, sizeof(dir_a), "%s/%s/%s", tpl_root, a, sub);
	DIR *d = opendir(dir_a);
	test_assert(d != NULL);
	if (d == NULL)
		return 1;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(path_b, sizeof(path_b), "%s/%s/%s/%s", tpl_root, b, sub, e->d_name);
		if (access(path_b, R_OK) != 0) {
			fprintf(stderr, "%s/%s/%s has no counterpart %s\n", a, sub, e->d_name, path_b);
			missing++;
		}
	}
	closedir(d);
	test_assert(n > 5);
	return missing;
}

TEST(shipped_locales_have_every_mail_and_page)
{
	char tpl_root[4096];
	snprintf(tpl_root, sizeof(tpl_root), "%s/templates",
		 getenv("INVITED_SOURCE_DIR") ? getenv("INVITED_SOURCE_DIR") : ".");
	test_assert_int(same_files(tpl_root, "en", "ja", "mail"), 0);
	test_assert_int(same_files(tpl_root, "ja", "en", "mail"), 0);
	test_assert_int(same_files(tpl_root, "en", "ja", "page"), 0);
	test_assert_int(same_files(tpl_root, "ja", "en", "page"), 0);
}

/* A link of its own, as linkify makes it: the edit rule for drafts. */
TEST(text_links_to_a_url_only_when_it_stands_alone)
{
	const char *u = "http://127.0.0.1:8025/l/v4.public.abc";
	test_assert(tpl_text_links_to("Accept here: http://127.0.0.1:8025/l/v4.public.abc", u));
	test_assert(tpl_text_links_to("(http://127.0.0.1:8025/l/v4.public.abc).", u));
	test_assert(tpl_text_links_to("x\nhttp://127.0.0.1:8025/l/v4.public.abc\ny", u));
	test_assert(!tpl_text_links_to("https://evil.example/?u=http://127.0.0.1:8025/l/v4.public.abc", u));
	test_assert(!tpl_text_links_to("http://127.0.0.1:8025/l/v4.public.abcdef", u));
	test_assert(!tpl_text_links_to("xhttp://127.0.0.1:8025/l/v4.public.abc", u));
	test_assert(!tpl_text_links_to("no link at all", u));
	/* every copy must stand alone: one inside another address spoils all */
	test_assert(!tpl_text_links_to("www.evil.example/r?http://127.0.0.1:8025/l/v4.public.abc", u));
	test_assert(!tpl_text_links_to("http://127.0.0.1:8025/l/v4.public.abc and "
				       "https://evil.example/?u=http://127.0.0.1:8025/l/v4.public.abc", u));
	test_assert(!tpl_text_links_to("=http://127.0.0.1:8025/l/v4.public.abc", u));
	test_assert(!tpl_text_links_to("http://127.0.0.1:8025/l/v4.public.abc.x", u));
	test_assert(tpl_text_links_to("<http://127.0.0.1:8025/l/v4.public.abc>, twice: "
				      "http://127.0.0.1:8025/l/v4.public.abc", u));
}

TEST_MAIN()
