/* Unit tests for history.c: the Web Studio's history format, by base name. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "history.h"
#include "json_file.h"

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	CHECK(j != NULL);
	return j;
}

static void test_base(void)
{
	CHECK_STR_EQ(history_base("/a/b/sora_1.mp4"), "sora_1.mp4");
	CHECK_STR_EQ(history_base("sora_1.mp4"), "sora_1.mp4");
	CHECK_STR_EQ(history_base("/x/"), "");
}

/* Entries the Web Studio wrote (absolute paths of a moved folder) are found by
 * base name and left alone; new ones are appended in its format. */
static void test_find_and_record(void)
{
	const char *ws = "[{\"file\": \"/old/place/downloads/sora_1700000000.mp4\", "
			 "\"prompt\": \"a lighthouse\", \"time\": 1700000000, \"id\": \"t1\", "
			 "\"pid\": null, \"url\": null, \"duration_seconds\": 212}]";
	cJSON *arr = parse(ws), *orig = parse(ws);
	bool changed = true;
	struct history *h = history_open(arr, "/studio/downloads", &changed);
	CHECK(!changed);
	cJSON *e = history_find(h, "sora_1700000000.mp4");
	CHECK(e != NULL);
	CHECK_STR_EQ(json_str(e, "prompt"), "a lighthouse");
	CHECK(history_find(h, "nope.mp4") == NULL);
	CHECK(history_find(h, "/old/place/downloads/sora_1700000000.mp4") == NULL);

	cJSON *n = history_record(h, "cat.mp4", "a cat", 1800000000.7, "t2", "s_x", NULL, 42.9);
	CHECK(cJSON_GetArraySize(arr) == 2);
	CHECK(cJSON_GetArrayItem(arr, 1) == n); /* appended */
	CHECK_STR_EQ(json_str(n, "file"), "/studio/downloads/cat.mp4");
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(n, "time")));
	CHECK(json_num(n, "time", 0) == 1800000000);
	CHECK(json_num(n, "duration_seconds", 0) == 42);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(n, "url")));
	CHECK(history_find(h, "cat.mp4") == n);
	CHECK(cJSON_Compare(cJSON_GetArrayItem(arr, 0), cJSON_GetArrayItem(orig, 0), true));

	/* many entries: the index grows and still finds each */
	char name[64];
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof name, "v%d.mp4", i);
		history_record(h, name, "p", 1.0, "id", NULL, NULL, 0);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof name, "v%d.mp4", i);
		cJSON *f = history_find(h, name);
		CHECK(f && strcmp(history_base(json_str(f, "file")), name) == 0);
	}
	CHECK(cJSON_GetArraySize(arr) == 502);

	/* rename keeps the directory part; remove drops every entry of the name */
	CHECK(history_rename(h, "sora_1700000000.mp4", "old.mp4") == 1);
	CHECK_STR_EQ(json_str(cJSON_GetArrayItem(arr, 0), "file"), "/old/place/downloads/old.mp4");
	CHECK(history_find(h, "old.mp4") == cJSON_GetArrayItem(arr, 0));
	CHECK(history_find(h, "sora_1700000000.mp4") == NULL);
	CHECK(history_remove(h, "old.mp4") == 1);
	CHECK(history_find(h, "old.mp4") == NULL);
	CHECK(history_find(h, "cat.mp4") != NULL);
	CHECK(cJSON_GetArraySize(arr) == 501);
	history_close(h);
	cJSON_Delete(arr);
	cJSON_Delete(orig);
}

/* What older sora2fs versions wrote is converted once. */
static void test_upgrade(void)
{
	cJSON *arr = parse("[{\"file\": \"cat.mp4\", \"time\": \"2026-12-01 21:26:15\", "
			   "\"prompt\": \"a cat\"}]");
	bool changed = false;
	struct history *h = history_open(arr, "/s/downloads", &changed);
	CHECK(changed);
	cJSON *e = cJSON_GetArrayItem(arr, 0);
	CHECK_STR_EQ(json_str(e, "file"), "/s/downloads/cat.mp4");
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(e, "time")));
	CHECK(json_num(e, "time", 0) > 1700000000);
	CHECK(history_find(h, "cat.mp4") == e);
	history_close(h);
	cJSON_Delete(arr);
}

int main(void)
{
	RUN(test_base);
	RUN(test_find_and_record);
	RUN(test_upgrade);
	return check_report("unit-history");
}
