/* test_mp4.c - complete, truncated and garbage MP4 files, built box by box.
 *
 *   $ meson test unit-mp4
 */
#include "check.h"
#include "mp4.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Append a box with a 32-bit size header and payload_len zero bytes of payload. */
static void box(buf_t *b, const char *type, uint32_t payload_len)
{
	uint32_t size = payload_len + 8;
	unsigned char h[8] = { size >> 24, size >> 16 & 0xff, size >> 8 & 0xff, size & 0xff };
	memcpy(h + 4, type, 4);
	buf_add(b, h, 8);
	for (uint32_t i = 0; i < payload_len; i++)
		buf_add(b, "", 1);
}

/* Append a box with size 1 and a 64-bit size field. */
static void box64(buf_t *b, const char *type, uint64_t payload_len)
{
	uint64_t size = payload_len + 16;
	unsigned char h[16] = { 0, 0, 0, 1 };
	memcpy(h + 4, type, 4);
	for (int i = 0; i < 8; i++)
		h[8 + i] = (unsigned char)(size >> (56 - 8 * i));
	buf_add(b, h, 16);
	for (uint64_t i = 0; i < payload_len; i++)
		buf_add(b, "", 1);
}

static void ftyp(buf_t *b)
{
	/* major brand, minor version, two compatible brands */
	const char payload[] = "isom\0\0\x02\0isomiso2";
	unsigned char h[8] = { 0, 0, 0, 24, 'f', 't', 'y', 'p' };
	buf_add(b, h, 8);
	buf_add(b, payload, 16);
}

static int check_mem(const buf_t *b, char **err)
{
	return mp4_check_mem((const unsigned char *)b->data, b->len, err);
}

static void expect_ok(const buf_t *b)
{
	char *err = NULL;
	CHECK_INT_EQ(check_mem(b, &err), 0);
	CHECK(err == NULL);
	free(err);
}

static void expect_bad(const buf_t *b, const char *want_part)
{
	char *err = NULL;
	CHECK_INT_EQ(check_mem(b, &err), -EBADMSG);
	CHECK_STR_HAS(err, want_part);
	free(err);
}

static void test_valid(void)
{
	buf_t b;
	buf_init(&b);
	ftyp(&b);
	box(&b, "moov", 100);
	box(&b, "mdat", 1000);
	expect_ok(&b);
	box(&b, "free", 0);          /* an empty box is fine */
	expect_ok(&b);
	box64(&b, "mdat", 50);
	expect_ok(&b);
	buf_free(&b);

	/* The last box may say "to the end of the file" with size 0. */
	ftyp(&b);
	box(&b, "moov", 10);
	unsigned char to_end[8] = { 0, 0, 0, 0, 'm', 'd', 'a', 't' };
	buf_add(&b, to_end, 8);
	buf_add(&b, "videodata", 9);
	expect_ok(&b);
	buf_free(&b);

	/* Just the ftyp box is a (useless but) well-formed file. */
	ftyp(&b);
	expect_ok(&b);
	buf_free(&b);
}

static void test_truncated(void)
{
	buf_t b;
	buf_init(&b);
	ftyp(&b);
	box(&b, "moov", 100);
	box(&b, "mdat", 1000);
	size_t full = b.len;

	b.len = full - 1;            /* the last byte missing */
	expect_bad(&b, "truncated: box \"mdat\" at byte 132 needs 1008 bytes, only 1007 left");
	b.len = 24 + 108 + 4;        /* cut inside the mdat header */
	expect_bad(&b, "truncated: box header at byte 132");
	b.len = 20;                  /* cut inside ftyp */
	expect_bad(&b, "truncated: box \"ftyp\"");
	b.len = 5;
	expect_bad(&b, "not an MP4");
	b.len = 0;
	expect_bad(&b, "not an MP4: the file is empty");
	buf_free(&b);

	char *err = NULL;
	CHECK_INT_EQ(mp4_check_mem(NULL, 0, &err), -EBADMSG);
	CHECK_STR_HAS(err, "empty");
	free(err);

	/* 64-bit box whose size field itself is cut off. */
	ftyp(&b);
	box64(&b, "mdat", 10);
	b.len = 24 + 12;
	expect_bad(&b, "cut short in its header");
	buf_free(&b);
}

