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

static char *render_text(const void *obj, size_t *len)
{
	char *t = xasprintf("rendered %s\n", (const char *)obj);
	*len = strlen(t);
	return t;
}

/* More files than one fsync slice (64), one of them rendered on the writer
 * thread: all in place, in one group, no temp file left. */
static void test_slices_and_render(void)
{
	unsigned long f0, g0, f1, g1;
	writer_counts(&f0, &g0);
	char *paths[100];
	for (int i = 0; i < 100; i++) {
		char *n = xasprintf("s%d.json", i);
		paths[i] = in_tmp(n);
		free(n);
		writer_save(paths[i], xasprintf("%d\n", i), (size_t)snprintf(NULL, 0, "%d\n", i),
			    0600, true, NULL, NULL);
	}
	char *r = in_tmp("render.json");
	struct seen s = { 0, 1 };
	writer_save_render(r, xstrdup("list"), render_text, free, 0644, true, done, &s);
	CHECK_INT_EQ(writer_start(), 0);
	writer_flush();
	writer_counts(&f1, &g1);
	CHECK_INT_EQ((int)(f1 - f0), 101);
	CHECK_INT_EQ((int)(g1 - g0), 1);
	CHECK_INT_EQ(s.calls, 1);
	CHECK_INT_EQ(s.rc, 0);
	for (int i = 0; i < 100; i++) {
		char *t = slurp(paths[i]);
		char *want = xasprintf("%d\n", i);
		CHECK_STR_EQ(t, want);
		free(t);
		free(want);
		free(paths[i]);
	}
	char *t = slurp(r);
	CHECK_STR_EQ(t, "rendered list\n");
	free(t);
	free(r);
	CHECK_INT_EQ(count_tmp(), 0);
	writer_stop();
}

/* An urgent save (a drop's) takes a short rest of small files into its group,
 * but not a big rendered one: that waits for the next group. */
static void test_urgent_company(void)
{
	unsigned long f0, g0, f1, g1;
	char *a = in_tmp("u-rest.json"), *b = in_tmp("u-drop.json"), *c = in_tmp("u-list.json");
	writer_counts(&f0, &g0);
	writer_save(a, xstrdup("r\n"), 2, 0600, true, NULL, NULL);
	writer_urgent(true);
	writer_save(b, xstrdup("d\n"), 2, 0600, true, NULL, NULL);
	writer_urgent(false);
	CHECK_INT_EQ(writer_start(), 0);
	writer_flush();
	writer_counts(&f1, &g1);
	CHECK_INT_EQ((int)(f1 - f0), 2);
	CHECK_INT_EQ((int)(g1 - g0), 1); /* one group: the drop, then the rest */
	writer_stop();

	writer_counts(&f0, &g0);
	writer_save(a, xstrdup("r2\n"), 3, 0600, true, NULL, NULL);
	writer_save_render(c, xstrdup("big"), render_text, free, 0644, true, NULL, NULL);
	writer_urgent(true);
	writer_save(b, xstrdup("d2\n"), 3, 0600, true, NULL, NULL);
	writer_urgent(false);
	CHECK_INT_EQ(writer_start(), 0);
	writer_flush();
	writer_counts(&f1, &g1);
	CHECK_INT_EQ((int)(f1 - f0), 3);
	CHECK_INT_EQ((int)(g1 - g0), 2); /* the drop alone, then the rest */
	char *t = slurp(a);
	CHECK_STR_EQ(t, "r2\n");
	free(t);
	t = slurp(c);
	CHECK_STR_EQ(t, "rendered big\n");
	free(t);
	writer_stop();
	free(a);
	free(b);
	free(c);
}

/* A drop's saves, queued while it marks them urgent, are held back until it
 * is done and land as one group, even with the thread running; an urgent
 * new file is told before the rest of its group, and a replaced one whole. */
static void test_urgent_hold_and_new(void)
{
	unsigned long f0, g0, f1, g1;
	char *req = in_tmp("h-req.json"), *rec = in_tmp("h-rec.json"), *old = in_tmp("h-old.json");
	CHECK_INT_EQ(writer_start(), 0);
	writer_save(old, xstrdup("o1\n"), 3, 0600, true, NULL, NULL);
	writer_flush();
	writer_counts(&f0, &g0);
	struct seen s1 = { 0, 1 }, s2 = { 0, 1 }, s3 = { 0, 1 };
	writer_urgent(true);
	writer_save(req, xstrdup("q\n"), 2, 0600, true, done, &s1);
	writer_save(rec, xstrdup("first\n"), 6, 0600, true, NULL, NULL);
	usleep(20000); /* the thread is free to run: it must not take these yet */
	CHECK_INT_EQ(s1.calls, 0);
	CHECK(access(req, F_OK) < 0);
	writer_save(rec, xstrdup("second\n"), 7, 0600, true, done, &s2);
	writer_save(old, xstrdup("o2\n"), 3, 0600, true, done, &s3);
	writer_urgent(false);
	writer_flush();
	writer_counts(&f1, &g1);
	CHECK_INT_EQ((int)(g1 - g0), 1); /* one group for all of them */
	CHECK_INT_EQ((int)(f1 - f0), 3); /* the first save of rec was replaced */
	CHECK_INT_EQ(s1.calls, 1);
	CHECK_INT_EQ(s1.rc, 0);
	CHECK_INT_EQ(s2.calls, 1);
	CHECK_INT_EQ(s2.rc, 0);
	CHECK_INT_EQ(s3.calls, 1);
	CHECK_INT_EQ(s3.rc, 0);
	char *t = slurp(rec);
	CHECK_STR_EQ(t, "second\n");
	free(t);
	t = slurp(old);
	CHECK_STR_EQ(t, "o2\n");
	free(t);
	CHECK_INT_EQ(count_tmp(), 0);
	writer_stop();
	free(req);
	free(rec);
	free(old);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 2;
	RUN(test_inline_before_start);
	RUN(test_coalesce_and_results);
	RUN(test_failure_reported);
	RUN(test_slices_and_render);
	RUN(test_urgent_company);
	RUN(test_urgent_hold_and_new);
	char *cmd = xasprintf("rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	return check_report("unit-writer");
}
