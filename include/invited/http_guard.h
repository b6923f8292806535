/*
 * http_guard.h: what keeps one client of the HTTP endpoint from starving
 * the others. libmicrohttpd's own timeout is an idle timeout, which a
 * client trickling a byte at a time keeps renewing, and its per-address
 * limit logs a line per refused connection. The guard counts connections
 * per client address (refusing past HTTP_PER_ADDRESS), gives each request
 * HTTP_REQUEST_DEADLINE seconds to arrive whole (then shuts the socket, so
 * that libmicrohttpd closes the connection), and logs at most one line per
 * offending address per HTTP_OFFENDER_LOG_INTERVAL. A trusted proxy
 * ([server] trusted_proxies) speaks for many people: its connections are
 * not counted, but each still has the deadline.
 */
#ifndef INVITED_HTTP_GUARD_H
#define INVITED_HTTP_GUARD_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "proxy.h"

struct http_guard;

/* How much of an address is one client ([server] client_prefix_v4, _v6):
 * an IPv6 subscriber usually has a /64, whose 2^64 addresses must not
 * each get their own allowance. */
struct http_prefixes {
	int v4; /* bits, 32 by default */
	int v6; /* bits, 64 by default */
};

/* The client as every limit counts it: its address with only the prefix's
 * bits kept ("2001:db8:1:2::" for any 2001:db8:1:2::/64 address); "" for
 * none. */
void http_client_text(const struct sockaddr *sa, const struct http_prefixes *p,
		      char out[INET6_ADDRSTRLEN]);

/* Starts the sweeper thread; NULL (with *error_r) when it cannot.
 * trusted: the proxies whose connections are not counted (copied). */
struct http_guard *http_guard_new(const struct proxy_list *trusted,
				  const struct http_prefixes *prefixes, const char **error_r);
/* Stops the sweeper. Call after MHD_stop_daemon: no callback may run. */
void http_guard_free(struct http_guard *g);

/* MHD_OPTION_APC: MHD_NO past the per-address limit. cls: the guard. */
enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t len);
/* MHD_OPTION_NOTIFY_CONNECTION: tracks open connections. cls: the guard. */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code);
/* The whole request has arrived on conn: no deadline until it completes. */
void http_guard_request_in(struct MHD_Connection *conn);
/* Its answer is done: the next request on conn gets a new deadline. */
void http_guard_request_done(struct MHD_Connection *conn);

#endif
