/*
 * proxy.c: trusted reverse proxies and the client they forward (see
 * proxy.h). Headers are read from the right, where the nearest proxy
 * wrote; whatever a client put further left is read only while every
 * address to its right is a trusted proxy.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "invited/log.h"
#include "invited/proxy.h"

#define NODE_MAX 64 /* "[v6]:port" at most, as text */

/* addr's bytes as IPv4 when it is IPv4 or IPv4-mapped IPv6. */
static int addr_bytes(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(out, a->s6_addr + 12, 4);
			return AF_INET;
		}
		memcpy(out, a->s6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

static int prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;
	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* One item of trusted_proxies: "addr" or "addr/bits". */
static int parse_net(const char *item, struct proxy_net *n, const char **error_r)
{
	char text[INET6_ADDRSTRLEN + 8];
	if (strlen(item) >= sizeof(text)) {
		*error_r = errorf("[server] trusted_proxies: \"%.40s...\" is not an address or CIDR",
				  item);
		return -1;
	}
	snprintf(text, sizeof(text), "%s", item);
	char *slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	struct in6_addr a6;
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, text, n->addr) == 1) {
		n->family = AF_INET;
		n->prefix = 32;
	} else if (inet_pton(AF_INET6, text, &a6) == 1) {
		n->family = AF_INET6;
		n->prefix = 128;
		memcpy(n->addr, a6.s6_addr, 16);
	} else {
		*error_r = errorf("[server] trusted_proxies: \"%s\" is not an address or CIDR", item);
		return -1;
	}
	if (slash != NULL) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || !isdigit((unsigned char)slash[1]) || *end != '\0' ||
		    bits < 0 || bits > n->prefix) {
			*error_r = errorf("[server] trusted_proxies: \"%s\": the prefix must be 0 to %d",
					  item, n->prefix);
			return -1;
		}
		n->prefix = (int)bits;
	}
	unsigned char host[16];
	memcpy(host, n->addr, 16);
	for (int bit = n->prefix; bit < (n->family == AF_INET ? 32 : 128); bit++)
		host[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	if (memcmp(host, n->addr, 16) != 0) {
		*error_r = errorf("[server] trusted_proxies: \"%s\" has bits set past its /%d "
				  "prefix (a network's first address is meant)", item, n->prefix);
		return -1;
	}
	if (n->family == AF_INET6 && n->prefix >= 96 && IN6_IS_ADDR_V4MAPPED(&a6)) {
		memmove(n->addr, n->addr + 12, 4); /* ::ffff:a.b.c.d: the IPv4 address */
		memset(n->addr + 4, 0, 12);
		n->family = AF_INET;
		n->prefix -= 96;
	}
	return 0;
}

int proxy_list_parse(const char *text, struct proxy_list *out, const char **error_r)
{
	memset(out, 0, sizeof(*out));
	const char *p = text;
	while (*p != '\0') {
		size_t skip = strspn(p, " \t,");
		p += skip;
		size_t len = strcspn(p, " \t,");
		if (len == 0)
			break;
		char item[INET6_ADDRSTRLEN + 16];
		snprintf(item, sizeof(item), "%.*s", (int)(len < sizeof(item) - 1 ? len
									      : sizeof(item) - 1), p);
		if (out->n == PROXY_MAX_NETS) {
			*error_r = errorf("[server] trusted_proxies: more than %d addresses and CIDRs",
					  PROXY_MAX_NETS);
			return -1;
		}
		if (len >= sizeof(item)) {
			*error_r = errorf("[server] trusted_proxies: \"%.40s...\" is not an address "
					  "or CIDR", item);
			return -1;
		}
		if (parse_net(item, &out->nets[out->n], error_r) < 0)
			return -1;
		out->n++;
		p += len;
	}
	return 0;
}

int proxy_trusted(const struct proxy_list *l, const struct sockaddr *sa)
{
	unsigned char b[16];
	int family = sa != NULL ? addr_bytes(sa, b) : 0;
	for (size_t i = 0; family != 0 && i < l->n; i++)
		if (l->nets[i].family == family && prefix_match(b, l->nets[i].addr, l->nets[i].prefix))
			return 1;
	return 0;
}

/* A forwarded node: "192.0.2.1", "192.0.2.1:80", "2001:db8::1",
 * "[2001:db8::1]" or "[2001:db8::1]:80" (the port may be Forwarded's
 * obfuscated "_x"). -1 for anything else: "unknown", "_hidden", garbage. */
