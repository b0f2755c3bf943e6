/* test_util.c - buffers, strings, secret masking and atomic file writes.
 *
 *   $ meson test unit-util
 */
#include "check.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/sora2fs-unit-util-XXXXXX";

static void test_buf(void)
{
	buf_t b;
	buf_init(&b);
	char *empty = buf_steal(&b);
	CHECK_STR_EQ(empty, "");
	free(empty);

	buf_adds(&b, "job ");
	buf_printf(&b, "%s: %d%%", "cat", 40);
	buf_add(&b, "xyz", 1);
	CHECK_INT_EQ(b.len, strlen("job cat: 40%x"));
	CHECK_STR_EQ(b.data, "job cat: 40%x");
	/* Growing past the first allocation keeps the contents. */
	for (int i = 0; i < 1000; i++)
		buf_adds(&b, "0123456789");
	CHECK_INT_EQ(b.len, 13 + 10000);
	CHECK(b.data[b.len] == '\0');
	char *s = buf_steal(&b);
	CHECK(b.data == NULL && b.len == 0);
	CHECK(strncmp(s, "job cat: 40%x0123", 17) == 0);
	free(s);

	/* Embedded NULs are kept (binary data). */
	buf_add(&b, "a\0b", 3);
	CHECK_INT_EQ(b.len, 3);
	CHECK(memcmp(b.data, "a\0b", 4) == 0);
	buf_free(&b);
	CHECK(b.data == NULL);
}

static void test_strings(void)
{
	char *s = str_trim_dup(" \t hello world \r\n", 17);
	CHECK_STR_EQ(s, "hello world");
	free(s);
	s = str_trim_dup(" \r\n\t", 4);
	CHECK_STR_EQ(s, "");
	free(s);
	s = str_trim_dup("abcdef", 3);
	CHECK_STR_EQ(s, "abc");
	free(s);
	s = str_trim_dup("", 0);
	CHECK_STR_EQ(s, "");
	free(s);

	CHECK(str_has_prefix("sk-123", "sk-"));
	CHECK(!str_has_prefix("s", "sk-"));
	CHECK(str_has_prefix("x", ""));
	CHECK(str_has_suffix("cat.mp4", ".mp4"));
	CHECK(!str_has_suffix("mp4", ".mp4"));
	CHECK(str_has_suffix("x", ""));

	CHECK(xstrdup(NULL) == NULL);
	s = xstrndup("abcdef", 2);
	CHECK_STR_EQ(s, "ab");
	free(s);
	s = xstrndup("ab", 10);
	CHECK_STR_EQ(s, "ab");
	free(s);
	s = xasprintf("%d-%s", 7, "x");
	CHECK_STR_EQ(s, "7-x");
	free(s);
	char *p = xcalloc(4, 4);
	CHECK(p[15] == 0);
	p = xrealloc(p, 100);
	free(p);
}

static void test_mask_secret(void)
{
	char *m = mask_secret("sk-abcdef123456wxyz");
	CHECK_STR_EQ(m, "sk-abc…wxyz");
	free(m);
	m = mask_secret("short");
	CHECK_STR_EQ(m, "…");
	free(m);
	m = mask_secret("12345678901");     /* 11 bytes: still too short to show */
	CHECK_STR_EQ(m, "…");
	free(m);
	m = mask_secret("123456789012");    /* 12 bytes: 6 + 4 shown */
	CHECK_STR_EQ(m, "123456…9012");
	free(m);
	m = mask_secret("");
	CHECK_STR_EQ(m, "");
	free(m);
	m = mask_secret(NULL);
	CHECK_STR_EQ(m, "");
	free(m);
}

static void test_clocks(void)
{
	double a = now_mono(), b = now_mono();
	CHECK(b >= a);
	CHECK(now_wall() > 1.6e9);
}

