/*
 * domains.h: email domains as enrollment sees them: their syntax, whether
 * one lies under another, and the list of public mailbox providers (one
 * domain per line, `#` comments) whose addresses cannot prove that a
 * person belongs to an organization.
 */
#ifndef INVITED_DOMAINS_H
#define INVITED_DOMAINS_H

#include <stddef.h>
#include <stdint.h>

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

/*
 * Proof of a domain by DNS (store.h, struct domain_proof): a TXT record
 * at _invited-challenge.<domain> holding "invited-domain-verification=
 * <token>", asked through c-ares of the system's resolvers or of
 * servers ("host:port,host:port"; empty: the system's).
 */
enum domain_txt { DOMAIN_TXT_FOUND, DOMAIN_TXT_ABSENT, DOMAIN_TXT_ERROR };

#define DOMAIN_CHECK_EVERY 86400      /* a DNS proof is re-checked daily */
#define DOMAIN_CHECK_AGAIN 3600       /* after a DNS failure, an hour later */
#define DOMAIN_CHECK_MIN_INTERVAL 60  /* an asked-for check, once a minute */
#define DOMAIN_CHECK_BATCH 10         /* domains checked per sweep (each may take
					 * [dns] timeout: expiry and reminders wait) */

/* Whether name has a TXT record whose whole text is want; *why_r says
 * what DNS answered when it is not FOUND. */
enum domain_txt domain_txt_lookup(const char *name, const char *want, const char *servers,
				  int timeout_ms, const char **why_r);

struct verifier_env;

/*
 * Check the DNS-governed domains (claimed, failed, or proven by DNS) of
 * org_id (0: every organization's) last checked before `before`, and
 * record each outcome: found -> proven; absent -> failed, or back to
 * claimed when it was proven (the proof lapsed); a DNS error changes
 * nothing and is tried again DOMAIN_CHECK_AGAIN later. A domain an
 * approved organization has proven fails; a row proven otherwise while
 * DNS was asked is left alone. Stops early when *stop (may be NULL). Each change is an event. Not in a
 * transaction: each domain's outcome commits on its own, and the lookups
 * hold no lock. *changed_r: how many changed.
 */
int domains_check(const struct verifier_env *env, int64_t org_id, int64_t before,
		  const char *servers, int timeout_ms, const _Atomic int *stop, int *changed_r,
		  const char **error_r);

#endif
