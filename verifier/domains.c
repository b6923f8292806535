/*
 * domains.c: domain syntax and the public mailbox list. The list is
 * sorted once at load, so a lookup is a binary search per label of the
 * domain asked about.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "invited/domains.h"
#include "invited/limits.h"
#include "invited/log.h"
#include "invited/text.h"

struct domain_list {
	size_t n;
	char **names; /* sorted, lowercase */
};

static int label_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

int domain_valid(const char *d)
{
	size_t len = strlen(d), labels = 0;
	if (len == 0 || len > MAX_DOMAIN_LEN)
		return 0;
	const char *p = d;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
			return 0;
		for (size_t i = 0; i < n; i++)
			if (!label_char((unsigned char)p[i]))
				return 0;
		labels++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return labels >= 2;
}

int domain_within(const char *d, const char *base)
{
	size_t dl = strlen(d), bl = strlen(base);
	if (bl == 0 || dl < bl || strcasecmp(d + dl - bl, base) != 0)
		return 0;
	return dl == bl || d[dl - bl - 1] == '.';
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates. */
static void finish(struct domain_list *list)
{
	size_t out = 0;
	qsort(list->names, list->n, sizeof(list->names[0]), cmp_names);
	for (size_t i = 0; i < list->n; i++) {
		if (out > 0 && strcmp(list->names[out - 1], list->names[i]) == 0)
			free(list->names[i]);
		else
			list->names[out++] = list->names[i];
	}
	list->n = out;
}

static int add(struct domain_list *list, size_t *cap, const char *d)
{
	if (list->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		char **nn = realloc(list->names, ncap * sizeof(*nn));
		if (nn == NULL)
			return -1;
		list->names = nn;
		*cap = ncap;
	}
	char *copy = strdup(d);
	if (copy == NULL)
		return -1;
	list->names[list->n++] = ascii_lower(copy);
	return 0;
}

struct domain_list *domain_list_new(const char *const *domains, size_t n)
{
	struct domain_list *list = calloc(1, sizeof(*list));
	size_t cap = 0;
	if (list == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (add(list, &cap, domains[i]) < 0) {
			domain_list_free(list);
			return NULL;
		}
	}
	finish(list);
	return list;
}

/* The line without comment and surrounding blanks, in place. */
static char *clean_line(char *line)
{
	char *hash = strchr(line, '#');
	if (hash != NULL)
		*hash = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	size_t n = strlen(line);
	while (n > 0 && strchr(" \t\r\n", line[n - 1]) != NULL)
		line[--n] = '\0';
	return line;
}

int domain_list_load(const char *path, struct domain_list **list_r,
		     const char **error_r)
{
	FILE *fp = fopen(path, "r");
	char buf[MAX_DOMAIN_LEN + 256];
	size_t cap = 0, lineno = 0;
	if (fp == NULL) {
		*error_r = errorf("%s: %s", path, strerror(errno));
		return -1;
	}
	struct domain_list *list = calloc(1, sizeof(*list));
	if (list == NULL) {
		fclose(fp);
		*error_r = "out of memory";
		return -1;
	}
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		lineno++;
		if (strchr(buf, '\n') == NULL && !feof(fp)) {
			*error_r = errorf("%s:%zu: line too long", path, lineno);
			goto fail;
		}
		char *d = clean_line(buf);
		if (*d == '\0')
			continue;
		if (!domain_valid(d)) {
			*error_r = errorf("%s:%zu: \"%s\" is not a domain", path, lineno, d);
			goto fail;
		}
		if (add(list, &cap, d) < 0) {
			*error_r = "out of memory";
			goto fail;
		}
	}
	fclose(fp);
	finish(list);
	*list_r = list;
	return 0;
fail:
	fclose(fp);
	domain_list_free(list);
	return -1;
}

void domain_list_free(struct domain_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n; i++)
		free(list->names[i]);
	free(list->names);
	free(list);
}

size_t domain_list_count(const struct domain_list *list)
{
	return list ? list->n : 0;
}

const char *domain_list_match(const struct domain_list *list, const char *d)
{
	char lower[MAX_DOMAIN_LEN + 1];
	if (list == NULL || list->n == 0 || strlen(d) > MAX_DOMAIN_LEN)
		return NULL;
	snprintf(lower, sizeof(lower), "%s", d);
	ascii_lower(lower);
	/* d itself, then each parent: mail.yahoo.co.jp, yahoo.co.jp, co.jp, jp */
	for (const char *p = lower;;) {
		char **hit = bsearch(&p, list->names, list->n, sizeof(list->names[0]),
				     cmp_names);
		if (hit != NULL)
			return *hit;
		const char *dot = strchr(p, '.');
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	return NULL;
}
