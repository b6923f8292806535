/*
 * fuzz_auth_results.c: the Authentication-Results reader (RFC 8601) on
 * its own: the input is the value of the message's header fields (each
 * line its own Authentication-Results field), read by cls_auth_read as
 * the classifier reads a reply's.
 */
#include "../../verifier/classify_int.h"
#include "fuzz.h"
#include "invited/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char name[] = "Authentication-Results: ";
	static const char rest[] = "From: Rita <rita@contoso.example>\r\n"
				   "To: reply+abc123@invites.example.test\r\n"
				   "Subject: Re: your invitation\r\n\r\nYes.\r\n";
	/* each input line becomes a field of its own */
	char *msg = malloc(size * (sizeof(name) + 2) + sizeof(name) + sizeof(rest) + 4);
	if (msg == NULL)
		return 0;
	size_t len = 0;
	const char *p = (const char *)data, *end = p + size;
	do {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		memcpy(msg + len, name, sizeof(name) - 1);
		len += sizeof(name) - 1;
		memcpy(msg + len, p, (size_t)(eol - p));
		len += (size_t)(eol - p);
		memcpy(msg + len, "\r\n", 2);
		len += 2;
		p = nl ? nl + 1 : end;
	} while (p < end);
	memcpy(msg + len, rest, sizeof(rest) - 1);
	len += sizeof(rest) - 1;
	struct cls_msg m;
	struct classify_result res;
	memset(&res, 0, sizeof(res));
	if (cls_msg_open(&m, msg, len) == 0) {
		cls_auth_read(&m, &res);
		FUZZ_CHECK(res.n_auth <= CLASSIFY_MAX_AUTH);
		for (size_t i = 0; i < res.n_auth; i++) {
			const struct auth_result *a = &res.auth[i];
			FUZZ_CHECK(strlen(a->authserv_id) < sizeof(a->authserv_id));
			FUZZ_CHECK(utf8_valid(a->domain, strlen(a->domain)));
			FUZZ_CHECK(a->header >= 0);
		}
		cls_msg_close(&m);
	}
	free(msg);
	return 0;
}
