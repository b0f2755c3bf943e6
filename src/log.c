/* log.c - the one place that prints, with secrets redacted.
 *
 *   log_init(false, LOG_LVL_INFO);
 *   log_add_secret("sk-abcdef123456wxyz");
 *   log_warn("key %s rejected", key);
 *   // stderr: "sora2fs: warning: key sk-abc…wxyz rejected"
 *
 * In the foreground messages go to stderr; daemonized, to syslog(3). A mutex
 * keeps lines from different threads whole and guards the secret list.
 */
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool log_syslog;
/* Atomic so that dropped debug messages cost no lock and no formatting. */
static atomic_int log_min = LOG_LVL_INFO;
/* Every registered secret, no cap: a created key is as secret as the first. */
static char **secrets;
static size_t n_secrets, cap_secrets;
static int log_fd = -1; /* -o logfile= */

void log_init(bool use_syslog, enum log_level min_level)
{
	pthread_mutex_lock(&log_lock);
	if (log_syslog && !use_syslog)
		closelog();
	if (use_syslog && !log_syslog)
		openlog("sora2fs", LOG_PID, LOG_DAEMON);
	log_syslog = use_syslog;
	atomic_store(&log_min, (int)min_level);
	pthread_mutex_unlock(&log_lock);
}

void log_shutdown(void)
{
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < n_secrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	n_secrets = cap_secrets = 0;
	if (log_syslog)
		closelog();
	log_syslog = false;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	pthread_mutex_unlock(&log_lock);
}

int log_set_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

/* One line to the log file: "2026-12-04 14:20:00 sora2fs[123]: info: …". */
static void file_line_locked(const char *word, const char *msg)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	char *line = xasprintf("%s sora2fs[%d]: %s: %s\n", when, (int)getpid(), word, msg);
	size_t len = strlen(line), off = 0;
	while (off < len) { /* O_APPEND: each write lands at the end */
		ssize_t w = write(log_fd, line + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(line);
}

void log_add_secret(const char *secret)
{
	if (!secret || !*secret)
		return;
	pthread_mutex_lock(&log_lock);
	bool known = false;
	for (size_t i = 0; i < n_secrets && !known; i++)
		known = strcmp(secrets[i], secret) == 0;
	if (!known) {
		if (n_secrets == cap_secrets) {
			cap_secrets = cap_secrets ? cap_secrets * 2 : 8;
			secrets = xrealloc(secrets, cap_secrets * sizeof *secrets);
		}
		secrets[n_secrets++] = xstrdup(secret);
	}
	pthread_mutex_unlock(&log_lock);
}

void log_forget_secret(const char *secret)
{
	if (!secret || !*secret)
		return;
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < n_secrets; i++) {
		if (strcmp(secrets[i], secret) == 0) {
			free(secrets[i]);
			secrets[i--] = secrets[--n_secrets];
		}
	}
	pthread_mutex_unlock(&log_lock);
}

/* Leftmost occurrence of any registered secret at or after s; the longest wins
 * when several start at the same place (one secret may contain another). */
static const char *find_secret(const char *s, size_t *which)
{
	const char *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < n_secrets; i++) {
		const char *hit = strstr(s, secrets[i]);
		size_t len = strlen(secrets[i]);
		if (hit && (!best || hit < best || (hit == best && len > best_len))) {
			best = hit;
			best_len = len;
			*which = i;
		}
	}
	return best;
}

/* Caller holds log_lock. */
static char *redact_locked(const char *s)
{
	buf_t b;
	buf_init(&b);
	size_t which = 0;
	const char *hit;
	while ((hit = find_secret(s, &which)) != NULL) {
		buf_add(&b, s, (size_t)(hit - s));
		char *masked = mask_secret(secrets[which]);
		buf_adds(&b, masked);
		free(masked);
		s = hit + strlen(secrets[which]);
	}
	buf_adds(&b, s);
	return buf_steal(&b);
}

char *log_redact(const char *s)
{
	if (!s)
		return xstrdup("");
	pthread_mutex_lock(&log_lock);
	char *r = redact_locked(s);
	pthread_mutex_unlock(&log_lock);
	return r;
}

static const char *level_word(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG: return "debug";
	case LOG_LVL_INFO:  return "info";
	case LOG_LVL_WARN:  return "warning";
	default:            return "error";
	}
}

static int level_priority(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG: return LOG_DEBUG;
	case LOG_LVL_INFO:  return LOG_INFO;
	case LOG_LVL_WARN:  return LOG_WARNING;
	default:            return LOG_ERR;
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	if ((int)lvl < atomic_load(&log_min))
		return;
	/* Formatting happens outside the lock: arguments may be slow to render. */
	va_list ap;
	va_start(ap, fmt);
	char *raw = xvasprintf(fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	char *msg = redact_locked(raw);
	if (log_fd >= 0)
		file_line_locked(level_word(lvl), msg);
	if (log_syslog && log_fd < 0)
		syslog(level_priority(lvl), "%s", msg);
	else if (!log_syslog)
		fprintf(stderr, "sora2fs: %s: %s\n", level_word(lvl), msg);
	pthread_mutex_unlock(&log_lock);
	free(msg);
	free(raw);
}
