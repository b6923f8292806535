/*
 * webhooks.c: webhook endpoints and the delivery worker (see webhook.h),
 * and the delivery lifecycle's table.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "invited/log.h"
#include "invited/outbox.h"
#include "invited/rfc3339.h"
#include "invited/text.h"
#include "invited/transition.h"
#include "invited/webhook.h"

/* (status, event) -> status; 0: refused. */
static const unsigned char table[DELIVERY_FAILED + 1][DELIVERY_EV_COUNT] = {
	[DELIVERY_PENDING] = {[DELIVERY_EV_CLAIM] = DELIVERY_SENDING,
			      [DELIVERY_EV_DROP] = DELIVERY_FAILED},
	[DELIVERY_SENDING] = {[DELIVERY_EV_DELIVER] = DELIVERY_DELIVERED,
			      [DELIVERY_EV_RETRY] = DELIVERY_PENDING,
			      [DELIVERY_EV_GIVE_UP] = DELIVERY_FAILED,
			      [DELIVERY_EV_RECOVER] = DELIVERY_PENDING},
	/* delivered, failed: final */
};

int delivery_transition(enum delivery_status from, enum delivery_event ev)
{
	return from < DELIVERY_PENDING ? -1 : TRANSITION(table, from, ev);
}

/* ------------------------------------------------------ where it may go */

static int v4_public(uint32_t a)
{
	static const struct {
		uint32_t net;
		int bits;
	} closed[] = {
		{0x00000000, 8},  /* "this network" */
		{0x0a000000, 8},  /* private */
		{0x64400000, 10}, /* carrier-grade NAT */
		{0x7f000000, 8},  /* loopback */
		{0xa9fe0000, 16}, /* link-local (cloud metadata) */
		{0xac100000, 12}, /* private */
		{0xc0000000, 24}, /* IETF protocol assignments */
		{0xc0a80000, 16}, /* private */
		{0xc6120000, 15}, /* benchmarking */
		{0xa83f8110, 32}, /* a cloud's host agent (168.63.129.16) */
		{0xe0000000, 4},  /* multicast */
		{0xf0000000, 4},  /* reserved, broadcast */
	};
	for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++)
		if ((a >> (32 - closed[i].bits)) == (closed[i].net >> (32 - closed[i].bits)))
			return 0;
	return 1;
}

int webhook_address_public(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_public(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family != AF_INET6)
		return 0;
	const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 0x01};
	static const uint8_t zero[12] = {0};
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
				 (uint32_t)b[14] << 8 | b[15]);
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: the IPv4 address it carries */
		return v4_public((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 |
				 (uint32_t)b[4] << 8 | b[5]);
	if (memcmp(b, nat64_local, 6) == 0)
		return 0;                        /* local-use NAT64 */
	if (memcmp(b, zero, 12) == 0)
		return 0;                        /* ::, ::1, IPv4-compatible */
	if (b[0] == 0xfe && (b[1] & 0x80) == 0x80)
		return 0;                        /* link-local, site-local */
	if ((b[0] & 0xfe) == 0xfc)
		return 0;                        /* unique local */
	if (b[0] == 0xff)
		return 0;                        /* multicast */
	return 1;
}

