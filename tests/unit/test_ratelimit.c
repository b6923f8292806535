/* link: invited_server */
/*
 * test_ratelimit.c: the per-client token buckets behind 429 answers.
 */
#include <stdio.h>
#include <string.h>

#include "invited/ratelimit.h"
#include "test.h"

TEST(burst_then_refused_with_wait)
{
	struct rate_limiter *rl = rate_limiter_new(3, 3600);
	for (int i = 0; i < 3; i++)
		test_assert_int(rate_limiter_take(rl, "192.0.2.1", 1000), 0);
	/* one token comes back every 1200 s */
	test_assert_int(rate_limiter_take(rl, "192.0.2.1", 1000), 1200);
	test_assert_int(rate_limiter_take(rl, "192.0.2.1", 1700), 500);
	/* another client is not affected */
	test_assert_int(rate_limiter_take(rl, "192.0.2.2", 1700), 0);
	test_assert_int(rate_limiter_take(rl, "192.0.2.1", 2200), 0);
	test_assert(rate_limiter_take(rl, "192.0.2.1", 2200) > 0);
	/* after a full window the burst is back, never more */
	for (int i = 0; i < 3; i++)
		test_assert_int(rate_limiter_take(rl, "192.0.2.1", 100000), 0);
	test_assert(rate_limiter_take(rl, "192.0.2.1", 100000) > 0);
	rate_limiter_free(rl);
}

TEST(zero_means_unlimited)
{
	struct rate_limiter *rl = rate_limiter_new(0, 3600);
	for (int i = 0; i < 1000; i++)
		test_assert_int(rate_limiter_take(rl, "192.0.2.1", 1), 0);
	rate_limiter_free(rl);
	test_assert_int(rate_limiter_take(NULL, "x", 1), 0);
}

TEST(a_full_table_forgets_the_stalest)
{
	struct rate_limiter *rl = rate_limiter_new(1, 3600);
	char client[32];
	/* far more clients than slots: each still gets its first request */
	for (int i = 0; i < 20000; i++) {
		snprintf(client, sizeof(client), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		test_assert_int(rate_limiter_take(rl, client, 5000 + i), 0);
	}
	/* the most recent client is still remembered and limited */
	test_assert(rate_limiter_take(rl, client, 5000 + 20000) > 0);
	rate_limiter_free(rl);
}

/* The whole client string counts, however long: two long addresses that
 * share their first 100 bytes are two clients, and a long one is limited. */
TEST(long_clients_are_limited_and_kept_apart)
{
	struct rate_limiter *rl = rate_limiter_new(1, 3600);
	char a[300], b[300];
	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[sizeof(b) - 2] = 'b';
	test_assert_int(rate_limiter_take(rl, a, 1000), 0);
	test_assert(rate_limiter_take(rl, a, 1000) > 0);
	test_assert_int(rate_limiter_take(rl, b, 1000), 0);
	test_assert(rate_limiter_take(rl, b, 1000) > 0);
	rate_limiter_free(rl);
}

TEST_MAIN()
