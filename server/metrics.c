/*
 * metrics.c: the /metrics page, Prometheus' text format: every family
 * with its HELP and TYPE, counters and gauges from struct app, latency
 * histograms, and the outbox's and webhooks' state read from the store.
 */
#include <time.h>

#include "invited/metrics.h"
#include "invited/server.h"
#include "invited/webhook.h"

/* Upper bounds, in seconds: from a page answered from memory to an SMTP
 * session that waited out a slow server. */
static const double bounds[HISTOGRAM_BUCKETS - 1] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

void histogram_observe(struct histogram *h, double seconds)
{
	size_t i = 0;
	while (i < HISTOGRAM_BUCKETS - 1 && seconds > bounds[i])
		i++;
	__atomic_add_fetch(&h->slot[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->sum_us, (uint64_t)(seconds > 0 ? seconds * 1e6 : 0),
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->count, 1, __ATOMIC_RELAXED);
}

double metrics_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static uint64_t load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* A metric family's HELP and TYPE lines, which come before its samples. */
static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(FILE *out, const char *name, const char *help, const uint64_t *v)
{
	family(out, name, "counter", help);
	fprintf(out, "%s %llu\n", name, (unsigned long long)load(v));
}

static void gauge(FILE *out, const char *name, const char *help, long long v)
{
	family(out, name, "gauge", help);
	fprintf(out, "%s %lld\n", name, v);
}

static void histogram(FILE *out, const char *name, const char *help, const struct histogram *h)
{
	uint64_t cumulative = 0;
	family(out, name, "histogram", help);
	for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
		cumulative += load(&h->slot[i]);
		if (i < HISTOGRAM_BUCKETS - 1)
			fprintf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
				(unsigned long long)cumulative);
		else
			fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
				(unsigned long long)cumulative);
	}
	/* The count is the +Inf bucket's, read once: a scrape that races an
	 * observation still shows count == the last bucket. */
	fprintf(out, "%s_sum %.6f\n%s_count %llu\n", name, (double)load(&h->sum_us) / 1e6, name,
		(unsigned long long)cumulative);
}

int metrics_write(struct app *a, struct store *st, FILE *out, const char **error_r)
{
	int64_t counts[5], deliveries[5], oldest = 0;
	int64_t now = (int64_t)time(NULL);
	if (store_outbox_counts(st, counts, error_r) != STORE_OK ||
	    store_outbox_oldest_queued(st, &oldest, error_r) != STORE_OK ||
	    store_delivery_counts(st, deliveries, error_r) != STORE_OK)
		return -1;

	family(out, "invited_build_info", "gauge", "the running version (always 1)");
	fprintf(out, "invited_build_info{version=\"%s\"} 1\n", INVITED_VERSION);

	family(out, "invited_http_requests_total", "counter",
	       "HTTP requests answered, by status class");
	for (int c = 2; c <= 5; c++)
		fprintf(out, "invited_http_requests_total{class=\"%dxx\"} %llu\n", c,
			(unsigned long long)load(&a->http_requests[c]));
	histogram(out, "invited_http_request_duration_seconds",
		  "from a request's first byte to its answer being queued", &a->http_latency);

	counter(out, "invited_invitations_created_total", "invitations created",
		&a->invitations_created);
	counter(out, "invited_redeems_total", "links redeemed", &a->redeems);
	counter(out, "invited_redeem_commits_total",
		"transactions that committed redeems (one per group commit)", &a->redeem_commits);
	histogram(out, "invited_redeem_duration_seconds",
		  "a link page's accept or decline, from the request to the committed answer",
		  &a->redeem_latency);

	counter(out, "invited_mails_sent_total", "mails the SMTP server accepted", &a->mails_sent);
	counter(out, "invited_mails_failed_total", "mails given up on", &a->mails_failed);
	family(out, "invited_outbox_messages", "gauge", "messages in the outbox, by status");
	for (int s = OUTBOX_QUEUED; s <= OUTBOX_FAILED; s++)
		fprintf(out, "invited_outbox_messages{status=\"%s\"} %lld\n",
			outbox_status_str((enum outbox_status)s), (long long)counts[s]);
	gauge(out, "invited_outbox_oldest_queued_age_seconds",
	      "how long the oldest message still to send has waited (0: none)",
	      oldest > 0 && oldest < now ? (long long)(now - oldest) : 0);
	histogram(out, "invited_smtp_batch_duration_seconds",
		  "one SMTP session: connect, the batch's messages, QUIT", &a->smtp_batch_latency);
	gauge(out, "invited_smtp_last_ok_timestamp_seconds",
	      "when an SMTP session last got mail through (0: not yet)", (long long)a->smtp_ok_at);
	gauge(out, "invited_smtp_last_failure_timestamp_seconds",
	      "when an SMTP session last got nothing through (0: never)",
	      (long long)a->smtp_failed_at);

	gauge(out, "invited_imap_connected",
	      "1 while the IMAP reader is logged in (0 also when it is off)",
	      a->cfg.imap.enabled && a->imap_connected);
	gauge(out, "invited_imap_last_pass_timestamp_seconds",
	      "when the IMAP reader last finished a pass (0: not yet)", (long long)a->imap_pass_at);
	histogram(out, "invited_imap_pass_duration_seconds",
		  "one pass over the mailbox: search, fetch, classify, record, move",
		  &a->imap_pass_latency);
	family(out, "invited_inbound_messages_total", "counter",
	       "mails read over IMAP and acted on, by what was done");
	for (int i = 1; i < INBOUND_ACTIONS; i++) /* 0 is no action */
		fprintf(out, "invited_inbound_messages_total{action=\"%s\"} %llu\n",
			inbound_action_str((enum inbound_action)i),
			(unsigned long long)load(&a->inbound[i]));

	counter(out, "invited_webhooks_delivered_total", "webhook deliveries answered 2xx",
		&a->webhooks_delivered);
	counter(out, "invited_webhooks_failed_total", "webhook deliveries given up on",
		&a->webhooks_failed);
	family(out, "invited_webhook_deliveries", "gauge", "webhook deliveries, by status");
	for (int s = DELIVERY_PENDING; s <= DELIVERY_FAILED; s++)
		fprintf(out, "invited_webhook_deliveries{status=\"%s\"} %lld\n",
			delivery_status_str((enum delivery_status)s), (long long)deliveries[s]);
	return ferror(out) ? (*error_r = "cannot write the page", -1) : 0;
}
