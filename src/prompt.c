/* prompt.c - turning a dropped file into a request, and validating parameters.
 *
 *   jobs/cat.txt                     request
 *   ---                              {"duration": 15,
 *   duration: 15                      "aspectRatio": "16:9",
 *   aspectRatio: 16:9                 "prompt": "a cat on a piano"}
 *   ---
 *   a cat on a piano
 *
 * A mistake is reported in words that point at the fix ("line 2: duration must
 * be 10 or 15 (got 7)") and nothing is submitted: a typo silently ignored would
 * bill a video the user did not ask for. Pure functions, no I/O.
 */
#include "prompt.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KNOWN_VIDEO "prompt, duration, aspectRatio, size, url, remixTargetId, model"
#define KNOWN_CHARACTER "url, pid, timestamps"
#define MAX_TIMESTAMP_SPAN 3.0

/* ---- small text helpers --------------------------------------------------- */

static bool utf8_valid(const char *s, size_t len)
{
	return str_utf8_valid(s, len);
}

/* A JSON value as it would appear in a message: "4:3" (quoted), 7, true. */
static char *value_text(const cJSON *v)
{
	if (cJSON_IsString(v))
		return xasprintf("\"%s\"", v->valuestring);
	if (cJSON_IsNumber(v))
		return param_to_text(v);
	char *s = cJSON_PrintUnformatted(v);
	char *r = xstrdup(s ? s : "?");
	cJSON_free(s);
	return r;
}

/* Strict unsigned decimal: digits, optional fraction; no exponent, hex or inf. */
static bool parse_decimal(const char *s, double *out)
{
	const char *p = s;
	const char *digits = p;
	while (*p >= '0' && *p <= '9')
		p++;
	bool int_digits = p > digits;
	if (*p == '.') {
		p++;
		const char *frac = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == frac)
			return false;
	} else if (!int_digits) {
		return false;
	}
	if (*p || p == s)
		return false;
	*out = strtod(s, NULL);
	return isfinite(*out);
}

static bool parse_integer(const char *s, double *out)
{
	const char *p = s;
	if (*p == '-')
		p++;
	if (!*p || strlen(p) > 15)        /* beyond 15 digits a double is not exact */
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	*out = strtod(s, NULL);
	return true;
}

static bool is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* "s_" + 32 lowercase hex digits: the pid of an earlier video. */
static bool pid_ok(const char *s)
{
	if (strncmp(s, "s_", 2) != 0 || strlen(s) != 34)
		return false;
	for (int i = 2; i < 34; i++)
		if (!is_hex_lower(s[i]))
			return false;
	return true;
}

/* ---- one parameter -------------------------------------------------------- */

static bool name_is(const char *name, const char *want)
{
	return strcmp(name, want) == 0;
}

static bool is_known_video_param(const char *name)
{
	static const char *const known[] = {
		"prompt", "duration", "aspectRatio", "size", "url", "remixTargetId", "model",
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (name_is(name, known[i]))
			return true;
	return false;
}

static char *unknown_param_text(const char *name, const char *known)
{
	return xasprintf("unknown parameter \"%s\" (known: %s)", name, known);
}

static int check_prompt(const cJSON *v, cJSON **out, char **err)
{
	if (!cJSON_IsString(v)) {
		*err = xstrdup("prompt must be text");
		return -EINVAL;
	}
	size_t len = strlen(v->valuestring);
	if (len > PROMPT_TEXT_MAX) {
		*err = xasprintf("the prompt is %zu bytes long; at most %u (1 MiB) are accepted",
				 len, PROMPT_TEXT_MAX);
		return -EINVAL;
	}
	if (!utf8_valid(v->valuestring, len)) {
		*err = xstrdup("prompt is not valid UTF-8 text");
		return -EINVAL;
	}
	char *t = str_trim_dup(v->valuestring, len);
	if (!*t) {
		free(t);
		*err = xstrdup("prompt is empty");
		return -EINVAL;
	}
	*out = cJSON_CreateString(t);
	free(t);
	return 0;
}

/* duration: the number 10 or 15; "15" as a string is accepted and made a number. */
static int check_duration(const cJSON *v, cJSON **out, char **err)
{
	double d = -1;
	bool ok = false;
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		ok = true;
	} else if (cJSON_IsString(v)) {
		char *t = str_trim_dup(v->valuestring, strlen(v->valuestring));
		ok = parse_decimal(t, &d);
		free(t);
	}
	if (!ok || (d != 10 && d != 15)) {
		/* "7" from a text file reads better as 7: the user wrote no quotes. */
		char *got = ok ? param_to_text(&(cJSON){ .type = cJSON_Number, .valuedouble = d })
			       : value_text(v);
		*err = xasprintf("duration must be 10 or 15 (got %s)", got);
		free(got);
		return -EINVAL;
	}
	*out = cJSON_CreateNumber(d);
	return 0;
}