static int parse_node(const char *s, size_t len, struct sockaddr_storage *out)
{
	char text[NODE_MAX];
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(text))
		return -1;
	memcpy(text, s, len);
	text[len] = '\0';
	char *host = text, *port = NULL;
	if (text[0] == '[') {
		char *close = strchr(text, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		*close = '\0';
		host = text + 1;
		port = close[1] == ':' ? close + 2 : NULL;
	} else if (strchr(text, ':') != NULL && strchr(text, ':') == strrchr(text, ':')) {
		port = strchr(text, ':'); /* one colon: IPv4 and a port */
		*port++ = '\0';
	}
	if (port != NULL && (port[0] == '\0' || strspn(port, "0123456789abcdefghijklmnopqrstuvwxyz"
							    "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-") !=
							    strlen(port)))
		return -1;
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	if (text[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return 0;
	}
	if ((text[0] == '[' || port == NULL) && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* One element of Forwarded, or one address of X-Forwarded-For. */
struct hop {
	int has_node;
	struct sockaddr_storage node;
	int proto; /* -1: not said; 0: http; 1: https */
};

/* The last PROXY_MAX_HOPS hops of a header: a ring, so that a header
 * of thousands costs no more than one pass. */
struct hops {
	size_t total; /* ever added */
	struct hop h[PROXY_MAX_HOPS];
};

static size_t hops_n(const struct hops *hs)
{
	return hs->total < PROXY_MAX_HOPS ? hs->total : PROXY_MAX_HOPS;
}

/* The i-th kept hop, 0 the oldest. */
static struct hop *hop_at(struct hops *hs, size_t i)
{
	return &hs->h[(hs->total - hops_n(hs) + i) % PROXY_MAX_HOPS];
}

static struct hop *hop_add(struct hops *hs)
{
	struct hop *h = &hs->h[hs->total++ % PROXY_MAX_HOPS];
	memset(h, 0, sizeof(*h));
	h->proto = -1;
	return h;
}

static int proto_of(const char *v, size_t len)
{
	while (len > 0 && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 5 && strncasecmp(v, "https", 5) == 0)
		return 1;
	if (len == 4 && strncasecmp(v, "http", 4) == 0)
		return 0;
	return -1;
}

static int is_tchar(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * Forwarded (RFC 7239): elements separated by ',', pairs by ';', each
 * pair token=token or token="quoted string". A header that breaks this
 * grammar ends with an element that has no node: nothing in it is
 * believed (the walk stops there at once).
 */
static void parse_forwarded(const char *s, struct hops *hs)
{
	struct hop *h = hop_add(hs);
	const char *p = s;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ',') { /* next element (empty ones are allowed) */
			p++;
			h = hop_add(hs);
			continue;
		}
		if (*p == ';') {
			p++;
			continue;
		}
		if (*p == '\0')
			break;
		const char *name = p;
		while (is_tchar((unsigned char)*p))
			p++;
		size_t nlen = (size_t)(p - name);
		if (nlen == 0 || *p != '=')
			goto bad;
		p++;
		char value[NODE_MAX];
		size_t vlen = 0;
		int too_long = 0;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					goto bad;
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (vlen < sizeof(value) - 1)
					value[vlen++] = *p;
				else
					too_long = 1;
			}
			p++;
		} else {
			const char *v = p;
			while (is_tchar((unsigned char)*p))
				p++;
			if (p == v)
				goto bad;
			too_long = (size_t)(p - v) >= sizeof(value);
			vlen = too_long ? 0 : (size_t)(p - v);
			memcpy(value, v, vlen);
		}
		value[vlen] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0' && *p != ';' && *p != ',')
			goto bad;
		if (nlen == 3 && strncasecmp(name, "for", 3) == 0)
			h->has_node = !too_long && parse_node(value, vlen, &h->node) == 0;
		else if (nlen == 5 && strncasecmp(name, "proto", 5) == 0)
			h->proto = too_long ? -1 : proto_of(value, vlen);
	}
	return;
bad:
	hop_add(hs); /* nothing believed */
}

static void parse_x_forwarded_for(const char *s, struct hops *hs)
{
	for (const char *p = s;;) {
		size_t len = strcspn(p, ",");
		struct hop *h = hop_add(hs);
		h->has_node = parse_node(p, len, &h->node) == 0;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
}

/* The rightmost value of X-Forwarded-Proto. */
static int x_forwarded_proto(const char *s)
{
	const char *last = strrchr(s, ',');
	last = last != NULL ? last + 1 : s;
	return proto_of(last, strlen(last));
}

int proxy_client(const struct proxy_list *l, const struct sockaddr *peer, int tls,
		 const struct proxy_headers *hd, struct sockaddr_storage *client, int *https_r)
{
	memset(client, 0, sizeof(*client));
	if (peer != NULL)
		memcpy(client, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								 : sizeof(struct sockaddr_in));
	*https_r = tls;
	if (peer == NULL || !proxy_trusted(l, peer))
		return 0;
	struct hops hs = {0};
	/* Both: one of them came from the client, through a proxy that
	 * writes the other and passes it on, and which is unknowable; so
	 * neither names the client (docs/deploy.md: the proxy clears the
	 * header it does not write). */
	int both = hd->forwarded != NULL && hd->x_forwarded_for != NULL;
	if (hd->forwarded != NULL)
		parse_forwarded(hd->forwarded, &hs);
	if (both)
		hop_add(&hs); /* no node: the walk stops at once */
	else if (hd->x_forwarded_for != NULL)
		parse_x_forwarded_for(hd->x_forwarded_for, &hs);
	int proto = -1;
	const struct hop *chosen = NULL;
	for (size_t i = hops_n(&hs); i-- > 0;) {
		const struct hop *h = hop_at(&hs, i);
		if (!h->has_node)
			break; /* not an address: the last trusted hop is the client */
		*client = h->node;
		chosen = h;
		if (!proxy_trusted(l, (const struct sockaddr *)&h->node))
			break;
	}
	/* The scheme: the client's own element's proto=, else the nearest
	 * proxy's (the rightmost Forwarded element's, read even when both
	 * headers came: a proxy that writes Forwarded passes a client's
	 * X-Forwarded-For on, and its proto= is its word), else
	 * X-Forwarded-Proto's. A client that chose it for itself only chose
	 * how it is itself served. */
	const struct hop *nearest = hd->forwarded != NULL ? hop_at(&hs, hops_n(&hs) - 1 - both)
							 : NULL;
	if (chosen != NULL && chosen->proto >= 0)
		proto = chosen->proto;
	else if (nearest != NULL && nearest->proto >= 0)
		proto = nearest->proto;
	else if (hd->x_forwarded_proto != NULL)
		proto = x_forwarded_proto(hd->x_forwarded_proto);
	if (proto >= 0)
		*https_r = proto;
	return 1;
}
