/*
 * token_cache.h: links whose signature and claims were verified lately,
 * so that a consent page fetched again skips the Ed25519 verify.
 *
 * What a hit lets through is exactly what a verify would: the entry is
 * keyed by a keyed BLAKE2b hash of the exact token string (another token,
 * even one byte apart, misses), carries the claims that link_check read,
 * with their exp (a hit past it answers TOKEN_EXPIRED) and the kid that
 * signed them (token_cache_keep_keys drops the entries of a retired key).
 * Only TOKEN_OK results are kept. The cache decides nothing about the
 * link's state: callers read the store on every request, so a used,
 * revoked or replaced link is seen at once. Bounded: LINK_CACHE_SLOTS
 * entries, direct-mapped, a new entry replacing the one in its slot.
 */
#ifndef INVITED_TOKEN_CACHE_H
#define INVITED_TOKEN_CACHE_H

#include "keys.h"
#include "link.h"

struct token_cache;

/* NULL when out of memory. */
struct token_cache *token_cache_new(void);
void token_cache_free(struct token_cache *c);

/* 1 and the claims when token was verified before (and not dropped). */
int token_cache_get(struct token_cache *c, const char *token, struct link_claims *claims_r);
void token_cache_put(struct token_cache *c, const char *token, const struct link_claims *claims);
/* Drop every entry whose kid is not in kr (after the keys were reloaded). */
void token_cache_keep_keys(struct token_cache *c, const struct keyring *kr);
/* Entries held now (for tests and metrics). */
size_t token_cache_size(struct token_cache *c);

/* link_check through the cache: a hit skips the verify; a TOKEN_OK miss is
 * kept. c may be NULL (then exactly link_check). */
enum token_status link_check_cached(struct token_cache *c, const struct keyring *keys,
				    const char *public_url, const char *token, int64_t now,
				    struct link_claims *claims_r, const char **error_r);

#endif