/* Count entries of dir whose name starts with prefix (leftover temp files). */
static int count_prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (str_has_prefix(e->d_name, prefix))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void test_files(void)
{
	char *path = xasprintf("%s/a.json", tmpdir);
	CHECK_INT_EQ(write_file_atomic(path, "hello", 5, 0640), 0);
	char *data = NULL;
	size_t len = 0;
	CHECK_INT_EQ(read_file(path, 100, &data, &len), 0);
	CHECK_INT_EQ(len, 5);
	CHECK_STR_EQ(data, "hello");
	free(data);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);

	/* Replacing keeps no temp file and applies the new mode despite the umask. */
	mode_t old = umask(077);
	CHECK_INT_EQ(write_file_atomic(path, "bye", 3, 0644), 0);
	umask(old);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644);
	CHECK_INT_EQ(read_file(path, 100, &data, &len), 0);
	CHECK_STR_EQ(data, "bye");
	free(data);
	CHECK_INT_EQ(count_prefixed(tmpdir, ".a.json.tmp."), 0);

	/* Limits and errors. */
	CHECK_INT_EQ(read_file(path, 2, &data, &len), -EFBIG);
	CHECK(data == NULL);
	char *missing = xasprintf("%s/missing", tmpdir);
	CHECK_INT_EQ(read_file(missing, 100, &data, &len), -ENOENT);
	char *nodir = xasprintf("%s/no/such/file", tmpdir);
	CHECK_INT_EQ(write_file_atomic(nodir, "x", 1, 0644), -ENOENT);

	/* Empty file. */
	CHECK_INT_EQ(write_file_atomic(path, "", 0, 0644), 0);
	CHECK_INT_EQ(read_file(path, 100, &data, &len), 0);
	CHECK_INT_EQ(len, 0);
	CHECK_STR_EQ(data, "");
	free(data);

	/* A relative path (no directory part) works too. */
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(tmpdir) == 0);
	CHECK_INT_EQ(write_file_atomic("rel.txt", "r", 1, 0600), 0);
	CHECK(access("rel.txt", F_OK) == 0);
	CHECK(unlink("rel.txt") == 0);
	CHECK(chdir(cwd) == 0);

	unlink(path);
	free(path);
	free(missing);
	free(nodir);
}

static void test_mkdir_p(void)
{
	char *deep = xasprintf("%s/x/y//z/", tmpdir);
	CHECK_INT_EQ(mkdir_p(deep, 0755), 0);
	CHECK_INT_EQ(mkdir_p(deep, 0755), 0);   /* existing is fine */
	struct stat st;
	CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
	char *file = xasprintf("%s/x/file", tmpdir);
	CHECK_INT_EQ(write_file_atomic(file, "f", 1, 0644), 0);
	CHECK_INT_EQ(mkdir_p(file, 0755), -ENOTDIR);
	char *under = xasprintf("%s/x/file/sub", tmpdir);
	CHECK_INT_EQ(mkdir_p(under, 0755), -ENOTDIR);
	CHECK_INT_EQ(mkdir_p("", 0755), -EINVAL);

	unlink(file);
	char *z = xasprintf("%s/x/y/z", tmpdir), *y = xasprintf("%s/x/y", tmpdir),
	     *x = xasprintf("%s/x", tmpdir);
	rmdir(z);
	rmdir(y);
	rmdir(x);
	free(z);
	free(y);
	free(x);
	free(deep);
	free(file);
	free(under);
}

static void test_utf8_and_base64(void)
{
	CHECK(str_utf8_valid("caf\xc3\xa9", 5));
	CHECK(!str_utf8_valid("caf\xe9", 4));        /* Latin-1 */
	CHECK(!str_utf8_valid("\xc0\xaf", 2));        /* overlong */
	CHECK(!str_utf8_valid("\xed\xa0\x80", 3));    /* surrogate */
	static const char bytes[] = "caf\xe9\0au lait\xff";
	size_t n = sizeof bytes - 1;
	for (size_t len = 0; len <= n; len++) {
		char *b64 = str_base64_encode(bytes, len), *back = NULL;
		size_t blen = 0;
		CHECK_INT_EQ(str_base64_decode(b64, &back, &blen), 0);
		CHECK(blen == len && memcmp(back, bytes, len) == 0);
		free(b64);
		free(back);
	}
	char *out = NULL;
	size_t olen;
	CHECK_INT_EQ(str_base64_decode("ab!c", &out, &olen), -EINVAL);
}

int main(void)
{
	RUN(test_utf8_and_base64);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_buf);
	RUN(test_strings);
	RUN(test_mask_secret);
	RUN(test_clocks);
	RUN(test_files);
	RUN(test_mkdir_p);
	rmdir(tmpdir);
	return check_report("unit-util");
}
