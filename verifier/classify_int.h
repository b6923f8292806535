/*
 * classify_int.h: what the parts of the classifier share: the message as
 * libetpan parsed it, bounded walks over its MIME tree, and the text
 * helpers that keep every string in a result clean UTF-8.
 */
#ifndef INVITED_CLASSIFY_INT_H
#define INVITED_CLASSIFY_INT_H

#include <libetpan/libetpan.h>
#include <stddef.h>

#include "invited/classify.h"

#define CLS_MAX_DEPTH 32          /* MIME levels walked */
#define CLS_MAX_COMPOSITE 32      /* multipart or message headers libetpan may nest */
#define CLS_MAX_COMMENT_DEPTH 64  /* nested "(" in a header before we refuse it */
#define CLS_MAX_PARTS 1024        /* MIME parts visited in one walk */
#define CLS_MAX_FIELDS 10000      /* fields in the top-level header */
#define CLS_MAX_BOUNDARIES 10000  /* lines starting with "--" */
#define CLS_MAX_TEXT (1024 * 1024) /* decoded bytes of a text part we convert */
#define CLS_SCAN_MAX (256 * 1024) /* bytes of body text the heuristics read */

/* The message being classified. Everything points into buf or mime. */
struct cls_msg {
	char *buf;                      /* NUL-terminated copy of the input */
	size_t len;
	struct mailmime *mime;          /* whole message; NULL when not parsed */
	struct mailimf_fields *fields;  /* top-level header, or NULL */
	struct mailimf_fields *own_fields; /* fields parsed without mime */
	struct mailmime *body;          /* top-level body part, or NULL */
	const char *raw_body;           /* bytes after the header */
	size_t raw_body_len;
	const char *refused;            /* why MIME was not parsed, or NULL */
	int too_deep;                   /* a walk stopped at CLS_MAX_DEPTH */
	int oom;
	char *text;                     /* first text/plain part, or NULL */
	char *scan;                     /* text the heuristics read */
};

/* classify_mime.c */
int cls_msg_open(struct cls_msg *m, const char *data, size_t len);
void cls_msg_close(struct cls_msg *m);
/* NULL when libetpan can parse data without recursing deeply; else why. */
const char *cls_guard(const char *data, size_t len, int *headers_ok);
/* Value of the n-th (0-based) unstructured field called name, or NULL. */
const char *cls_field(const struct mailimf_fields *f, const char *name, int n);
/* RFC 2047 words decoded to UTF-8, malloc'd; NULL only out of memory. */
char *cls_decode_words(const char *raw);
int cls_is_type(const struct mailmime *p, const char *type, const char *subtype);
int cls_is_attachment(const struct mailmime *p);
/* The Message-ID in f, without brackets; 0 when there is none. */
int cls_fields_msgid(const struct mailimf_fields *f, char *dst, size_t size);
const char *cls_param(const struct mailmime *p, const char *name);
/* The body of a single part, transfer-decoded, NUL-terminated, malloc'd;
 * at most max bytes. NULL on no data or out of memory (then m->oom). */
char *cls_part_bytes(struct cls_msg *m, const struct mailmime *p, size_t max, size_t *len_r);
/* The body of a text part in UTF-8 (clean, LF line ends), malloc'd. */
char *cls_part_utf8(struct cls_msg *m, const struct mailmime *p);

typedef int cls_match_fn(const struct mailmime *p, void *arg);
/* First part under root (root included) that match accepts, depth-first,
 * within CLS_MAX_DEPTH and CLS_MAX_PARTS; enclosed messages are entered
 * only with into_messages. */
struct mailmime *cls_find(struct cls_msg *m, struct mailmime *root, cls_match_fn *match,
			  void *arg, int into_messages);

/* classify_text.c */
/* One clean line: valid UTF-8, controls and runs of blanks made one space,
 * trimmed, cut at a character boundary to fit size. */
void cls_set(char *dst, size_t size, const char *src, size_t len);
/* Multi-line clean text (LF ends, tabs kept, other controls dropped,
 * invalid UTF-8 as U+FFFD), malloc'd; NULL out of memory. */
char *cls_clean_text(const char *src, size_t len);
const char *cls_find_ci(const char *hay, size_t len, const char *needle);
int cls_prefix_ci(const char *s, const char *prefix);
/* The value without leading and trailing blanks, as [*start, *start+len). */
size_t cls_trim(const char **start, size_t len);
/* An <msg-id> or bare id in s, copied without brackets; 0 when none. */
int cls_msgid(char *dst, size_t size, const char *s, size_t len);

/* classify_tag.c */
/* Our tagged address in s (anywhere in it), or TAG_NONE. Only tags in
 * mask (1 << TAG_x) are accepted. */
enum mail_tag cls_tag_scan(const char *s, size_t len, const char *domain, unsigned mask,
			   char code[MAX_CODE_LEN + 1]);
void cls_tag_find(struct cls_msg *m, const char *domain, struct classify_result *res);
/* For bounces not addressed to a tag: the returned message's envelope. */
void cls_tag_find_returned(struct cls_msg *m, const char *domain, struct classify_result *res);
/* 1 when the addr-spec at s looks like an address; its length in *len_r. */
int cls_addr_at(const char *s, size_t left, size_t *len_r);

/* classify_bounce.c */
/* 1 when the message is a bounce; sets res->reason. */
int cls_bounce_detect(struct cls_msg *m, struct classify_result *res);
void cls_bounce_read(struct cls_msg *m, struct classify_result *res);
/* A bounce's recipients and diagnostics from its words (no report). */
void cls_bounce_text_read(const char *s, struct classify_result *res, enum bounce_kind hint);
/* What the bounce readers share: the bytes of s they read (CLS_SCAN_MAX at
 * most), whether any of n words is in s, and whether addr's local part is
 * a mailer daemon's. */
size_t cls_scan_len(const char *s);
int cls_any_of(const char *s, size_t len, const char *const *words, size_t n);
int cls_daemon_local(const char *addr, size_t len);

/* classify_dsn.c */
/* Recipients of an RFC 3464 report; 0 when there is none. */
int cls_dsn_read(struct cls_msg *m, struct classify_result *res);
struct mailmime *cls_dsn_part(struct cls_msg *m);
/* Status, SMTP code and diagnostic found in free text. */
void cls_status_scan(const char *text, size_t len, char status[16], int *smtp_code,
		     size_t *diag_off);
enum bounce_kind cls_kind_of(const char *action, const char *status, int smtp_code);

/* classify_auth.c */
void cls_auth_read(struct cls_msg *m, struct classify_result *res);

#endif
