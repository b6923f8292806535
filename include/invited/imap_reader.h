/*
 * imap_reader.h: watching the server's mailbox over IMAP with libetpan.
 *
 * A session logs in (plain, STARTTLS or implicit TLS), makes sure the
 * processed and unmatched folders exist, and selects the mailbox. A pass
 * fetches the messages by UID, a batch per round trip, and handles each
 * batch in one transaction (inbound_handle_in_tx(), one commit for the
 * batch; if anything fails, each message again in its own transaction).
 * Once committed, messages are moved out of the mailbox a few thousand at
 * a time and at the end of the pass: MOVE when the server offers it, else
 * COPY, \Deleted and (UID) EXPUNGE. The first pass of a session also
 * sweeps up messages handled before but not moved (a crash between the
 * two), so nothing is acted on twice and nothing stays behind. Between
 * passes the session waits in IDLE when the server offers it, else sleeps
 * for the poll interval.
 */
#ifndef INVITED_IMAP_READER_H
#define INVITED_IMAP_READER_H

#include <stdint.h>

#include "limits.h" /* MAX_MAIL_SIZE: larger messages are recorded unread */
#include "store.h"  /* enum inbound_action */

enum imap_tls { IMAP_TLS_NONE, IMAP_TLS_STARTTLS, IMAP_TLS_IMPLICIT };

struct imap_config {
	int enabled;
	char host[256];
	int port;
	enum imap_tls tls;
	char ca_file[512];     /* PEM CAs to trust; empty: the system's */
	int allow_plaintext;   /* tls none to a host other than loopback */
	char user[256];
	char password[256];
	char mailbox[128];
	char processed[128];   /* folder for handled messages */
	char unmatched[128];   /* folder for messages we could not match */
	int64_t poll_interval; /* seconds, when IDLE is not offered */
	int idle;              /* use IDLE when offered */
	char trusted_authserv[512]; /* Authentication-Results ids we trust, space separated */
	int trust_relay;       /* accept replies without DKIM/DMARC proof */
};

struct verifier_env;
struct inbound_opts;

struct imap_stats {
	size_t handled;    /* acted on and recorded in this pass */
	size_t unmatched;  /* of those, moved to the unmatched folder */
	size_t again;      /* already recorded: only moved */
	size_t failed;     /* left in the mailbox, to be tried again */
	size_t by_action[INBOUND_ACTIONS]; /* by enum inbound_action */
};

struct imap_session;

/*
 * Refuse what cannot be safe or cannot work: tls none to a host other than
 * loopback (the password would cross the network in the clear) unless
 * allow_plaintext, and a ca_file with no certificate in it.
 */
int imap_config_check(const struct imap_config *cfg, const char **error_r);

/* Connect, log in, create the folders, select the mailbox. Over TLS, the
 * server's certificate chain and name are verified before LOGIN. */
int imap_session_open(const struct imap_config *cfg, struct imap_session **s_r,
		      const char **error_r);
void imap_session_close(struct imap_session *s);

/*
 * Handle every message of the mailbox not handled yet, and move it out.
 * env->st is the store; env->now is set per message. -1 with *error_r
 * when the connection failed (the caller reconnects).
 */
int imap_session_pass(struct imap_session *s, struct verifier_env *env,
		      const struct inbound_opts *opts, struct imap_stats *stats,
		      const char **error_r);

/* Wait for new mail: in IDLE when offered and configured, else for the
 * poll interval. Returns early once *stop is set. -1 on a lost connection. */
int imap_session_wait(struct imap_session *s, const _Atomic int *stop,
		      const char **error_r);

/*
 * Run until *stop: open, pass, wait, pass…; a lost or refused connection
 * is retried after 1, 2, 4 … 60 seconds, with a log line each time.
 */
/* What the watcher tells its owner about the connection: connected or
 * not (with why), and each pass done. May be NULL. */
/* One server reads the mailbox at a time (imap_watch): the lock's number,
 * and how often a server standing by asks for it. */
#define IMAP_READER_LOCK 0x696d6170 /* "imap" */
#define IMAP_STANDBY_POLL 5         /* seconds */

struct imap_watch_report {
	void (*state)(void *ctx, int connected, const char *error);
	void (*pass)(void *ctx, const struct imap_stats *stats, double seconds);
	void *ctx;
};

void imap_watch(const struct imap_config *cfg, struct verifier_env *env,
		const struct inbound_opts *opts, const struct imap_watch_report *rep,
		const _Atomic int *stop);

#endif
