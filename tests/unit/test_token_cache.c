/* link: invited_links */
/*
 * test_token_cache.c: the verified-token cache lets through exactly what a
 * verify would: the same claims for the same token string, nothing for
 * another, an expired answer past exp, nothing once its key is retired;
 * only verified tokens are kept, and never more than LINK_CACHE_SLOTS.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "invited/limits.h"
#include "invited/token_cache.h"
#include "test.h"

#define URL "https://invite.example.test"
#define NOW 1800000000

static char root[64];

/* A keyring with one new key in a folder of its own (under root). */
static struct keyring *new_keyring(const char *name)
{
	char dir[128], kid[MAX_KID_LEN + 1];
	const char *err = NULL;
	struct keyring *kr;
	if (root[0] == '\0') {
		snprintf(root, sizeof(root), "/tmp/invited-tcache-XXXXXX");
		test_assert(mkdtemp(root) != NULL);
	}
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	test_assert(keyring_generate(dir, kid, &err) == 0);
	test_assert(keyring_load(dir, &kr, &err) == 0);
	return kr;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static char *mint(const struct keyring *kr, int64_t lifetime, struct link_claims *claims)
{
	char *token;
	const char *err = NULL;
	test_assert(link_mint(kr, URL, PUR_RESELLER, NOW, lifetime, claims, &token, &err) == 0);
	return token;
}

/* A hit answers from the cache: checked for another audience, which a
 * verify would refuse, it is still TOKEN_OK with the same claims, which
 * only the cache can say (the audience is the server's own, fixed). */
TEST(a_token_verified_once_is_a_hit_with_the_same_claims)
{
	struct keyring *ours = new_keyring("ours"), *other = new_keyring("other");
	struct token_cache *c = token_cache_new();
	struct link_claims minted, got, again;
	const char *err = NULL;
	char *token = mint(ours, 3600, &minted);

	test_assert_int(link_check_cached(c, other, URL, token, NOW, &got, &err),
			TOKEN_UNKNOWN_KEY); /* a miss verifies, and fails */
	test_assert_int(token_cache_size(c), 0);
	test_assert_int(link_check_cached(c, ours, URL, token, NOW, &got, &err), TOKEN_OK);
	test_assert_int(token_cache_size(c), 1);
	test_assert_str(got.jti, minted.jti);
	test_assert_int(link_check_cached(c, ours, "https://else.example", token, NOW + 10,
					  &again, &err),
			TOKEN_OK);
	test_assert_str(again.jti, got.jti);
	test_assert_str(again.kid, got.kid);
	test_assert_int(again.exp, got.exp);
	test_assert_int(again.purpose, PUR_RESELLER);

	/* One byte apart is another token: a miss, and its signature fails. */
	token[strlen(token) - 30] ^= 1;
	test_assert(link_check_cached(c, ours, URL, token, NOW, &got, &err) != TOKEN_OK);
	test_assert_int(token_cache_size(c), 1);
	free(token);
	token_cache_free(c);
	keyring_free(ours);
	keyring_free(other);
	cleanup();
}

TEST(a_cached_token_past_its_exp_is_expired)
{
	struct keyring *kr = new_keyring("k");
	struct token_cache *c = token_cache_new();
	struct link_claims claims, got;
	const char *err = NULL;
	char *token = mint(kr, 600, &claims);
	test_assert_int(link_check_cached(c, kr, URL, token, NOW, &got, &err), TOKEN_OK);
	test_assert_int(link_check_cached(c, kr, URL, token, NOW + 599, &got, &err), TOKEN_OK);
	test_assert_int(link_check_cached(c, kr, URL, token, NOW + 600, &got, &err),
			TOKEN_EXPIRED);
	test_assert_str(got.jti, claims.jti); /* the expired page still names it */
	/* An expired or foreign token is never kept. */
	char *late = mint(kr, 60, &claims);
	test_assert_int(link_check_cached(c, kr, URL, late, NOW + 61, &got, &err),
			TOKEN_EXPIRED);
	test_assert_int(token_cache_size(c), 1);
	/* A clock stepped back past the skew link_check allows: a hit is not
	 * taken, and the verify says not yet valid. */
	test_assert_int(link_check_cached(c, kr, URL, token, NOW - LINK_CLOCK_SKEW - 1, &got,
					  &err),
			TOKEN_NOT_YET_VALID);
	free(late);
	free(token);
	token_cache_free(c);
	keyring_free(kr);
	cleanup();
}

/* Keys reloaded without the key that signed an entry: the entry goes, and
 * the token is verified again, against the keys there are. */
TEST(a_retired_key_drops_its_entries)
{
	struct keyring *old = new_keyring("old"), *next = new_keyring("next");
	struct token_cache *c = token_cache_new();
	struct link_claims claims, got;
	const char *err = NULL;
	char *a = mint(old, 3600, &claims), *b = mint(next, 3600, &claims);
	test_assert_int(link_check_cached(c, old, URL, a, NOW, &got, &err), TOKEN_OK);
	test_assert_int(link_check_cached(c, next, URL, b, NOW, &got, &err), TOKEN_OK);
	test_assert_int(token_cache_size(c), 2);
	token_cache_keep_keys(c, next);
	test_assert_int(token_cache_size(c), 1);
	test_assert_int(link_check_cached(c, next, URL, a, NOW, &got, &err), TOKEN_UNKNOWN_KEY);
	/* The other entry is kept, and is a hit only with keys that hold its kid. */
	test_assert_int(link_check_cached(c, next, URL, b, NOW, &got, &err), TOKEN_OK);
	test_assert_int(token_cache_size(c), 1);
	test_assert_int(link_check_cached(c, old, URL, b, NOW, &got, &err), TOKEN_UNKNOWN_KEY);
	free(a);
	free(b);
	token_cache_free(c);
	keyring_free(old);
	keyring_free(next);
	cleanup();
}

/* A request that verified with the keys of just before a reload puts its
 * entry in after keep_keys ran: the entry's kid is not in the keys the next
 * request checks with, so it is no hit, and the verify refuses it. */
TEST(an_entry_put_back_after_its_key_went_is_no_hit)
{
	struct keyring *old = new_keyring("old"), *next = new_keyring("next");
	struct token_cache *c = token_cache_new();
	struct link_claims claims, got;
	const char *err = NULL;
	char *token = mint(old, 3600, &claims);
	token_cache_keep_keys(c, next);                   /* the reload */
	test_assert_int(link_check_cached(c, old, URL, token, NOW, &got, &err),
			TOKEN_OK);                        /* the late request, old keys */
	test_assert_int(token_cache_size(c), 1);
	test_assert_int(link_check_cached(c, next, URL, token, NOW, &got, &err),
			TOKEN_UNKNOWN_KEY);
	free(token);
	token_cache_free(c);
	keyring_free(old);
	keyring_free(next);
	cleanup();
}

TEST(the_cache_never_holds_more_than_its_slots)
{
	struct token_cache *c = token_cache_new();
	struct link_claims claims = {.purpose = PUR_RESELLER, .exp = NOW + 60};
	char token[64];
	for (int i = 0; i < 3 * LINK_CACHE_SLOTS; i++) {
		snprintf(token, sizeof(token), "v4.public.fake-%d", i);
		snprintf(claims.jti, sizeof(claims.jti), "j%d", i);
		token_cache_put(c, token, &claims);
	}
	test_assert(token_cache_size(c) <= LINK_CACHE_SLOTS);
	test_assert(token_cache_size(c) > LINK_CACHE_SLOTS / 2);
	/* The newest is there; what a collision replaced is simply a miss. */
	struct link_claims got;
	test_assert(token_cache_get(c, token, &got));
	test_assert_str(got.jti, claims.jti);
	int misses = 0;
	for (int i = 0; i < 3 * LINK_CACHE_SLOTS; i++) {
		snprintf(token, sizeof(token), "v4.public.fake-%d", i);
		misses += !token_cache_get(c, token, &got);
	}
	test_assert(misses >= 2 * LINK_CACHE_SLOTS);
	token_cache_free(c);
}

TEST_MAIN()
