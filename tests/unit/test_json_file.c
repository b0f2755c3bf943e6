/* test_json_file.c - strict loading, atomic saving, tolerant accessors.
 *
 *   $ meson test unit-json_file
 */
#include "check.h"
#include "json_file.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/sora2fs-unit-json-XXXXXX";

static char *path_in_tmp(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static void put(const char *path, const char *text)
{
	CHECK_INT_EQ(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static void test_load_missing(void)
{
	char *p = path_in_tmp("missing.json");
	cJSON *j = (cJSON *)1;
	char *err = NULL;
	CHECK_INT_EQ(json_load(p, &j, &err), 0);
	CHECK(j == NULL);
	CHECK(err == NULL);
	free(p);
}

static void test_load_valid(void)
{
	char *p = path_in_tmp("ok.json");
	put(p, "  {\"a\": [1, 2], \"b\": \"ü\"}\n\n");
	cJSON *j = NULL;
	char *err = NULL;
	CHECK_INT_EQ(json_load(p, &j, &err), 0);
	CHECK(cJSON_IsObject(j));
	CHECK_STR_EQ(json_str(j, "b"), "ü");
	cJSON_Delete(j);
	unlink(p);
	free(p);
}

static void check_bad(const char *text, size_t len, const char *want_err)
{
	char *p = path_in_tmp("bad.json");
	CHECK_INT_EQ(write_file_atomic(p, text, len, 0644), 0);
	cJSON *j = NULL;
	char *err = NULL;
	CHECK_INT_EQ(json_load(p, &j, &err), -EBADMSG);
	CHECK(j == NULL);
	char *want = xasprintf("%s: %s", p, want_err);
	CHECK_STR_EQ(err, want);
	free(want);
	free(err);
	unlink(p);
	free(p);
}

static void test_load_bad(void)
{
	check_bad("{\"a\": 1,,}", 10, "not valid JSON near byte 9");
	check_bad("", 0, "not valid JSON near byte 0");
	check_bad("[1] trailing", 12, "not valid JSON near byte 4");
	check_bad("{\"a\"", 4, "not valid JSON near byte 4");
	check_bad("{}\0junk", 7, "not valid JSON near byte 2");
}

static void test_load_errors(void)
{
	cJSON *j = NULL;
	char *err = NULL;
	/* A directory is not a JSON file: the errno comes back, no message. */
	CHECK_INT_EQ(json_load(tmpdir, &j, &err), -EISDIR);
	CHECK(j == NULL);
	CHECK(err == NULL);
}

static void test_save(void)
{
	char *p = path_in_tmp("save.json");
	cJSON *o = cJSON_CreateObject();
	json_set_str(o, "prompt", "a cat 🐱 on a piano");
	json_set_num(o, "duration", 15);
	CHECK_INT_EQ(json_save(p, o, 0600), 0);
	char *data;
	size_t len;
	CHECK_INT_EQ(read_file(p, 1 << 20, &data, &len), 0);
	/* UTF-8 kept as is (not \u escapes), numbers as numbers, newline at the end. */
	CHECK_STR_HAS(data, "\"a cat 🐱 on a piano\"");
	CHECK_STR_HAS(data, "\"duration\":\t15");
	CHECK(len > 0 && data[len - 1] == '\n');
	free(data);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);

	cJSON *back = NULL;
	char *err = NULL;
	CHECK_INT_EQ(json_load(p, &back, &err), 0);
	CHECK(cJSON_Compare(o, back, true));
	cJSON_Delete(back);
	cJSON_Delete(o);

	char *nodir = path_in_tmp("no/such.json");
	cJSON *arr = cJSON_CreateArray();
	CHECK_INT_EQ(json_save(nodir, arr, 0644), -ENOENT);
	cJSON_Delete(arr);
	free(nodir);
	unlink(p);
	free(p);
}

static void test_accessors(void)
{
	cJSON *o = cJSON_Parse("{\"s\": \"x\", \"n\": 15, \"ns\": \"15\", \"f\": \" 2.5 \","
			       " \"bad\": \"15s\", \"nul\": null, \"b\": true, \"inf\": \"inf\"}");
	CHECK_STR_EQ(json_str(o, "s"), "x");
	CHECK(json_str(o, "n") == NULL);
	CHECK(json_str(o, "missing") == NULL);
	CHECK(json_str(NULL, "s") == NULL);
	CHECK(json_str(cJSON_GetObjectItem(o, "s"), "s") == NULL);
	CHECK(json_num(o, "n", -1) == 15);
	CHECK(json_num(o, "ns", -1) == 15);
	CHECK(json_num(o, "f", -1) == 2.5);
	CHECK(json_num(o, "bad", -1) == -1);
	CHECK(json_num(o, "nul", -1) == -1);
	CHECK(json_num(o, "b", -1) == -1);
	CHECK(json_num(o, "inf", -1) == -1);
	CHECK(json_num(o, "missing", 7) == 7);
	CHECK(json_num(NULL, "n", 7) == 7);

	/* Setting replaces (no duplicate keys), NULL removes. */
	json_set_str(o, "s", "y");
	CHECK_STR_EQ(json_str(o, "s"), "y");
	json_set_str(o, "n", "now a string");
	CHECK_STR_EQ(json_str(o, "n"), "now a string");
	json_set_num(o, "s", 3);
	CHECK(json_num(o, "s", 0) == 3);
	json_set_num(o, "new", 4);
	CHECK(json_num(o, "new", 0) == 4);
	json_set_str(o, "s", NULL);
	CHECK(cJSON_GetObjectItem(o, "s") == NULL);
	json_set_str(o, "never", NULL);
	int count = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, o)
		if (strcmp(it->string, "n") == 0)
			count++;
	CHECK_INT_EQ(count, 1);
	json_set_str(NULL, "x", "y");   /* ignored, no crash */
	json_set_num(NULL, "x", 1);
	cJSON_Delete(o);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_load_missing);
	RUN(test_load_valid);
	RUN(test_load_bad);
	RUN(test_load_errors);
	RUN(test_save);
	RUN(test_accessors);
	rmdir(tmpdir);
	return check_report("unit-json_file");
}
