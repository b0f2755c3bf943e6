/* util.h - small string and buffer helpers shared by every module.
 *
 * Nothing here does I/O except the file helpers at the end.
 */
#ifndef SORA2FS_UTIL_H
#define SORA2FS_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A growable byte buffer; data is always NUL-terminated (not counted in len). */
typedef struct {
	char *data;
	size_t len;
	size_t cap;
} buf_t;

void buf_init(buf_t *b);
void buf_free(buf_t *b);
/* Append bytes / a string / printf output. Abort on out-of-memory (like xmalloc). */
void buf_add(buf_t *b, const void *data, size_t len);
void buf_adds(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the data to the caller (malloc'd, NUL-terminated) and reset the buffer. */
char *buf_steal(buf_t *b);

/* Allocation that aborts on failure: a filesystem daemon cannot do anything useful
 * when malloc fails, and checking every call hides the logic. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);          /* NULL stays NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Copy of s without leading/trailing white space (space, tab, CR, LF). */
char *str_trim_dup(const char *s, size_t len);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

/* "sk-abcdef123456wxyz" -> "sk-abc…wxyz". Short secrets (< 12 bytes) become "…";
 * empty stays empty. Always malloc'd. */
char *mask_secret(const char *secret);

/* Monotonic and wall clock seconds. */
double now_mono(void);
double now_wall(void);

/* Read a whole file (up to max bytes; -EFBIG beyond). Returns 0 or -errno. */
int read_file(const char *path, size_t max, char **data, size_t *len);
/* Write data to path atomically: temp file in the same directory, fsync, rename,
 * fsync of the directory. mode is applied to the new file. Returns 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* mkdir -p with mode for created directories. Returns 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);

/* Valid UTF-8 without overlongs, surrogates or code points past U+10FFFF: every
 * JSON file sora2fs writes and every request it sends is text. */
bool str_utf8_valid(const char *s, size_t len);
/* Base64 (standard alphabet, padded). decode: 0, or -EINVAL on a bad character;
 * *out is malloc'd and NUL-terminated, *len its length. */
char *str_base64_encode(const void *data, size_t len);
int str_base64_decode(const char *text, char **out, size_t *len);

#endif
