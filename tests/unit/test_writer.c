/* test_writer.c - the writer thread: order, group commits, results, no temp files.
 *
 *   $ meson test unit-writer
 */
#include "check.h"
#include "util.h"
#include "writer.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/sora2fs-unit-writer-XXXXXX";

static char *in_tmp(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *slurp(const char *path)
{
	char *d = NULL;
	size_t len;
	if (read_file(path, 1 << 20, &d, &len) < 0)
		return NULL;
	return d;
}

struct seen {
	int calls, rc;
};

static void done(int rc, void *ctx)
{
	struct seen *s = ctx;
	s->calls++;
	s->rc = rc;
}

static int count_tmp(void)
{
	DIR *d = opendir(tmpdir);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void test_inline_before_start(void)
{
	/* queued before the thread starts: written by writer_stop without one */
	char *p = in_tmp("a.json");
	struct seen s = { 0, 1 };
	writer_save(p, xstrdup("one\n"), 4, 0600, true, done, &s);
	CHECK_INT_EQ(s.calls, 0);
	writer_stop();
	CHECK_INT_EQ(s.calls, 1);
	CHECK_INT_EQ(s.rc, 0);
	char *t = slurp(p);
	CHECK_STR_EQ(t, "one\n");
	free(t);
	free(p);
}

static void test_coalesce_and_results(void)
{
	char *p = in_tmp("b.json");
	char *q = in_tmp("c.json");
	struct seen s1 = { 0, 1 }, s2 = { 0, 1 }, s3 = { 0, 1 };
	/* not started: everything stays queued, so the first save of b is replaced */
	writer_save(p, xstrdup("b1\n"), 3, 0600, false, done, &s1);
	writer_save(q, xstrdup("c1\n"), 3, 0600, true, done, &s2);
	writer_save(p, xstrdup("b2\n"), 3, 0600, false, done, &s3);
	CHECK_INT_EQ(writer_start(), 0);
	writer_flush();
	CHECK_INT_EQ(s1.calls, 1); /* the replaced save reports the newer write */
	CHECK_INT_EQ(s3.calls, 1);
	CHECK_INT_EQ(s2.calls, 1);
	char *t = slurp(p);
	CHECK_STR_EQ(t, "b2\n");
	free(t);
	t = slurp(q);
	CHECK_STR_EQ(t, "c1\n");
	free(t);
	unsigned long files, groups;
	writer_counts(&files, &groups);
	CHECK_INT_EQ((int)files, 2);
	CHECK_INT_EQ((int)groups, 1);
	CHECK_INT_EQ(count_tmp(), 0);
	writer_stop();
	free(p);
	free(q);
}

static void test_failure_reported(void)
{
	char *p = in_tmp("no/such/dir/x.json");
	struct writer_wait w;
	writer_wait_init(&w);
	CHECK_INT_EQ(writer_start(), 0);
	writer_save(p, xstrdup("x\n"), 2, 0600, true, writer_wait_done, &w);
	CHECK_INT_EQ(writer_wait(&w), -ENOENT);
	/* and an unlink in order after a save */
	char *r = in_tmp("gone.json");
	writer_save(r, xstrdup("g\n"), 2, 0600, true, NULL, NULL);
	writer_unlink(r);
	writer_flush();
	CHECK(access(r, F_OK) < 0 && errno == ENOENT);
	writer_stop();
	free(p);
	free(r);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 2;
	RUN(test_inline_before_start);
	RUN(test_coalesce_and_results);
	RUN(test_failure_reported);
	char *cmd = xasprintf("rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	return check_report("unit-writer");
}
