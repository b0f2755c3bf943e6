/* history.c - data/history.json in the Web Studio's format, indexed by base name.
 *
 *   core.py:  {"file": os.path.join(DOWNLOAD_DIR, "sora_1700000000.mp4"),
 *              "time": int(time.time()), ...}  appended; matched by basename
 *   sora2fs:  the same, through history_record(); history_find("cat.mp4")
 *
 * See history.h. The index is an open-addressing hash table from base name to
 * the newest entry with that name; it is rebuilt after a removal or rename
 * (rare) and updated in place when an entry is appended (per finished video).
 */
#include "history.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_file.h"
#include "util.h"

struct slot {
	const char *name; /* points into the entry's "file" string */
	cJSON *entry;
};

struct history {
	cJSON *arr;
	char *downloads_dir;
	struct slot *slots;
	size_t cap;   /* power of two */
	size_t used;
};

const char *history_base(const char *file)
{
	const char *slash = strrchr(file, '/');
	return slash ? slash + 1 : file;
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void index_put(struct history *h, const char *name, cJSON *entry)
{
	if ((h->used + 1) * 2 > h->cap) {
		struct slot *old = h->slots;
		size_t old_cap = h->cap;
		h->cap = h->cap ? h->cap * 2 : 64;
		h->slots = xcalloc(h->cap, sizeof *h->slots);
		h->used = 0;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].name)
				index_put(h, old[i].name, old[i].entry);
		free(old);
	}
	size_t i = (size_t)hash(name) & (h->cap - 1);
	while (h->slots[i].name && strcmp(h->slots[i].name, name) != 0)
		i = (i + 1) & (h->cap - 1);
	if (!h->slots[i].name)
		h->used++;
	h->slots[i].name = name;
	h->slots[i].entry = entry; /* later entries are newer: they win */
}

static void index_rebuild(struct history *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = h->used = 0;
	cJSON *e;
	cJSON_ArrayForEach(e, h->arr) {
		const char *f = json_str(e, "file");
		if (f && *history_base(f))
			index_put(h, history_base(f), e);
	}
}

cJSON *history_find(struct history *h, const char *name)
{
	if (!h || !h->cap || !name)
		return NULL;
	size_t i = (size_t)hash(name) & (h->cap - 1);
	while (h->slots[i].name) {
		if (strcmp(h->slots[i].name, name) == 0)
			return h->slots[i].entry;
		i = (i + 1) & (h->cap - 1);
	}
	return NULL;
}

/* "2026-12-01 21:26:15" (local time, as older sora2fs wrote it) -> seconds. */
static bool parse_local_time(const char *s, double *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!end || *end)
		return false;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (double)t;
	return true;
}

/* Entries older sora2fs versions wrote: make them the Web Studio's. The Web
 * Studio itself never writes text times or bare names, so its entries stay. */
static bool upgrade_entry(struct history *h, cJSON *e)
{
	bool changed = false;
	cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "time");
	double secs;
	if (cJSON_IsString(t) && parse_local_time(t->valuestring, &secs)) {
		json_set_num(e, "time", secs);
		changed = true;
	}
	const char *f = json_str(e, "file");
	if (f && *f && !strchr(f, '/')) {
		char *abs = xasprintf("%s/%s", h->downloads_dir, f);
		json_set_str(e, "file", abs);
		free(abs);
		changed = true;
	}
	return changed;
}

struct history *history_open(cJSON *arr, const char *downloads_dir, bool *changed)
{
	struct history *h = xcalloc(1, sizeof *h);
	h->arr = arr;
	h->downloads_dir = xstrdup(downloads_dir);
	*changed = false;
	cJSON *e;
	cJSON_ArrayForEach(e, arr)
		if (cJSON_IsObject(e) && upgrade_entry(h, e))
			*changed = true;
	index_rebuild(h);
	return h;
}

void history_close(struct history *h)
{
	if (!h)
		return;
	free(h->slots);
	free(h->downloads_dir);
	free(h);
}

static void set_str_or_null(cJSON *e, const char *key, const char *value)
{
	cJSON *v = value ? cJSON_CreateString(value) : cJSON_CreateNull();
	if (cJSON_GetObjectItemCaseSensitive(e, key))
		cJSON_ReplaceItemInObjectCaseSensitive(e, key, v);
	else
		cJSON_AddItemToObject(e, key, v);
}

cJSON *history_record(struct history *h, const char *name, const char *prompt,
		      double when, const char *id, const char *pid, const char *url,
		      double duration_seconds)
{
	cJSON *e = history_find(h, name);
	bool fresh = e == NULL;
	if (fresh) {
		e = cJSON_CreateObject();
		char *abs = xasprintf("%s/%s", h->downloads_dir, name);
		cJSON_AddStringToObject(e, "file", abs);
		free(abs);
	}
	json_set_str(e, "prompt", prompt ? prompt : "");
	json_set_num(e, "time", (double)(long long)when);
	set_str_or_null(e, "id", id);
	set_str_or_null(e, "pid", pid);
	set_str_or_null(e, "url", url);
	json_set_num(e, "duration_seconds", (double)(long long)duration_seconds);
	if (fresh) {
		cJSON_AddItemToArray(h->arr, e); /* appended: oldest first */
		index_put(h, history_base(json_str(e, "file")), e);
	}
	return e;
}

int history_rename(struct history *h, const char *name, const char *to)
{
	int n = 0;
	cJSON *e;
	cJSON_ArrayForEach(e, h->arr) {
		const char *f = json_str(e, "file");
		if (!f || strcmp(history_base(f), name) != 0)
			continue;
		char *nf = xasprintf("%.*s%s", (int)(history_base(f) - f), f, to);
		json_set_str(e, "file", nf);
		free(nf);
		n++;
	}
	if (n)
		index_rebuild(h);
	return n;
}

int history_remove(struct history *h, const char *name)
{
	int n = 0;
	for (int i = cJSON_GetArraySize(h->arr) - 1; i >= 0; i--) {
		const char *f = json_str(cJSON_GetArrayItem(h->arr, i), "file");
		if (f && strcmp(history_base(f), name) == 0) {
			cJSON_DeleteItemFromArray(h->arr, i);
			n++;
		}
	}
	if (n)
		index_rebuild(h);
	return n;
}
