/* log.h - one place that prints: stderr in the foreground, syslog when daemonized.
 *
 * Every message passes through the secret filter: any registered secret (the API
 * key, the token, a created key) is replaced by its masked form before printing.
 *
 *   $ sora2fs -f studio mnt
 *   sora2fs: info: mounted studio on mnt
 *   sora2fs: warning: job cat: poll failed (HTTP 503), retrying
 */
#ifndef SORA2FS_LOG_H
#define SORA2FS_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

void log_init(bool use_syslog, enum log_level min_level);
/* Forget every secret and close syslog (at exit; keeps leak checkers quiet). */
void log_shutdown(void);
/* Also append every line (with the time) to this file (-o logfile=); lines then
 * no longer go to syslog. 0 or -errno. */
int log_set_file(const char *path);
/* Register a secret to redact (copied). NULL/empty ignored. No cap on how many. */
void log_add_secret(const char *secret);
void log_forget_secret(const char *secret);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns a malloc'd copy of s with every registered secret masked. */
char *log_redact(const char *s);

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif
