/*
 * outbox.h: sending what the store has queued, and the message
 * lifecycle's one owner. One pass claims the due messages, sends them
 * over one SMTP session, and records each outcome: sent; queued again with
 * exponential backoff and jitter on a temporary failure; failed on a
 * permanent one or when its lifetime is over. What an outcome means for
 * the message's subject (an invitation, a verification) is not the
 * mailer's to decide: it tells the subject's owner through a reporter,
 * which the server fills in. The thread that loops over passes belongs to
 * the server.
 */
#ifndef INVITED_OUTBOX_H
#define INVITED_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "mailer.h"
#include "smtp.h"
#include "store.h"

/*
 * The message lifecycle:
 *   claim    queued -> sending     (a sender took it)
 *   sent     sending -> sent       (SMTP took it)
 *   defer    sending -> queued     (a temporary failure; tried again later)
 *   fail     sending -> failed     (a permanent failure, or out of time)
 *   cancel   queued -> failed      (its invitation was revoked)
 *   recover  sending -> queued     (its sender died; at start-up)
 *   retry    failed -> queued      (the operator asks again)
 * Anything else is refused. Claim and recover are the senders' own
 * bookkeeping, done many rows at once by the store and left out of the
 * event log; the others are events ("message.sent"…).
 */
enum outbox_event {
	OUTBOX_EV_CLAIM = 1,
	OUTBOX_EV_SENT,
	OUTBOX_EV_DEFER,
	OUTBOX_EV_FAIL,
	OUTBOX_EV_CANCEL,
	OUTBOX_EV_RECOVER,
	OUTBOX_EV_RETRY,
	OUTBOX_EV_COUNT
};

const char *outbox_event_name(enum outbox_event ev);
/* The status a message in `from` goes to on ev; -1: refused. */
int outbox_transition(enum outbox_status from, enum outbox_event ev);

/* What happened to a mail, as its subject's owner hears it. */
enum mail_outcome {
	MAIL_SENT = 1,  /* the outbox: SMTP took it */
	MAIL_DEFERRED,  /* the outbox: a temporary failure, tried again */
	MAIL_FAILED,    /* the outbox: it will not be delivered */
	MAIL_BOUNCED,   /* the IMAP reader: a permanent bounce came back */
	MAIL_REPLIED,   /* the IMAP reader: a reply to it was relayed */
};

struct mail_report {
	enum mail_outcome outcome;
	enum outbox_kind kind;
	int64_t message_id;      /* the outbox row; 0 for a reply */
	int64_t invitation_id;   /* 0 when none */
	int64_t verification_id;
	int64_t org_id;
	const char *reason;      /* the remote server's words, or what happened */
	const char *actor;       /* "mailer", "imap" */
};

/*
 * Told in the caller's transaction. Returns 0 when the subject changed, 1
 * when nothing did (its status does not take this; *error_r says why), -1
 * on a store error (the transaction must be rolled back).
 */
typedef int mail_report_fn(void *ctx, struct store *st, const struct mail_report *r,
			   int64_t now, const char **error_r);

struct mail_reporter {
	mail_report_fn *report; /* NULL: nobody listens */
	void *ctx;
};

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
	char smtp_error[256]; /* when nothing got through: why ("" otherwise) */
};

/* One pass. Returns 0 (stats tell what happened) or -1 on a store error. */
int outbox_run_once(struct store *st, const struct outbox_config *cfg,
		    const struct mail_reporter *rep, int64_t now, struct outbox_stats *stats,
		    const char **error_r);

/*
 * The second half of a pass: record the outcomes of n claimed messages
 * (items[i] is msgs[i]'s SMTP outcome) in one transaction, and report
 * them. Apart for tests, which feed it outcomes without a server.
 */
int outbox_record(struct store *st, const struct outbox_config *cfg,
		  const struct mail_reporter *rep, struct outbox_msg *msgs,
		  const struct smtp_item *items, size_t n, int64_t now,
		  struct outbox_stats *stats, const char **error_r);

/* failed -> queued, due now, for another lifetime (`invited mail retry`);
 * 1 when the message is not failed, or was cancelled with its invitation
 * (its link is dead), with *error_r. */
int outbox_retry(struct store *st, int64_t id, int64_t lifetime, int64_t now,
		 const char *actor, const char **error_r);

/* Queued mail to an invitation's invitee (the invitation, its reminder,
 * an acceptance confirmation) is cancelled: it must not go out once the
 * invitation closed or a resend replaced its link. reason begins with
 * "cancelled:". In the caller's transaction; *n_r how many. */
int outbox_cancel_invitation(struct store *st, int64_t invitation_id, const char *reason,
			     int64_t now, size_t *n_r, const char **error_r);

/* Retention: the bytes of up to max mails sent more than keep_sent seconds
 * ago (0: keep them all) are dropped, in a transaction of their own; the
 * rows stay, and so does what a bounced invitation or verification
 * carried. *n_r how many were dropped. */
int outbox_prune(struct store *st, int64_t keep_sent, int64_t now, size_t max, size_t *n_r,
		 const char **error_r);

/* Seconds to wait before attempt number `attempts` + 1, with ±25% jitter. */
int64_t outbox_backoff(int attempts, int64_t base, int64_t cap);

#endif
