/*
 * http.c: the libmicrohttpd daemon, request bodies and routing (the
 * answers every handler uses are in http_respond.c). Bodies are bounded
 * here so that no handler ever sees more than its limit.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sched.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "invited/http.h"
#include "invited/http_guard.h"
#include "invited/https.h"
#include "invited/log.h"
#include "invited/proxy.h"
#include "http_int.h"

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_guard *guard;
	int tls;                  /* serving HTTPS (tls_cert) */
};

int http_defer(struct request *rq, int (*resume)(struct request *rq),
	       void (*discard)(void *state), void *state)
{
	rq->resume = resume;
	rq->discard = discard;
	rq->deferred = state;
	rq->suspended = 1;
	__atomic_add_fetch(&rq->app->http_deferred, 1, __ATOMIC_RELAXED);
	MHD_suspend_connection(rq->conn);
	return MHD_YES;
}

void http_resume(struct request *rq)
{
	MHD_resume_connection(rq->conn);
}

const char *http_header(struct request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(struct request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, name);
}

const char *http_query(struct request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

static const struct form_field *form_field(const struct request *rq, const char *name)
{
	for (size_t i = 0; i < rq->n_form; i++)
		if (strcmp(rq->form[i].name, name) == 0)
			return rq->form[i].too_long ? NULL : &rq->form[i];
	return NULL;
}

const char *http_form(const struct request *rq, const char *name)
{
	const struct form_field *f = form_field(rq, name);
	if (f == NULL || f->len > FORM_MAX_VALUE)
		return NULL;
	return f->value ? f->value : "";
}

const char *http_form_text(const struct request *rq, const char *name)
{
	const struct form_field *f = form_field(rq, name);
	return f == NULL ? NULL : f->value ? f->value : "";
}

/* Post processor callback: keep the first FORM_MAX_FIELDS small fields. */
static enum MHD_Result on_form(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *filename, const char *content_type,
			       const char *encoding, const char *data, uint64_t off,
			       size_t size)
{
	struct request *rq = cls;
	(void)kind, (void)filename, (void)content_type, (void)encoding;
	struct form_field *f = NULL;
	for (size_t i = 0; i < rq->n_form; i++)
		if (strcmp(rq->form[i].name, key) == 0)
			f = &rq->form[i];
	if (f == NULL) {
		if (rq->n_form == FORM_MAX_FIELDS || strlen(key) >= sizeof(f->name))
			return MHD_YES; /* fields we do not read are dropped */
		f = &rq->form[rq->n_form++];
		snprintf(f->name, sizeof(f->name), "%s", key);
	}
	if (f->too_long || off != f->len || off + size > MAX_BODY_LEN) {
		f->too_long = 1;
		return MHD_YES;
	}
	char *grown = realloc(f->value, off + size + 1);
	if (grown == NULL) {
		f->too_long = 1;
		return MHD_YES;
	}
	f->value = grown;
	memcpy(f->value + off, data, size);
	f->len = off + size;
	f->value[f->len] = '\0';
	return MHD_YES;
}

/* Every value of one header, joined with ", " in the order they came. */
struct joined {
	const char *name;
	char *text; /* malloc'd; NULL when none came */
	int short_of_memory;
};

static enum MHD_Result join_value(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct joined *j = cls;
	(void)kind;
	if (value == NULL || strcasecmp(key, j->name) != 0)
		return MHD_YES;
	size_t had = j->text != NULL ? strlen(j->text) : 0;
	char *grown = realloc(j->text, had + 2 + strlen(value) + 1);
	if (grown == NULL) {
		j->short_of_memory = 1;
		return MHD_NO;
	}
	snprintf(grown + had, 2 + strlen(value) + 1, "%s%s", had > 0 ? ", " : "", value);
	j->text = grown;
	return MHD_YES;
}

/* The joined header (malloc'd), NULL when none came. Out of memory, a
 * part would be believed as the whole: "," then, which names no one (the
 * proxy is counted). */
static char *header_joined(struct MHD_Connection *conn, const char *name)
{
	struct joined j = {name, NULL, 0};
	MHD_get_connection_values(conn, MHD_HEADER_KIND, join_value, &j);
	if (j.short_of_memory && j.text != NULL)
		snprintf(j.text, strlen(j.text) + 1, "%s", j.text[0] != '\0' ? "," : "");
	return j.text;
}

/* The client, as every limit counts it (http_client_text): the peer, or
 * whom a trusted proxy forwards for (proxy.h), and its scheme. */
static void client_address(struct request *rq)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *peer = ci != NULL ? ci->client_addr : NULL;
	const struct proxy_list *trusted = &rq->app->cfg.server.proxies;
	struct proxy_headers h = {NULL, NULL, NULL};
	if (peer != NULL && proxy_trusted(trusted, peer)) {
		h.forwarded = header_joined(rq->conn, "Forwarded");
		h.x_forwarded_for = header_joined(rq->conn, "X-Forwarded-For");
		h.x_forwarded_proto = header_joined(rq->conn, "X-Forwarded-Proto");
	}
	struct sockaddr_storage client;
	proxy_client(trusted, peer, rq->app->http->tls, &h, &client, &rq->https);
	free((char *)h.forwarded);
	free((char *)h.x_forwarded_for);
	free((char *)h.x_forwarded_proto);
	char text[INET6_ADDRSTRLEN];
	struct http_prefixes prefixes = {rq->app->cfg.server.client_prefix_v4,
					 rq->app->cfg.server.client_prefix_v6};
	http_client_text(peer != NULL ? (const struct sockaddr *)&client : NULL, &prefixes, text);
	snprintf(rq->client, sizeof(rq->client), "%s", text[0] ? text : "unknown");
}

