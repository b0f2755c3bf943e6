/* test_strset.c - the string set notify.c uses for its snapshots.
 *
 *   $ meson test unit-strset
 */
#include "check.h"
#include "strset.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

static void test_empty(void)
{
	struct strset s = STRSET_INIT;
	size_t v = 99;
	CHECK(!strset_get(&s, "", &v));
	CHECK(!strset_get(&s, "cat", NULL));
	CHECK(v == 99);
	strset_free(&s);
	strset_free(&s);
}

static void test_many(void)
{
	enum { N = 20000 };
	char **keys = xcalloc(N, sizeof *keys);
	struct strset s = STRSET_INIT;
	for (size_t i = 0; i < N; i++) {
		keys[i] = xasprintf("sora_%zu.mp4", i);
		CHECK(strset_put(&s, keys[i], i));
	}
	CHECK(s.n == N);
	/* a second copy of a key (another pointer, same text) is not added */
	char dup[] = "sora_123.mp4";
	CHECK(!strset_put(&s, dup, 7));
	CHECK(s.n == N);
	size_t bad = 0;
	for (size_t i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof want, "sora_%zu.mp4", i);
		size_t v = 0;
		if (!strset_get(&s, want, &v) || v != i)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(!strset_get(&s, "sora_20000.mp4", NULL));
	CHECK(!strset_get(&s, "", NULL));
	CHECK(strset_put(&s, "", 5));
	size_t v = 0;
	CHECK(strset_get(&s, "", &v) && v == 5);
	strset_free(&s);
	for (size_t i = 0; i < N; i++)
		free(keys[i]);
	free(keys);
}

int main(void)
{
	RUN(test_empty);
	RUN(test_many);
	return check_report("unit-strset");
}
