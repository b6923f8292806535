/* link: invited_server */
/*
 * test_proxy.c: trusted_proxies and the client they forward: the list's
 * grammar and its errors, and whose word counts in Forwarded and
 * X-Forwarded-For (the rightmost address that is not a trusted proxy;
 * nothing from an untrusted peer).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "invited/http_guard.h"
#include "invited/proxy.h"
#include "test.h"

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, text, &a->sin_addr);
	}
	return ss;
}

static const char *text_of(const struct sockaddr_storage *ss, char out[INET6_ADDRSTRLEN])
{
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, out,
			  INET6_ADDRSTRLEN);
	return out;
}

static struct proxy_list list(const char *text)
{
	struct proxy_list l;
	const char *err = NULL;
	if (proxy_list_parse(text, &l, &err) < 0) {
		fprintf(stderr, "proxy_list_parse(\"%s\"): %s\n", text, err);
		test_failures++;
	}
	return l;
}

static int trusted(const struct proxy_list *l, const char *a)
{
	struct sockaddr_storage ss = addr(a);
	return proxy_trusted(l, (struct sockaddr *)&ss);
}

/* The client and scheme of a request from peer with the headers. */
static const char *client(const char *proxies, const char *peer, const char *fwd,
			  const char *xff, const char *xfp, int *https)
{
	static char out[INET6_ADDRSTRLEN];
	struct proxy_list l = list(proxies);
	struct sockaddr_storage p = addr(peer), c;
	struct proxy_headers h = {fwd, xff, xfp};
	proxy_client(&l, (struct sockaddr *)&p, 0, &h, &c, https);
	return text_of(&c, out);
}

TEST(list_grammar)
{
	struct proxy_list l = list("127.0.0.1 10.0.0.0/8, 2001:db8::/32,::1");
	test_assert_int((int)l.n, 4);
	test_assert(trusted(&l, "127.0.0.1"));
	test_assert(!trusted(&l, "127.0.0.2"));
	test_assert(trusted(&l, "10.200.3.4"));
	test_assert(!trusted(&l, "11.0.0.1"));
	test_assert(trusted(&l, "2001:db8:ffff::1"));
	test_assert(!trusted(&l, "2001:db9::1"));
	test_assert(trusted(&l, "::1"));
	test_assert(trusted(&l, "::ffff:10.1.2.3")); /* IPv4-mapped is IPv4 */
	test_assert_int((int)list("").n, 0);
	test_assert_int((int)list("  , ").n, 0);
	l = list("::ffff:192.168.0.0/112");
	test_assert(trusted(&l, "192.168.7.7"));
	l = list("0.0.0.0/0");
	test_assert(trusted(&l, "203.0.113.9"));
	test_assert(!trusted(&l, "2001:db8::1"));
	l = list("172.16.0.0/12");
	test_assert(trusted(&l, "172.31.255.255"));
	test_assert(!trusted(&l, "172.32.0.0"));
}

