/*
 * classify_test.h: what the classifier tests share: the corpus of
 * tests/corpus/classify, reading it (also with CRLF line ends), and the
 * checks every result must pass (clean UTF-8, valid JSON).
 */
#ifndef INVITED_TEST_CLASSIFY_H
#define INVITED_TEST_CLASSIFY_H

#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invited/classify.h"
#include "invited/text.h"
#include "test.h"

#define DOMAIN "example.test"

static const struct classify_opts opts = {.reply_domain = DOMAIN};

static const char *const corpus[] = {
	"auto-submitted-no.eml", "auto-submitted.eml", "dsn-base64-parts.eml",
	"dsn-delayed.eml", "dsn-multi-rcpt.eml", "dsn-postfix-permanent.eml",
	"dsn-temporary.eml", "empty.eml", "hostile-bad-charset.eml",
	"hostile-bad-encoding.eml", "hostile-big-header.eml", "hostile-broken-boundary.eml",
	"hostile-deep-comments.eml", "hostile-deep-nesting.eml", "hostile-nul-bytes.eml",
	"hostile-unterminated.eml", "mdn-read-receipt.eml", "outlook-auto-reply.eml",
	"precedence-auto-reply.eml", "precedence-junk.eml", "reply-plain.eml",
	"reply-verify-auth.eml", "text-exchange.eml", "text-exim-delayed.eml",
	"text-exim.eml", "text-postfix.eml", "text-qmail.eml", "text-yahoo.eml",
	"text-domino.eml", "text-groupwise.eml", "text-simple.eml", "text-sendmail.eml",
	"unknown-no-tag.eml", "vacation.eml", "x-autoreply.eml",
	/* the families of test_classify_families.c */
	"dsn-inline-text.eml", "dsn-original-recipient.eml", "dsn-unusual-fields.eml",
	"text-aol.eml", "text-courier.eml", "text-exchange-delay.eml",
	"text-exchange2003.eml", "text-gmail-delay.eml", "text-gmail.eml",
	"text-hmailserver.eml", "text-imail-quota.eml", "text-mailru.eml",
	"text-notes-failure-report.eml", "text-o365.eml", "text-postfix-delay.eml",
	"text-qmail-remote.eml", "text-qmail-vpopmail.eml", "text-sina.eml",
	"text-smtp32.eml",
};

#define N_CORPUS (sizeof(corpus) / sizeof(corpus[0]))

/* ---------------------------------------------------------------- helpers */

static inline char *read_corpus(const char *name, size_t *len)
{
	const char *dir = getenv("INVITED_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/corpus/classify/%s", dir ? dir : ".", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size)
		exit(2);
	fclose(f);
	buf[size] = '\0';
	*len = (size_t)size;
	return buf;
}

static inline char *to_crlf(const char *s, size_t len, size_t *out_len)
{
	char *out = malloc(len * 2 + 1), *o = out;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			*o++ = '\r';
		*o++ = s[i];
	}
	*o = '\0';
	*out_len = (size_t)(o - out);
	return out;
}

