/*
 * http_respond.c: the answers every handler uses (pages, JSON, faults,
 * redirects), with the headers each always carries, and the one place an
 * answer is counted and written to the access log.
 */
#include <microhttpd.h>
#include <sodium.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "invited/http.h"
#include "invited/log.h"
#include "http_int.h"

/* HSTS when public_url is https: a year; not includeSubDomains, since
 * the server does not speak for its domain's other hosts. */
#define HSTS "max-age=31536000"

static const char csp[] =
	"default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; "
	"frame-ancestors 'none'; base-uri 'none'";

int http_public_https(const struct app *app)
{
	return strncmp(app->cfg.server.public_url, "https:", 6) == 0;
}

static void add_common_headers(const struct request *rq, struct MHD_Response *resp)
{
	if (http_public_https(rq->app))
		MHD_add_response_header(resp, "Strict-Transport-Security", HSTS);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

/* By enum http_method. */
static const char *const method_names[] = {"GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"};

static const char *http_method_name(enum http_method m)
{
	return (unsigned)m < sizeof(method_names) / sizeof(method_names[0]) ? method_names[m]
									      : "OTHER";
}

enum http_method http_method_parse(const char *m)
{
	for (size_t i = 0; i < sizeof(method_names) / sizeof(method_names[0]); i++)
		if (strcmp(m, method_names[i]) == 0)
			return (enum http_method)i;
	return HTTP_OTHER;
}

/*
 * A request's path as a log line may hold it (the access log, a panic):
 * printable ASCII but for '%', '"' and '\\'; every other byte as %XX, so a
 * line can be neither forged, reordered (bidi controls) nor turned into a
 * binary blob for journald. Whatever follows "/l/" anywhere in the path is
 * a link's token, a capability: "(token left out)" stands for it. Cut at
 * out's size, with " (cut)" after (a space is always escaped, so neither
 * marker can come from the path).
 */
const char *http_safe_path(const char *path, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *token = strstr(path, "/l/");
	const char *end = token != NULL ? token + 3 : path + strlen(path);
	size_t n = 0;
	const char *p = path;
	for (; p < end && n + 3 < size - 7; p++) {
		unsigned char c = (unsigned char)*p;
		if (c > 0x20 && c < 0x7f && c != '%' && c != '"' && c != '\\') {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	if (p < end)
		snprintf(out + n, size - n, " (cut)");
	else if (token != NULL && token[3] != '\0')
		snprintf(out + n, size - n, "%s", n + 17 < size ? "(token left out)" : "");
	return out;
}

/* The access log's line ([log] access): client, method, path, status,
 * bytes of body sent, milliseconds. No query, header or body. */
static void access_line(struct request *rq, int status, size_t bytes, double seconds)
{
	char path[128];
	msg_info("access: %s \"%s %s\" %d %zu %.1fms", rq->client, http_method_name(rq->method),
		 http_safe_path(rq->path, path, sizeof(path)), status,
		 rq->method == HTTP_HEAD ? 0 : bytes, seconds * 1000);
}

/* Every answer, once: the counters, the latency and the access log. */
static void answered(struct request *rq, int status, size_t bytes)
{
	struct app *app = rq->app;
	double seconds = metrics_since(&rq->started);
	rq->responded = 1;
	rq->status = status;
	if (status >= 100 && status < 600)
		__atomic_add_fetch(&app->http_requests[status / 100], 1, __ATOMIC_RELAXED);
	histogram_observe(&app->http_latency, seconds);
	if (app->cfg.log.access)
		access_line(rq, status, bytes, seconds);
}

/* An Authorization header of the Bearer scheme came (RFC 6750 says
 * invalid_token only then). */
static int bearer_sent(struct request *rq)
{
	const char *h = http_header(rq, "Authorization");
	return h != NULL && strncasecmp(h, "Bearer ", 7) == 0;
}

static int respond(struct request *rq, int status, const char *content_type,
		   char *body, size_t len, const char *set_cookie, int page)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) { /* out of memory: MHD_NO closes the connection */
		free(body);
		answered(rq, 500, 0);
		return MHD_NO;
	}
	add_common_headers(rq, resp);
	MHD_add_response_header(resp, "Content-Type", content_type);
	if (page) {
		MHD_add_response_header(resp, "Content-Security-Policy", csp);
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	}
	if (set_cookie != NULL)
		MHD_add_response_header(resp, "Set-Cookie", set_cookie);
	if (status == 429) {
		char wait[24];
		snprintf(wait, sizeof(wait), "%lld",
			 (long long)(rq->retry_after > 0 ? rq->retry_after : 60));
		MHD_add_response_header(resp, "Retry-After", wait);
	}
	if (status == 405 && rq->allow != NULL)
		MHD_add_response_header(resp, "Allow", rq->allow);
	if (status == 401) /* RFC 6750: how to authenticate, and whether what came was bad */
		MHD_add_response_header(resp, "WWW-Authenticate",
					bearer_sent(rq)
						? "Bearer realm=\"invited\", error=\"invalid_token\""
						: "Bearer realm=\"invited\"");
	int ret = MHD_queue_response(rq->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	answered(rq, status, body ? len : 0);
	return ret;
}

int http_respond(struct request *rq, int status, const char *content_type,
		 char *body, size_t len)
{
	return respond(rq, status, content_type, body, len, NULL, 0);
}

int http_redirect_status(struct request *rq, int status, const char *location,
		    const char *set_cookie)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		answered(rq, 500, 0);
		return MHD_NO;
	}
	add_common_headers(rq, resp);
	MHD_add_response_header(resp, "Location", location);
	if (set_cookie != NULL)
		MHD_add_response_header(resp, "Set-Cookie", set_cookie);
	int ret = MHD_queue_response(rq->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	answered(rq, status, 0);
	return ret;
}

int http_redirect(struct request *rq, const char *location, const char *set_cookie)
{
	return http_redirect_status(rq, 303, location, set_cookie);
}

int http_respond_page(struct request *rq, int status, char *html, size_t len,
		      const char *set_cookie)
{
	return respond(rq, status, "text/html; charset=utf-8", html, len, set_cookie, 1);
}

int http_respond_json(struct request *rq, int status, json_t *j)
{
	char *body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (body == NULL)
		return http_respond(rq, 500, "text/plain", strdup("out of memory"), 13);
	size_t n = strlen(body);
	return respond(rq, status, "application/json", body, n, NULL, 0);
}

/*
 * A 5xx fault's answer says nothing of what went wrong (a store's error,
 * a path: the operator's, not the client's): only a request id, which the
 * log line carrying the detail also has, for the client to quote.
 */
static int internal_fault(struct request *rq, int status, const char *detail)
{
	unsigned char raw[HTTP_REQUEST_ID_BYTES];
	char id[2 * HTTP_REQUEST_ID_BYTES + 1], path[128];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
	msg_error("http: request %s: %s %s: %d %s", id, http_method_name(rq->method),
		  http_safe_path(rq->path, path, sizeof(path)), status,
		  detail != NULL ? detail : "internal error");
	json_t *err = json_pack("{s:s, s:s, s:s}", "code", "internal", "message",
				errorf("internal error; the server's log has the details "
				       "under request %s", id),
				"request_id", id);
	return http_respond_json(rq, status, json_pack("{s:o}", "error", err));
}

int http_respond_fault(struct request *rq, const struct fault *f)
{
	if (f->status >= 500 || f->status == 0)
		return internal_fault(rq, f->status ? f->status : 500, f->message);
	json_t *err = json_pack("{s:s, s:s}", "code", f->code ? f->code : "error",
				"message", f->message ? f->message : "error");
	if (f->field != NULL)
		json_object_set_new(err, "field", json_string(f->field));
	return http_respond_json(rq, f->status, json_pack("{s:o}", "error", err));
}
