/*
 * fuzz_classify.c: a whole raw message through the inbound classifier,
 * as `invited mail classify` and the IMAP reader give it one, and the
 * result through its JSON form. Every string in a result must be valid
 * UTF-8 (the classifier promises clean text to the store and the API).
 */
#include "fuzz.h"
#include "invited/classify.h"
#include "invited/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct classify_opts opts = {.reply_domain = "invites.example.test"};
	struct classify_result res;
	const char *err = NULL;
	if (classify_message((const char *)data, size, &opts, &res, &err) == 0) {
		FUZZ_CHECK(utf8_valid(res.reason, strlen(res.reason)));
		FUZZ_CHECK(utf8_valid(res.subject, strlen(res.subject)));
		FUZZ_CHECK(utf8_valid(res.from_name, strlen(res.from_name)));
		FUZZ_CHECK(res.n_rcpts <= CLASSIFY_MAX_RCPTS);
		for (size_t i = 0; i < res.n_rcpts; i++)
			FUZZ_CHECK(utf8_valid(res.rcpts[i].diagnostic,
					      strlen(res.rcpts[i].diagnostic)));
		if (res.text != NULL)
			FUZZ_CHECK(utf8_valid(res.text, strlen(res.text)));
		char *json = classify_result_json(&res);
		FUZZ_CHECK(json != NULL);
		free(json);
	}
	classify_result_clear(&res);
	return 0;
}
