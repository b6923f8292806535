/*
 * domains.h: email domains as enrollment sees them: their syntax, whether
 * one lies under another, and the list of public mailbox providers (one
 * domain per line, `#` comments) whose addresses cannot prove that a
 * person belongs to an organization.
 */
#ifndef INVITED_DOMAINS_H
#define INVITED_DOMAINS_H

#include <stddef.h>

/* 1 when d is a host name of at least two labels (letters, digits,
 * inner hyphens, 1..63 each, 253 in all, no trailing dot). */
int domain_valid(const char *d);

/* 1 when d is base or a subdomain of it (ASCII case ignored). */
int domain_within(const char *d, const char *base);

struct domain_list;

/* Load path; lines are domains (lowercased), blank lines and `#` comments
 * are skipped. A bad line fails the load, naming its number. */
int domain_list_load(const char *path, struct domain_list **list_r,
		     const char **error_r);
/* A list of n domains (lowercased copies); NULL when out of memory. */
struct domain_list *domain_list_new(const char *const *domains, size_t n);
void domain_list_free(struct domain_list *list);
size_t domain_list_count(const struct domain_list *list);

/* The listed domain d is (or is under), or NULL. */
const char *domain_list_match(const struct domain_list *list, const char *d);

#endif
