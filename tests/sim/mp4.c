/*
 * mp4.c - the video bytes sora2-sim serves under /files/.
 *
 * The base is a real tiny MP4 (tests/sim/tiny.mp4, loaded at start). A larger
 * size is reached by appending one top-level `free` box, so the file stays a
 * valid MP4: ftyp first, boxes chaining exactly to the end of the file. The
 * padding is produced on the fly, so huge sizes cost no memory.
 *
 *   $ sora2-sim --mp4 tests/sim/tiny.mp4 --video-size 1000000 --gen-time 1 &
 *   $ curl -s localhost:PORT/files/<id>.mp4 | wc -c
 *   1000000
 */
#include "sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *g_base;
static size_t g_base_len;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool boxes_chain(const unsigned char *d, size_t n)
{
	size_t off = 0;
	bool first = true;
	while (off < n) {
		if (n - off < 8)
			return false;
		uint64_t size = be32(d + off);
		if (first && memcmp(d + off + 4, "ftyp", 4) != 0)
			return false;
		first = false;
		if (size == 1) {
			if (n - off < 16)
				return false;
			size = (uint64_t)be32(d + off + 8) << 32 | be32(d + off + 12);
			if (size < 16)
				return false;
		} else if (size == 0) {
			return false; /* "to end of file" would swallow the padding box */
		} else if (size < 8) {
			return false;
		}
		if (size > n - off)
			return false;
		off += (size_t)size;
	}
	return off == n;
}

bool mp4_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	size_t cap = 1 << 16, len = 0;
	unsigned char *buf = sim_xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap >= ((size_t)64 << 20)) {
				snprintf(err, errlen, "%s is too large (max 64 MiB)", path);
				free(buf);
				fclose(f);
				return false;
			}
			cap *= 2;
			unsigned char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "out of memory");
				return false;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		if (got == 0)
			break;
		len += got;
	}
	bool rd_err = ferror(f);
	fclose(f);
	if (rd_err) {
		snprintf(err, errlen, "cannot read %s", path);
		free(buf);
		return false;
	}
	if (!boxes_chain(buf, len)) {
		snprintf(err, errlen,
			 "%s is not an MP4 whose top-level boxes (ftyp first) chain to the end",
			 path);
		free(buf);
		return false;
	}
	free(g_base);
	g_base = buf;
	g_base_len = len;
	return true;
}

void mp4_free(void)
{
	free(g_base);
	g_base = NULL;
	g_base_len = 0;
}

size_t mp4_base_size(void)
{
	return g_base_len;
}

uint64_t mp4_served_size(uint64_t wanted)
{
	/* Too small for the base plus an 8-byte box header: serve the base. */
	if (wanted < (uint64_t)g_base_len + 8)
		return g_base_len;
	return wanted;
}

/* The header of the padding box of a video of `total` bytes. */
static size_t pad_header(uint64_t total, unsigned char hdr[16])
{
	uint64_t box = total - g_base_len;
	if (box <= 0xffffffffu) {
		hdr[0] = (unsigned char)(box >> 24);
		hdr[1] = (unsigned char)(box >> 16);
		hdr[2] = (unsigned char)(box >> 8);
		hdr[3] = (unsigned char)box;
		memcpy(hdr + 4, "free", 4);
		return 8;
	}
	hdr[0] = hdr[1] = hdr[2] = 0;
	hdr[3] = 1;
	memcpy(hdr + 4, "free", 4);
	for (int i = 0; i < 8; i++)
		hdr[8 + i] = (unsigned char)(box >> (56 - 8 * i));
	return 16;
}

void mp4_fill(uint64_t total, uint64_t off, char *buf, size_t n)
{
	unsigned char hdr[16];
	size_t hlen = total > g_base_len ? pad_header(total, hdr) : 0;
	size_t done = 0;
	while (done < n) {
		uint64_t o = off + done;
		size_t left = n - done;
		if (o < g_base_len) {
			size_t k = (size_t)(g_base_len - o);
			if (k > left)
				k = left;
			memcpy(buf + done, g_base + o, k);
			done += k;
		} else if (o < g_base_len + hlen) {
			size_t k = (size_t)(g_base_len + hlen - o);
			if (k > left)
				k = left;
			memcpy(buf + done, hdr + (o - g_base_len), k);
			done += k;
		} else {
			memset(buf + done, 0, left);
			done = n;
		}
	}
}
