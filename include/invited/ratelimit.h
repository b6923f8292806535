/*
 * ratelimit.h: at most `limit` requests per client address per `window`
 * seconds, as a token bucket per address (a burst of `limit`, refilled
 * evenly over the window). The table has a fixed size: when it is full,
 * the address seen longest ago is forgotten, which can only make the
 * limiter more lenient, never refuse a newcomer. Thread-safe.
 */
#ifndef INVITED_RATELIMIT_H
#define INVITED_RATELIMIT_H

#include <stdint.h>

struct rate_limiter;

/* NULL when out of memory. limit 0: everything passes. */
struct rate_limiter *rate_limiter_new(int limit, int64_t window);
void rate_limiter_free(struct rate_limiter *rl);

/* Take one request for client at time now: 0 when allowed, else the
 * seconds to wait before the next one would be (at least 1). */
int64_t rate_limiter_take(struct rate_limiter *rl, const char *client, int64_t now);

/*
 * Servers that share a database share their limits: rl's buckets are
 * then taken from through take (the store's, named name, keyed by a hash
 * of the client under key, a secret every server has), so that a client
 * gets `limit` per window from all the servers together, not from each,
 * and the store holds no address. take returns 0 with *ok_r and *units_r
 * (what the bucket holds), or -1: then this server's own bucket decides,
 * as before sharing.
 */
#define RATE_SHARE_KEY_BYTES 32
typedef int rate_take_fn(void *ctx, const char *name, const char *client, int64_t cap,
			 int64_t cost, int64_t refill, int64_t now, int *ok_r, int64_t *units_r);
void rate_limiter_share(struct rate_limiter *rl, const char *name,
			const unsigned char key[RATE_SHARE_KEY_BYTES], rate_take_fn *take, void *ctx);

#endif
