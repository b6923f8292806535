/*
 * outbox.c: one sending pass over the durable outbox. Claiming is one
 * statement, so a message is `sending` only while someone holds it; the
 * outcomes of a batch are recorded in one transaction, with their effects
 * on the invitations they carry.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "invited/log.h"
#include "invited/outbox.h"

int64_t outbox_backoff(int attempts, int64_t base, int64_t cap)
{
	int64_t wait = base;
	for (int i = 1; i < attempts && wait < cap; i++)
		wait *= 2;
	if (wait > cap)
		wait = cap;
	/* ±25% so that messages deferred together do not return together */
	int64_t spread = wait / 2;
	if (spread > 0)
		wait = wait - spread / 2 + (int64_t)randombytes_uniform((uint32_t)spread + 1);
	return wait > 0 ? wait : 1;
}

/* What a final failure does to the mail's subject. */
static int on_failed(struct store *st, const struct mailer *m,
		     const struct outbox_msg *msg, const char *reason,
		     int64_t now, const char **error_r)
{
	if (strcmp(msg->kind, "invitation") == 0 && msg->invitation_id != 0)
		return mailer_invitation_undeliverable(m, st, msg->invitation_id,
						       reason, now, error_r);
	if (strcmp(msg->kind, "verification") == 0 && msg->verification_id != 0)
		return mailer_verification_undeliverable(st, msg->verification_id,
							 reason, now, error_r);
	return 0;
}

static int on_sent(struct store *st, const struct outbox_msg *msg, int64_t now,
		   const char **error_r)
{
	if (strcmp(msg->kind, "invitation") != 0 || msg->invitation_id == 0)
		return 0;
	int rc = store_invitation_set_status(st, msg->invitation_id,
					     1u << INV_QUEUED, INV_SENT, NULL, now,
					     error_r);
	return rc == STORE_ERROR ? -1 : 0; /* CONFLICT: revoked meanwhile */
}

static int record(struct store *st, const struct mailer *m,
		  const struct outbox_config *cfg, const struct outbox_msg *msg,
		  const struct smtp_item *it, int64_t now,
		  struct outbox_stats *stats, const char **error_r)
{
	char reason[600];
	if (it->outcome == SMTP_SENT) {
		stats->sent++;
		if (store_outbox_result(st, msg->id, OUTBOX_SENT, it->code, it->reply,
					now, now, error_r) != STORE_OK)
			return -1;
		return on_sent(st, msg, now, error_r);
	}
	/* the reason people read: the server's code with its words */
	if (it->code > 0)
		snprintf(reason, sizeof(reason), "%d %s", it->code, it->reply);
	else
		snprintf(reason, sizeof(reason), "%s", it->reply);
	if (it->outcome == SMTP_TEMPFAIL && now < msg->expires_at) {
		stats->deferred++;
		int64_t next = now + outbox_backoff(msg->attempts, cfg->retry_base,
						    cfg->retry_cap);
		if (next > msg->expires_at)
			next = msg->expires_at;
		msg_warn("outbox: message %lld to %s deferred (attempt %d): %s",
			 (long long)msg->id, msg->rcpt, msg->attempts, it->reply);
		return store_outbox_result(st, msg->id, OUTBOX_QUEUED, it->code,
					   it->reply, next, now, error_r) == STORE_OK
			       ? 0
			       : -1;
	}
	stats->failed++;
	if (it->outcome == SMTP_TEMPFAIL) {
		char last[sizeof(reason)];
		memcpy(last, reason, sizeof(last));
		snprintf(reason, sizeof(reason), "gave up after %d attempts: %.560s",
			 msg->attempts, last);
	}
	msg_warn("outbox: message %lld to %s failed: %s", (long long)msg->id,
		 msg->rcpt, reason);
	if (store_outbox_result(st, msg->id, OUTBOX_FAILED, it->code, reason, now,
				now, error_r) != STORE_OK)
		return -1;
	return on_failed(st, m, msg, reason, now, error_r);
}

int outbox_run_once(struct store *st, const struct mailer *m,
		    const struct outbox_config *cfg, int64_t now,
		    struct outbox_stats *stats, const char **error_r)
{
	size_t n = 0, batch = cfg->batch_size > 0 ? cfg->batch_size : 1;
	memset(stats, 0, sizeof(*stats));
	/* Idle senders look every second, and a kick wakes them all: a claim
	 * that finds nothing would still take the write lock from the API. */
	int due = 0;
	if (store_outbox_due(st, now, &due, error_r) != STORE_OK)
		return -1;
	if (!due)
		return 0;
	struct outbox_msg *msgs = calloc(batch, sizeof(*msgs));
	struct smtp_item *items = calloc(batch, sizeof(*items));
	int ret = -1;
	if (msgs == NULL || items == NULL) {
		*error_r = "outbox: out of memory";
		goto out;
	}
	if (store_outbox_claim(st, now, batch, msgs, &n, error_r) != STORE_OK)
		goto out;
	stats->claimed = n;
	if (n == 0) {
		ret = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		items[i].env_from = msgs[i].env_from;
		items[i].rcpt = msgs[i].rcpt;
		items[i].data = msgs[i].data;
		items[i].len = msgs[i].len;
	}
	const char *smtp_error = NULL;
	if (smtp_send_batch(&cfg->smtp, items, n, &smtp_error) < 0)
		msg_warn("outbox: %s", smtp_error);

	/* One transaction for the batch's outcomes: a crash before it
	 * commits leaves them `sending`, and recovery sends them again. */
	if (store_begin(st, error_r) != STORE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (record(st, m, cfg, &msgs[i], &items[i], now, stats, error_r) < 0) {
			store_rollback(st);
			goto out;
		}
	}
	if (store_commit(st, error_r) != STORE_OK)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		outbox_msg_clear(&msgs[i]);
	free(msgs);
	free(items);
	return ret;
}
