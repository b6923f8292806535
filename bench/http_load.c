/*
 * http_load.c: the load generator of the redeem figure. Sends each of a
 * file of prepared HTTP/1.1 requests exactly once, over CONNECTIONS
 * keep-alive connections to 127.0.0.1:PORT, each connection sending its
 * next request when the previous answer is complete. Every answer must be
 * "200" with MARKER in its body. Prints one line:
 *
 *	REQUESTS SECONDS P50_MS P99_MS MAX_MS
 *
 * The request file holds, for each request, its length in bytes on a line
 * of its own, then that many bytes.
 *
 *	http_load PORT CONNECTIONS REQUEST_FILE MARKER
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 256
#define MAX_ANSWER (256 * 1024)

struct req {
	const char *data;
	size_t len;
};

struct conn {
	int fd;
	const struct req *rq; /* in flight, or NULL */
	size_t sent;
	double started;
	char *in;
	size_t in_len;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "http_load: %s\n", what);
	exit(1);
}

/* The whole request file, split into requests. */
static struct req *load_requests(const char *path, size_t *n_r)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		die("cannot open the request file");
	size_t n = 0, cap = 0;
	struct req *reqs = NULL;
	unsigned long len;
	while (fscanf(fp, "%lu", &len) == 1 && fgetc(fp) == '\n') {
		char *data = malloc(len);
		if (data == NULL || fread(data, 1, len, fp) != len)
			die("short request file");
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((reqs = realloc(reqs, cap * sizeof(*reqs))) == NULL)
				die("out of memory");
		}
		reqs[n++] = (struct req){data, len};
	}
	fclose(fp);
	*n_r = n;
	return reqs;
}

static int connect_to(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("cannot connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Bytes of a complete answer in c->in, 0 while incomplete. */
static size_t answer_length(const struct conn *c)
{
	const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	size_t head = (size_t)(end - c->in) + 4;
	const char *cl = memmem(c->in, head, "\r\nContent-Length:", 17);
	if (cl == NULL)
		cl = memmem(c->in, head, "\r\ncontent-length:", 17);
	if (cl == NULL)
		die("an answer without Content-Length");
	size_t body = strtoul(cl + 17, NULL, 10);
	return c->in_len >= head + body ? head + body : 0;
}

static void check_answer(const struct conn *c, size_t len, const char *marker)
{
	if (len < 12 || memcmp(c->in + 9, "200", 3) != 0 ||
	    memmem(c->in, len, marker, strlen(marker)) == NULL) {
		fprintf(stderr, "http_load: unexpected answer:\n%.*s\n",
			(int)(len < 4000 ? len : 4000), c->in);
		exit(1);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: http_load PORT CONNECTIONS REQUEST_FILE MARKER\n");
		return 2;
	}
	int port = atoi(argv[1]), nconn = atoi(argv[2]);
	const char *marker = argv[4];
	size_t n, next = 0, done = 0;
	struct req *reqs = load_requests(argv[3], &n);
	if (n == 0 || nconn < 1 || nconn > MAX_CONNECTIONS)
		die("no requests, or a bad number of connections");
	double *lat = calloc(n, sizeof(*lat));
	struct conn conns[MAX_CONNECTIONS];
	struct pollfd pfd[MAX_CONNECTIONS];
	if (lat == NULL)
		die("out of memory");
	for (int i = 0; i < nconn; i++) {
		conns[i] = (struct conn){.fd = connect_to(port), .in = malloc(MAX_ANSWER)};
		if (conns[i].in == NULL)
			die("out of memory");
	}
	double start = now();
	while (done < n) {
		for (int i = 0; i < nconn; i++) {
			struct conn *c = &conns[i];
			if (c->rq == NULL && next < n) {
				c->rq = &reqs[next++];
				c->sent = 0;
				c->in_len = 0;
				c->started = now();
			}
			pfd[i].fd = c->fd;
			pfd[i].events = c->rq == NULL ? 0
					: c->sent < c->rq->len ? POLLOUT : POLLIN;
		}
		if (poll(pfd, (nfds_t)nconn, 30000) <= 0)
			die("no progress for 30 seconds");
		for (int i = 0; i < nconn; i++) {
			struct conn *c = &conns[i];
			if (pfd[i].revents & POLLOUT) {
				ssize_t w = write(c->fd, c->rq->data + c->sent, c->rq->len - c->sent);
				if (w < 0 && errno != EAGAIN)
					die("write failed");
				c->sent += w > 0 ? (size_t)w : 0;
			} else if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(c->fd, c->in + c->in_len, MAX_ANSWER - c->in_len);
				if (r <= 0)
					die("the server closed a connection");
				c->in_len += (size_t)r;
				size_t len = answer_length(c);
				if (len == 0)
					continue;
				check_answer(c, len, marker);
				lat[done++] = now() - c->started;
				c->rq = NULL;
			}
		}
	}
	double elapsed = now() - start;
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("%zu %.6f %.3f %.3f %.3f\n", n, elapsed, lat[n / 2] * 1e3,
	       lat[(size_t)((double)n * 0.99)] * 1e3, lat[n - 1] * 1e3);
	return 0;
}