/* What every result must be, whatever went in. */
static inline void check_clean(const struct classify_result *r)
{
	test_assert(r->cls <= MAIL_REPLY);
	test_assert(text_ok(r->reason, sizeof(r->reason) - 1, TEXT_LINE));
	test_assert(text_ok(r->code, MAX_CODE_LEN, TEXT_LINE));
	test_assert((r->tag == TAG_NONE) == (r->code[0] == '\0'));
	test_assert(text_ok(r->message_id, sizeof(r->message_id) - 1, TEXT_LINE));
	test_assert(text_ok(r->in_reply_to, sizeof(r->in_reply_to) - 1, TEXT_LINE));
	test_assert(text_ok(r->from_addr, MAX_EMAIL_LEN, TEXT_LINE));
	test_assert(text_ok(r->from_name, MAX_NAME_LEN, TEXT_LINE));
	test_assert(text_ok(r->subject, MAX_SUBJECT_LEN, TEXT_LINE));
	test_assert(text_ok(r->returned_message_id, 255, TEXT_LINE));
	test_assert(r->n_rcpts <= CLASSIFY_MAX_RCPTS);
	test_assert(r->n_auth <= CLASSIFY_MAX_AUTH);
	for (size_t i = 0; i < r->n_rcpts && i < CLASSIFY_MAX_RCPTS; i++) {
		const struct bounce_rcpt *b = &r->rcpts[i];
		test_assert(text_ok(b->addr, MAX_EMAIL_LEN, TEXT_LINE));
		test_assert(text_ok(b->action, 15, TEXT_LINE));
		test_assert(text_ok(b->status, 15, TEXT_LINE));
		test_assert(text_ok(b->diagnostic, 511, TEXT_LINE));
		test_assert(b->kind <= r->bounce);
	}
	for (size_t i = 0; i < r->n_auth && i < CLASSIFY_MAX_AUTH; i++) {
		test_assert(text_ok(r->auth[i].authserv_id, MAX_DOMAIN_LEN, TEXT_LINE));
		test_assert(text_ok(r->auth[i].method, 15, TEXT_LINE));
		test_assert(text_ok(r->auth[i].result, 15, TEXT_LINE));
		test_assert(text_ok(r->auth[i].domain, MAX_DOMAIN_LEN, TEXT_LINE));
	}
	if (r->text != NULL)
		test_assert(text_ok(r->text, strlen(r->text), TEXT_MULTILINE));
	char *json = classify_result_json(r);
	test_assert(json != NULL);
	free(json);
}

static inline void classify_buf(const char *data, size_t len, struct classify_result *r)
{
	const char *err = "unset";
	test_assert_int(classify_message(data, len, &opts, r, &err), 0);
	test_assert(err == NULL);
	check_clean(r);
}

/* Classify a corpus file; its CRLF twin must come out the same. */
static inline void classify_file(const char *name, struct classify_result *r)
{
	size_t len, crlf_len;
	char *data = read_corpus(name, &len), *crlf = to_crlf(data, len, &crlf_len);
	struct classify_result twin;
	classify_buf(data, len, r);
	classify_buf(crlf, crlf_len, &twin);
	test_assert_int(twin.cls, r->cls);
	test_assert_int(twin.tag, r->tag);
	test_assert_str(twin.code, r->code);
	test_assert_int(twin.bounce, r->bounce);
	test_assert_int(twin.n_rcpts, r->n_rcpts);
	test_assert_str(twin.subject, r->subject);
	test_assert_str(twin.returned_message_id, r->returned_message_id);
	for (size_t i = 0; i < r->n_rcpts && i < twin.n_rcpts; i++) {
		test_assert_str(twin.rcpts[i].addr, r->rcpts[i].addr);
		test_assert_str(twin.rcpts[i].status, r->rcpts[i].status);
		test_assert_str(twin.rcpts[i].diagnostic, r->rcpts[i].diagnostic);
	}
	classify_result_clear(&twin);
	free(crlf);
	free(data);
}

static inline void expect_rcpt(const struct classify_result *r, size_t i, const char *addr,
			const char *action, const char *status, const char *diag,
			enum bounce_kind kind)
{
	test_assert(i < r->n_rcpts);
	if (i >= r->n_rcpts)
		return;
	test_assert_str(r->rcpts[i].addr, addr);
	test_assert_str(r->rcpts[i].action, action);
	test_assert_str(r->rcpts[i].status, status);
	test_assert_contains(r->rcpts[i].diagnostic, diag);
	test_assert_int(r->rcpts[i].kind, kind);
}

static inline void expect_tag(const struct classify_result *r, enum mail_tag tag, const char *code)
{
	test_assert_int(r->tag, tag);
	test_assert_str(r->code, code);
}

#endif