/* The URL's parts, by libcurl's parser. 0, or -1 with *why_r. */
static int url_check(const struct webhook_config *cfg, const char *url, const char **why_r)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
	int ret = -1;
	if (u == NULL) {
		*why_r = "out of memory";
		return -1;
	}
	if (strlen(url) > MAX_URL_LEN || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		*why_r = errorf("url must be an absolute https:// URL of at most %d bytes",
				MAX_URL_LEN);
		goto out;
	}
	if (strcmp(scheme, "https") != 0 && !(cfg->allow_http && strcmp(scheme, "http") == 0)) {
		*why_r = cfg->allow_http ? "url must start with https:// or http://"
					 : "url must start with https:// (the operator does not "
					   "allow http://)";
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
		*why_r = "url must not hold a user or password: the signature proves who sends";
		goto out;
	}
	if (cfg->allow_private) {
		ret = 0;
		goto out;
	}
	/* Brackets off an IPv6 literal, for the resolver. */
	char name[MAX_URL_LEN + 1];
	snprintf(name, sizeof(name), "%s", host[0] == '[' ? host + 1 : host);
	if (host[0] == '[')
		name[strcspn(name, "]")] = '\0';
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(name, NULL, &hints, &res) != 0 || res == NULL) {
		*why_r = errorf("the host %s does not resolve", name);
		goto out;
	}
	ret = 0;
	for (struct addrinfo *a = res; a != NULL && ret == 0; a = a->ai_next) {
		/* Which address it is stays unsaid: the answer must not map
		 * the server's own network for whoever asks. */
		if (!webhook_address_public(a->ai_addr)) {
			*why_r = errorf("url's host %s has a loopback, private or link-local "
					"address: webhooks go to public addresses only (the operator "
					"may allow others: [webhooks] allow_private)",
					name);
			ret = -1;
		}
	}
	freeaddrinfo(res);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return ret;
}

/* The things events are about, for "<thing>.*" and names. */
static const char *const things[] = {"invitation", "relationship", "enrollment", "org",
				     "verification", "message", "user", "apikey", "webhook"};

static int events_check(const char *list, const char **why_r)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, ","), dot = strcspn(p, ".");
		int ok = dot < n && n - dot > 1;
		if (ok) {
			ok = 0;
			for (size_t i = 0; i < sizeof(things) / sizeof(things[0]); i++)
				if (strlen(things[i]) == dot && strncmp(p, things[i], dot) == 0)
					ok = 1;
		}
		if (ok && !(n - dot == 2 && p[dot + 1] == '*'))
			for (size_t i = dot + 1; i < n; i++)
				if (!((p[i] >= 'a' && p[i] <= 'z') || p[i] == '_'))
					ok = 0;
		if (!ok) {
			*why_r = errorf("events: \"%.*s\" is neither an event name (invitation.accepted) "
					"nor a thing's every event (invitation.*)",
					(int)(n > 64 ? 64 : n), p);
			return -1;
		}
		p += n;
		if (*p == ',' && *++p == '\0') {
			*why_r = "events: a trailing comma";
			return -1;
		}
	}
	return 0;
}

