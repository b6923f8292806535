/*
 * ratelimit.c: token buckets per client address in an open-addressed
 * table. Tokens are kept in units of 1/limit so that the arithmetic stays
 * in integers: a bucket holds up to limit * window units, a request costs
 * window units, and every second refills limit units.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invited/ratelimit.h"

#define RL_SLOTS 4096 /* a power of two */
#define RL_PROBE 16
#define RL_ID_LEN 16  /* a keyed hash of the whole client string */

struct bucket {
	unsigned char id[RL_ID_LEN];
	int used;
	int64_t units;
	int64_t last;
};

struct rate_limiter {
	pthread_mutex_t lock;
	int64_t limit, window;
	/* Secret per limiter: nobody can choose clients that share slots and
	 * push someone's bucket out. */
	unsigned char key[crypto_generichash_KEYBYTES];
	struct bucket slots[RL_SLOTS];
	/* Shared through the store (rate_limiter_share), else NULL. */
	rate_take_fn *take;
	void *take_ctx;
	char name[32];
	unsigned char share_key[RATE_SHARE_KEY_BYTES];
};

void rate_limiter_share(struct rate_limiter *rl, const char *name,
			const unsigned char key[RATE_SHARE_KEY_BYTES], rate_take_fn *take, void *ctx)
{
	if (rl == NULL)
		return;
	snprintf(rl->name, sizeof(rl->name), "%s", name);
	memcpy(rl->share_key, key, sizeof(rl->share_key));
	rl->take_ctx = ctx;
	rl->take = take;
}

/* The store's bucket: 0 (taken) or the wait, or -1 when the store did not
 * answer. The client is known there by a hash under the key every server
 * shares: the same on each, and no address that a reader of the database
 * could recover by trying them all. */
static int64_t take_shared(struct rate_limiter *rl, const char *client, int64_t now)
{
	unsigned char id[RL_ID_LEN];
	char hex[2 * RL_ID_LEN + 1];
	int ok;
	int64_t units;
	crypto_generichash(id, sizeof(id), (const unsigned char *)client, strlen(client),
			   rl->share_key, sizeof(rl->share_key));
	sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
	if (rl->take(rl->take_ctx, rl->name, hex, rl->limit * rl->window, rl->window, rl->limit, now,
		     &ok, &units) < 0)
		return -1;
	if (ok)
		return 0;
	int64_t missing = rl->window - units;
	int64_t wait = (missing + rl->limit - 1) / rl->limit;
	return wait > 0 ? wait : 1;
}

struct rate_limiter *rate_limiter_new(int limit, int64_t window)
{
	struct rate_limiter *rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	randombytes_buf(rl->key, sizeof(rl->key));
	rl->limit = limit;
	rl->window = window > 0 ? window : 1;
	return rl;
}

void rate_limiter_free(struct rate_limiter *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* The client's bucket, or a fresh one in a free or the stalest slot. The
 * whole client string counts, however long: its keyed hash is the id. */
static struct bucket *find(struct rate_limiter *rl, const char *client, int64_t now)
{
	unsigned char id[RL_ID_LEN];
	crypto_generichash(id, sizeof(id), (const unsigned char *)client, strlen(client),
			   rl->key, sizeof(rl->key));
	uint32_t h = (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16;
	struct bucket *stalest = NULL;
	for (int i = 0; i < RL_PROBE; i++) {
		struct bucket *b = &rl->slots[(h + (uint32_t)i) & (RL_SLOTS - 1)];
		if (b->used && memcmp(b->id, id, sizeof(id)) == 0)
			return b;
		if (stalest == NULL || !b->used || (stalest->used && b->last < stalest->last))
			stalest = b;
		if (!b->used)
			break;
	}
	memcpy(stalest->id, id, sizeof(id));
	stalest->used = 1;
	stalest->units = rl->limit * rl->window;
	stalest->last = now;
	return stalest;
}

int64_t rate_limiter_take(struct rate_limiter *rl, const char *client, int64_t now)
{
	if (rl == NULL || rl->limit <= 0)
		return 0;
	if (rl->take != NULL) {
		int64_t shared = take_shared(rl, client, now);
		if (shared >= 0)
			return shared;
	}
	int64_t wait = 0, full = rl->limit * rl->window;
	pthread_mutex_lock(&rl->lock);
	struct bucket *b = find(rl, client, now);
	if (now > b->last) {
		b->units += (now - b->last) * rl->limit;
		if (b->units > full)
			b->units = full;
	}
	b->last = now;
	if (b->units >= rl->window) {
		b->units -= rl->window;
	} else {
		int64_t missing = rl->window - b->units;
		wait = (missing + rl->limit - 1) / rl->limit;
	}
	pthread_mutex_unlock(&rl->lock);
	return wait > 0 ? wait : 0;
}
