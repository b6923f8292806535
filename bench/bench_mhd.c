/*
 * bench_mhd.c: the baseline of the consent page figure. A bare
 * libmicrohttpd handler that answers every request with one static page of
 * a given size, on a daemon started with the flags, threading and options
 * of invited's server/http.c, on 127.0.0.1. Runs until SIGINT or SIGTERM.
 *
 *	bench_mhd PORT BODY_BYTES THREADS
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	static int seen;
	struct MHD_Response *page = cls;
	(void)url, (void)method, (void)version, (void)upload_data;
	/* The first call only sees the headers; answering then would make
	 * libmicrohttpd close the connection after the answer (the client
	 * might still send a body), so answer on the next, as invited does. */
	if (*con_cls == NULL) {
		*con_cls = &seen;
		return MHD_YES;
	}
	*upload_size = 0;
	return MHD_queue_response(conn, MHD_HTTP_OK, page);
}

/* Kept so that the daemon's options match http.c's; nothing to free. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)con_cls, (void)toe;
}

static struct MHD_Response *static_page(size_t size)
{
	char *body = malloc(size ? size : 1);
	if (body == NULL)
		return NULL;
	memset(body, 'x', size);
	struct MHD_Response *page =
		MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
	if (page == NULL) {
		free(body);
		return NULL;
	}
	MHD_add_response_header(page, "Content-Type", "text/html; charset=utf-8");
	return page;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_mhd PORT BODY_BYTES THREADS\n");
		return 2;
	}
	unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
	size_t size = strtoul(argv[2], NULL, 10);
	unsigned threads = (unsigned)strtoul(argv[3], NULL, 10);
	struct MHD_Response *page = static_page(size);
	if (page == NULL || port == 0 || port > 65535 || threads == 0) {
		fprintf(stderr, "bench_mhd: bad arguments or out of memory\n");
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* As in app_serve(): the daemon's threads never take these signals. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	/* The same flags and options as http_server_start(). */
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, 0,
		NULL, NULL, on_request,
		page, MHD_OPTION_SOCK_ADDR, &sin, MHD_OPTION_THREAD_POOL_SIZE,
		threads > 1 ? threads : 0,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)1000, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bench_mhd: cannot listen on port %u\n", port);
		return 1;
	}
	while (!stop)
		sigsuspend(&old);
	MHD_stop_daemon(d);
	MHD_destroy_response(page);
	return 0;
}
