/*
 * test_webhook.c: the pieces of webhook delivery that need no network:
 * the delivery table (every status against every event), which addresses
 * a webhook may reach, the Standard Webhooks signature against a vector
 * computed by Python's hmac, the secret's text form, and what
 * webhook_create refuses, on a real SQLite store.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_fixture.h"
#include "invited/webhook.h"
#include "test.h"

TEST(delivery_table_every_status_and_event)
{
	for (int s = 0; s <= DELIVERY_FAILED + 1; s++) {
		for (int e = 0; e <= DELIVERY_EV_COUNT; e++) {
			int want = -1;
			if (s == DELIVERY_PENDING && e == DELIVERY_EV_CLAIM)
				want = DELIVERY_SENDING;
			else if (s == DELIVERY_PENDING && e == DELIVERY_EV_DROP)
				want = DELIVERY_FAILED;
			else if (s == DELIVERY_SENDING && e == DELIVERY_EV_DELIVER)
				want = DELIVERY_DELIVERED;
			else if (s == DELIVERY_SENDING &&
				 (e == DELIVERY_EV_RETRY || e == DELIVERY_EV_RECOVER))
				want = DELIVERY_PENDING;
			else if (s == DELIVERY_SENDING && e == DELIVERY_EV_GIVE_UP)
				want = DELIVERY_FAILED;
			test_assert_int(delivery_transition((enum delivery_status)s,
							    (enum delivery_event)e),
					want);
		}
	}
}

static int public4(const char *ip)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	test_assert_int(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return webhook_address_public((struct sockaddr *)&a);
}

static int public6(const char *ip)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6};
	test_assert_int(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return webhook_address_public((struct sockaddr *)&a);
}

TEST(only_public_addresses_are_reachable)
{
	static const char *const closed4[] = {
		"127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1",
		"255.255.255.255", "192.0.0.8", "198.18.0.1", "168.63.129.16"};
	static const char *const open4[] = {"8.8.8.8", "172.32.0.1", "192.169.0.1", "1.1.1.1",
					    "100.128.0.1", "93.184.216.34"};
	static const char *const closed6[] = {"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
					      "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
					      "64:ff9b::a9fe:a9fe", "::127.0.0.1", "fec0::1",
					      "64:ff9b:1::a00:1", "2002:7f00:1::1", "2002:a9fe:a9fe::1"};
	static const char *const open6[] = {"2001:4860:4860::8888", "::ffff:8.8.8.8",
					    "2606:4700::1111", "2002:808:808::1"};
	for (size_t i = 0; i < sizeof(closed4) / sizeof(closed4[0]); i++)
		if (public4(closed4[i]) != 0)
			test_assert_str(closed4[i], "(closed)");
	for (size_t i = 0; i < sizeof(open4) / sizeof(open4[0]); i++)
		if (public4(open4[i]) != 1)
			test_assert_str(open4[i], "(open)");
	for (size_t i = 0; i < sizeof(closed6) / sizeof(closed6[0]); i++)
		if (public6(closed6[i]) != 0)
			test_assert_str(closed6[i], "(closed)");
	for (size_t i = 0; i < sizeof(open6) / sizeof(open6[0]); i++)
		if (public6(open6[i]) != 1)
			test_assert_str(open6[i], "(open)");
	struct sockaddr unix_sa = {.sa_family = AF_UNIX};
	test_assert_int(webhook_address_public(&unix_sa), 0);
}

/* The vector: Python's hmac over "dlv_1.1700000000.{"a":1}" with the key
 * bytes 0..31. */
TEST(signature_matches_an_independent_implementation)
{
	unsigned char key[WEBHOOK_SECRET_LEN];
	char sig[WEBHOOK_SIGNATURE_LEN + 1], text[WEBHOOK_SECRET_TEXT_LEN + 1];
	for (int i = 0; i < WEBHOOK_SECRET_LEN; i++)
		key[i] = (unsigned char)i;
	webhook_sign(key, "dlv_1", 1700000000, "{\"a\":1}", 7, sig);
	test_assert_str(sig, "v1,/PsU8eiWi1SXv3V5jwrQC2oLF5EE6sTRwbuiu3S/C/w=");
	webhook_secret_text(key, text);
	test_assert_str(text, "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	webhook_sign(key, "dlv_1", 1700000001, "{\"a\":1}", 7, sig);
	test_assert(strcmp(sig, "v1,/PsU8eiWi1SXv3V5jwrQC2oLF5EE6sTRwbuiu3S/C/w=") != 0);
}

TEST(create_refuses_bad_urls_and_filters_and_keeps_a_limit)
{
	const char *err;
	struct store *st;
	test_assert_int(store_open(test_db_new(), STORE_CREATE | STORE_MIGRATE, &st, &err), STORE_OK);
	struct webhook_config closed = {.timeout = 10, .retry_base = 1, .retry_cap = 2};
	struct webhook_config open = {1, 1, 10, 1, 2, 1};
	struct webhook w;
	static const struct {
		const char *url, *events, *field;
	} bad[] = {
		{"http://example.test/x", "", "url"},          /* http not allowed */
		{"https://127.0.0.1/x", "", "url"},            /* loopback */
		{"https://[::1]:8443/x", "", "url"},           /* loopback v6 */
		{"https://a:b@example.test/x", "", "url"},     /* credentials */
		{"example.test/x", "", "url"},                 /* not absolute */
		{"", "", "url"},
		{"https://example.test/x", "invitation", "events"},
		{"https://example.test/x", "invitation.", "events"},
		{"https://example.test/x", "nothing.*", "events"},
		{"https://example.test/x", "invitation.sent,", "events"},
		{"https://example.test/x", "invitation.sent,,org.*", "events"},
		{"https://example.test/x", "Invitation.sent", "events"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fault f = {0};
		int rc = webhook_create(st, i < 6 ? &closed : &open, 0, bad[i].url, bad[i].events,
					"test", 1, &w, &f);
		test_assert_int(rc, -1);
		test_assert_int(f.status, 422);
		test_assert_str(f.field, bad[i].field);
	}
	for (int i = 0; i < MAX_WEBHOOKS; i++) {
		struct fault f = {0};
		test_assert_int(webhook_create(st, &open, 0, "http://127.0.0.1:9/x",
					       "invitation.*,relationship.ended", "test", 1, &w, &f),
				0);
	}
	int64_t last = w.id;
	struct fault f = {0};
	test_assert_int(webhook_create(st, &open, 0, "http://127.0.0.1:9/x", "", "test", 1, &w, &f),
			-1);
	test_assert_int(f.status, 409);
	/* Another organization's are not the operator's: 404. */
	f = (struct fault){0};
	test_assert_int(webhook_delete(st, 7, last, "test", 2, &f), -1);
	test_assert_int(f.status, 404);
	f = (struct fault){0};
	test_assert_int(webhook_delete(st, 0, last, "test", 2, &f), 0);
	f = (struct fault){0};
	test_assert_int(webhook_delete(st, 0, last, "test", 2, &f), -1);
	test_assert_int(f.status, 404);
	store_close(st);
	test_db_drop();
}

TEST_MAIN()
