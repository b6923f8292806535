/*
 * outbox.c: the message lifecycle's table, and one sending pass over the
 * durable outbox. Claiming is one statement, so a message is `sending`
 * only while someone holds it; the outcomes of a batch are recorded in one
 * transaction, with the reports to the owners of what the mails carry.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "invited/log.h"
#include "invited/outbox.h"
#include "invited/transition.h"

int outbox_prune(struct store *st, int64_t keep_sent, int64_t now, size_t max, size_t *n_r,
		 const char **error_r)
{
	*n_r = 0;
	if (keep_sent <= 0)
		return 0;
	if (store_begin(st, error_r) != STORE_OK)
		return -1;
	if (store_outbox_prune(st, now - keep_sent, max, n_r, error_r) == STORE_OK &&
	    store_commit(st, error_r) == STORE_OK)
		return 0;
	store_rollback(st);
	*n_r = 0;
	return -1;
}

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

/* How a cancelled message's reply begins (outbox_cancel_invitation's
 * callers say why after it): such a message is not retried. */
#define CANCELLED "cancelled:"

static const char *const event_names[OUTBOX_EV_COUNT] = {
	[OUTBOX_EV_CLAIM] = "message.claimed",     [OUTBOX_EV_SENT] = "message.sent",
	[OUTBOX_EV_DEFER] = "message.deferred",    [OUTBOX_EV_FAIL] = "message.failed",
	[OUTBOX_EV_CANCEL] = "message.cancelled",  [OUTBOX_EV_RECOVER] = "message.recovered",
	[OUTBOX_EV_RETRY] = "message.retried",
};

/* (status, event) -> status; 0: refused. */
static const unsigned char table[OUTBOX_FAILED + 1][OUTBOX_EV_COUNT] = {
	[OUTBOX_QUEUED] = {[OUTBOX_EV_CLAIM] = OUTBOX_SENDING, [OUTBOX_EV_CANCEL] = OUTBOX_FAILED},
	[OUTBOX_SENDING] = {[OUTBOX_EV_SENT] = OUTBOX_SENT, [OUTBOX_EV_DEFER] = OUTBOX_QUEUED,
			    [OUTBOX_EV_FAIL] = OUTBOX_FAILED, [OUTBOX_EV_RECOVER] = OUTBOX_QUEUED},
	[OUTBOX_FAILED] = {[OUTBOX_EV_RETRY] = OUTBOX_QUEUED},
	/* sent: final */
};

const char *outbox_event_name(enum outbox_event ev)
{
	return ev > 0 && ev < OUTBOX_EV_COUNT ? event_names[ev] : "message.unknown";
}

int outbox_transition(enum outbox_status from, enum outbox_event ev)
{
	return from < OUTBOX_QUEUED ? -1 : TRANSITION(table, from, ev);
}

/*
 * The one way to change a message's status: the table's answer, the
 * conditional UPDATE, the event. 1 when refused.
 */
static int apply(struct store *st, struct outbox_msg *msg, enum outbox_event ev, int code,
		 const char *reply, int64_t next_at, int64_t now, const char *actor,
		 const char **error_r)
{
	int to = outbox_transition(msg->status, ev);
	if (to < 0) {
		*error_r = errorf("message %lld is %s: it cannot be %s", (long long)msg->id,
				  outbox_status_str(msg->status),
				  strchr(outbox_event_name(ev), '.') + 1);
		return 1;
	}
	int rc = store_outbox_result(st, msg->id, msg->status, (enum outbox_status)to, code,
				     reply, next_at, now, error_r);
	if (rc == STORE_CONFLICT)
		return 1;
	if (rc != STORE_OK)
		return -1;
	msg->status = (enum outbox_status)to;
	return store_event_on(st, now, msg->org_id, 0, actor, outbox_event_name(ev), "message",
			      msg->id,
			      errorf("%s mail to %s%s%s", outbox_kind_str(msg->kind), msg->rcpt,
				     reply && reply[0] ? ": " : "", reply ? reply : ""),
			      error_r) == STORE_OK
		       ? 0
		       : -1;
}