static int is_form_route(const struct request *rq)
{
	return rq->method == HTTP_POST &&
	       (strncmp(rq->path, "/l/", 3) == 0 || strcmp(rq->path, "/console") == 0 ||
		strncmp(rq->path, "/console/", 9) == 0);
}

static struct request *request_new(struct app *app, struct MHD_Connection *conn,
				   const char *url, const char *method)
{
	struct request *rq = calloc(1, sizeof(*rq));
	if (rq == NULL)
		return NULL;
	rq->app = app;
	rq->conn = conn;
	rq->method = http_method_parse(method);
	rq->now = (int64_t)time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &rq->started);
	snprintf(rq->path, sizeof(rq->path), "%s", url);
	rq->body_limit = !is_form_route(rq) ? MAX_JSON_BODY
			 : strncmp(rq->path, "/console/invitations/", 21) == 0 ? MAX_DRAFT_FORM_BODY
									     : MAX_FORM_BODY;
	client_address(rq);
	return rq;
}

/* Take a chunk of the body: into the form parser or the JSON buffer. */
static void take_upload(struct request *rq, const char *data, size_t size)
{
	if (rq->too_large || rq->body_len + size > rq->body_limit) {
		rq->too_large = 1;
		return;
	}
	if (rq->pp != NULL) {
		rq->body_len += size;
		MHD_post_process(rq->pp, data, size);
		return;
	}
	char *grown = realloc(rq->body, rq->body_len + size + 1);
	if (grown == NULL) {
		rq->too_large = 1;
		return;
	}
	rq->body = grown;
	memcpy(rq->body + rq->body_len, data, size);
	rq->body_len += size;
	rq->body[rq->body_len] = '\0';
}

static int not_found(struct request *rq)
{
	struct fault f = {404, "not_found", NULL, "no such resource"};
	return http_respond_fault(rq, &f);
}

/* The small read-only endpoints beside the API. */
static int read_only(struct request *rq, int (*answer)(struct request *rq))
{
	if (rq->method == HTTP_GET || rq->method == HTTP_HEAD)
		return answer(rq);
	rq->allow = "GET, HEAD";
	return http_respond_fault(rq, &(struct fault){405, "method_not_allowed", NULL,
						       "this resource answers GET, HEAD only"});
}

/* The probes carry no capability: a monitor may ask them on the private
 * address, whatever the scheme. */
static int is_probe(const char *p)
{
	return strcmp(p, "/healthz") == 0 || strcmp(p, "/api/v1/healthz") == 0 ||
	       strcmp(p, "/readyz") == 0 || strcmp(p, "/metrics") == 0;
}

/*
 * public_url is https://, and this request came over plain HTTP (to us,
 * or to a trusted proxy that says so): nothing is served. GET and HEAD
 * are sent to the same path under public_url (308; the query is not
 * kept), anything else is refused (403) with where to go.
 */
static int not_over_https(struct request *rq)
{
	static const char keep[] = "-._~/!$&()*+,;=:@";
	static const char hex[] = "0123456789ABCDEF";
	char location[MAX_URL_LEN * 4 + 16];
	size_t n = (size_t)snprintf(location, sizeof(location), "%s", rq->app->cfg.server.public_url);
	/* "GET @evil.example/" would make "https://ours@evil.example/": a path
	 * is only ever put after a '/'. */
	const char *path = rq->path[0] == '/' ? rq->path : "/";
	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
		if (n + 4 > sizeof(location))
			break;
		if (isalnum(*p) || strchr(keep, *p) != NULL) {
			location[n++] = (char)*p;
		} else {
			location[n++] = '%';
			location[n++] = hex[*p >> 4];
			location[n++] = hex[*p & 15];
		}
	}
	location[n] = '\0';
	if (rq->method == HTTP_GET || rq->method == HTTP_HEAD)
		return http_redirect_status(rq, 308, location, NULL);
	const char *why = errorf("this server answers over HTTPS only: %s", location);
	if (strncmp(rq->path, "/api/", 5) == 0)
		return http_respond_fault(rq, &(struct fault){403, "https_required", NULL, why});
	char *body = NULL;
	if (asprintf(&body, "%s\n", why) < 0)
		return http_respond(rq, 403, "text/plain; charset=utf-8", NULL, 0);
	return http_respond(rq, 403, "text/plain; charset=utf-8", body, strlen(body));
}

