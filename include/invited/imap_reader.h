/*
 * imap_reader.h: watching the server's mailbox over IMAP with libetpan.
 * (The reader itself arrives with the inbound-mail work; its settings are
 * part of the configuration from the start.)
 */
#ifndef INVITED_IMAP_READER_H
#define INVITED_IMAP_READER_H

#include <stdint.h>

enum imap_tls { IMAP_TLS_NONE, IMAP_TLS_STARTTLS, IMAP_TLS_IMPLICIT };

struct imap_config {
	int enabled;
	char host[256];
	int port;
	enum imap_tls tls;
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

#endif
