/* test_log.c - log lines, levels and secret redaction.
 *
 *   $ meson test unit-log
 */
#include "check.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char capture_path[] = "/tmp/sora2fs-unit-log-XXXXXX";
static int capture_fd = -1, saved_stderr = -1;

/* Send stderr to a temp file until capture_end() returns what was written. */
static void capture_begin(void)
{
	fflush(stderr);
	saved_stderr = dup(2);
	capture_fd = mkstemp(capture_path);
	dup2(capture_fd, 2);
}

static char *capture_end(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	close(capture_fd);
	char *data = NULL;
	size_t len;
	if (read_file(capture_path, 1 << 20, &data, &len) < 0)
		data = xstrdup("");
	unlink(capture_path);
	strcpy(capture_path, "/tmp/sora2fs-unit-log-XXXXXX");
	return data;
}

static void test_format_and_levels(void)
{
	log_init(false, LOG_LVL_INFO);
	capture_begin();
	log_debug("hidden %d", 1);
	log_info("mounted %s on %s", "studio", "mnt");
	log_warn("job cat: poll failed (HTTP %d), retrying", 503);
	log_error("bad");
	char *out = capture_end();
	CHECK_STR_EQ(out, "sora2fs: info: mounted studio on mnt\n"
			  "sora2fs: warning: job cat: poll failed (HTTP 503), retrying\n"
			  "sora2fs: error: bad\n");
	free(out);

	log_init(false, LOG_LVL_DEBUG);
	capture_begin();
	log_debug("shown");
	char *fmt = xstrdup("");
	log_info("%s", fmt);   /* an empty message still makes a line */
	free(fmt);
	out = capture_end();
	CHECK_STR_EQ(out, "sora2fs: debug: shown\nsora2fs: info: \n");
	free(out);

	log_init(false, LOG_LVL_ERROR);
	capture_begin();
	log_warn("dropped");
	out = capture_end();
	CHECK_STR_EQ(out, "");
	free(out);
	log_init(false, LOG_LVL_INFO);
}

static void test_redaction(void)
{
	const char *key = "sk-abcdef123456wxyz";
	log_add_secret(key);
	log_add_secret(key);      /* twice is once */
	log_add_secret("");
	log_add_secret(NULL);
	capture_begin();
	log_warn("key %s rejected; again: %s.", key, key);
	char *out = capture_end();
	CHECK_STR_EQ(out, "sora2fs: warning: key sk-abc…wxyz rejected; again: sk-abc…wxyz.\n");
	CHECK(strstr(out, "123456") == NULL);
	free(out);

	char *r = log_redact("Authorization: Bearer sk-abcdef123456wxyz");
	CHECK_STR_EQ(r, "Authorization: Bearer sk-abc…wxyz");
	free(r);

	/* A short token is hidden completely; adjacent secrets are both masked. */
	log_add_secret("tok123");
	r = log_redact("tok123sk-abcdef123456wxyz|tok123");
	CHECK_STR_EQ(r, "…sk-abc…wxyz|…");
	free(r);

	/* A secret that contains another is masked as the longer one. */
	log_add_secret("sk-abcdef123456wxyz-extended");
	r = log_redact("k=sk-abcdef123456wxyz-extended");
	CHECK_STR_EQ(r, "k=sk-abc…nded");
	free(r);

	log_forget_secret("tok123");
	r = log_redact("tok123");
	CHECK_STR_EQ(r, "tok123");
	free(r);

	r = log_redact(NULL);
	CHECK_STR_EQ(r, "");
	free(r);
	r = log_redact("nothing secret");
	CHECK_STR_EQ(r, "nothing secret");
	free(r);
	log_forget_secret(key);
	log_forget_secret("sk-abcdef123456wxyz-extended");
}

static void test_many_secrets(void)
{
	/* No cap: the first of 200 is masked as well as the last. */
	char name[32];
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "secret-number-%02d", i);
		log_add_secret(name);
	}
	char *r = log_redact("secret-number-19 secret-number-04");
	CHECK_STR_EQ(r, "secret…r-19 secret…r-04");
	free(r);
	r = log_redact("secret-number-00 secret-number-199");
	CHECK_STR_EQ(r, "secret…r-00 secret…-199");
	free(r);
	log_shutdown();
	r = log_redact("secret-number-19");
	CHECK_STR_EQ(r, "secret-number-19");
	free(r);
}

static void *log_thread(void *arg)
{
	for (int i = 0; i < 200; i++)
		log_info("thread %ld line %d", (long)(intptr_t)arg, i);
	return NULL;
}

static void test_threads(void)
{
	log_add_secret("sk-thread-secret-000");
	capture_begin();
	pthread_t th[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, log_thread, (void *)(intptr_t)i);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	char *out = capture_end();
	/* Every line whole: 800 lines, each starting with the prefix. */
	int lines = 0, good = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		lines++;
		if (str_has_prefix(line, "sora2fs: info: thread "))
			good++;
	}
	CHECK_INT_EQ(lines, 800);
	CHECK_INT_EQ(good, 800);
	free(out);
	log_shutdown();
}

int main(void)
{
	RUN(test_format_and_levels);
	RUN(test_redaction);
	RUN(test_many_secrets);
	RUN(test_threads);
	log_shutdown();
	return check_report("unit-log");
}
