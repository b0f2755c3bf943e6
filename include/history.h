/* history.h - data/history.json in the Web Studio's format, indexed by base name.
 *
 * The Web Studio (core.py) writes a list, oldest first, of
 *   {"file": "/abs/studio/downloads/sora_1700000000.mp4", "prompt": "…",
 *    "time": 1700000000, "id": "…", "pid": "s_…"|null, "url": "…"|null,
 *    "duration_seconds": 42}
 * and finds a video's entry by the base name of "file" (a moved folder still
 * works). sora2fs writes entries exactly so, appends them, and never rewrites
 * an entry the Web Studio wrote. Lookups by base name are O(1) through a hash
 * index (ls -l videos/ asks once per file).
 *
 * Pure bookkeeping on a cJSON array owned by the caller; the caller holds the
 * model lock and saves the file. Not thread-safe by itself.
 */
#ifndef SORA2FS_HISTORY_H
#define SORA2FS_HISTORY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

struct history;

/* Index the entries of arr (a JSON array; kept, not copied). Entries sora2fs
 * wrote in older formats ("time" as local-time text, "file" as a bare name) are
 * converted to the Web Studio's; *changed says whether arr was modified (then
 * save it). downloads_dir: the absolute path of the studio's downloads/. */
struct history *history_open(cJSON *arr, const char *downloads_dir, bool *changed);
void history_close(struct history *h);

/* The base name of a history "file" value ("/a/b/sora_1.mp4" -> "sora_1.mp4"). */
const char *history_base(const char *file);

/* The entry for the video file NAME (a base name) or NULL. The newest entry
 * wins when several name the same file. */
cJSON *history_find(struct history *h, const char *name);

/* Record a finished video NAME: a new entry is appended in the Web Studio's
 * format; an existing one for NAME gets the new prompt/time/id/pid/url/
 * duration and keeps its "file". Strings may be NULL (written as null). */
cJSON *history_record(struct history *h, const char *name, const char *prompt,
		      double when, const char *id, const char *pid, const char *url,
		      double duration_seconds);

/* The video NAME was renamed to TO: entries keep their directory part. Returns
 * the number of entries changed. */
int history_rename(struct history *h, const char *name, const char *to);

/* The video NAME was deleted: its entries go. Returns how many. */
int history_remove(struct history *h, const char *name);

#endif
