/*
 * ratelimit.c: token buckets per client address in an open-addressed
 * table. Tokens are kept in units of 1/limit so that the arithmetic stays
 * in integers: a bucket holds up to limit * window units, a request costs
 * window units, and every second refills limit units.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invited/ratelimit.h"

#define RL_SLOTS 4096 /* a power of two */
#define RL_PROBE 16
#define RL_CLIENT_LEN 64

struct bucket {
	char client[RL_CLIENT_LEN];
	int64_t units;
	int64_t last;
};

struct rate_limiter {
	pthread_mutex_t lock;
	int64_t limit, window;
	struct bucket slots[RL_SLOTS];
};

struct rate_limiter *rate_limiter_new(int limit, int64_t window)
{
	struct rate_limiter *rl = calloc(1, sizeof(*rl));
	if (rl == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
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

/* FNV-1a: spreads addresses well enough, and needs no key. */
static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The client's bucket, or a fresh one in a free or the stalest slot. */
static struct bucket *find(struct rate_limiter *rl, const char *client, int64_t now)
{
	uint32_t h = hash(client);
	struct bucket *stalest = NULL;
	for (int i = 0; i < RL_PROBE; i++) {
		struct bucket *b = &rl->slots[(h + (uint32_t)i) & (RL_SLOTS - 1)];
		if (strcmp(b->client, client) == 0)
			return b;
		if (stalest == NULL || b->client[0] == '\0' ||
		    (stalest->client[0] != '\0' && b->last < stalest->last))
			stalest = b;
		if (b->client[0] == '\0')
			break;
	}
	snprintf(stalest->client, sizeof(stalest->client), "%s", client);
	stalest->units = rl->limit * rl->window;
	stalest->last = now;
	return stalest;
}

int64_t rate_limiter_take(struct rate_limiter *rl, const char *client, int64_t now)
{
	if (rl == NULL || rl->limit <= 0)
		return 0;
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
