/*
 * proxy.h: who the client is when the server sits behind reverse proxies
 * ([server] trusted_proxies). Only a request whose peer is in that list
 * may name its client, in Forwarded (RFC 7239) or X-Forwarded-For, and
 * its scheme, in Forwarded's proto= or X-Forwarded-Proto; from any other
 * peer these headers are ignored, so that nobody chooses the address
 * every limit counts them by. The list is a capability the operator
 * gives: a trusted proxy can speak for any address.
 */
#ifndef INVITED_PROXY_H
#define INVITED_PROXY_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXY_MAX_NETS 32  /* addresses and CIDRs in trusted_proxies */
#define PROXY_MAX_HOPS 32  /* forwarded addresses read, from the right */

struct proxy_net {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;              /* bits */
};

struct proxy_list {
	size_t n;
	struct proxy_net nets[PROXY_MAX_NETS];
};

/* "127.0.0.1 10.0.0.0/8, ::1": addresses and CIDRs, separated by spaces
 * or commas; "" is the empty list. -1 with *error_r (naming the bad
 * item) when one is not an address, its prefix is out of range or has
 * host bits set, or there are more than PROXY_MAX_NETS. */
int proxy_list_parse(const char *text, struct proxy_list *out, const char **error_r);

/* 1 when sa (IPv4-mapped IPv6 counts as IPv4) is in the list. */
int proxy_trusted(const struct proxy_list *l, const struct sockaddr *sa);

/* The headers a trusted peer's request may carry; NULL when absent.
 * Repeated headers are joined with ", " in the order they came. */
struct proxy_headers {
	const char *forwarded;
	const char *x_forwarded_for;
	const char *x_forwarded_proto;
};

/*
 * The client of a request from peer (over TLS when tls): when the peer is
 * trusted, the rightmost forwarded address that is not a trusted proxy
 * (Forwarded's for= when that header came, else X-Forwarded-For), and the
 * scheme the proxies report (proto= of that element; the rightmost
 * X-Forwarded-Proto). An element that is not an address ("unknown", an
 * obfuscated name, garbage) ends the walk: the client is then the last
 * trusted hop, so that such requests share one count rather than escape
 * it. When both Forwarded and X-Forwarded-For came, one was the client's
 * own, passed on by a proxy that writes the other: neither is believed,
 * and the peer is the client. From any other peer: the peer itself, tls.
 * *https_r: 1 for https. Returns 1 when the headers were believed.
 */
int proxy_client(const struct proxy_list *l, const struct sockaddr *peer, int tls,
		 const struct proxy_headers *h, struct sockaddr_storage *client, int *https_r);

#endif