/* Tell the subject's owner; a refusal there is no error here. */
static int report(const struct mail_reporter *rep, struct store *st,
		  const struct outbox_msg *msg, enum mail_outcome outcome, const char *reason,
		  int64_t now, const char **error_r)
{
	if (rep == NULL || rep->report == NULL)
		return 0;
	struct mail_report r = {
		.outcome = outcome,
		.kind = msg->kind,
		.message_id = msg->id,
		.invitation_id = msg->invitation_id,
		.verification_id = msg->verification_id,
		.org_id = msg->org_id,
		.reason = reason,
		.actor = "mailer",
	};
	return rep->report(rep->ctx, st, &r, now, error_r) < 0 ? -1 : 0;
}

/*
 * One line per message and outcome, as Postfix logs a delivery: our queue
 * id, the recipient, the relay, the kind, and the server's own reply.
 * Sent mail is info; deferred and failed are warnings.
 */
static void log_outcome(const struct outbox_config *cfg, const struct outbox_msg *msg,
			const char *status, const char *reply)
{
	void (*say)(const char *, ...) = strcmp(status, "sent") == 0 ? msg_info : msg_warn;
	say("outbox: id=%lld to=<%s> relay=%s:%d kind=%s attempt=%d status=%s (%s)",
	    (long long)msg->id, msg->rcpt, cfg->smtp.host, cfg->smtp.port,
	    outbox_kind_str(msg->kind), msg->attempts, status, reply);
}

static int record_one(struct store *st, const struct outbox_config *cfg,
		      const struct mail_reporter *rep, struct outbox_msg *msg,
		      const struct smtp_item *it, int64_t now, struct outbox_stats *stats,
		      const char **error_r)
{
	char reason[600];
	int rc;
	if (it->code > 0)
		snprintf(reason, sizeof(reason), "%d %s", it->code, it->reply);
	else
		snprintf(reason, sizeof(reason), "%s", it->reply);
	if (it->outcome == SMTP_SENT) {
		stats->sent++;
		log_outcome(cfg, msg, "sent", reason);
		rc = apply(st, msg, OUTBOX_EV_SENT, it->code, it->reply, now, now, "mailer",
			   error_r);
		return rc != 0 ? rc : report(rep, st, msg, MAIL_SENT, NULL, now, error_r);
	}
	/* the reason people read: the server's code with its words */
	if (it->outcome == SMTP_TEMPFAIL && now < msg->expires_at) {
		stats->deferred++;
		int64_t next = now + outbox_backoff(msg->attempts, cfg->retry_base,
						    cfg->retry_cap);
		if (next > msg->expires_at)
			next = msg->expires_at;
		log_outcome(cfg, msg, "deferred", reason);
		rc = apply(st, msg, OUTBOX_EV_DEFER, it->code, it->reply, next, now, "mailer",
			   error_r);
		return rc != 0 ? rc : report(rep, st, msg, MAIL_DEFERRED, reason, now, error_r);
	}
	stats->failed++;
	if (it->outcome == SMTP_TEMPFAIL) {
		char last[sizeof(reason)];
		memcpy(last, reason, sizeof(last));
		snprintf(reason, sizeof(reason), "gave up after %d attempts: %.560s",
			 msg->attempts, last);
	}
	log_outcome(cfg, msg, "failed", reason);
	rc = apply(st, msg, OUTBOX_EV_FAIL, it->code, reason, now, now, "mailer", error_r);
	return rc != 0 ? rc : report(rep, st, msg, MAIL_FAILED, reason, now, error_r);
}

