/*
 * token_cache.c: the verified-token cache (see token_cache.h): a table of
 * LINK_CACHE_SLOTS entries indexed by a keyed hash of the token, under
 * one mutex (a lookup is a hash and a compare: far shorter than the
 * verify it saves).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "invited/limits.h"
#include "invited/token_cache.h"

#define HASH_BYTES 16

struct entry {
	unsigned char hash[HASH_BYTES]; /* all zero: empty */
	struct link_claims claims;
};

struct token_cache {
	pthread_mutex_t lock;
	unsigned char key[crypto_generichash_KEYBYTES]; /* random: no chosen collisions */
	size_t used;
	struct entry slot[LINK_CACHE_SLOTS];
};

static const unsigned char empty[HASH_BYTES];

struct token_cache *token_cache_new(void)
{
	struct token_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	randombytes_buf(c->key, sizeof(c->key));
	return c;
}

void token_cache_free(struct token_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

static struct entry *slot_of(struct token_cache *c, const char *token,
			     unsigned char hash[HASH_BYTES])
{
	uint64_t index;
	crypto_generichash(hash, HASH_BYTES, (const unsigned char *)token, strlen(token), c->key,
			   sizeof(c->key));
	if (sodium_is_zero(hash, HASH_BYTES)) /* reserved for empty slots */
		hash[0] = 1;
	memcpy(&index, hash, sizeof(index));
	return &c->slot[index % LINK_CACHE_SLOTS];
}

int token_cache_get(struct token_cache *c, const char *token, struct link_claims *claims_r)
{
	unsigned char hash[HASH_BYTES];
	struct entry *e = slot_of(c, token, hash);
	pthread_mutex_lock(&c->lock);
	int hit = sodium_memcmp(e->hash, hash, HASH_BYTES) == 0;
	if (hit)
		*claims_r = e->claims;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void token_cache_put(struct token_cache *c, const char *token, const struct link_claims *claims)
{
	unsigned char hash[HASH_BYTES];
	struct entry *e = slot_of(c, token, hash);
	pthread_mutex_lock(&c->lock);
	if (sodium_memcmp(e->hash, empty, HASH_BYTES) == 0)
		c->used++;
	memcpy(e->hash, hash, HASH_BYTES);
	e->claims = *claims;
	pthread_mutex_unlock(&c->lock);
}

static int has_kid(const struct keyring *kr, const char *kid)
{
	for (size_t i = 0; i < keyring_count(kr); i++)
		if (strcmp(keyring_key(kr, i)->kid, kid) == 0)
			return 1;
	return 0;
}

void token_cache_keep_keys(struct token_cache *c, const struct keyring *kr)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < LINK_CACHE_SLOTS; i++) {
		struct entry *e = &c->slot[i];
		if (sodium_memcmp(e->hash, empty, HASH_BYTES) != 0 && !has_kid(kr, e->claims.kid)) {
			memset(e, 0, sizeof(*e));
			c->used--;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

size_t token_cache_size(struct token_cache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->used;
	pthread_mutex_unlock(&c->lock);
	return n;
}

enum token_status link_check_cached(struct token_cache *c, const struct keyring *keys,
				    const char *public_url, const char *token, int64_t now,
				    struct link_claims *claims_r, const char **error_r)
{
	/* A hit stands only if these keys still hold its kid: a request that
	 * verified with the keys of just before a reload may put an entry back
	 * after keep_keys dropped its key's. And only for the times
	 * link_check allows. */
	if (c != NULL && token_cache_get(c, token, claims_r) && has_kid(keys, claims_r->kid) &&
	    claims_r->iat <= now + LINK_CLOCK_SKEW) {
		if (claims_r->exp > now)
			return TOKEN_OK;
		*error_r = "the token has expired";
		return TOKEN_EXPIRED;
	}
	enum token_status ts = link_check(keys, public_url, token, now, claims_r, error_r);
	if (ts == TOKEN_OK && c != NULL)
		token_cache_put(c, token, claims_r);
	return ts;
}