/* Check that v is one of the strings choices (case-insensitively when fold);
 * the canonical spelling is stored. */
static int check_choice(const char *name, const cJSON *v, const char *const *choices,
			const char *choices_text, bool fold, cJSON **out, char **err)
{
	if (cJSON_IsString(v)) {
		for (size_t i = 0; choices[i]; i++) {
			bool same = fold ? strcasecmp(v->valuestring, choices[i]) == 0
					 : strcmp(v->valuestring, choices[i]) == 0;
			if (same) {
				*out = cJSON_CreateString(choices[i]);
				return 0;
			}
		}
	}
	char *got = value_text(v);
	*err = xasprintf("%s must be %s (got %s)", name, choices_text, got);
	free(got);
	return -EINVAL;
}

static int check_url(const cJSON *v, cJSON **out, char **err)
{
	if (!cJSON_IsString(v) || !*v->valuestring) {
		char *got = value_text(v);
		*err = xasprintf("url must be an http(s) URL, a data: URL, base64 image data "
				 "or a file path (got %s)", got);
		free(got);
		return -EINVAL;
	}
	*out = cJSON_CreateString(v->valuestring);
	return 0;
}

static int check_pid(const char *name, const cJSON *v, cJSON **out, char **err)
{
	if (!cJSON_IsString(v) || !pid_ok(v->valuestring)) {
		char *got = value_text(v);
		*err = xasprintf("%s must be \"s_\" followed by 32 lowercase hex digits (got %s)",
				 name, got);
		free(got);
		return -EINVAL;
	}
	*out = cJSON_CreateString(v->valuestring);
	return 0;
}

/* Validate one known video parameter; *out gets the normalized value. */
static int check_video_param(const char *name, const cJSON *v, cJSON **out, char **err)
{
	static const char *const ratios[] = { "9:16", "16:9", NULL };
	static const char *const sizes[] = { "small", "large", NULL };
	static const char *const models[] = { "sora-2", NULL };
	*out = NULL;
	if (name_is(name, "prompt"))
		return check_prompt(v, out, err);
	if (name_is(name, "duration"))
		return check_duration(v, out, err);
	if (name_is(name, "aspectRatio"))
		return check_choice(name, v, ratios, "9:16 or 16:9", false, out, err);
	if (name_is(name, "size"))
		return check_choice(name, v, sizes, "small or large", true, out, err);
	if (name_is(name, "url"))
		return check_url(v, out, err);
	if (name_is(name, "remixTargetId"))
		return check_pid(name, v, out, err);
	if (name_is(name, "model"))
		return check_choice(name, v, models, "sora-2", false, out, err);
	*out = cJSON_Duplicate(v, true);
	return 0;
}

/* ---- parameters as text (front matter, config/defaults files) ------------- */

static bool is_reserved_param(const char *name)
{
	return name_is(name, "prompt") || name_is(name, "webHook") ||
	       name_is(name, "shutProgress") || name_is(name, "remixTargetId");
}

bool param_name_ok(const char *name)
{
	/* Only real request parameters: a typo ("durations") or the Web Studio's
	 * UI state in query_defaults ("character_refs") is not one. */
	return name && is_known_video_param(name) && !is_reserved_param(name);
}

/* Text of an unknown parameter: true/false and integers keep their JSON type. */
static cJSON *guess_typed(const char *t)
{
	double d;
	if (strcmp(t, "true") == 0)
		return cJSON_CreateTrue();
	if (strcmp(t, "false") == 0)
		return cJSON_CreateFalse();
	if (parse_integer(t, &d))
		return cJSON_CreateNumber(d);
	return cJSON_CreateString(t);
}

