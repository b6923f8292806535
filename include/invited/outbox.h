/*
 * outbox.h: sending what the store has queued. One pass claims the due
 * messages, sends them over one SMTP session, and records each outcome:
 * sent; queued again with exponential backoff and jitter on a temporary
 * failure; failed on a permanent one or when its lifetime is over. A
 * failed invitation or verification mail marks its subject and tells the
 * inviter. The thread that loops over passes belongs to the server.
 */
#ifndef INVITED_OUTBOX_H
#define INVITED_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "mailer.h"
#include "smtp.h"
#include "store.h"

struct outbox_config {
	struct smtp_config smtp;
	size_t batch_size;   /* messages per SMTP session */
	int concurrency;     /* sender threads (used by the server) */
	int64_t retry_base;  /* seconds before the first retry (jittered) */
	int64_t retry_cap;   /* longest wait between retries */
};

struct outbox_stats {
	size_t claimed;
	size_t sent;
	size_t deferred;
	size_t failed;
};

/* One pass. Returns 0 (stats tell what happened) or -1 on a store error. */
int outbox_run_once(struct store *st, const struct mailer *m,
		    const struct outbox_config *cfg, int64_t now,
		    struct outbox_stats *stats, const char **error_r);

/* Seconds to wait before attempt number `attempts` + 1, with ±25% jitter. */
int64_t outbox_backoff(int attempts, int64_t base, int64_t cap);

#endif
