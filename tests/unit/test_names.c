/* test_names.c - scratch files, job names, unique names, slugs.
 *
 *   $ meson test unit-names
 */
#include "check.h"
#include "names.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void test_scratch(void)
{
	const char *scratch[] = {
		".hidden", ".cat.txt.swp", "cat.txt.swp", "cat.swo", "cat.swa", "cat.swx",
		"cat.txt~", "cat.tmp", "CAT.TMP", "4913", ".goutputstream-ABC123", "#cat.txt#",
		"", ".", "..",
	};
	for (size_t i = 0; i < sizeof scratch / sizeof scratch[0]; i++) {
		if (!name_is_scratch(scratch[i]))
			fprintf(stderr, "    not scratch: \"%s\"\n", scratch[i]);
		CHECK(name_is_scratch(scratch[i]));
	}
	const char *real[] = {
		"cat.txt", "cat", "cat.json", "cat.prompt", "49130", "cat.swq", "cat.swpx",
		"#cat", "cat#", "a~b", "tmp", "sw", "ünïcødé.txt",
	};
	for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
		if (name_is_scratch(real[i]))
			fprintf(stderr, "    scratch: \"%s\"\n", real[i]);
		CHECK(!name_is_scratch(real[i]));
	}
}

static void check_job(const char *file, const char *want)
{
	char *job = name_job_from_file(file);
	CHECK_STR_EQ(job, want);
	free(job);
}

static void test_job_from_file(void)
{
	check_job("cat.txt", "cat");
	check_job("cat.prompt", "cat");
	check_job("cat", "cat");
	check_job("a.b.txt", "a.b");
	check_job(".txt", ".txt");
	check_job("cat.", "cat");
	check_job("..x", "..x");        /* would be "." */
	check_job("chat-🐱.json", "chat-🐱");
}

/* taken() for tests: ctx is a NULL-terminated list of taken names. */
static bool in_list(const char *name, void *ctx)
{
	for (const char **p = ctx; *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

static void check_unique(const char *base, const char *suffix, const char **taken,
			 const char *want)
{
	char *n = name_unique(base, suffix, in_list, taken);
	CHECK_STR_EQ(n, want);
	free(n);
}

static void test_unique(void)
{
	const char *none[] = { NULL };
	const char *cat[] = { "cat", NULL };
	const char *cat2[] = { "cat", "cat-2", "cat-4", NULL };
	const char *mp4[] = { "cat.mp4", "cat-2.mp4", NULL };
	check_unique("cat", NULL, none, "cat");
	check_unique("cat", NULL, cat, "cat-2");
	check_unique("cat", NULL, cat2, "cat-3");
	check_unique("cat", ".mp4", mp4, "cat-3.mp4");
	check_unique("cat", ".mp4", cat, "cat.mp4");
	char *n = name_unique("x", NULL, NULL, NULL);
	CHECK_STR_EQ(n, "x");
	free(n);
}

/* A string of count copies of unit. */
static char *repeat(const char *unit, int count)
{
	buf_t b;
	buf_init(&b);
	for (int i = 0; i < count; i++)
		buf_adds(&b, unit);
	return buf_steal(&b);
}

/* Every byte sequence in s is whole UTF-8 (no cut characters). */
static bool utf8_whole(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 0;
		if (n == 0)
			return false;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

static void test_unique_long(void)
{
	const char *none[] = { NULL };
	/* Exactly 255 bytes fits as is. */
	char *a255 = repeat("a", 255);
	check_unique(a255, NULL, none, a255);
	CHECK(name_valid(a255));

	/* With a suffix the base gives way, never the suffix. */
	char *n = name_unique(a255, ".mp4", in_list, none);
	CHECK_INT_EQ(strlen(n), 255);
	CHECK(str_has_suffix(n, "aaa.mp4"));
	const char *taken[] = { n, NULL };
	char *n2 = name_unique(a255, ".mp4", in_list, taken);
	CHECK_INT_EQ(strlen(n2), 255);
	CHECK(str_has_suffix(n2, "a-2.mp4"));
	free(n);
	free(n2);

	/* 3-byte characters: cutting must not split one. 86 * 3 = 258 bytes. */
	char *cjk = repeat("猫", 86);
	n = name_unique(cjk, NULL, in_list, none);
	CHECK_INT_EQ(strlen(n), 255);
	CHECK(utf8_whole(n));
	const char *taken2[] = { n, NULL };
	n2 = name_unique(cjk, NULL, in_list, taken2);
	/* 255 - 2 ("-2") = 253 → 84 whole characters = 252 bytes, then "-2". */
	CHECK_INT_EQ(strlen(n2), 254);
	CHECK(utf8_whole(n2));
	CHECK(str_has_suffix(n2, "猫-2"));
	free(n);
	free(n2);

	/* 4-byte characters with a suffix: 64 * 4 = 256. */
	char *emoji = repeat("🐱", 64);
	n = name_unique(emoji, ".mp4", in_list, none);
	CHECK(strlen(n) <= 255);
	/* Room for 251 bytes before ".mp4": 62 whole cats (248 bytes). */
	CHECK_INT_EQ(strlen(n), 62 * 4 + 4);
	CHECK(utf8_whole(n));
	CHECK(str_has_suffix(n, "🐱.mp4"));
	free(n);
	free(a255);
	free(cjk);
	free(emoji);
}

static void check_slug(const char *prompt, const char *want)
{
	char *s = name_slug(prompt);
	CHECK_STR_EQ(s, want);
	CHECK(strlen(s) <= 40);
	free(s);
}

static void test_slug(void)
{
	check_slug("A cat, on a PIANO!", "a-cat-on-a-piano");
	check_slug("  leading and trailing  ", "leading-and-trailing");
	check_slug("", "task");
	check_slug(NULL, "task");
	check_slug("猫がピアノを弾く", "task");
	check_slug("café au lait", "caf-au-lait");
	check_slug("one two three four five six seven eight nine ten",
		   "one-two-three-four-five-six-seven-eight");
	check_slug("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
		   "abcdefghijklmnopqrstuvwxyzabcdefghijklmn");
	check_slug("@alice.sora walks", "alice-sora-walks");
}

static void test_valid(void)
{
	CHECK(name_valid("cat"));
	CHECK(name_valid(".hidden"));
	CHECK(name_valid("..."));
	CHECK(!name_valid(""));
	CHECK(!name_valid(NULL));
	CHECK(!name_valid("."));
	CHECK(!name_valid(".."));
	CHECK(!name_valid("a/b"));
	char *a256 = repeat("a", 256);
	CHECK(!name_valid(a256));
	a256[255] = '\0';
	CHECK(name_valid(a256));
	free(a256);
}

int main(void)
{
	RUN(test_scratch);
	RUN(test_job_from_file);
	RUN(test_unique);
	RUN(test_unique_long);
	RUN(test_slug);
	RUN(test_valid);
	return check_report("unit-names");
}
