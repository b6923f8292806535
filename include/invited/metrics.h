/*
 * metrics.h: what /metrics shows: latency histograms that any thread may
 * add to without a lock, and the Prometheus text page itself, written
 * from the counters in struct app and a look at the store.
 */
#ifndef INVITED_METRICS_H
#define INVITED_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define HISTOGRAM_BUCKETS 15 /* the upper bounds below, then +Inf */

/* Prometheus' cumulative buckets are summed when written; each slot here
 * counts the observations that fell in its own bucket only. */
struct histogram {
	uint64_t slot[HISTOGRAM_BUCKETS];
	uint64_t count;
	uint64_t sum_us; /* microseconds */
};

/* Add one observation, in seconds. Thread-safe (atomic adds). */
void histogram_observe(struct histogram *h, double seconds);

/* Seconds since *start (CLOCK_MONOTONIC). */
double metrics_since(const struct timespec *start);

struct app;
struct store;

/* The whole page (text format 0.0.4) into out; -1 with why when the store
 * could not be read. */
int metrics_write(struct app *app, struct store *st, FILE *out, const char **error_r);

#endif
