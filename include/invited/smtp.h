/*
 * smtp.h: submit messages over SMTP with libesmtp.
 * One call sends a batch over one connection (PIPELINING when offered) and
 * reports, per message, whether it was accepted, refused for now (4xx,
 * connection or TLS trouble) or refused for good (5xx), with the server's
 * own reply.
 */
#ifndef INVITED_SMTP_H
#define INVITED_SMTP_H

#include <stddef.h>

/*
 * SMTP_TLS_STARTTLS is required TLS: a server that does not offer STARTTLS,
 * or whose certificate does not verify (chain to the system's CAs or to
 * ca_file, and the host name or address), gets QUIT and nothing else, and
 * every message waits with the reason. SMTP_TLS_IMPLICIT is refused by
 * smtp_config_check (libesmtp has no implicit TLS).
 */
enum smtp_tls { SMTP_TLS_NONE, SMTP_TLS_STARTTLS, SMTP_TLS_IMPLICIT };

struct smtp_config {
	char host[256];
	int port;
	enum smtp_tls tls;
	char ca_file[512];       /* PEM CAs to trust; empty: the system's */
	int allow_plaintext;     /* tls none to a host other than loopback */
	char user[256];          /* empty: no AUTH */
	char password[256];
	char helo[256];          /* empty: the system's host name */
	int command_timeout;     /* seconds, for the greeting and each reply
				    (libesmtp has no separate connect timeout) */
};

enum smtp_outcome {
	SMTP_SENT = 0,
	SMTP_TEMPFAIL, /* try again later */
	SMTP_PERMFAIL, /* do not try again */
};

struct smtp_item {
	/* in */
	const char *env_from;  /* envelope sender (VERP) */
	const char *rcpt;      /* one envelope recipient */
	const char *data;      /* the message, CRLF line ends */
	size_t len;
	/* out */
	enum smtp_outcome outcome;
	int code;              /* SMTP reply code, 0 when none was received */
	char reply[512];       /* the server's reply text, or our reason */
};

/*
 * Send every item over one session. Returns 0 when the session ran (each
 * item then has its own outcome), -1 when it could not start at all (every
 * item is then SMTP_TEMPFAIL with the reason in reply and *error_r).
 */
int smtp_send_batch(const struct smtp_config *cfg, struct smtp_item *items,
		    size_t n, const char **error_r);

/* Check a config before first use: e.g. refuses TLS modes the build lacks.
 * *warning_r: what is allowed but unwise (AUTH in the clear), or NULL. */
int smtp_config_check(const struct smtp_config *cfg, const char **warning_r,
		      const char **error_r);

#endif