static void test_garbage(void)
{
	buf_t b;
	buf_init(&b);
	buf_adds(&b, "<!DOCTYPE html><html><body>500 Internal Server Error</body></html>");
	expect_bad(&b, "HTML");
	buf_free(&b);

	buf_adds(&b, "  {\"code\": -1, \"msg\": \"expired\"}");
	expect_bad(&b, "JSON");
	buf_free(&b);

	for (int i = 0; i < 4096; i++) {
		unsigned char c = (unsigned char)(i * 7919 % 251);
		buf_add(&b, &c, 1);
	}
	expect_bad(&b, "not an MP4: the file does not start with an ftyp box");
	buf_free(&b);

	/* A box before ftyp. */
	box(&b, "moov", 8);
	ftyp(&b);
	expect_bad(&b, "does not start with an ftyp box");
	buf_free(&b);

	/* ftyp with silly sizes. */
	box(&b, "ftyp", 0);
	expect_bad(&b, "implausible size 8");
	buf_free(&b);
	box(&b, "ftyp", 10000);
	expect_bad(&b, "implausible size 10008");
	buf_free(&b);

	/* A later box with an impossible size (2): the chain is broken. */
	ftyp(&b);
	unsigned char bad[8] = { 0, 0, 0, 2, 'm', 'o', 'o', 'v' };
	buf_add(&b, bad, 8);
	expect_bad(&b, "damaged: box \"moov\" at byte 24 has an impossible size 2");
	buf_free(&b);

	/* A 64-bit size smaller than its own header. */
	ftyp(&b);
	unsigned char bad64[16] = { 0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 8 };
	buf_add(&b, bad64, 16);
	expect_bad(&b, "impossible size 8");
	buf_free(&b);

	/* Unprintable box types are shown as dots. */
	ftyp(&b);
	unsigned char odd[8] = { 0, 0, 1, 0, 1, 2, 'a', 'b' };
	buf_add(&b, odd, 8);
	expect_bad(&b, "box \"..ab\"");
	buf_free(&b);

	/* A huge 64-bit size must not overflow the offset arithmetic. */
	ftyp(&b);
	unsigned char huge[16] = { 0, 0, 0, 1, 'm', 'd', 'a', 't',
				   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0 };
	buf_add(&b, huge, 16);
	expect_bad(&b, "truncated");
	buf_free(&b);
}

static void test_fd(void)
{
	char path[] = "/tmp/sora2fs-unit-mp4-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	buf_t b;
	buf_init(&b);
	ftyp(&b);
	box(&b, "moov", 100);
	box(&b, "mdat", 5000);
	CHECK(write(fd, b.data, b.len) == (ssize_t)b.len);

	char *err = NULL;
	CHECK_INT_EQ(mp4_check_fd(fd, (off_t)b.len, &err), 0);
	CHECK(err == NULL);
	CHECK_INT_EQ(mp4_check_fd(fd, -1, &err), 0);

	CHECK_INT_EQ(mp4_check_fd(fd, 10000, &err), -EBADMSG);
	CHECK_STR_EQ(err, "truncated: 5140 of 10000 bytes");
	free(err);
	CHECK_INT_EQ(mp4_check_fd(fd, 100, &err), -EBADMSG);
	CHECK_STR_HAS(err, "5140 bytes, expected 100");
	free(err);

	/* Cut the file short: the box chain tells even without an expected size. */
	CHECK(ftruncate(fd, 3000) == 0);
	CHECK_INT_EQ(mp4_check_fd(fd, -1, &err), -EBADMSG);
	CHECK_STR_HAS(err, "truncated: box \"mdat\"");
	free(err);

	close(fd);
	unlink(path);
	buf_free(&b);
}

int main(void)
{
	RUN(test_valid);
	RUN(test_truncated);
	RUN(test_garbage);
	RUN(test_fd);
	return check_report("unit-mp4");
}
