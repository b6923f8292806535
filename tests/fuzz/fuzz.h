/*
 * fuzz.h: what the fuzz targets share. Each target is a libFuzzer program
 * (tests/fuzz/fuzz_<name>.c, built with -DINVITED_FUZZ=ON) calling the
 * project's real functions on outside bytes; a property the output must
 * have is checked with FUZZ_CHECK, which aborts, so that a wrong answer
 * is reported (and kept as an artifact) like a crash.
 */
#ifndef INVITED_FUZZ_H
#define INVITED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* The input as a NUL-terminated string (malloc'd; NULL when out of
 * memory). Bytes after a NUL in the input are kept but unseen by string
 * functions, as they would be in the server. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/* Split the input at the first n-1 bytes 0x00 into n strings (the missing
 * ones empty); the pieces point into one malloc'd copy, freed by free(*base). */
static inline int fuzz_split(const uint8_t *data, size_t size, const char **out, int n,
			     char **base)
{
	char *s = fuzz_string(data, size);
	if (s == NULL)
		return -1;
	char *p = s, *end = s + size;
	for (int i = 0; i < n; i++) {
		out[i] = p < end ? p : "";
		if (i < n - 1 && p < end)
			p += strlen(p) + 1;
	}
	*base = s;
	return 0;
}

#endif
