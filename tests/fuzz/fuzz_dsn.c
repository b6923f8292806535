/*
 * fuzz_dsn.c: the delivery-status parser (RFC 3464) on its own: the input
 * is the body of the message/delivery-status part of a multipart/report,
 * read by cls_dsn_read as the classifier reads a bounce's report, and
 * then the bounce's free-text reading (cls_status_scan) on the same bytes.
 */
#include "../../verifier/classify_int.h"
#include "fuzz.h"
#include "invited/text.h"

static const char head[] = "From: MAILER-DAEMON@mx.example.test\r\n"
			   "To: bounces+abc123@invites.example.test\r\n"
			   "Subject: Undelivered Mail Returned to Sender\r\n"
			   "MIME-Version: 1.0\r\n"
			   "Content-Type: multipart/report; report-type=delivery-status;"
			   " boundary=\"B\"\r\n\r\n"
			   "--B\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n"
			   "--B\r\nContent-Type: message/delivery-status\r\n\r\n";
static const char tail[] = "\r\n--B--\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = sizeof(head) - 1 + size + sizeof(tail) - 1;
	char *msg = malloc(len);
	if (msg == NULL)
		return 0;
	memcpy(msg, head, sizeof(head) - 1);
	memcpy(msg + sizeof(head) - 1, data, size);
	memcpy(msg + sizeof(head) - 1 + size, tail, sizeof(tail) - 1);
	struct cls_msg m;
	struct classify_result res;
	memset(&res, 0, sizeof(res));
	if (cls_msg_open(&m, msg, len) == 0) {
		cls_dsn_read(&m, &res);
		FUZZ_CHECK(res.n_rcpts <= CLASSIFY_MAX_RCPTS);
		for (size_t i = 0; i < res.n_rcpts; i++) {
			const struct bounce_rcpt *r = &res.rcpts[i];
			FUZZ_CHECK(utf8_valid(r->addr, strlen(r->addr)));
			FUZZ_CHECK(utf8_valid(r->diagnostic, strlen(r->diagnostic)));
			FUZZ_CHECK(strlen(r->status) < sizeof(r->status));
		}
		cls_msg_close(&m);
	}
	char status[16] = "";
	int code = 0;
	size_t diag = 0;
	cls_status_scan((const char *)data, size, status, &code, &diag);
	FUZZ_CHECK(diag <= size);
	FUZZ_CHECK(code == 0 || (code >= 200 && code <= 599));
	free(msg);
	return 0;
}