int param_from_text(const char *name, const char *text, cJSON **value, char **err)
{
	*value = NULL;
	*err = NULL;
	char *t = str_trim_dup(text ? text : "", text ? strlen(text) : 0);
	int rc = 0;
	if (!utf8_valid(t, strlen(t))) {
		*err = xasprintf("%s is not valid UTF-8 text", name);
		rc = -EINVAL;
	} else if (is_known_video_param(name)) {
		cJSON *s = cJSON_CreateString(t);
		rc = check_video_param(name, s, value, err);
		cJSON_Delete(s);
	} else {
		*value = guess_typed(t);
	}
	free(t);
	return rc;
}

char *param_to_text(const cJSON *value)
{
	if (cJSON_IsString(value))
		return xstrdup(value->valuestring);
	if (cJSON_IsNumber(value)) {
		double d = value->valuedouble;
		if (d == floor(d) && fabs(d) < 1e15)
			return xasprintf("%.0f", d);
		/* Shortest text that reads back as the same number. */
		char *s = xasprintf("%.15g", d);
		if (strtod(s, NULL) != d) {
			free(s);
			s = xasprintf("%.17g", d);
		}
		return s;
	}
	if (cJSON_IsTrue(value))
		return xstrdup("true");
	if (cJSON_IsFalse(value))
		return xstrdup("false");
	if (!value || cJSON_IsNull(value))
		return xstrdup("");
	char *s = cJSON_PrintUnformatted(value);
	char *r = xstrdup(s ? s : "");
	cJSON_free(s);
	return r;
}

/* ---- text drops with front matter ----------------------------------------- */

/* One line of data: [start, end) without the line break, CR stripped. */
typedef struct {
	const char *start;
	size_t len;
	const char *next;   /* start of the following line, or NULL at the end */
} line_t;

static bool next_line(const char *p, const char *end, line_t *l)
{
	if (!p || p >= end)
		return false;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *stop = nl ? nl : end;
	l->start = p;
	l->len = (size_t)(stop - p);
	if (l->len && p[l->len - 1] == '\r')
		l->len--;
	l->next = nl ? nl + 1 : NULL;
	return true;
}

/* "---", possibly followed by spaces, tabs or CR. */
static bool is_fence(const line_t *l)
{
	if (l->len < 3 || memcmp(l->start, "---", 3) != 0)
		return false;
	for (size_t i = 3; i < l->len; i++)
		if (l->start[i] != ' ' && l->start[i] != '\t' && l->start[i] != '\r')
			return false;
	return true;
}

/* 'value' or "value" as written by people used to YAML: the quotes are not part of it. */
static void strip_quotes(char *v)
{
	size_t n = strlen(v);
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		memmove(v, v + 1, n - 2);
		v[n - 2] = '\0';
	}
}

static bool is_blank_or_comment(const line_t *l)
{
	size_t i = 0;
	while (i < l->len && (l->start[i] == ' ' || l->start[i] == '\t'))
		i++;
	return i == l->len || l->start[i] == '#';
}

static bool key_chars_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (*k == ' ' || *k == '\t')
			return false;
	return true;
}

/* One "key: value" line into req; errors carry the line number. */
static int front_matter_pair(const line_t *l, int lineno, cJSON *req, char **err)
{
	const char *colon = memchr(l->start, ':', l->len);
	char *key = colon ? str_trim_dup(l->start, (size_t)(colon - l->start)) : NULL;
	if (!key || !key_chars_ok(key)) {
		free(key);
		*err = xasprintf("line %d: expected \"key: value\"", lineno);
		return -EINVAL;
	}
	int rc = -EINVAL;
	char *val = str_trim_dup(colon + 1, l->len - (size_t)(colon + 1 - l->start));
	strip_quotes(val);
	cJSON *typed = NULL;
	char *why = NULL;
	if (!is_known_video_param(key)) {
		why = unknown_param_text(key, KNOWN_VIDEO);
	} else if (cJSON_GetObjectItemCaseSensitive(req, key)) {
		why = xasprintf("%s is given twice", key);
	} else if (param_from_text(key, val, &typed, &why) == 0) {
		cJSON_AddItemToObject(req, key, typed);
		rc = 0;
	}
	if (rc < 0) {
		*err = xasprintf("line %d: %s", lineno, why);
		free(why);
	}
	free(key);
	free(val);
	return rc;
}

