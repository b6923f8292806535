/*
 * http.h: the HTTP endpoint on libmicrohttpd: one request structure for
 * every handler, and the ways to answer. Every answer carries the
 * security headers; pages add the Content-Security-Policy. Bodies are
 * limited at the edge: a request over the limit gets 413 and is not read.
 */
#ifndef INVITED_HTTP_H
#define INVITED_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "server.h"

struct MHD_Connection;
struct MHD_PostProcessor;

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PATCH, HTTP_PUT, HTTP_DELETE, HTTP_OTHER };

#define FORM_MAX_FIELDS 16
#define FORM_MAX_VALUE 512   /* a form field, but for http_form_text's */
#define HTTP_REQUEST_ID_BYTES 8 /* a 5xx answer's request id, as hex in log and body */

struct form_field {
	char name[32];
	char *value;         /* malloc'd, NUL-terminated */
	size_t len;
	int too_long;        /* over MAX_BODY_LEN: read as absent */
};

struct request {
	struct app *app;
	struct MHD_Connection *conn;
	enum http_method method;
	char path[MAX_URL_LEN + 1];
	int64_t now;
	struct timespec started; /* CLOCK_MONOTONIC, when the request began */
	char client[64];        /* the client's address, as limits count it: the
				 * peer, or whom a trusted proxy names (proxy.h) */
	int https;              /* came over TLS (here, or to a trusted proxy) */

	char *body;             /* JSON bodies, NUL-terminated */
	size_t body_len;
	size_t body_limit;
	int too_large;

	struct MHD_PostProcessor *pp; /* form posts */
	size_t n_form;
	struct form_field form[FORM_MAX_FIELDS];
	size_t form_bytes;
	int responded;
	int status;
	int64_t retry_after;    /* seconds, for a 429 answer (default 60) */
	const char *allow;      /* the methods a 405 answer names (Allow) */

	/* http_defer(): answered later, by resume(rq) */
	int suspended;
	int (*resume)(struct request *rq);
	void (*discard)(void *state); /* when the connection ends first */
	void *deferred;               /* the handler's state meanwhile */
};

/* Listens on [server] listen: HTTPS when tls_cert is set. Refuses an
 * https:// public_url that neither TLS nor a trusted proxy could serve. */
/* public_url is https://: HSTS, Secure __Host- cookies, plain HTTP refused. */
int http_public_https(const struct app *app);
int http_server_start(struct app *app, const char **error_r);
void http_server_stop(struct app *app);
/* Reads tls_cert and tls_key again (SIGHUP): new connections get the new
 * pair; on failure the old one stays served. 0 when there is no TLS. */
int http_server_reload_tls(struct app *app, const char **error_r);

/* Answer with body (malloc'd; ownership passes here). Returns the MHD result. */
int http_respond(struct request *rq, int status, const char *content_type,
		 char *body, size_t len);
/* JSON answer; steals the reference to j. */
int http_respond_json(struct request *rq, int status, json_t *j);
/* {"error": {"code", "message", "field"?}}; a 5xx only {"code": "internal",
 * "message", "request_id"}, its detail logged under that id. */
int http_respond_fault(struct request *rq, const struct fault *f);
/* 303 See Other to location (a path of ours); set_cookie may be NULL. */
int http_redirect(struct request *rq, const char *location, const char *set_cookie);
/* An HTML page; set_cookie (may be NULL) becomes a Set-Cookie header. */
int http_respond_page(struct request *rq, int status, char *html, size_t len,
		      const char *set_cookie);

/*
 * Answer later: the connection is suspended (no timeout runs meanwhile)
 * until another thread calls http_resume(rq); then resume(rq) runs in an
 * HTTP thread, with rq->deferred = state, and must answer. Call it from a
 * handler, which then returns its result; rq stays valid until resume()
 * has run. Should the connection end first (the server stopping right
 * after the resume), discard(state) runs instead. http_server_stop()
 * gives resumed requests a few seconds to be answered.
 */
int http_defer(struct request *rq, int (*resume)(struct request *rq),
	       void (*discard)(void *state), void *state);
void http_resume(struct request *rq);

const char *http_header(struct request *rq, const char *name);
const char *http_cookie(struct request *rq, const char *name);
const char *http_query(struct request *rq, const char *name);
/* A form field, NULL when absent or over the length limit. */
const char *http_form(const struct request *rq, const char *name);
/* A long form field (a draft's text), up to MAX_BODY_LEN bytes. */
const char *http_form_text(const struct request *rq, const char *name);

/* Handlers, by route. */
int pages_link(struct request *rq, const char *token);

/*
 * Each invitation created, sent or resent counts against its organization
 * ([invitations] org_rate_limit an hour), and each one mailed against its
 * recipient too (recipient_rate_limit): 0, or -1 with a 429 fault and
 * rq->retry_after (server/api_invitations.c; the API and the console).
 */
int invitations_limited(struct request *rq, int64_t org_id, const char *email, int mails,
			struct fault *f);
int console_route(struct request *rq, const char *rest);
int pages_static(struct request *rq, const char *name);
int api_route(struct request *rq, const char *rest);
int api_health(struct request *rq);
/* GET /readyz: the store answers (else 503); the SMTP senders' and the
 * IMAP reader's last news. Says nothing secret: no address, no password. */
int api_ready(struct request *rq);
int api_metrics(struct request *rq);
int api_public_keys(struct request *rq);

#endif
