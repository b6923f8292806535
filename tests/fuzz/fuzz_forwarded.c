/*
 * fuzz_forwarded.c: who the client is behind trusted proxies (proxy.h):
 * the trusted_proxies list and the Forwarded, X-Forwarded-For and
 * X-Forwarded-Proto headers, as a request from a trusted peer brings
 * them. The input is up to four lines: Forwarded, X-Forwarded-For,
 * X-Forwarded-Proto, and the list (a fixed one when it does not parse).
 * An untrusted peer's headers must change nothing; a believed client is
 * an IPv4 or IPv6 address.
 */
#include <arpa/inet.h>

#include "invited/proxy.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), *line[4] = {NULL, NULL, NULL, NULL};
	if (text == NULL)
		return 0;
	char *p = text;
	for (int i = 0; i < 4 && p != NULL; i++) {
		line[i] = p;
		p = i < 3 ? strchr(p, '\n') : NULL;
		if (p != NULL)
			*p++ = '\0';
	}
	struct proxy_list l;
	const char *err;
	if (line[3] == NULL || proxy_list_parse(line[3], &l, &err) < 0)
		FUZZ_CHECK(proxy_list_parse("10.0.0.0/8 127.0.0.1 ::1 2001:db8::/32", &l, &err) == 0);
	FUZZ_CHECK(l.n <= PROXY_MAX_NETS);
	struct proxy_headers h = {line[0], line[1], line[2]};

	struct sockaddr_in trusted = {.sin_family = AF_INET};
	inet_pton(AF_INET, "10.1.2.3", &trusted.sin_addr);
	struct sockaddr_storage client;
	int https = -1;
	int believed = proxy_client(&l, (struct sockaddr *)&trusted, 0, &h, &client, &https);
	FUZZ_CHECK(believed == proxy_trusted(&l, (struct sockaddr *)&trusted));
	FUZZ_CHECK(https == 0 || https == 1);
	FUZZ_CHECK(client.ss_family == AF_INET || client.ss_family == AF_INET6);

	/* From a peer that is not trusted: the peer itself, the scheme its own. */
	struct sockaddr_in6 stranger = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "2001:db9::5", &stranger.sin6_addr);
	if (!proxy_trusted(&l, (struct sockaddr *)&stranger)) {
		believed = proxy_client(&l, (struct sockaddr *)&stranger, 1, &h, &client, &https);
		FUZZ_CHECK(!believed && https == 1);
		FUZZ_CHECK(client.ss_family == AF_INET6 &&
			   memcmp(&((struct sockaddr_in6 *)&client)->sin6_addr, &stranger.sin6_addr,
				  16) == 0);
	}
	free(text);
	return 0;
}