/* The prompt body after the front matter (or the whole text): trimmed, and only
 * stored when not empty, since defaults and validation come later. */
static int add_body_prompt(cJSON *req, const char *start, const char *end, char **err)
{
	char *body = str_trim_dup(start, (size_t)(end - start));
	int rc = 0;
	if (*body) {
		if (cJSON_GetObjectItemCaseSensitive(req, "prompt")) {
			*err = xstrdup("the prompt is given twice: in the front matter and as text "
				       "after it");
			rc = -EINVAL;
		} else {
			cJSON_AddStringToObject(req, "prompt", body);
		}
	}
	free(body);
	return rc;
}

static bool has_fence_after(const line_t *from, const char *end)
{
	line_t l = *from;
	while (next_line(l.next, end, &l))
		if (is_fence(&l))
			return true;
	return false;
}

static int parse_text(const char *data, size_t len, cJSON *req, char **err)
{
	const char *end = data + len;
	line_t l;
	if (!next_line(data, end, &l) || !is_fence(&l))
		return add_body_prompt(req, data, end, err);
	/* Checked first: a forgotten closing fence says more than "line 3 is not
	 * key: value" about the prompt text that follows. */
	if (!has_fence_after(&l, end)) {
		*err = xstrdup("front matter is not closed with ---");
		return -EINVAL;
	}
	int lineno = 1;
	const char *p = l.next;
	while (next_line(p, end, &l)) {
		lineno++;
		if (is_fence(&l))
			return add_body_prompt(req, l.next ? l.next : end, end, err);
		if (!is_blank_or_comment(&l)) {
			int rc = front_matter_pair(&l, lineno, req, err);
			if (rc < 0)
				return rc;
		}
		p = l.next;
	}
	*err = xstrdup("front matter is not closed with ---");   /* not reached */
	return -EINVAL;
}

/* ---- JSON drops ------------------------------------------------------------- */

static const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsArray(v))
		return "a list";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "true/false";
	if (cJSON_IsNull(v))
		return "null";
	return "something else";
}

/* Parse a JSON object, with a message saying where the syntax breaks. */
static int parse_json_object(const char *data, size_t len, cJSON **out, char **err)
{
	*out = NULL;
	if (memchr(data, '\0', len)) {
		*err = xstrdup("not valid JSON: the file contains NUL bytes");
		return -EINVAL;
	}
	/* "\u0000" would end the string inside cJSON: "visible\u0000hidden" would
	 * be sent as "visible". Refuse it instead of cutting the text. */
	for (size_t i = 0; i + 6 <= len; i++) {
		if (data[i] != '\\')
			continue;
		if (data[i + 1] == 'u' && data[i + 2] == '0' && data[i + 3] == '0' &&
		    data[i + 4] == '0' && data[i + 5] == '0') {
			*err = xstrdup("the JSON contains \\u0000 (a NUL character), which text "
				       "cannot hold");
			return -EINVAL;
		}
		i++; /* skip the escaped character (an escaped backslash before u0000 is text) */
	}
	const char *stop = NULL;
	/* cJSON wants to see the terminating NUL to accept the end of the text; data
	 * is not guaranteed to have one, so parse a terminated copy. */
	char *copy = xstrndup(data, len);
	cJSON *j = cJSON_ParseWithLengthOpts(copy, len + 1, &stop, true);
	if (!j) {
		size_t at = stop ? (size_t)(stop - copy) : 0;
		int line = 1, col = 1;
		for (size_t i = 0; i < at && i < len; i++, col++)
			if (copy[i] == '\n')
				line++, col = 0;
		*err = len == 0 || at >= len
			? xstrdup("not valid JSON: the text ends too early")
			: xasprintf("not valid JSON: error near line %d, column %d", line, col);
		free(copy);
		return -EINVAL;
	}
	free(copy);
	if (!cJSON_IsObject(j)) {
		*err = xasprintf("the JSON must be an object like {\"prompt\": \"…\"} (got %s)",
				 json_type_name(j));
		cJSON_Delete(j);
		return -EINVAL;
	}
	*out = j;
	return 0;
}

