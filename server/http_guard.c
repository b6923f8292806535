/*
 * http_guard.c: connections per client address, a deadline for each
 * request to arrive whole, and one log line per offender (see
 * http_guard.h). The open connections are a list under one lock; the
 * sweeper walks it every second.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invited/http_guard.h"
#include "invited/limits.h"
#include "invited/log.h"
#include "invited/proxy.h"

#define OFFENDERS 128 /* addresses whose log lines are held back at once */

struct conn_slot {
	struct conn_slot *prev, *next;
	struct http_guard *guard;
	char addr[INET6_ADDRSTRLEN];
	int fd;
	time_t since;  /* when the connection or its last request ended */
	int in_request; /* a whole request arrived and is being answered */
	int shut;      /* shut down by the sweeper; closing */
};

/* An address to log about, at most once per HTTP_OFFENDER_LOG_INTERVAL. */
struct offender {
	char addr[INET6_ADDRSTRLEN];
	time_t logged;
	unsigned refused, shut; /* since the last line */
};

struct http_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct conn_slot *head;
	struct offender offenders[OFFENDERS];
	int stopping;
	pthread_t sweeper;
	struct proxy_list trusted; /* never counted as one client */
	struct http_prefixes prefixes;
};

/* Count an offence of addr; log a line when the last is old enough.
 * Called with the lock held. */
static void offence(struct http_guard *g, const char *addr, int refused, time_t now)
{
	struct offender *o = NULL, *oldest = &g->offenders[0];
	for (size_t i = 0; i < OFFENDERS && o == NULL; i++) {
		if (strcmp(g->offenders[i].addr, addr) == 0)
			o = &g->offenders[i];
		else if (g->offenders[i].logged < oldest->logged)
			oldest = &g->offenders[i];
	}
	if (o == NULL) { /* forget the one logged longest ago */
		o = oldest;
		memset(o, 0, sizeof(*o));
		snprintf(o->addr, sizeof(o->addr), "%s", addr);
	}
	if (refused)
		o->refused++;
	else
		o->shut++;
	if (now - o->logged < HTTP_OFFENDER_LOG_INTERVAL)
		return;
	msg_warn("http: client %s: %u connections refused (over %d open from one address), "
		 "%u closed (no whole request within %d s); next line about it in %d s at the "
		 "earliest",
		 addr, o->refused, HTTP_PER_ADDRESS, o->shut, HTTP_REQUEST_DEADLINE,
		 HTTP_OFFENDER_LOG_INTERVAL);
	o->logged = now;
	o->refused = o->shut = 0;
}

/* The first bits of n bytes at b kept, the rest zeroed. */
static void keep_bits(unsigned char *b, size_t n, int bits)
{
	for (size_t i = 0; i < n; i++) {
		int from = (int)i * 8;
		if (bits <= from)
			b[i] = 0;
		else if (bits < from + 8)
			b[i] &= (unsigned char)(0xff << (from + 8 - bits));
	}
}

void http_client_text(const struct sockaddr *sa, const struct http_prefixes *p,
		      char out[INET6_ADDRSTRLEN])
{
	out[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		struct in_addr a = ((const struct sockaddr_in *)sa)->sin_addr;
		keep_bits((unsigned char *)&a, 4, p->v4);
		inet_ntop(AF_INET, &a, out, INET6_ADDRSTRLEN);
	} else if (sa->sa_family == AF_INET6) {
		struct in6_addr a = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a)) { /* the IPv4 client it is, one count */
			keep_bits(a.s6_addr + 12, 4, p->v4);
			inet_ntop(AF_INET, a.s6_addr + 12, out, INET6_ADDRSTRLEN);
			return;
		}
		keep_bits(a.s6_addr, 16, p->v6);
		inet_ntop(AF_INET6, &a, out, INET6_ADDRSTRLEN);
	}
}

enum MHD_Result http_guard_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct http_guard *g = cls;
	char text[INET6_ADDRSTRLEN];
	int open = 0;
	(void)len;
	if (proxy_trusted(&g->trusted, addr))
		return MHD_YES; /* many people behind one address; the deadline still holds */
	http_client_text(addr, &g->prefixes, text);
	pthread_mutex_lock(&g->lock);
	for (struct conn_slot *c = g->head; c != NULL; c = c->next)
		open += strcmp(c->addr, text) == 0;
	if (open >= HTTP_PER_ADDRESS)
		offence(g, text, 1, time(NULL));
	pthread_mutex_unlock(&g->lock);
	return open < HTTP_PER_ADDRESS ? MHD_YES : MHD_NO;
}

void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code)
{
	struct http_guard *g = cls;
	struct conn_slot *c = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *addr =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const union MHD_ConnectionInfo *fd =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return; /* untracked: no deadline, not counted */
		c->guard = g;
		http_client_text(addr ? addr->client_addr : NULL, &g->prefixes, c->addr);
		c->fd = fd ? fd->connect_fd : -1;
		c->since = time(NULL);
		pthread_mutex_lock(&g->lock);
		c->next = g->head;
		if (g->head != NULL)
			g->head->prev = c;
		g->head = c;
		pthread_mutex_unlock(&g->lock);
		*socket_context = c;
		return;
	}
	if (c == NULL)
		return;
	/* Closed: libmicrohttpd closes the socket only after this, so the
	 * sweeper, under the same lock, never shuts a reused descriptor. */
	pthread_mutex_lock(&g->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&g->lock);
	free(c);
	*socket_context = NULL;
}

static struct conn_slot *slot_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

void http_guard_request_in(struct MHD_Connection *conn)
{
	struct conn_slot *c = slot_of(conn);
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->guard->lock);
	c->in_request = 1;
	pthread_mutex_unlock(&c->guard->lock);
}

void http_guard_request_done(struct MHD_Connection *conn)
{
	struct conn_slot *c = slot_of(conn);
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->guard->lock);
	c->in_request = 0;
	c->since = time(NULL);
	pthread_mutex_unlock(&c->guard->lock);
}

/* Every second: shut the sockets of connections whose request has not
 * arrived whole within the deadline, however steadily it trickles. */
static void *sweeper_main(void *arg)
{
	struct http_guard *g = arg;
	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		struct timespec at;
		clock_gettime(CLOCK_REALTIME, &at);
		at.tv_sec += 1;
		pthread_cond_timedwait(&g->wake, &g->lock, &at);
		time_t now = time(NULL);
		for (struct conn_slot *c = g->head; c != NULL; c = c->next) {
			if (c->in_request || c->shut || c->fd < 0 ||
			    now - c->since < HTTP_REQUEST_DEADLINE)
				continue;
			shutdown(c->fd, SHUT_RDWR);
			c->shut = 1;
			offence(g, c->addr, 0, now);
		}
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct http_guard *http_guard_new(const struct proxy_list *trusted,
				  const struct http_prefixes *prefixes, const char **error_r)
{
	struct http_guard *g = calloc(1, sizeof(*g));
	if (g == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	g->trusted = *trusted;
	g->prefixes = *prefixes;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->wake, NULL);
	if (pthread_create(&g->sweeper, NULL, sweeper_main, g) != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		*error_r = "cannot start the HTTP connection sweeper";
		return NULL;
	}
	return g;
}

void http_guard_free(struct http_guard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->sweeper, NULL);
	for (struct conn_slot *c = g->head, *next; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
}
