/* check.h - a tiny unit test framework: count checks, report failures, exit status.
 *
 *   static void test_trim(void) {
 *           char *s = str_trim_dup("  x ", 4);
 *           CHECK_STR_EQ(s, "x");
 *           free(s);
 *   }
 *   int main(void) { RUN(test_trim); return check_report("unit-util"); }
 *
 *   $ ./unit-util
 *   unit-util: 42 passed, 0 failed
 *
 * A failed check prints file:line and what differed, and the test goes on, so one
 * run shows every failure.
 */
#ifndef SORA2FS_CHECK_H
#define SORA2FS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;
static const char *check_current = "";

static inline void check_result(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "%s:%d: %s: check failed: %s\n", file, line, check_current, what);
}

#define CHECK(cond) check_result(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_STR_EQ(got, want) do {                                              \
	const char *check_g_ = (got), *check_w_ = (want);                         \
	int check_ok_ = check_g_ && check_w_ ? strcmp(check_g_, check_w_) == 0     \
					      : check_g_ == check_w_;             \
	check_result(check_ok_, __FILE__, __LINE__, #got " == " #want);           \
	if (!check_ok_)                                                           \
		fprintf(stderr, "    got:  %s%s%s\n    want: %s%s%s\n",              \
			check_g_ ? "\"" : "", check_g_ ? check_g_ : "NULL",       \
			check_g_ ? "\"" : "", check_w_ ? "\"" : "",               \
			check_w_ ? check_w_ : "NULL", check_w_ ? "\"" : "");      \
} while (0)

#define CHECK_INT_EQ(got, want) do {                                              \
	long long check_g_ = (long long)(got), check_w_ = (long long)(want);      \
	check_result(check_g_ == check_w_, __FILE__, __LINE__, #got " == " #want); \
	if (check_g_ != check_w_)                                                 \
		fprintf(stderr, "    got:  %lld\n    want: %lld\n", check_g_, check_w_); \
} while (0)

/* The string contains the fragment (for error messages: wording may grow). */
#define CHECK_STR_HAS(got, part) do {                                             \
	const char *check_g_ = (got), *check_p_ = (part);                         \
	int check_ok_ = check_g_ && strstr(check_g_, check_p_) != NULL;           \
	check_result(check_ok_, __FILE__, __LINE__, #got " contains " #part);     \
	if (!check_ok_)                                                           \
		fprintf(stderr, "    got:  %s\n    want a part: %s\n",               \
			check_g_ ? check_g_ : "NULL", check_p_);                  \
} while (0)

#define RUN(fn) do { check_current = #fn; fn(); } while (0)

static inline int check_report(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
	fflush(stdout);
	return check_failed ? 1 : 0;
}

#endif