/* cJSON keeps both copies of a key written twice; which one counts would be a
 * guess, so it is an error. Only earlier (known, distinct) keys are compared. */
static bool seen_before(const cJSON *obj, const cJSON *item)
{
	for (const cJSON *a = obj->child; a && a != item; a = a->next)
		if (strcmp(a->string, item->string) == 0)
			return true;
	return false;
}

typedef int (*param_check_fn)(const char *name, const cJSON *v, cJSON **out, char **err);

/* Copy every member of j into req, checked and normalized; unknown keys and keys
 * given twice are errors, null members count as absent. */
static int take_params(const cJSON *j, bool (*known)(const char *), const char *known_text,
		       param_check_fn check, cJSON *req, char **err)
{
	for (const cJSON *it = j->child; it; it = it->next) {
		if (!known(it->string)) {
			*err = unknown_param_text(it->string, known_text);
			return -EINVAL;
		}
		if (seen_before(j, it)) {
			*err = xasprintf("parameter \"%s\" is given twice", it->string);
			return -EINVAL;
		}
		if (cJSON_IsNull(it))       /* "url": null means no url */
			continue;
		cJSON *v;
		int rc = check(it->string, it, &v, err);
		if (rc < 0)
			return rc;
		cJSON_AddItemToObject(req, it->string, v);
	}
	return 0;
}

static int parse_json_video(const char *data, size_t len, cJSON *req, char **err)
{
	cJSON *j;
	int rc = parse_json_object(data, len, &j, err);
	if (rc < 0)
		return rc;
	rc = take_params(j, is_known_video_param, KNOWN_VIDEO, check_video_param, req, err);
	cJSON_Delete(j);
	return rc;
}

static bool name_is_json(const char *filename)
{
	size_t n = filename ? strlen(filename) : 0;
	return n >= 5 && strcasecmp(filename + n - 5, ".json") == 0;
}

size_t prompt_drop_max(const char *filename, bool always_json)
{
	return always_json || name_is_json(filename) ? PROMPT_DROP_MAX_JSON
						     : PROMPT_DROP_MAX_TEXT;
}

static char *too_big_text(size_t len, size_t max)
{
	return xasprintf("the file is %zu bytes; a dropped file may have at most %zu "
			 "(%zu MiB)", len, max, max >> 20);
}

int prompt_parse_video(const char *filename, const char *data, size_t len,
		       cJSON **req, char **err)
{
	*req = NULL;
	*err = NULL;
	if (!data)
		len = 0;
	if (len > prompt_drop_max(filename, false)) {
		*err = too_big_text(len, prompt_drop_max(filename, false));
		return -EINVAL;
	}
	/* Editors on Windows start UTF-8 files with a byte order mark. */
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		data += 3, len -= 3;
	if (len && memchr(data, '\0', len)) {
		*err = xstrdup("the file contains NUL bytes: write the prompt as plain text");
		return -EINVAL;
	}
	if (len && !utf8_valid(data, len)) {
		*err = xstrdup("the file is not UTF-8 text: save it as UTF-8");
		return -EINVAL;
	}
	cJSON *r = cJSON_CreateObject();
	int rc = name_is_json(filename) ? parse_json_video(len ? data : "", len, r, err)
					: parse_text(len ? data : "", len, r, err);
	if (rc < 0) {
		cJSON_Delete(r);
		return rc;
	}
	*req = r;
	return 0;
}

/* ---- characters ------------------------------------------------------------- */

/* "start,end": decimals >= 0, start < end, at most 3 seconds apart. Spaces
 * around the numbers are dropped in the normalized copy. */