TEST(list_errors_name_the_item)
{
	struct proxy_list l;
	const char *err = NULL;
	test_assert(proxy_list_parse("10.0.0.1 nginx.local", &l, &err) < 0);
	test_assert_contains(err, "\"nginx.local\" is not an address or CIDR");
	test_assert(proxy_list_parse("10.0.0.0/33", &l, &err) < 0);
	test_assert_contains(err, "prefix must be 0 to 32");
	test_assert(proxy_list_parse("10.0.0.0/", &l, &err) < 0);
	test_assert(proxy_list_parse("10.0.0.0/-1", &l, &err) < 0);
	test_assert(proxy_list_parse("10.0.0.0/8x", &l, &err) < 0);
	test_assert(proxy_list_parse("::/129", &l, &err) < 0);
	test_assert_contains(err, "0 to 128");
	test_assert(proxy_list_parse("10.0.0.1/8", &l, &err) < 0);
	test_assert_contains(err, "bits set past its /8 prefix");
	char many[PROXY_MAX_NETS * 12 + 16] = "";
	for (int i = 0; i <= PROXY_MAX_NETS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.0.%d ", i);
	test_assert(proxy_list_parse(many, &l, &err) < 0);
	test_assert_contains(err, "more than 32");
	test_assert(proxy_list_parse("1111111111111111111111111111111111111111111111111111", &l,
				     &err) < 0);
}

TEST(untrusted_peer_is_its_own_client)
{
	int https = -1;
	test_assert_str(client("10.0.0.1", "192.0.2.7", "for=198.51.100.1;proto=https",
			       "198.51.100.2", "https", &https),
			"192.0.2.7");
	test_assert_int(https, 0);
	test_assert_str(client("", "127.0.0.1", NULL, "1.2.3.4", NULL, &https), "127.0.0.1");
}

TEST(x_forwarded_for_rightmost_untrusted)
{
	int https = -1;
	/* The client put a forged address first; nginx appended the real one. */
	test_assert_str(client("127.0.0.2", "127.0.0.2", NULL, "6.6.6.6, 198.51.100.7", NULL,
			       &https),
			"198.51.100.7");
	test_assert_int(https, 0);
	/* Two proxies: the CDN's address is trusted too, so the walk goes on. */
	test_assert_str(client("127.0.0.2 203.0.113.0/24", "127.0.0.2", NULL,
			       "6.6.6.6, 198.51.100.7, 203.0.113.5", "https", &https),
			"198.51.100.7");
	test_assert_int(https, 1);
	/* Every hop trusted: the leftmost. */
	test_assert_str(client("10.0.0.0/8", "10.0.0.1", NULL, "10.0.0.3,10.0.0.2", NULL, &https),
			"10.0.0.3");
	/* Ports and brackets. */
	test_assert_str(client("10.0.0.1", "10.0.0.1", NULL, "198.51.100.7:4711", NULL, &https),
			"198.51.100.7");
	test_assert_str(client("10.0.0.1", "10.0.0.1", NULL, "[2001:db8::7]:4711", NULL, &https),
			"2001:db8::7");
	test_assert_str(client("10.0.0.1", "10.0.0.1", NULL, " 2001:db8::8 ", NULL, &https),
			"2001:db8::8");
	/* Not an address: the walk ends; the last trusted hop is the client. */
	test_assert_str(client("10.0.0.1", "10.0.0.1", NULL, "198.51.100.7, unknown", NULL,
			       &https),
			"10.0.0.1");
	test_assert_str(client("10.0.0.0/8", "10.0.0.1", NULL, "garbage, 10.0.0.9", NULL, &https),
			"10.0.0.9");
	test_assert_str(client("10.0.0.1", "10.0.0.1", NULL, "", NULL, &https), "10.0.0.1");
	test_assert_str(client("10.0.0.1", "10.0.0.1", NULL, "1.2.3.4:", NULL, &https),
			"10.0.0.1");
	test_assert_str(client("10.0.0.1", "10.0.0.1", NULL, "[::1", NULL, &https), "10.0.0.1");
	/* X-Forwarded-Proto: the rightmost value, http or https. */
	client("10.0.0.1", "10.0.0.1", NULL, "1.2.3.4", "https, http", &https);
	test_assert_int(https, 0);
	client("10.0.0.1", "10.0.0.1", NULL, "1.2.3.4", "HTTPS", &https);
	test_assert_int(https, 1);
	client("10.0.0.1", "10.0.0.1", NULL, "1.2.3.4", "ftp", &https);
	test_assert_int(https, 0);
}

TEST(forwarded_rfc7239)
{
	int https = -1;
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=192.0.2.60;proto=https;by=10.0.0.1",
			       NULL, NULL, &https),
			"192.0.2.60");
	test_assert_int(https, 1);
	/* RFC 7239 section 4's examples: quoted IPv6 with a port, lists. */
	test_assert_str(client("10.0.0.1", "10.0.0.1", "For=\"[2001:db8:cafe::17]:4711\"", NULL,
			       NULL, &https),
			"2001:db8:cafe::17");
	test_assert_str(client("10.0.0.1", "10.0.0.1",
			       "for=192.0.2.43, for=198.51.100.17;proto=http", NULL, "https", &https),
			"198.51.100.17");
	test_assert_int(https, 0); /* Forwarded's proto wins over X-Forwarded-Proto */
	/* Both address headers: one is the client's own, passed on by a proxy
	 * that writes the other; neither is believed. */
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=203.0.113.66", "198.51.100.7", "https",
			       &https),
			"10.0.0.1");
	test_assert_int(https, 1);
	/* ... but a proxy that writes Forwarded still says the scheme (a client's
	 * X-Forwarded-For passed on must not send it round a redirect loop). */
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=203.0.113.66;proto=https",
			       "198.51.100.7", NULL, &https),
			"10.0.0.1");
	test_assert_int(https, 1);
	test_assert_str(client("10.0.0.1 198.51.100.17", "10.0.0.1",
			       "for=192.0.2.43;proto=https, for=198.51.100.17;proto=http", NULL,
			       NULL, &https),
			"192.0.2.43");
	test_assert_int(https, 1); /* the client's own element's proto */
	/* Obfuscated and unknown nodes end the walk. */
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=_hidden;proto=https", NULL, NULL,
			       &https),
			"10.0.0.1");
	test_assert_int(https, 1); /* the nearest proxy's proto is still its word */
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=unknown", NULL, NULL, &https),
			"10.0.0.1");
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=\"[2001:db8::1]:_p1\"", NULL, NULL,
			       &https),
			"2001:db8::1");
	/* A header that breaks the grammar believes nothing after the break. */
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=192.0.2.1;junk", NULL, NULL, &https),
			"10.0.0.1");
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=\"192.0.2.1", NULL, NULL, &https),
			"10.0.0.1");
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=192.0.2.1 x", NULL, NULL, &https),
			"10.0.0.1");
	test_assert_str(client("10.0.0.1", "10.0.0.1", "=1", NULL, NULL, &https), "10.0.0.1");
	/* Escapes in a quoted string; empty elements. */
	test_assert_str(client("10.0.0.1", "10.0.0.1", "for=\"192.0.2\\.9\",,", NULL, NULL,
			       &https),
			"10.0.0.1"); /* the rightmost (empty) element has no node */
	test_assert_str(client("10.0.0.1", "10.0.0.1", ",,for=\"192.0.2\\.9\"", NULL, NULL,
			       &https),
			"192.0.2.9");
}