static int route(struct request *rq)
{
	const char *p = rq->path;
	if (strncmp(p, "/l/", 3) == 0)
		return pages_link(rq, p + 3);
	if (strcmp(p, "/healthz") == 0 || strcmp(p, "/api/v1/healthz") == 0)
		return read_only(rq, api_health);
	if (strncmp(p, "/api/v1/", 8) == 0)
		return api_route(rq, p + 8);
	if (strcmp(p, "/console") == 0 || strncmp(p, "/console/", 9) == 0)
		return console_route(rq, p + 8);
	if (strncmp(p, "/static/", 8) == 0 && (rq->method == HTTP_GET || rq->method == HTTP_HEAD))
		return pages_static(rq, p + 8);
	if (strcmp(p, "/favicon.ico") == 0) /* browsers ask; we have none */
		return http_respond(rq, 204, "image/x-icon", NULL, 0);
	if (strcmp(p, "/readyz") == 0)
		return read_only(rq, api_ready);
	if (strcmp(p, "/metrics") == 0)
		return read_only(rq, api_metrics);
	if (strcmp(p, "/.well-known/invited/keys") == 0)
		return read_only(rq, api_public_keys);
	return not_found(rq);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct request *rq = *con_cls;
	(void)version;
	if (rq == NULL) {
		if ((rq = request_new(cls, conn, url, method)) == NULL)
			return MHD_NO;
		*con_cls = rq;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > rq->body_limit) {
			struct fault f = {413, "body_too_large", NULL,
					  errorf("the request body is over %zu bytes",
						 rq->body_limit)};
			return (enum MHD_Result)http_respond_fault(rq, &f);
		}
		if (is_form_route(rq))
			rq->pp = MHD_create_post_processor(conn, 1024, on_form, rq);
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (!rq->responded)
			take_upload(rq, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->suspended) { /* http_resume() woke it */
		rq->suspended = 0;
		__atomic_sub_fetch(&rq->app->http_deferred, 1, __ATOMIC_RELAXED);
		int ret = rq->resume(rq);
		char path[128];
		if (!rq->responded)
			msg_panic("http: %s answered nothing after resuming",
				  http_safe_path(rq->path, path, sizeof(path)));
		return (enum MHD_Result)ret;
	}
	if (rq->responded)
		return MHD_YES;
	if (rq->too_large) {
		struct fault f = {413, "body_too_large", NULL,
				  errorf("the request body is over %zu bytes", rq->body_limit)};
		return (enum MHD_Result)http_respond_fault(rq, &f);
	}
	http_guard_request_in(conn);
	int ret = !rq->https && http_public_https(rq->app) && !is_probe(rq->path) ? not_over_https(rq)
									     : route(rq);
	char path[128];
	if (!rq->responded && !rq->suspended)
		msg_panic("http: %s answered nothing", http_safe_path(rq->path, path, sizeof(path)));
	return (enum MHD_Result)ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;
	(void)cls, (void)toe;
	http_guard_request_done(conn);
	if (rq == NULL)
		return;
	if (rq->suspended) {
		__atomic_sub_fetch(&rq->app->http_deferred, 1, __ATOMIC_RELAXED);
		rq->discard(rq->deferred);
	}
	if (rq->pp != NULL)
		MHD_destroy_post_processor(rq->pp);
	for (size_t i = 0; i < rq->n_form; i++)
		free(rq->form[i].value);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages: its format, its arguments. */
__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
							      va_list ap)
{
	char line[512];
	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	msg_warn("http: %s", line);
}

