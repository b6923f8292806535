/*
 * mime.h: build RFC 5322 / MIME messages with libetpan.
 * A message is multipart/alternative (text/plain and text/html, UTF-8,
 * quoted-printable), or a single text/plain part when there is no HTML.
 * Header values are checked (no CR, LF or other control characters) and
 * non-ASCII ones are written as RFC 2047 encoded words. The output uses
 * CRLF line endings and is ready for SMTP DATA.
 */
#ifndef INVITED_MIME_H
#define INVITED_MIME_H

#include <stddef.h>
#include <stdint.h>

struct mail_addr {
	const char *name; /* display name, UTF-8, may be NULL */
	const char *addr; /* addr-spec, ASCII */
};

#define MAIL_MAX_EXTRA 4

struct mail_spec {
	struct mail_addr from;
	struct mail_addr to;
	struct mail_addr reply_to;  /* addr NULL for none */
	const char *subject;        /* UTF-8 */
	const char *text;           /* UTF-8, LF or CRLF line ends */
	const char *html;           /* UTF-8, NULL for text only */
	const char *message_id;     /* without angle brackets */
	const char *in_reply_to;    /* msg-id without brackets, or NULL */
	int64_t date;               /* unix seconds */
	int auto_submitted;         /* adds Auto-Submitted: auto-generated */
	size_t n_extra;             /* further headers, e.g. X-Invited-Kind */
	const char *extra_name[MAIL_MAX_EXTRA];
	const char *extra_value[MAIL_MAX_EXTRA];
};

/*
 * Build the message. *data_r is malloc'd (NUL-terminated), *len_r its
 * length. Fails with a message naming the bad field.
 */
int mime_build(const struct mail_spec *spec, char **data_r, size_t *len_r,
	       const char **error_r);

/*
 * A header value as it must be written: verbatim when it is printable
 * ASCII, else RFC 2047 encoded words (UTF-8, B encoding, each word at most
 * 75 characters, never splitting a character). malloc'd; NULL on a control
 * character or invalid UTF-8.
 */
char *mime_encode_header(const char *utf8);

/* 1 when s is a syntactically valid addr-spec we are willing to send to
 * (dot-atom local part, dotted domain of letters, digits and hyphens). */
int mime_addr_valid(const char *s);
/* A person's address: mime_addr_valid, and no source route in its local
 * part ("a%b@relay.example", "b!a@relay.example": forms a relay may pass
 * on to another host), so that what was proven or promised for one
 * mailbox is not another's. For invitees, contacts and users. */
int mime_addr_personal(const char *s);
/* Why s is not personal, for an error ("not an email address", or the
 * source route). */
const char *mime_addr_why(const char *s);

#endif
