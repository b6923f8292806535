/*
 * test.h: the unit-test harness. A test file defines cases with TEST(name)
 * and ends with TEST_MAIN(). CMake registers one ctest entry per case, and
 * runs the binary with the case name; without a name, every case runs.
 */
#ifndef INVITED_TEST_H
#define INVITED_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_MAX_CASES 256
static struct test_case test_cases[TEST_MAX_CASES];
static int test_case_count;
static int test_failures;

#define TEST(name)                                                             \
	static void test_##name(void);                                         \
	__attribute__((constructor)) static void test_register_##name(void)    \
	{                                                                      \
		if (test_case_count < TEST_MAX_CASES)                          \
			test_cases[test_case_count++] =                        \
				(struct test_case){#name, test_##name};        \
	}                                                                      \
	static void test_##name(void)

#define test_assert(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: assertion failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			test_failures++;                                       \
		}                                                              \
	} while (0)

#define test_assert_int(a, b)                                                  \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
				__FILE__, __LINE__, #a, a_, #b, b_);           \
			test_failures++;                                       \
		}                                                              \
	} while (0)

#define test_assert_str(a, b)                                                  \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {         \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)",    \
				b_ ? b_ : "(null)");                           \
			test_failures++;                                       \
		}                                                              \
	} while (0)

#define test_assert_contains(hay, needle)                                      \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (h_ == NULL || strstr(h_, n_) == NULL) {                    \
			fprintf(stderr, "%s:%d: %s does not contain \"%s\"\n", \
				__FILE__, __LINE__, #hay, n_);                 \
			test_failures++;                                       \
		}                                                              \
	} while (0)

static inline int test_main(int argc, char **argv)
{
	int ran = 0;
	for (int i = 0; i < test_case_count; i++) {
		if (argc > 1 && strcmp(argv[1], test_cases[i].name) != 0)
			continue;
		int before = test_failures;
		test_cases[i].fn();
		ran++;
		printf("%s %s\n", test_failures == before ? "ok" : "FAIL",
		       test_cases[i].name);
	}
	if (ran == 0) {
		fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "");
		return 2;
	}
	return test_failures == 0 ? 0 : 1;
}

#define TEST_MAIN()                                                            \
	int main(int argc, char **argv) { return test_main(argc, argv); }

#endif