/* "198.51.100.1" and then n trusted hops 10.0.i.2. */
static const char *chain(int n)
{
	static char h[4096];
	snprintf(h, sizeof(h), "198.51.100.1");
	for (int i = 0; i < n; i++)
		snprintf(h + strlen(h), sizeof(h) - strlen(h), ", 10.0.%d.2", i);
	return h;
}

TEST(many_hops_read_from_the_right_only)
{
	int https;
	/* PROXY_MAX_HOPS trusted hops on the right: the walk ends at the
	 * leftmost of them. */
	test_assert_str(client("10.0.0.0/8", "10.0.0.1", NULL, chain(PROXY_MAX_HOPS), NULL,
			       &https),
			"10.0.0.2");
	/* One fewer: the client is reached. */
	test_assert_str(client("10.0.0.0/8", "10.0.0.1", NULL, chain(PROXY_MAX_HOPS - 1), NULL,
			       &https),
			"198.51.100.1");
	/* A long header of empty elements costs one pass. */
	static char big[200000];
	memset(big, ',', sizeof(big) - 1);
	test_assert_str(client("10.0.0.1", "10.0.0.1", NULL, big, NULL, &https), "10.0.0.1");
	test_assert_str(client("10.0.0.1", "10.0.0.1", big, NULL, NULL, &https), "10.0.0.1");
}

static const char *keyed(const char *a, int v4, int v6)
{
	static char out[INET6_ADDRSTRLEN];
	struct sockaddr_storage ss = addr(a);
	struct http_prefixes p = {v4, v6};
	http_client_text((struct sockaddr *)&ss, &p, out);
	return out;
}

/* One client is a prefix: by default an IPv4 address and an IPv6 /64. */
TEST(clients_are_keyed_by_prefix)
{
	test_assert_str(keyed("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 32, 64), "2001:db8:1:2::");
	test_assert_str(keyed("2001:db8:1:2::1", 32, 64), "2001:db8:1:2::");
	test_assert_str(keyed("2001:db8:1:2:ffff::1", 32, 48), "2001:db8:1::");
	test_assert_str(keyed("2001:db8:1:2:ffff::1", 32, 128), "2001:db8:1:2:ffff::1");
	test_assert_str(keyed("2001:db8:1:f2ff::1", 32, 52), "2001:db8:1:f000::");
	test_assert_str(keyed("198.51.100.77", 32, 64), "198.51.100.77");
	test_assert_str(keyed("198.51.100.77", 24, 64), "198.51.100.0");
	test_assert_str(keyed("198.51.100.77", 20, 64), "198.51.96.0");
	test_assert_str(keyed("::ffff:198.51.100.77", 24, 64), "198.51.100.0");
	test_assert_str(keyed("::ffff:198.51.100.77", 32, 64), "198.51.100.77");
	char out[INET6_ADDRSTRLEN] = "x";
	struct http_prefixes p = {32, 64};
	http_client_text(NULL, &p, out);
	test_assert_str(out, "");
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
