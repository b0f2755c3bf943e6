/* prompt.h - turning a dropped file into a request, and validating parameters.
 *
 * Pure functions: no I/O, no globals. Fuzzable.
 *
 *   jobs/cat.txt:   ---                         -> {"prompt": "a cat on a piano",
 *                   duration: 15                     "duration": 15,
 *                   aspectRatio: 16:9                "aspectRatio": "16:9"}
 *                   ---
 *                   a cat on a piano
 *
 *   jobs/cat.json:  {"prompt": "a cat", "size": "large"}   (the Web Studio's names)
 *   characters/alice.json: {"url": "https://…/v.mp4", "timestamps": "0,3"}
 */
#ifndef SORA2FS_PROMPT_H
#define SORA2FS_PROMPT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Parameters a video request may carry (front matter keys / JSON fields):
 *   prompt        string, non-empty after trimming (required once merged)
 *   duration      number 10 | 15      (front matter text "15" becomes the number 15)
 *   aspectRatio   "9:16" | "16:9"
 *   size          "small" | "large"
 *   url           string: http(s) URL, data: URL / base64, or a local file path
 *   remixTargetId "s_" + 32 lowercase hex digits
 *   model         "sora-2" only
 * Any other key in a drop is an error ("unknown parameter 'durations'; known: …"),
 * because a typo silently ignored bills a video the user did not ask for.
 */

/* Size limits (README "Limits"). A prompt's text is at most PROMPT_TEXT_MAX
 * bytes; a dropped file at most prompt_drop_max() bytes: text drops leave room
 * for front matter, JSON drops (and every character drop) for an inlined
 * base64 reference. fs_jobs.c refuses a write() past the limit with EFBIG. */
#define PROMPT_TEXT_MAX (1u << 20)
#define PROMPT_DROP_MAX_TEXT (PROMPT_TEXT_MAX + 64u * 1024)
#define PROMPT_DROP_MAX_JSON (32u << 20)
size_t prompt_drop_max(const char *filename, bool always_json);

/* Parse a dropped video prompt file. filename decides the format: a name ending in
 * ".json" (case-insensitive) is a JSON object; anything else is text with optional
 * front matter. Text: if the first line is exactly "---" (trailing spaces/CR ok),
 * lines up to the next "---" line are "key: value" pairs (blank lines and lines
 * starting with '#' skipped); the rest, trimmed, is the prompt. Without front
 * matter the whole text, trimmed, is the prompt.
 * On success returns 0 and *req (caller frees) holds the typed parameters.
 * On failure returns -EINVAL and *err (malloc'd) says what is wrong, in words a
 * user can act on, e.g. "line 2: duration must be 10 or 15 (got 7)".
 * Does NOT require a prompt (defaults are merged later); does validate values. */
int prompt_parse_video(const char *filename, const char *data, size_t len,
		       cJSON **req, char **err);

/* Parse a dropped character request (always JSON, any file name):
 *   {"url": "...", "timestamps": "0,3"}   upload from a video URL / base64 / local path
 *   {"pid": "s_…", "timestamps": "0,3"}   create from an earlier video
 * Exactly one of url / pid. timestamps required for url, optional for pid;
 * format "start,end", numbers >= 0 (decimals ok), start < end, end - start <= 3.
 * Returns 0 / -EINVAL with *err. */
int prompt_parse_character(const char *data, size_t len, cJSON **req, char **err);

/* Add every key of defaults (an object; may be NULL) that req does not have.
 * Keys the API must never get from defaults ("prompt", "webHook", "shutProgress",
 * "remixTargetId") are skipped. */
void prompt_merge_defaults(cJSON *req, const cJSON *defaults);

/* Validate a complete video request after merging: prompt present and non-empty,
 * every known parameter valid (as above). Unknown keys are allowed here (they can
 * come from a Web Studio's query_defaults). Returns 0 / -EINVAL with *err; when the
 * bad value came from defaults the message should still name the parameter. */
int prompt_validate_video(const cJSON *req, char **err);

/* One parameter as text (config/defaults/NAME files, front matter values).
 * param_name_ok: a name usable as a defaults file: [A-Za-z][A-Za-z0-9_]{0,63}
 *   and not one of prompt/webHook/shutProgress/remixTargetId.
 * param_from_text: typed cJSON value for NAME from text (trimmed): known names are
 *   validated (-EINVAL + *err), duration becomes a number; for unknown names
 *   "true"/"false" become bools, integers become numbers, else strings.
 * param_to_text: the value as a line of text without newline ("15", "16:9"),
 *   malloc'd. */
bool param_name_ok(const char *name);
int param_from_text(const char *name, const char *text, cJSON **value, char **err);
char *param_to_text(const cJSON *value);

#endif