int outbox_record(struct store *st, const struct outbox_config *cfg,
		  const struct mail_reporter *rep, struct outbox_msg *msgs,
		  const struct smtp_item *items, size_t n, int64_t now,
		  struct outbox_stats *stats, const char **error_r)
{
	/* One transaction for the batch's outcomes: a crash before it
	 * commits leaves them `sending`, and recovery sends them again. */
	if (store_begin(st, error_r) != STORE_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int rc = record_one(st, cfg, rep, &msgs[i], &items[i], now, stats, error_r);
		if (rc < 0) {
			store_rollback(st);
			return -1;
		}
		if (rc > 0) /* not sending any more: an operator's doing */
			msg_warn("outbox: %s", *error_r);
	}
	if (store_commit(st, error_r) != STORE_OK) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int outbox_retry(struct store *st, int64_t id, int64_t lifetime, int64_t now,
		 const char *actor, const char **error_r)
{
	struct outbox_msg msg;
	int rc = store_outbox_get(st, id, 0, &msg, error_r);
	if (rc == STORE_NOT_FOUND) {
		*error_r = "no such message";
		return 1;
	}
	if (rc != STORE_OK)
		return -1;
	if (outbox_transition(msg.status, OUTBOX_EV_RETRY) < 0) {
		*error_r = errorf("message is %s, not failed", outbox_status_str(msg.status));
		return 1;
	}
	if (strncmp(msg.last_reply, CANCELLED, sizeof(CANCELLED) - 1) == 0) {
		*error_r = "the message was cancelled with its invitation: resend the invitation "
			   "instead";
		return 1;
	}
	if (store_begin(st, error_r) != STORE_OK)
		return -1;
	/* a fresh lifetime, due now */
	rc = store_outbox_retry(st, id, now, now + lifetime, error_r);
	if (rc == STORE_OK) {
		rc = store_event_on(st, now, msg.org_id, 0, actor,
				    outbox_event_name(OUTBOX_EV_RETRY), "message", id,
				    errorf("%s mail to %s", outbox_kind_str(msg.kind), msg.rcpt),
				    error_r);
	}
	if (rc == STORE_OK && store_commit(st, error_r) == STORE_OK)
		return 0;
	store_rollback(st);
	return rc == STORE_CONFLICT ? 1 : -1;
}

/* The ids of an invitation's queued messages, up to max. */
static int collect(void *ctx, const struct outbox_msg *m)
{
	struct outbox_msg *out = ctx;
	for (int i = 0; i < 16; i++) {
		if (out[i].id == 0) {
			out[i] = *m;
			out[i].data = NULL;
			return 0;
		}
	}
	return 1;
}

int outbox_cancel_invitation(struct store *st, int64_t invitation_id, const char *reason,
			     int64_t now, size_t *n_r, const char **error_r)
{
	*n_r = 0;
	for (int64_t before = 0;;) {
		struct outbox_msg found[16];
		memset(found, 0, sizeof(found));
		struct outbox_filter f = {.status = OUTBOX_QUEUED, .invitation_id = invitation_id,
					  .before_id = before, .limit = 16};
		if (store_outbox_list(st, &f, collect, found, error_r) != STORE_OK)
			return -1;
		for (int i = 0; i < 16 && found[i].id != 0; i++) {
			before = found[i].id;
			enum outbox_kind k = found[i].kind;
			if (k != OUTBOX_INVITATION && k != OUTBOX_REMINDER && k != OUTBOX_CONFIRM)
				continue; /* news to the inviter still goes */
			int rc = apply(st, &found[i], OUTBOX_EV_CANCEL, 0, reason, now, now,
				       "mailer", error_r);
			if (rc < 0)
				return -1;
			*n_r += rc == 0;
		}
		if (found[15].id == 0)
			return 0;
	}
}

int outbox_run_once(struct store *st, const struct outbox_config *cfg,
		    const struct mail_reporter *rep, int64_t now, struct outbox_stats *stats,
		    const char **error_r)
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
	for (size_t i = 0; i < n; i++) {
		msgs[i].status = OUTBOX_SENDING;
		items[i].env_from = msgs[i].env_from;
		items[i].rcpt = msgs[i].rcpt;
		items[i].data = msgs[i].data;
		items[i].len = msgs[i].len;
	}
	if (n == 0) {
		ret = 0;
		goto out;
	}
	msg_debug("outbox: %zu message%s claimed for one SMTP session to %s:%d", n,
		  n == 1 ? "" : "s", cfg->smtp.host, cfg->smtp.port);
	const char *smtp_error = NULL;
	if (smtp_send_batch(&cfg->smtp, items, n, &smtp_error) < 0)
		msg_warn("outbox: %s", smtp_error);
	ret = outbox_record(st, cfg, rep, msgs, items, n, now, stats, error_r);
	if (stats->sent == 0 && stats->failed == 0)
		snprintf(stats->smtp_error, sizeof(stats->smtp_error), "%s",
			 smtp_error != NULL ? smtp_error : items[0].reply);
out:
	for (size_t i = 0; i < n; i++)
		outbox_msg_clear(&msgs[i]);
	free(msgs);
	free(items);
	return ret;
}
