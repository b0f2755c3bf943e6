/* json_file.c - JSON files on disk, read strictly and written atomically.
 *
 *   cJSON *hist; char *err;
 *   if (json_load("data/history.json", &hist, &err) == -EBADMSG)
 *           log_error("%s", err);    // "data/history.json: not valid JSON near byte 17"
 *   ...
 *   json_save("data/history.json", hist, 0644);   // temp file, fsync, rename
 *
 * A damaged file is reported and left alone, never replaced by an empty default.
 */
#include "json_file.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* JSON files here are configuration and history: tens of MB is already absurd. */
#define JSON_FILE_MAX (64u * 1024 * 1024)

int json_load(const char *path, cJSON **out, char **err)
{
	*out = NULL;
	if (err)
		*err = NULL;
	char *data;
	size_t len;
	int rc = read_file(path, JSON_FILE_MAX, &data, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	/* An embedded NUL would make cJSON stop early and accept a damaged file. */
	const char *nul = memchr(data, '\0', len);
	const char *end = NULL;
	cJSON *json = NULL;
	if (!nul)
		/* len + 1: cJSON counts the terminating NUL when it checks for trailing junk. */
		json = cJSON_ParseWithLengthOpts(data, len + 1, &end, true);
	if (!json) {
		size_t at = nul ? (size_t)(nul - data) : end ? (size_t)(end - data) : 0;
		if (err)
			*err = xasprintf("%s: not valid JSON near byte %zu", path, at);
		free(data);
		return -EBADMSG;
	}
	free(data);
	*out = json;
	return 0;
}

/* Append text to b, each byte that is not part of valid UTF-8 replaced by
 * U+FFFD. Input is checked where it enters (names, values, drops: EINVAL); this
 * is the last guard for text from elsewhere (an upstream error message), so
 * that every file stays readable by Python's json.load. */
static void add_as_utf8(buf_t *b, const char *text)
{
	size_t len = strlen(text);
	if (str_utf8_valid(text, len)) {
		buf_add(b, text, len);
		return;
	}
	for (size_t i = 0; i < len;) {
		size_t n = 1;
		unsigned char c = (unsigned char)text[i];
		if (c >= 0xC0)
			n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (c < 0x80 || (i + n <= len && str_utf8_valid(text + i, n))) {
			buf_add(b, text + i, n);
			i += n;
		} else {
			buf_adds(b, "\xEF\xBF\xBD");
			i++;
		}
	}
}

int json_save(const char *path, const cJSON *json, mode_t mode)
{
	char *text = cJSON_Print(json);
	if (!text)
		return -ENOMEM;
	buf_t b;
	buf_init(&b);
	add_as_utf8(&b, text);
	buf_adds(&b, "\n");
	cJSON_free(text);
	int rc = write_file_atomic(path, b.data, b.len, mode);
	buf_free(&b);
	return rc;
}

const char *json_str(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* "15" and " 15.5 " count as numbers: other clients write numbers as strings. */
static bool parse_number_text(const char *s, double *out)
{
	if (!s)
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno == ERANGE || !isfinite(v))
		return false;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end)
		return false;
	*out = v;
	return true;
}

double json_num(const cJSON *obj, const char *key, double dflt)
{
	if (!cJSON_IsObject(obj))
		return dflt;
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	double v;
	if (cJSON_IsNumber(item))
		return item->valuedouble;
	if (cJSON_IsString(item) && parse_number_text(item->valuestring, &v))
		return v;
	return dflt;
}

static void set_item(cJSON *obj, const char *key, cJSON *item)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		cJSON_AddItemToObject(obj, key, item);
}

void json_set_str(cJSON *obj, const char *key, const char *value)
{
	if (!cJSON_IsObject(obj))
		return;
	if (!value) {
		cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
		return;
	}
	set_item(obj, key, cJSON_CreateString(value));
}

void json_set_num(cJSON *obj, const char *key, double value)
{
	if (!cJSON_IsObject(obj))
		return;
	set_item(obj, key, cJSON_CreateNumber(value));
}

void json_init_hooks(void)
{
	cJSON_Hooks hooks = { .malloc_fn = xmalloc, .free_fn = free };
	cJSON_InitHooks(&hooks);
}

double json_num_in(const cJSON *obj, const char *key, double min, double max, double dflt)
{
	double v = json_num(obj, key, dflt);
	return v >= min && v <= max ? v : dflt;
}
