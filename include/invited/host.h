/*
 * host.h: what a configured host name says by itself, before any lookup:
 * whether it is an address literal, and whether it is loopback (mail to
 * it never crosses a network, so plaintext is allowed there by default).
 * Header-only, like text.h, for the SMTP and IMAP clients alike.
 */
#ifndef INVITED_HOST_H
#define INVITED_HOST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

/* 1 when host is an IPv4 or IPv6 address literal. */
static inline int host_is_address(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* 1 for "localhost", 127.0.0.0/8 and ::1. */
static inline int host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

#endif
