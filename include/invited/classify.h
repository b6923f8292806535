/*
 * classify.h: tell what an inbound message is, from its bytes alone.
 * A bounce (RFC 3464 delivery-status reports and the common non-standard
 * forms), an auto-reply (RFC 3834 and vacation markers), a reply, or
 * unknown. The classifier parses with libetpan, never touches the store,
 * and never fails on hostile input: what it cannot read is "unknown" with a
 * reason.
 */
#ifndef INVITED_CLASSIFY_H
#define INVITED_CLASSIFY_H

#include <stddef.h>

#include "limits.h"

enum mail_class {
	MAIL_UNKNOWN = 0,
	MAIL_BOUNCE,
	MAIL_AUTO_REPLY,
	MAIL_REPLY,
};

/* Which of our tagged addresses the message was sent to. */
enum mail_tag {
	TAG_NONE = 0,
	TAG_BOUNCES, /* bounces+CODE@reply_domain: VERP envelope sender */
	TAG_VERIFY,  /* verify+CODE@reply_domain: Reply-To of verifications */
	TAG_REPLY,   /* reply+CODE@reply_domain: Reply-To of invitations */
};

enum bounce_kind {
	BOUNCE_NONE = 0,
	BOUNCE_DELAYED,   /* a warning; delivery still being tried */
	BOUNCE_TEMPORARY, /* 4.x.x failure */
	BOUNCE_PERMANENT, /* 5.x.x failure */
};

#define CLASSIFY_MAX_RCPTS 16
#define CLASSIFY_MAX_AUTH 8

struct bounce_rcpt {
	char addr[MAX_EMAIL_LEN + 1];  /* Final-Recipient or found in text */
	char action[16];               /* failed, delayed, … ("" if unknown) */
	char status[16];               /* e.g. 5.1.1 ("" if unknown) */
	char diagnostic[512];          /* the remote server's words */
	enum bounce_kind kind;
};

/* One resinfo of an Authentication-Results header. */
struct auth_result {
	char authserv_id[MAX_DOMAIN_LEN + 1];
	char method[16];  /* dkim, dmarc, spf */
	char result[16];  /* pass, fail, … */
	char domain[MAX_DOMAIN_LEN + 1]; /* header.d, header.from, smtp.mailfrom */
	int header;       /* which Authentication-Results header: 0 is the topmost */
};

struct classify_opts {
	const char *reply_domain; /* where our tagged addresses live */
};

struct classify_result {
	enum mail_class cls;
	char reason[256];         /* why this class (marker seen, or why unknown) */

	enum mail_tag tag;
	char code[MAX_CODE_LEN + 1];

	char message_id[256];     /* of this message, without brackets */
	char in_reply_to[256];
	char from_addr[MAX_EMAIL_LEN + 1];
	char from_name[MAX_NAME_LEN + 1];
	int from_count;           /* addresses in all From fields (1 in sound mail) */
	char subject[MAX_SUBJECT_LEN + 1]; /* decoded to UTF-8 */

	/* bounces */
	enum bounce_kind bounce;  /* the worst over all recipients */
	char returned_message_id[256]; /* Message-ID of the returned original */
	size_t n_rcpts;
	struct bounce_rcpt rcpts[CLASSIFY_MAX_RCPTS];

	/* replies */
	size_t n_auth;
	struct auth_result auth[CLASSIFY_MAX_AUTH];
	char *text;               /* first text/plain part as UTF-8, malloc'd */
};

/* Classify; res is fully overwritten. Returns -1 only when out of memory. */
int classify_message(const char *data, size_t len,
		     const struct classify_opts *opts,
		     struct classify_result *res, const char **error_r);
void classify_result_clear(struct classify_result *res);

const char *mail_class_str(enum mail_class cls);
const char *bounce_kind_str(enum bounce_kind kind);
const char *mail_tag_str(enum mail_tag tag); /* "" for TAG_NONE */

/* The result as a JSON object (class, tag, code, recipients, …); malloc'd. */
char *classify_result_json(const struct classify_result *res);

#endif
