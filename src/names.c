/* names.c - which names start jobs, and how jobs and videos are named.
 *
 *   name_is_scratch(".cat.txt.swp")        -> true   (vim, never a job)
 *   name_job_from_file("cat.txt")          -> "cat"
 *   name_unique("cat", ".mp4", taken, ctx) -> "cat-2.mp4" when cat.mp4 exists
 *   name_slug("A cat, on a PIANO!")        -> "a-cat-on-a-piano"
 */
#include "names.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_BYTES 255
#define SLUG_MAX_BYTES 40

/* vim swap files: .swp, then .swo, .swn, … down to .swa; .swx is its write probe. */
static bool is_vim_swap_suffix(const char *name)
{
	size_t len = strlen(name);
	if (len < 4)
		return false;
	const char *ext = name + len - 4;
	return strncmp(ext, ".sw", 3) == 0 &&
	       ((ext[3] >= 'a' && ext[3] <= 'p') || ext[3] == 'x');
}

bool name_is_scratch(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || name[0] == '.')        /* hidden, .goutputstream-*, … */
		return true;
	if (name[len - 1] == '~')              /* backup files of many editors */
		return true;
	if (len >= 4 && strcasecmp(name + len - 4, ".tmp") == 0)
		return true;
	if (is_vim_swap_suffix(name))
		return true;
	if (strcmp(name, "4913") == 0)         /* vim checks it may create files */
		return true;
	if (len >= 2 && name[0] == '#' && name[len - 1] == '#')   /* emacs autosave */
		return true;
	return false;
}

char *name_job_from_file(const char *file)
{
	const char *dot = strrchr(file, '.');
	/* No extension, or the name is all extension (".txt"): keep it whole. */
	if (!dot || dot == file)
		return xstrdup(file);
	char *job = xstrndup(file, (size_t)(dot - file));
	if (!name_valid(job)) {          /* "..x" would give "." */
		free(job);
		return xstrdup(file);
	}
	return job;
}

/* ASCII only: isalnum() would follow the locale and let other bytes through. */
static bool is_ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Longest prefix of s of at most max bytes that does not split a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len <= max)
		return len;
	size_t cut = max;
	/* Continuation bytes look like 10xxxxxx: back up to the start of the char. */
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	return cut;
}

/* base (shortened if needed) + "-n" (when n > 1) + suffix, within 255 bytes. */
static char *candidate(const char *base, const char *suffix, unsigned long n)
{
	char tail[32 + NAME_MAX_BYTES];
	if (n > 1)
		snprintf(tail, sizeof tail, "-%lu%s", n, suffix);
	else
		snprintf(tail, sizeof tail, "%s", suffix);
	size_t tail_len = strlen(tail);
	size_t room = tail_len < NAME_MAX_BYTES ? NAME_MAX_BYTES - tail_len : 0;
	size_t keep = utf8_cut(base, room);
	return xasprintf("%.*s%s", (int)keep, base, tail);
}

char *name_unique(const char *base, const char *suffix,
		  bool (*taken)(const char *name, void *ctx), void *ctx)
{
	if (!suffix)
		suffix = "";
	/* base, then base-2, base-3, …: there is no base-1. */
	for (unsigned long n = 1;; n++) {
		char *name = candidate(base, suffix, n);
		if (!taken || !taken(name, ctx))
			return name;
		free(name);
	}
}

char *name_slug(const char *prompt)
{
	buf_t b;
	buf_init(&b);
	const char *p = prompt ? prompt : "";
	while (*p) {
		/* Skip to the next word: anything but an ASCII letter or digit separates. */
		while (*p && !is_ascii_alnum(*p))
			p++;
		const char *start = p;
		while (*p && is_ascii_alnum(*p))
			p++;
		size_t wlen = (size_t)(p - start);
		if (wlen == 0)
			break;
		size_t sep = b.len ? 1 : 0;
		if (b.len + sep + wlen > SLUG_MAX_BYTES) {
			/* A first word longer than the limit is cut; later ones end the slug. */
			if (b.len == 0)
				wlen = SLUG_MAX_BYTES;
			else
				break;
		}
		if (sep)
			buf_adds(&b, "-");
		for (size_t i = 0; i < wlen; i++) {
			char c = ascii_lower(start[i]);
			buf_add(&b, &c, 1);
		}
		if (b.len >= SLUG_MAX_BYTES)
			break;
	}
	if (b.len == 0) {
		buf_free(&b);
		return xstrdup("task");
	}
	return buf_steal(&b);
}

bool name_valid(const char *name)
{
	if (!name || !*name)
		return false;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return strchr(name, '/') == NULL && strlen(name) <= NAME_MAX_BYTES;
}
