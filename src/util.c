/* util.c - small string, buffer and file helpers shared by every module.
 *
 *   buf_t b; buf_init(&b);
 *   buf_printf(&b, "job %s: %d%%", name, progress);
 *   char *line = buf_steal(&b);                 // "job cat: 40%"
 *   write_file_atomic("data/history.json", line, strlen(line), 0644);
 *
 * The file helpers never leave a half-written file behind: a crash mid-write
 * leaves either the old content or the new one.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- allocation ---------------------------------------------------------- */

static void out_of_memory(size_t n)
{
	fprintf(stderr, "sora2fs: error: out of memory (%zu bytes)\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		out_of_memory(n * m);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	/* Most messages are short: format once into the stack, again only if longer. */
	char small[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return xstrdup("");
	if ((size_t)n < sizeof small)
		return xstrdup(small);
	char *p = xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

/* ---- buffers ------------------------------------------------------------- */

void buf_init(buf_t *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(buf_t *b)
{
	free(b->data);
	buf_init(b);
}

/* Make room for extra more bytes plus the terminating NUL. */
static void buf_reserve(buf_t *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_add(buf_t *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_adds(buf_t *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	buf_adds(b, s);
	free(s);
}

char *buf_steal(buf_t *b)
{
	char *p = b->data ? b->data : xstrdup("");
	buf_init(b);
	return p;
}

/* ---- strings ------------------------------------------------------------- */

static bool is_trim_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *str_trim_dup(const char *s, size_t len)
{
	size_t start = 0, end = len;
	while (start < end && is_trim_space(s[start]))
		start++;
	while (end > start && is_trim_space(s[end - 1]))
		end--;
	char *p = xmalloc(end - start + 1);
	memcpy(p, s + start, end - start);
	p[end - start] = '\0';
	return p;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* Enough of the secret to recognise it ("which key is this?") but not to use it. */
char *mask_secret(const char *secret)
{
	if (!secret || !*secret)
		return xstrdup("");
	size_t len = strlen(secret);
	if (len < 12)
		return xstrdup("…");
	return xasprintf("%.6s…%s", secret, secret + len - 4);
}

/* ---- clocks -------------------------------------------------------------- */

static double clock_seconds(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double now_mono(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}

double now_wall(void)
{
	return clock_seconds(CLOCK_REALTIME);
}

/* ---- files --------------------------------------------------------------- */

int read_file(const char *path, size_t max, char **data, size_t *len)
{
	*data = NULL;
	if (len)
		*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf_t b;
	buf_init(&b);
	char chunk[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			rc = -EFBIG;
			break;
		}
		buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (rc < 0) {
		buf_free(&b);
		return rc;
	}
	if (len)
		*len = b.len;
	*data = buf_steal(&b);
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory part of path ("." when there is none), malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* The rename is only durable once the directory entry itself reaches the disk. */
static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	/* Some filesystems cannot fsync a directory; the data is safe anyway. */
	if (rc == -EINVAL || rc == -EROFS)
		rc = 0;
	return rc;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	static atomic_uint counter;
	char *dir = dir_of(path);
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!*base) {
		free(dir);
		return -EISDIR;
	}
	/* Hidden, unique per process and per call, in the same directory so that
	 * rename() is atomic (same filesystem). */
	char *tmp = xasprintf("%s/.%s.tmp.%ld.%u", dir, base, (long)getpid(),
			      atomic_fetch_add(&counter, 1));
	int rc = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, data, len);
	/* fchmod because open()'s mode is filtered by the umask. */
	if (rc == 0 && fchmod(fd, mode & 07777) < 0)
		rc = -errno;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		goto out;
	}
	rc = fsync_dir(dir);
out:
	free(tmp);
	free(dir);
	return rc;
}

int mkdir_p(const char *path, mode_t mode)
{
	if (!path || !*path)
		return -EINVAL;
	char *p = xstrdup(path);
	int rc = 0;
	/* Create each prefix in turn; an existing one is fine if it is a directory. */
	for (char *s = p + 1;; s++) {
		bool end = *s == '\0';
		if (*s != '/' && !end)
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		if (end)
			break;
		*s = '/';
	}
	if (rc == 0) {
		struct stat st;
		if (stat(path, &st) < 0)
			rc = -errno;
		else if (!S_ISDIR(st.st_mode))
			rc = -ENOTDIR;
	}
	free(p);
	return rc;
}

/* Valid UTF-8 without overlongs, surrogates or code points past U+10FFFF: the
 * request is JSON, and the API cannot be sent bytes that are not text. */
bool str_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		unsigned char c = *p;
		size_t n;
		unsigned min;
		unsigned cp;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1, min = 0x80, cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, min = 0x800, cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - p) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += n + 1;
	}
	return true;
}

char *str_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc(4 * ((len + 2) / 3) + 1), *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = tbl[(v >> 6) & 63];
		*o++ = tbl[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0);
		*o++ = tbl[v >> 18];
		*o++ = tbl[(v >> 12) & 63];
		*o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

int str_base64_decode(const char *text, char **out, size_t *len)
{
	size_t n = strlen(text);
	unsigned char *o = xmalloc(n / 4 * 3 + 4);
	size_t k = 0;
	unsigned v = 0;
	int bits = 0;
	for (const char *p = text; *p && *p != '='; p++) {
		const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *hit = strchr(tbl, *p);
		if (!hit) {
			free(o);
			return -EINVAL;
		}
		v = v << 6 | (unsigned)(hit - tbl);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	o[k] = '\0';
	*out = (char *)o;
	*len = k;
	return 0;
}