void webhook_secret_text(const unsigned char secret[WEBHOOK_SECRET_LEN],
			 char out[WEBHOOK_SECRET_TEXT_LEN + 1])
{
	memcpy(out, "whsec_", 6);
	sodium_bin2base64(out + 6, WEBHOOK_SECRET_TEXT_LEN + 1 - 6, secret, WEBHOOK_SECRET_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

void webhook_sign(const unsigned char secret[WEBHOOK_SECRET_LEN], const char *id, int64_t ts,
		  const char *body, size_t len, char out[WEBHOOK_SIGNATURE_LEN + 1])
{
	crypto_auth_hmacsha256_state h;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char stamp[24];
	int n = snprintf(stamp, sizeof(stamp), ".%lld.", (long long)ts);
	crypto_auth_hmacsha256_init(&h, secret, WEBHOOK_SECRET_LEN);
	crypto_auth_hmacsha256_update(&h, (const unsigned char *)id, strlen(id));
	crypto_auth_hmacsha256_update(&h, (const unsigned char *)stamp, (size_t)n);
	crypto_auth_hmacsha256_update(&h, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&h, mac);
	memcpy(out, "v1,", 3);
	sodium_bin2base64(out + 3, WEBHOOK_SIGNATURE_LEN + 1 - 3, mac, sizeof(mac),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(&h, sizeof(h));
}

static int webhook_event(struct store *st, int64_t org_id, int64_t id, const char *name,
			 const char *actor, const char *details, int64_t now, const char **error_r)
{
	return store_event_on(st, now, org_id, 0, actor, name, "webhook", id, details, error_r) ==
			       STORE_OK
		       ? 0
		       : -1;
}

int webhook_create(struct store *st, const struct webhook_config *cfg, int64_t org_id,
		   const char *url, const char *events, const char *actor, int64_t now,
		   struct webhook *w_r, struct fault *f)
{
	const char *why = NULL, *err = NULL;
	int64_t n;
	if (events == NULL)
		events = "";
	if (url == NULL || url[0] == '\0')
		return fault_set(f, 422, "missing_field", "url", "url is required");
	if (!text_ok(url, MAX_URL_LEN, TEXT_LINE))
		return fault_set(f, 422, "invalid_field", "url",
				 errorf("url must be one line of at most %d bytes", MAX_URL_LEN));
	if (url_check(cfg, url, &why) < 0)
		return fault_set(f, 422, "invalid_field", "url", why);
	if (strlen(events) > MAX_WEBHOOK_EVENTS)
		return fault_set(f, 422, "invalid_field", "events",
				 errorf("events must be at most %d bytes", MAX_WEBHOOK_EVENTS));
	if (events_check(events, &why) < 0)
		return fault_set(f, 422, "invalid_field", "events", why);
	*w_r = (struct webhook){.org_id = org_id, .created_at = now};
	snprintf(w_r->url, sizeof(w_r->url), "%s", url);
	snprintf(w_r->events, sizeof(w_r->events), "%s", events);
	randombytes_buf(w_r->secret, sizeof(w_r->secret));
	if (store_begin(st, &err) != STORE_OK)
		return fault_internal(f, err);
	if (store_webhook_count(st, org_id, &n, &err) != STORE_OK)
		goto internal;
	if (n >= MAX_WEBHOOKS) {
		store_rollback(st);
		sodium_memzero(w_r->secret, sizeof(w_r->secret));
		return fault_set(f, 409, "too_many", NULL,
				 errorf("at most %d webhook endpoints; delete one first",
					MAX_WEBHOOKS));
	}
	if (store_webhook_insert(st, w_r, &err) != STORE_OK ||
	    webhook_event(st, org_id, w_r->id, "webhook.created", actor,
			  errorf("for %.400s", events[0] ? events : "every event"), now, &err) < 0 ||
	    store_commit(st, &err) != STORE_OK)
		goto internal;
	return 0;
internal:
	store_rollback(st);
	sodium_memzero(w_r->secret, sizeof(w_r->secret));
	return fault_internal(f, err);
}

int webhook_delete(struct store *st, int64_t org_id, int64_t id, const char *actor,
		   int64_t now, struct fault *f)
{
	const char *err = NULL;
	if (store_begin(st, &err) != STORE_OK)
		return fault_internal(f, err);
	int rc = store_webhook_delete(st, org_id, id, "the endpoint was deleted", now, &err);
	if (rc == STORE_NOT_FOUND) {
		store_rollback(st);
		return fault_set(f, 404, "not_found", NULL, "no such webhook");
	}
	if (rc != STORE_OK || webhook_event(st, org_id, id, "webhook.deleted", actor, NULL, now,
					    &err) < 0 ||
	    store_commit(st, &err) != STORE_OK) {
		store_rollback(st);
		return fault_internal(f, err);
	}
	return 0;
}

/* ------------------------------------------------------------ delivery */

/* The body: the event as Standard Webhooks shapes it. */
static int body_of(void *ctx, const struct event *e)
{
	char at[RFC3339_LEN + 1];
	json_t *j = json_pack("{s:s, s:s, s:{s:I, s:o, s:o, s:s, s:s, s:s}}", "type", e->name,
			      "timestamp", rfc3339_format(e->at, at), "data", "id",
			      (json_int_t)e->id, "org_id",
			      e->org_id ? json_integer(e->org_id) : json_null(), "peer_org_id",
			      e->peer_org_id ? json_integer(e->peer_org_id) : json_null(),
			      "subject", e->subject, "actor", e->actor, "details", e->details);
	*(char **)ctx = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	return 0;
}

struct connect_check {
	const struct webhook_config *cfg;
	int refused; /* an address was not public */
};

/* Refuse a connection to an address a webhook may not reach. */
static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct connect_check *cc = ctx;
	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!cc->cfg->allow_private && !webhook_address_public(&a->addr)) {
		cc->refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

struct reply {
	char text[WEBHOOK_RESPONSE_KEPT + 1];
	size_t len;
};

/* Keep the start of the receiver's answer, as printable text. */
static size_t keep_reply(char *data, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;
	for (size_t i = 0; i < size * n && r->len < WEBHOOK_RESPONSE_KEPT; i++) {
		unsigned char c = (unsigned char)data[i];
		r->text[r->len++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	r->text[r->len] = '\0';
	return size * n;
}

/* POST body to w; the HTTP status (0 when none) and what was said. */
static int post(CURL *c, const struct webhook_config *cfg, const struct webhook *w,
		const char *id, int64_t now, const char *body, char *said, size_t said_size)
{
	char sig[WEBHOOK_SIGNATURE_LEN + 1], h_id[96], h_ts[48], h_sig[96];
	char errbuf[CURL_ERROR_SIZE] = "";
	struct reply r = {.len = 0};
	struct connect_check cc = {cfg, 0};
	long status = 0;
	webhook_sign(w->secret, id, now, body, strlen(body), sig);
	snprintf(h_id, sizeof(h_id), "webhook-id: %s", id);
	snprintf(h_ts, sizeof(h_ts), "webhook-timestamp: %lld", (long long)now);
	snprintf(h_sig, sizeof(h_sig), "webhook-signature: %s", sig);
	struct curl_slist *h = NULL;
	const char *lines[] = {"Content-Type: application/json", h_id, h_ts, h_sig, "Expect:"};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		h = curl_slist_append(h, lines[i]);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, w->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, cfg->allow_http ? "http,https" : "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)(cfg->timeout < 5 ? cfg->timeout : 5));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "invited-webhooks/1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &cc);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_reply);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK && cc.refused)
		snprintf(errbuf, sizeof(errbuf), "refused: the host has no public address now");
	if (rc != CURLE_OK) {
		snprintf(said, said_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	snprintf(said, said_size, "%s", r.text);
	return (int)status;
}

/* Attempt one claimed delivery and record the outcome: 0 delivered, 1
 * not (yet), -1 on a store error. */
static int attempt(struct store *st, CURL *c, const struct webhook_config *cfg,
		   struct delivery *d, int64_t now, struct webhook_stats *stats,
		   const char **error_r)
{
	struct webhook w;
	char *body = NULL, id[32], said[WEBHOOK_RESPONSE_KEPT + CURL_ERROR_SIZE];
	int status = 0;
	enum delivery_event ev;
	int rc = store_webhook_get(st, d->webhook_id, &w, error_r);
	if (rc == STORE_OK)
		rc = store_event_get(st, d->event_id, body_of, &body, error_r);
	if (rc == STORE_ERROR)
		return -1;
	if (rc != STORE_OK || body == NULL || w.deleted_at != 0) {
		snprintf(said, sizeof(said), "%s",
			 rc != STORE_OK || w.deleted_at != 0
				 ? "the endpoint was deleted, or the event is gone"
				 : "the event cannot be written as JSON");
		ev = DELIVERY_EV_GIVE_UP;
	} else {
		snprintf(id, sizeof(id), "dlv_%lld", (long long)d->id);
		status = post(c, cfg, &w, id, now, body, said, sizeof(said));
		ev = status >= 200 && status < 300 ? DELIVERY_EV_DELIVER
		     : now < d->expires_at	   ? DELIVERY_EV_RETRY
						   : DELIVERY_EV_GIVE_UP;
	}
	free(body);
	sodium_memzero(w.secret, sizeof(w.secret));
	int64_t next = now;
	if (ev == DELIVERY_EV_RETRY) {
		next = now + outbox_backoff(d->attempts, cfg->retry_base, cfg->retry_cap);
		if (next > d->expires_at)
			next = d->expires_at;
		stats->retried++;
	} else if (ev == DELIVERY_EV_DELIVER) {
		stats->delivered++;
	} else {
		stats->failed++;
	}
	if (ev != DELIVERY_EV_DELIVER)
		msg_warn("webhooks: delivery %lld to endpoint %lld: %s%s%s", (long long)d->id,
			 (long long)d->webhook_id, status ? errorf("HTTP %d ", status) : "",
			 said, ev == DELIVERY_EV_GIVE_UP ? " (given up)" : "");
	int to = delivery_transition(d->status, ev);
	rc = store_delivery_result(st, d->id, d->status, (enum delivery_status)to, status, said,
				   next, now, error_r);
	if (rc == STORE_ERROR)
		return -1;
	return ev == DELIVERY_EV_DELIVER ? 0 : 1; /* CONFLICT: recovered meanwhile */
}

/* A claimed delivery not attempted goes back, due at next: the server is
 * stopping (now), or its endpoint failed earlier in this pass. */
static void put_back(struct store *st, const struct delivery *d, enum delivery_event ev,
		     const char *why, int64_t next, int64_t now)
{
	const char *err;
	int to = delivery_transition(d->status, ev);
	if (store_delivery_result(st, d->id, d->status, (enum delivery_status)to, 0, why, next,
				  now, &err) == STORE_ERROR)
		msg_warn("webhooks: delivery %lld stays sending until the next start: %s",
			 (long long)d->id, err);
}

int webhook_run_once(struct store *st, const struct webhook_config *cfg, size_t max,
		     const _Atomic int *stop, int64_t now, struct webhook_stats *stats,
		     const char **error_r)
{
	int due = 0;
	size_t n = 0;
	memset(stats, 0, sizeof(*stats));
	if (store_delivery_due(st, now, &due, error_r) != STORE_OK)
		return -1;
	if (!due)
		return 0;
	struct delivery *ds = calloc(max, sizeof(*ds));
	CURL *c = curl_easy_init();
	int ret = -1;
	if (ds == NULL || c == NULL) {
		*error_r = "webhooks: out of memory";
		goto out;
	}
	if (store_delivery_claim(st, now, max, ds, &n, error_r) != STORE_OK)
		goto out;
	stats->claimed = n;
	ret = 0;
	/* Each attempt signs with its own time: a slow receiver before it
	 * must not age its timestamp. An endpoint that fails is not tried
	 * again in this pass, so that one slow or dead receiver holds the
	 * others up by one timeout at most; a stop or a store error puts the
	 * rest back. */
	time_t started = time(NULL);
	for (size_t i = 0; i < n; i++) {
		int64_t t = now + (int64_t)(time(NULL) - started);
		int failed_before = 0;
		for (size_t j = 0; j < i; j++)
			failed_before |= ds[j].webhook_id == ds[i].webhook_id &&
					 ds[j].status == DELIVERY_PENDING;
		if (ret < 0 || (stop != NULL && *stop)) {
			put_back(st, &ds[i], DELIVERY_EV_RECOVER, "", t, t);
		} else if (failed_before) {
			put_back(st, &ds[i], DELIVERY_EV_RETRY,
				 "not attempted: the endpoint failed just before", t + cfg->retry_base,
				 t);
			ds[i].status = DELIVERY_PENDING;
			stats->retried++;
		} else {
			int rc = attempt(st, c, cfg, &ds[i], t, stats, error_r);
			if (rc < 0)
				ret = -1;
			else if (rc > 0)
				ds[i].status = DELIVERY_PENDING; /* marks the endpoint as failing */
		}
	}
out:
	if (c != NULL)
		curl_easy_cleanup(c);
	free(ds);
	return ret;
}
