/* names.h - which names start jobs, and how jobs and videos are named. Pure. */
#ifndef SORA2FS_NAMES_H
#define SORA2FS_NAMES_H

#include <stdbool.h>

/* Scratch files never start a job: names starting with '.', ending in '~',
 * ".swp"/".swx"/".tmp" (vim's swap family .sw[a-p] too), vim's "4913" probe,
 * ".goutputstream-*" (hidden anyway), "#…#" (emacs autosave). */
bool name_is_scratch(const char *name);

/* Job name from a dropped file name: the name without its last extension
 * ("cat.txt" -> "cat", "a.b.txt" -> "a.b", "cat" -> "cat", ".txt"-only names keep
 * the whole name). malloc'd. */
char *name_job_from_file(const char *file);

/* Make base unique: calls taken(name, ctx) and returns base, base-2, base-3, …
 * (malloc'd) — the first not taken. suffix (e.g. ".mp4" or NULL) is appended after
 * the number and included when asking taken(). The result including suffix fits in
 * 255 bytes: base is shortened at a UTF-8 character boundary if needed. */
char *name_unique(const char *base, const char *suffix,
		  bool (*taken)(const char *name, void *ctx), void *ctx);

/* A name for a job adopted from a prompt (tasks the Web Studio left running):
 * lowercase words of the prompt joined by '-', ASCII letters/digits only, at most
 * 40 bytes; "task" when nothing is left. malloc'd. */
char *name_slug(const char *prompt);

/* Valid single path component: non-empty, not "." or "..", no '/', <= 255 bytes. */
bool name_valid(const char *name);

#endif