/* "host:port" or "[v6]:port" into a socket address. */
static int listen_address(const char *listen, struct sockaddr_storage *ss,
			  const char **error_r)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	size_t hlen = (size_t)(colon - listen);
	if (hlen >= sizeof(host)) {
		*error_r = "[server] listen: host too long";
		return -1;
	}
	memcpy(host, listen, hlen);
	host[hlen] = '\0';
	char *h = host;
	if (h[0] == '[' && hlen > 1 && h[hlen - 1] == ']') {
		h[hlen - 1] = '\0';
		h++;
	}
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	int rc = getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &ai);
	if (rc != 0) {
		*error_r = errorf("[server] listen %s: %s", listen, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

/* The cores this process may run on (taskset, cpusets), not all the
 * machine's: more threads than that only take turns on a core. */
static unsigned usable_cores(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return cores > 0 ? (unsigned)cores : 1;
}

/* A pool of one is no pool: libmicrohttpd warns and uses its own thread. */
static unsigned pool_size(unsigned threads)
{
	return threads > 1 ? threads : 0;
}

/* Says when the certificate served ends, and warns when that is near. */
static void certificate_news(const struct app *app, const struct https_info *info,
			     const char *what)
{
	char when[32];
	struct tm tm;
	gmtime_r(&info->not_after, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	time_t left = info->not_after - time(NULL);
	if (left < HTTPS_EXPIRY_WARNING)
		msg_warn("https: %s %s (%s): %s %s; renew it, then send SIGHUP", what,
			 app->cfg.server.tls_cert, info->subject, left < 0 ? "expired" : "expires",
			 when);
	else
		msg_info("https: %s %s (%s), valid until %s", what, app->cfg.server.tls_cert,
			 info->subject, when);
}

int http_server_start(struct app *app, const char **error_r)
{
	struct sockaddr_storage ss;
	const struct config *cfg = &app->cfg;
	int tls = cfg->server.tls_cert[0] != '\0';
	if (http_public_https(app) && !tls && cfg->server.proxies.n == 0) {
		*error_r = errorf("[server] public_url %s is https://, but this server neither "
				  "serves TLS (tls_cert, tls_key) nor trusts a proxy that does "
				  "(trusted_proxies): every request would be sent to HTTPS and come "
				  "back plain (docs/deploy.md)",
				  cfg->server.public_url);
		return -1;
	}
	if (tls && !http_public_https(app)) {
		*error_r = errorf("[server] public_url %s is not https://, but tls_cert makes this "
				  "server answer HTTPS only: the links it mails would not open",
				  cfg->server.public_url);
		return -1;
	}
	if (listen_address(cfg->server.listen, &ss, error_r) < 0)
		return -1;
	struct https_info info;
	if (tls && https_load(cfg->server.tls_cert, cfg->server.tls_key, &info, error_r) < 0)
		return -1;
	unsigned threads = cfg->server.threads > 0 ? (unsigned)cfg->server.threads
						   : usable_cores();
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME | (tls ? MHD_USE_TLS : 0);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	app->http = calloc(1, sizeof(*app->http));
	if (app->http == NULL) {
		*error_r = "out of memory";
		goto fail;
	}
	app->http->tls = tls;
	struct http_prefixes prefixes = {cfg->server.client_prefix_v4, cfg->server.client_prefix_v6};
	if ((app->http->guard = http_guard_new(&cfg->server.proxies, &prefixes, error_r)) == NULL)
		goto fail;
	struct http_guard *g = app->http->guard;
	struct MHD_OptionItem tls_options[] = {
		{MHD_OPTION_HTTPS_CERT_CALLBACK, 0, (void *)https_retrieve},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTPS_PRIORITIES},
		{MHD_OPTION_END, 0, NULL},
	};
	app->http->daemon = MHD_start_daemon(
		flags, 0, http_guard_accept, g, on_request, app, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, app, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE,
		pool_size(threads), MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
		MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, g, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, app, MHD_OPTION_ARRAY, tls ? tls_options : &tls_options[2],
		MHD_OPTION_END);
	if (app->http->daemon == NULL) {
		*error_r = errorf("cannot listen on %s%s", cfg->server.listen,
				  tls ? " with TLS" : "");
		goto fail;
	}
	if (tls)
		certificate_news(app, &info, "serving");
	return 0;
fail:
	if (app->http != NULL) {
		http_guard_free(app->http->guard);
		free(app->http);
		app->http = NULL;
	}
	https_unload();
	return -1;
}

int http_server_reload_tls(struct app *app, const char **error_r)
{
	struct https_info info;
	if (app->http == NULL || !app->http->tls)
		return 0;
	if (https_reload(&info, error_r) < 0)
		return -1;
	certificate_news(app, &info, "now serving");
	return 0;
}

void http_server_stop(struct app *app)
{
	if (app->http == NULL)
		return;
	/* No new connections; requests resumed by a last batch of redeems
	 * get up to 5 s to be answered before connections are closed. */
	MHD_socket s = MHD_quiesce_daemon(app->http->daemon);
	if (s != MHD_INVALID_SOCKET)
		close(s);
	for (int ms = 0; ms < 5000 && __atomic_load_n(&app->http_deferred, __ATOMIC_RELAXED) > 0;
	     ms++) {
		struct timespec one = {0, 1000000L};
		nanosleep(&one, NULL);
	}
	MHD_stop_daemon(app->http->daemon);
	http_guard_free(app->http->guard);
	if (app->http->tls)
		https_unload();
	free(app->http);
	app->http = NULL;
}
