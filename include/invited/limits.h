/*
 * limits.h: every size limit of invited in one place.
 * Inputs are checked against these at the edge (HTTP, config, mail),
 * so that code behind the edge can rely on them.
 */
#ifndef INVITED_LIMITS_H
#define INVITED_LIMITS_H

#define MAX_EMAIL_LEN 254        /* RFC 5321 path limit */
#define MAX_LOCAL_PART_LEN 64    /* RFC 5321 */
#define MAX_DOMAIN_LEN 253
#define MAX_DOMAINS 20           /* email domains one organization owns */
#define MAX_NAME_LEN 200         /* person or display name */
#define MAX_LEGAL_NAME_LEN 200
#define MAX_ADDRESS_LEN 500      /* postal address */
#define MAX_PHONE_LEN 40
#define MAX_URL_LEN 2048
#define MAX_PARTNER_ID_LEN 40
#define MAX_LOCALE_LEN 15
#define MAX_REASON_LEN 1000      /* approval, rejection, bounce reasons */
#define MAX_MESSAGE_LEN 4000     /* inviter's personal note */
#define MAX_SUBJECT_LEN 250
#define MAX_BODY_LEN 65536       /* an editable draft text */
#define MAX_TOKEN_LEN 1024       /* a link token, as text */
#define LINK_CLOCK_SKEW 300       /* seconds a link's iat may be ahead of our clock */
#define LINK_CACHE_SLOTS 8192    /* verified link tokens remembered (token_cache.h): ~1 MiB */
#define MAX_KID_LEN 64           /* "k4.pid." + 44 */
#define MAX_CODE_LEN 40          /* reply and VERP codes */
#define MAX_REPLY_DOMAIN_LEN 200 /* room for "bounces+" CODE "@" in an address */

/* The HTTP endpoint's connections (server/http_guard.c): a client that
 * opens many, or trickles a request byte by byte, cannot starve others. */
#define HTTP_MAX_CONNECTIONS 1000    /* open at once, all clients together */
#define HTTP_PER_ADDRESS 64          /* open at once from one client address */
#define HTTP_IDLE_TIMEOUT 30         /* seconds a connection may stay silent */
#define HTTP_REQUEST_DEADLINE 10     /* seconds for a whole request to arrive */
#define HTTP_OFFENDER_LOG_INTERVAL 60 /* seconds between log lines about one address */

#define MAX_JSON_BODY 65536      /* API request bodies */
#define MAX_FORM_BODY 8192       /* page form posts */
#define MAX_DRAFT_FORM_BODY (3 * MAX_BODY_LEN + 8192) /* a draft's text, URL-encoded */
#define MAX_MAIL_SIZE (10 * 1024 * 1024) /* inbound message we will parse */
#define MAX_ERROR_LEN 512
#define MAX_WEBHOOKS 10          /* live webhook endpoints per organization (and the operator's) */
#define MAX_WEBHOOK_EVENTS 512   /* an endpoint's event filter, comma-separated */
#define WEBHOOK_RESPONSE_KEPT 200 /* bytes of a receiver's answer kept with the delivery */
#define WEBHOOK_RETRY_FOR 259200 /* seconds a delivery is retried before it fails (3 days) */
#define WEBHOOK_MAX_THREADS 16   /* [webhooks] concurrency at most */
#define OUTBOX_MAX_SENDERS 16    /* [smtp] concurrency at most: SMTP sessions at once */

/* An accept from a link the inviter has seen waits for a confirmation
 * mailed to the invitee: its link lives this long (never past the
 * invitation's), and a new one is mailed at most this often. */
#define CONFIRM_LINK_LIFETIME (2 * 24 * 3600)
#define CONFIRM_MAIL_INTERVAL 120
#define CONFIRM_MAILS_PER_ADDRESS 5 /* an hour, from all invitations */

/* Sign-in by mail (links/signin.c). */
#define SIGNIN_LINK_LIFETIME (15 * 60) /* seconds a sign-in link works */
#define JOIN_LINK_LIFETIME (7 * 86400) /* a join_org link, once */
#define SIGNIN_MAILS_PER_ADDRESS 20    /* sign-in mails to one address an hour, in all */
#define SIGNIN_MAILS_PER_PAIR 3        /* ... asked for from one client address */
#define SIGNIN_ORGS_PER_MAIL 10        /* organizations one sign-in mail offers */
#define SESSION_TOUCH_INTERVAL 60      /* least seconds between two "last seen" writes */

#endif
