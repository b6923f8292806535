/*
 * fuzz_http.c: whole HTTP requests as strangers send them, through the
 * real server in this process (app_init, the redeemer, http_server_start
 * on 127.0.0.1): libmicrohttpd's parsing, the routes, the form, query and
 * cookie readers, the API's JSON bodies and each route's field checks,
 * the link pages and the console. Set up once with the real CLI (init, an
 * organization, an operator key and an admin key, one invitation); in an
 * input, "@OP@" and "@ADMIN@" stand for the two keys and "@LINK@" for the
 * invitation's link token, so that the fuzzer reaches what is behind
 * them. Each input is sent on a new connection; the answer to a whole
 * request must be HTTP, and never a 5xx but 501 and 505 (a method or
 * version HTTP's parser does not speak): every bad input gets a clear
 * error, and the store here never fails on its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "invited/http.h"
#include "invited/redeemer.h"
#include "invited/server.h"

static struct app app;
static int port;
static char dir[] = "/dev/shm/invited-fuzz-http.XXXXXX";

/* The folder goes with the process (the server's threads are still
 * running: nothing reads it any more at exit but them). */
static void cleanup(void)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_http: could not remove %s\n", dir);
}
static char op_key[256], admin_key[256], link_token[1024];

/* The first line of a command's output, or abort. */
static void run(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	char line[2048] = "";
	if (p == NULL)
		abort();
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	while (fgetc(p) != EOF)
		;
	if (pclose(p) != 0) {
		fprintf(stderr, "fuzz_http: %s failed\n", cmd);
		abort();
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (out != NULL)
		snprintf(out, size, "%s", line);
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		abort();
	close(fd);
	return ntohs(sa.sin_port);
}

/*
 * Whether the server will see req as a whole request, as far as its
 * framing goes: the end of the header, and a body of Content-Length
 * bytes (or, chunked, ending with its last chunk). libmicrohttpd waits
 * for the rest of a partial request and does not notice the client's
 * half-close until its idle deadline, so such an input is not waited for.
 */
static int whole_request(const char *req, size_t len)
{
	const char *end = memmem(req, len, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	/* a request line "METHOD target HTTP/1.x": what else the server
	 * makes of other bytes is its parser's business, not a route's */
	size_t m = 0, t;
	while (m < len && req[m] >= 'A' && req[m] <= 'Z')
		m++;
	if (m == 0 || m >= len || req[m] != ' ')
		return 0;
	for (t = m + 1; t < len && req[t] > ' ' && req[t] < 0x7f; t++)
		;
	if (t == m + 1 || len - t < 10 || memcmp(req + t, " HTTP/1.", 8) != 0 ||
	    (req[t + 8] != '0' && req[t + 8] != '1') || req[t + 9] != '\r')
		return 0;
	size_t head = (size_t)(end - req) + 4, body = len - head;
	for (const char *p = req; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n = (size_t)(eol - p);
		if (n > 15 && strncasecmp(p, "content-length:", 15) == 0) {
			char num[32];
			snprintf(num, sizeof(num), "%.*s", (int)(n - 15 < 31 ? n - 15 : 31), p + 15);
			char *stop;
			unsigned long long want = strtoull(num, &stop, 10);
			if (want > body)
				return 0;
		}
		if (n > 18 && strncasecmp(p, "transfer-encoding:", 18) == 0) {
			/* chunked, ended by its last chunk; any other coding
			 * (an empty one, a typo) is the parser's to wait on */
			const char *v = p + 18, *e = eol;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (e - v != 7 || strncasecmp(v, "chunked", 7) != 0 || len < head + 5 ||
			    memcmp(req + len - 5, "0\r\n\r\n", 5) != 0)
				return 0;
		}
		p = eol + 1;
	}
	return 1;
}

/* Send req; when it is whole, read the answer: its status, 0 for none;
 * the answer's first bytes into out when it is not NULL. The connection
 * is then reset, which the server notices at once. */
static int exchange(const char *req, size_t len, char *out, size_t out_size, int wait_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct linger reset = {1, 0};
	/* A connect interrupted by libFuzzer's timer, or refused while the
	 * server reaps the connections just reset, is tried again. */
	int fd = -1;
	for (int tries = 0; fd < 0; tries++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int e = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (tries == 1000) {
			fprintf(stderr, "fuzz_http: cannot connect: %s\n", strerror(e));
			abort();
		}
		usleep(1000);
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	for (size_t off = 0; off < len;) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server answered and closed early */
		off += (size_t)n;
	}
	int status = 0;
	if (whole_request(req, len)) {
		/* The head, then as much body as Content-Length says. */
		char buf[16384];
		size_t got = 0, need = 0;
		struct pollfd pfd = {fd, POLLIN, 0};
		while (got < sizeof(buf) - 1 && poll(&pfd, 1, wait_ms) == 1) {
			ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			const char *end = strstr(buf, "\r\n\r\n");
			if (end == NULL)
				continue;
			if (need == 0) {
				const char *cl = strcasestr(buf, "\r\ncontent-length:");
				need = (size_t)(end - buf) + 4 +
				       (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
			}
			if (got >= need || strncmp(req, "HEAD", 4) == 0)
				break;
		}
		buf[got] = '\0';
		if (got > 0) {
			FUZZ_CHECK(strncmp(buf, "HTTP/1.", 7) == 0 && got > 12 && buf[8] == ' ');
			status = atoi(buf + 9);
		}
		if (out != NULL)
			snprintf(out, out_size, "%s", buf);
	}
	close(fd);
	return status;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char conf[128], cmd[2048], org[64];
	const char *err;
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(conf, sizeof(conf), "%s/invited.conf", dir);
	port = free_port();
	snprintf(cmd, sizeof(cmd),
		 "%s -c %s init --set server.listen=127.0.0.1:%d"
		 " --set server.public_url=http://127.0.0.1:%d --set server.threads=1"
		 " --set smtp.host=127.0.0.1 --set smtp.port=9 --set mail.reply_domain=example.test"
		 " --set invitations.org_rate_limit=0 --set invitations.recipient_rate_limit=0"
		 " --set mail.templates=%s/templates --set log.level=error --set log.access=no"
		 " --set imap.enabled=no >/dev/null 2>&1",
		 INVITED_BIN, conf, port, port, INVITED_SOURCE_DIR);
	run(cmd, NULL, 0);
	snprintf(cmd, sizeof(cmd),
		 "%s -c %s org create --kind reseller --name 'Contoso K.K.'"
		 " --email rita@contoso.example --contact-name Rita 2>/dev/null",
		 INVITED_BIN, conf);
	run(cmd, org, sizeof(org));
	snprintf(cmd, sizeof(cmd), "%s -c %s apikey create --operator 2>/dev/null", INVITED_BIN,
		 conf);
	run(cmd, op_key, sizeof(op_key));
	snprintf(cmd, sizeof(cmd), "%s -c %s apikey create --org %s --role admin_agent 2>/dev/null",
		 INVITED_BIN, conf, org);
	run(cmd, admin_key, sizeof(admin_key));
	setenv("INVITED_LOG_LEVEL", "error", 1);
	if (app_init(&app, conf, &err) < 0 || redeemer_start(&app, &app.redeemer, &err) < 0 ||
	    http_server_start(&app, &err) < 0) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	/* One invitation through the API itself: its link is @LINK@. */
	char req[1024];
	const char body[] = "{\"kind\":\"reseller\",\"email\":\"carol@customer.example\","
			    "\"delivery\":\"draft\"}";
	int n = snprintf(req, sizeof(req),
			 "POST /api/v1/invitations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s",
			 admin_key, sizeof(body) - 1, body);
	char answer[8192] = "";
	FUZZ_CHECK(exchange(req, (size_t)n, answer, sizeof(answer), 10000) == 201);
	/* the draft's link, as the API shows it to the inviter */
	const char *t = strstr(answer, "/l/v4.public.");
	FUZZ_CHECK(t != NULL);
	snprintf(link_token, sizeof(link_token), "%.*s", (int)strcspn(t + 3, "\""), t + 3);
	return 0;
}

/* The input with each placeholder replaced; malloc'd. */
static char *expand(const uint8_t *data, size_t size, size_t *len_r)
{
	static const struct {
		const char *mark;
		const char *value;
	} subs[] = {{"@OP@", op_key}, {"@ADMIN@", admin_key}, {"@LINK@", link_token}};
	char *out = malloc(size * 256 + 1);
	size_t w = 0;
	if (out == NULL)
		abort();
	for (size_t i = 0; i < size;) {
		size_t k;
		for (k = 0; k < sizeof(subs) / sizeof(subs[0]); k++) {
			size_t m = strlen(subs[k].mark);
			if (i + m <= size && memcmp(data + i, subs[k].mark, m) == 0) {
				size_t v = strlen(subs[k].value);
				memcpy(out + w, subs[k].value, v);
				w += v;
				i += m;
				break;
			}
		}
		if (k == sizeof(subs) / sizeof(subs[0]))
			out[w++] = (char)data[i++];
	}
	*len_r = w;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	char *req = expand(data, size, &len);
	/* an answer slower than this goes unchecked, not failed */
	int status = exchange(req, len, NULL, 0, 500);
	/* 501 and 505 are libmicrohttpd's words for a method or an HTTP
	 * version it does not speak: the client's doing, said as HTTP says it */
	int server_fault = status >= 500 && status != 501 && status != 505;
	if (server_fault)
		fprintf(stderr, "fuzz_http: %d for:\n%.*s\n", status, (int)len, req);
	FUZZ_CHECK(!server_fault);
	free(req);
	return 0;
}