static int check_timestamps(const cJSON *v, cJSON **out, char **err)
{
	bool ok = false;
	char *norm = NULL;
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		const char *comma = strchr(s, ',');
		if (comma && !strchr(comma + 1, ',')) {
			char *a = str_trim_dup(s, (size_t)(comma - s));
			char *b = str_trim_dup(comma + 1, strlen(comma + 1));
			double start, stop;
			ok = parse_decimal(a, &start) && parse_decimal(b, &stop) &&
			     start < stop && stop - start <= MAX_TIMESTAMP_SPAN + 1e-9;
			if (ok)
				norm = xasprintf("%s,%s", a, b);
			free(a);
			free(b);
		}
	}
	if (!ok) {
		char *got = value_text(v);
		*err = xasprintf("timestamps must be \"start,end\" at most 3 seconds apart (got %s)",
				 got);
		free(got);
		return -EINVAL;
	}
	*out = cJSON_CreateString(norm);
	free(norm);
	return 0;
}

static bool is_known_character_param(const char *name)
{
	return name_is(name, "url") || name_is(name, "pid") || name_is(name, "timestamps");
}

static int check_character_param(const char *name, const cJSON *v, cJSON **out, char **err)
{
	if (name_is(name, "url"))
		return check_url(v, out, err);
	if (name_is(name, "pid"))
		return check_pid(name, v, out, err);
	return check_timestamps(v, out, err);
}

/* Exactly one source; timestamps needed when cutting from an uploaded video. */
static int check_character_shape(const cJSON *req, char **err)
{
	bool url = cJSON_HasObjectItem(req, "url"), pid = cJSON_HasObjectItem(req, "pid");
	if (url && pid) {
		*err = xstrdup("give either \"url\" or \"pid\", not both");
		return -EINVAL;
	}
	if (!url && !pid) {
		*err = xstrdup("a character needs \"url\" (a video URL, base64 data or a file path) "
			       "or \"pid\" (the id of an earlier video)");
		return -EINVAL;
	}
	if (url && !cJSON_HasObjectItem(req, "timestamps")) {
		*err = xstrdup("timestamps are required with \"url\": the seconds to take the "
			       "character from, e.g. \"0,3\"");
		return -EINVAL;
	}
	return 0;
}

int prompt_parse_character(const char *data, size_t len, cJSON **req, char **err)
{
	*req = NULL;
	*err = NULL;
	if (data && len > PROMPT_DROP_MAX_JSON) {
		*err = too_big_text(len, PROMPT_DROP_MAX_JSON);
		return -EINVAL;
	}
	cJSON *j;
	int rc = parse_json_object(data ? data : "", data ? len : 0, &j, err);
	if (rc < 0)
		return rc;
	cJSON *r = cJSON_CreateObject();
	rc = take_params(j, is_known_character_param, KNOWN_CHARACTER, check_character_param,
			 r, err);
	if (rc == 0)
		rc = check_character_shape(r, err);
	cJSON_Delete(j);
	if (rc < 0) {
		cJSON_Delete(r);
		return rc;
	}
	*req = r;
	return 0;
}

/* ---- merging and final validation ------------------------------------------- */

void prompt_merge_defaults(cJSON *req, const cJSON *defaults)
{
	if (!cJSON_IsObject(req) || !cJSON_IsObject(defaults))
		return;
	const cJSON *it;
	cJSON_ArrayForEach(it, defaults) {
		if (!it->string || !param_name_ok(it->string))
			continue; /* not a request parameter: stays in config.json only */
		if (cJSON_HasObjectItem(req, it->string))
			continue;
		cJSON_AddItemToObject(req, it->string, cJSON_Duplicate(it, true));
	}
}

int prompt_validate_video(const cJSON *req, char **err)
{
	*err = NULL;
	if (!cJSON_IsObject(req)) {
		*err = xstrdup("the request is not a JSON object");
		return -EINVAL;
	}
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(req, "prompt");
	if (!p || cJSON_IsNull(p)) {
		*err = xstrdup("no prompt: write the text of the video into the file");
		return -EINVAL;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, req) {
		if (!it->string || !is_known_video_param(it->string) || cJSON_IsNull(it))
			continue;
		cJSON *v = NULL;
		int rc = check_video_param(it->string, it, &v, err);
		cJSON_Delete(v);
		if (rc < 0)
			return rc;
	}
	return 0;
}
