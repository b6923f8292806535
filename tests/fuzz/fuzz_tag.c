/*
 * fuzz_tag.c: finding our tagged addresses (bounces+CODE@, verify+CODE@,
 * reply+CODE@ the reply domain: VERP and Reply-To tags) in arbitrary
 * text, as the classifier scans headers and bodies for them, and the
 * address reader under it. A code found must be one the server could
 * have minted: lower-case base32 (a-z, 2-7), within MAX_CODE_LEN.
 */
#include "../../verifier/classify_int.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char code[MAX_CODE_LEN + 1];
	memset(code, 0, sizeof(code));
	enum mail_tag tag = cls_tag_scan(s, size, "invites.example.test", ~0u, code);
	FUZZ_CHECK(tag >= TAG_NONE && tag <= TAG_REPLY);
	if (tag != TAG_NONE) {
		FUZZ_CHECK(code[0] != '\0');
		FUZZ_CHECK(strlen(code) <= MAX_CODE_LEN);
		for (const char *c = code; *c; c++)
			FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '2' && *c <= '7'));
	}
	/* where a word starts: every offset would make a long word quadratic */
	for (size_t i = 0; i < size; i++) {
		size_t len = 0;
		if (i > 0 && s[i - 1] != ' ' && s[i - 1] != '<' && s[i - 1] != '\n')
			continue;
		if (cls_addr_at(s + i, size - i, &len))
			FUZZ_CHECK(len > 0 && len <= size - i);
	}
	return 0;
}
