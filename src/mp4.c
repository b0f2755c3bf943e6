/* mp4.c - is this file a complete MP4? Checked before a video is shown.
 *
 * An MP4 is a chain of boxes: 4-byte big-endian size, 4-byte type, payload.
 * A download cut short, or an error page saved as video, breaks the chain:
 *
 *   [size=24 "ftyp" …][size=1000 "mdat" …(only 500 bytes)]
 *   -> "truncated: box "mdat" at byte 24 needs 1000 bytes, only 500 left"
 *
 * Only top-level boxes are walked: enough to catch truncation and garbage
 * without parsing the whole file.
 */
#include "mp4.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An ftyp box holds two brands and a short list of compatible ones. */
#define FTYP_MIN 16
#define FTYP_MAX 4096

/* Where the bytes come from: an open file or a memory buffer. */
typedef struct {
	int fd;
	const unsigned char *mem;
	uint64_t size;
} mp4_src;

/* Read exactly n bytes at off; false on a short read or I/O error. */
static bool src_read(const mp4_src *src, uint64_t off, unsigned char *out, size_t n)
{
	if (off > src->size || src->size - off < n)
		return false;
	if (src->mem) {
		memcpy(out, src->mem + off, n);
		return true;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(src->fd, out + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* A box type as printable text for messages ("mdat", or "\x00\x01.." as dots). */
static void type_text(const unsigned char *t, char out[5])
{
	for (int i = 0; i < 4; i++)
		out[i] = t[i] >= 0x20 && t[i] < 0x7f ? (char)t[i] : '.';
	out[4] = '\0';
}

/* Say what the file looks like when it is not an MP4 at all: CDNs answer errors
 * with HTML or JSON pages, and a saved error page is the usual "video". */
static char *not_mp4_text(const mp4_src *src)
{
	unsigned char head[16] = {0};
	size_t n = src->size < sizeof head ? (size_t)src->size : sizeof head;
	src_read(src, 0, head, n);
	size_t i = 0;
	while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
		i++;
	if (i < n && head[i] == '<')
		return xstrdup("not an MP4: the file is an HTML or XML page (an error page from the server?)");
	if (i < n && (head[i] == '{' || head[i] == '['))
		return xstrdup("not an MP4: the file is JSON text (an error answer from the server?)");
	return xstrdup("not an MP4: the file does not start with an ftyp box");
}

/* Read one box header at off: total box size (0 = to end of file) and type. */
static int box_header(const mp4_src *src, uint64_t off, uint64_t *size,
		      unsigned char type[4], char **err)
{
	unsigned char h[16];
	uint64_t left = src->size - off;
	if (!src_read(src, off, h, 8)) {
		*err = xasprintf("truncated: box header at byte %llu cut short (%llu bytes left)",
				 (unsigned long long)off, (unsigned long long)left);
		return -EBADMSG;
	}
	memcpy(type, h + 4, 4);
	char tname[5];
	type_text(type, tname);
	uint32_t s32 = be32(h);
	if (s32 == 1) {              /* 64-bit size follows the type */
		if (!src_read(src, off + 8, h + 8, 8)) {
			*err = xasprintf("truncated: box \"%s\" at byte %llu cut short in its header",
					 tname, (unsigned long long)off);
			return -EBADMSG;
		}
		*size = be64(h + 8);
		if (*size < 16) {
			*err = xasprintf("damaged: box \"%s\" at byte %llu has an impossible size %llu",
					 tname, (unsigned long long)off, (unsigned long long)*size);
			return -EBADMSG;
		}
	} else if (s32 == 0) {       /* the box runs to the end of the file */
		*size = left;
	} else if (s32 < 8) {
		*err = xasprintf("damaged: box \"%s\" at byte %llu has an impossible size %u",
				 tname, (unsigned long long)off, s32);
		return -EBADMSG;
	} else {
		*size = s32;
	}
	if (*size > left) {
		*err = xasprintf("truncated: box \"%s\" at byte %llu needs %llu bytes, only %llu left",
				 tname, (unsigned long long)off, (unsigned long long)*size,
				 (unsigned long long)left);
		return -EBADMSG;
	}
	return 0;
}

static int check_ftyp(const mp4_src *src, char **err)
{
	unsigned char h[8];
	if (!src_read(src, 0, h, 8) || memcmp(h + 4, "ftyp", 4) != 0) {
		*err = src->size == 0 ? xstrdup("not an MP4: the file is empty")
				      : not_mp4_text(src);
		return -EBADMSG;
	}
	uint32_t s = be32(h);
	if (s < FTYP_MIN || s > FTYP_MAX) {
		*err = xasprintf("damaged: the ftyp box has an implausible size %u", s);
		return -EBADMSG;
	}
	return 0;
}

static int check_boxes(const mp4_src *src, char **err)
{
	*err = NULL;
	int rc = check_ftyp(src, err);
	if (rc < 0)
		return rc;
	uint64_t off = 0;
	while (off < src->size) {
		uint64_t size;
		unsigned char type[4];
		rc = box_header(src, off, &size, type, err);
		if (rc < 0)
			return rc;
		off += size;
	}
	return 0;
}

int mp4_check_fd(int fd, off_t expected, char **err)
{
	*err = NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		*err = xasprintf("cannot check the file: %s", strerror(e));
		return -e;
	}
	if (expected >= 0 && st.st_size != expected) {
		if (st.st_size < expected)
			*err = xasprintf("truncated: %lld of %lld bytes",
					 (long long)st.st_size, (long long)expected);
		else
			*err = xasprintf("too long: %lld bytes, expected %lld",
					 (long long)st.st_size, (long long)expected);
		return -EBADMSG;
	}
	mp4_src src = { .fd = fd, .mem = NULL, .size = (uint64_t)st.st_size };
	return check_boxes(&src, err);
}

int mp4_check_mem(const unsigned char *data, size_t len, char **err)
{
	static const unsigned char empty[1];
	mp4_src src = { .fd = -1, .mem = data ? data : empty, .size = data ? len : 0 };
	return check_boxes(&src, err);
}
