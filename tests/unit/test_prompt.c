/* test_prompt.c - dropped files into requests: front matter, JSON, characters,
 * defaults and the messages users see when something is wrong.
 *
 *   $ meson test unit-prompt
 */
#include "check.h"
#include "prompt.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parse and compare the request with the JSON text want (NULL: expect an error). */
static void video_ok(const char *file, const char *text, const char *want_json)
{
	cJSON *req = NULL;
	char *err = NULL;
	int rc = prompt_parse_video(file, text, strlen(text), &req, &err);
	CHECK_INT_EQ(rc, 0);
	CHECK_STR_EQ(err, NULL);
	cJSON *want = cJSON_Parse(want_json);
	CHECK(want != NULL);
	bool same = req && cJSON_Compare(req, want, true);
	if (!same) {
		char *got = req ? cJSON_PrintUnformatted(req) : NULL;
		fprintf(stderr, "    got:  %s\n    want: %s\n", got ? got : "NULL", want_json);
		cJSON_free(got);
	}
	CHECK(same);
	cJSON_Delete(want);
	cJSON_Delete(req);
	free(err);
}

static void video_bad_len(const char *file, const char *text, size_t len, const char *want_err)
{
	cJSON *req = (cJSON *)1;
	char *err = NULL;
	CHECK_INT_EQ(prompt_parse_video(file, text, len, &req, &err), -EINVAL);
	CHECK(req == NULL);
	CHECK_STR_EQ(err, want_err);
	free(err);
}

static void video_bad(const char *file, const char *text, const char *want_err)
{
	video_bad_len(file, text, strlen(text), want_err);
}

static void test_plain_text(void)
{
	video_ok("cat.txt", "a cat on a piano\n", "{\"prompt\": \"a cat on a piano\"}");
	video_ok("cat", "  \n\ta cat\r\non a piano \r\n\n", "{\"prompt\": \"a cat\\r\\non a piano\"}");
	video_ok("cat.txt", "", "{}");
	video_ok("cat.txt", " \n\r\n\t", "{}");
	/* "--" or "----" is not front matter; a later "---" line is just text. */
	video_ok("cat.txt", "----\nduration: 15\n----\nx", "{\"prompt\": \"----\\nduration: 15\\n----\\nx\"}");
	video_ok("cat.txt", "hello\n---\nduration: 15\n---\n",
		 "{\"prompt\": \"hello\\n---\\nduration: 15\\n---\"}");
	video_ok("cat.txt", "a cat 🐱 plays 钢琴 @alice.sora",
		 "{\"prompt\": \"a cat 🐱 plays 钢琴 @alice.sora\"}");
	/* A byte order mark from Windows editors is not part of the prompt. */
	video_ok("cat.txt", "\xEF\xBB\xBF---\nsize: large\n---\ncat",
		 "{\"size\": \"large\", \"prompt\": \"cat\"}");
	cJSON *req = NULL;
	char *err = NULL;
	CHECK_INT_EQ(prompt_parse_video("cat.txt", NULL, 0, &req, &err), 0);
	CHECK(cJSON_IsObject(req) && req->child == NULL);
	cJSON_Delete(req);
}

static void test_front_matter(void)
{
	video_ok("cat.txt", "---\nduration: 15\naspectRatio: 16:9\n---\na cat on a piano\n",
		 "{\"duration\": 15, \"aspectRatio\": \"16:9\", \"prompt\": \"a cat on a piano\"}");
	/* CRLF line ends, trailing spaces after the fences, comments, blank lines. */
	video_ok("cat.txt", "--- \r\n# how long\r\n\r\nduration : 10\r\nsize:LARGE\r\n---\t\r\ncat\r\n",
		 "{\"duration\": 10, \"size\": \"large\", \"prompt\": \"cat\"}");
	/* Quoted values, as YAML writers do. */
	video_ok("cat.txt", "---\naspectRatio: \"9:16\"\nmodel: 'sora-2'\n---\ncat",
		 "{\"aspectRatio\": \"9:16\", \"model\": \"sora-2\", \"prompt\": \"cat\"}");
	/* Only parameters, no text: fine until validation. */
	video_ok("cat.txt", "---\nduration: 15\n---\n", "{\"duration\": 15}");
	video_ok("cat.txt", "---\nduration: 15\n---", "{\"duration\": 15}");
	video_ok("cat.txt", "---\n---\nx", "{\"prompt\": \"x\"}");
	/* The prompt may be a parameter too, when there is no text after. */
	video_ok("cat.txt", "---\nprompt: a cat: on a piano\n---\n",
		 "{\"prompt\": \"a cat: on a piano\"}");
	video_ok("cat.txt", "---\nurl: https://example.com/a.png?x=1\n"
		 "remixTargetId: s_0123456789abcdef0123456789abcdef\n---\nremix it",
		 "{\"url\": \"https://example.com/a.png?x=1\", "
		 "\"remixTargetId\": \"s_0123456789abcdef0123456789abcdef\", \"prompt\": \"remix it\"}");
	video_ok("cat.txt", "---\nduration: 15.0\n---\nx", "{\"duration\": 15, \"prompt\": \"x\"}");
}

static void test_front_matter_errors(void)
{
	video_bad("cat.txt", "---\nduration: 15\na cat", "front matter is not closed with ---");
	video_bad("cat.txt", "---\nduration: 15\n\na cat on a piano\n", "front matter is not closed with ---");
	video_bad("cat.txt", "---\nduration: 15\na cat: on a piano\n",
		  "front matter is not closed with ---");
	video_bad("cat.txt", "---\r\n", "front matter is not closed with ---");
	/* \u0000 would cut the prompt short: refused, an escaped backslash is not */
	video_bad("x.json", "{\"prompt\": \"visible\\u0000hidden\"}",
		  "the JSON contains \\u0000 (a NUL character), which text cannot hold");
	video_ok("x.json", "{\"prompt\": \"a\\\\u0000b\"}", "{\"prompt\": \"a\\\\u0000b\"}");
	video_bad("cat.txt", "---", "front matter is not closed with ---");
	video_bad("cat.txt", "---\nduration: 7\n---\nx", "line 2: duration must be 10 or 15 (got 7)");
	video_bad("cat.txt", "---\nduration: fifteen\n---\nx",
		  "line 2: duration must be 10 or 15 (got \"fifteen\")");
	video_bad("cat.txt", "---\nduration:\n---\nx", "line 2: duration must be 10 or 15 (got \"\")");
	video_bad("cat.txt", "---\nduration: 1e1\n---\nx",
		  "line 2: duration must be 10 or 15 (got \"1e1\")");
	video_bad("cat.txt", "---\nsize: small\naspectRatio: 4:3\n---\nx",
		  "line 3: aspectRatio must be 9:16 or 16:9 (got \"4:3\")");
	video_bad("cat.txt", "---\n\na cat\n---\n", "line 3: expected \"key: value\"");
	video_bad("cat.txt", "---\n: value\n---\n", "line 2: expected \"key: value\"");
	video_bad("cat.txt", "---\nthe duration: 15\n---\n", "line 2: expected \"key: value\"");
	video_bad("cat.txt", "---\ndurations: 15\n---\nx",
		  "line 2: unknown parameter \"durations\" (known: prompt, duration, aspectRatio, "
		  "size, url, remixTargetId, model)");
	video_bad("cat.txt", "---\nDuration: 15\n---\nx",
		  "line 2: unknown parameter \"Duration\" (known: prompt, duration, aspectRatio, "
		  "size, url, remixTargetId, model)");
	video_bad("cat.txt", "---\nwebHook: http://evil\n---\nx",
		  "line 2: unknown parameter \"webHook\" (known: prompt, duration, aspectRatio, "
		  "size, url, remixTargetId, model)");
	video_bad("cat.txt", "---\nduration: 10\nduration: 15\n---\nx",
		  "line 3: duration is given twice");
	video_bad("cat.txt", "---\nsize: huge\n---\nx", "line 2: size must be small or large (got \"huge\")");
	video_bad("cat.txt", "---\nmodel: sora-1\n---\nx", "line 2: model must be sora-2 (got \"sora-1\")");
	video_bad("cat.txt", "---\nremixTargetId: s_123\n---\nx",
		  "line 2: remixTargetId must be \"s_\" followed by 32 lowercase hex digits (got \"s_123\")");
	video_bad("cat.txt", "---\nremixTargetId: s_0123456789ABCDEF0123456789abcdef\n---\nx",
		  "line 2: remixTargetId must be \"s_\" followed by 32 lowercase hex digits "
		  "(got \"s_0123456789ABCDEF0123456789abcdef\")");
	video_bad("cat.txt", "---\nurl:\n---\nx",
		  "line 2: url must be an http(s) URL, a data: URL, base64 image data or a file path "
		  "(got \"\")");
	video_bad("cat.txt", "---\nprompt:  \n---\n", "line 2: prompt is empty");
	video_bad("cat.txt", "---\nprompt: a dog\n---\na cat",
		  "the prompt is given twice: in the front matter and as text after it");
}

static void test_bad_bytes(void)
{
	video_bad_len("cat.txt", "a cat\0on a piano", 16,
		      "the file contains NUL bytes: write the prompt as plain text");
	video_bad("cat.txt", "caf\xE9 au lait", "the file is not UTF-8 text: save it as UTF-8");
	video_bad("cat.txt", "\xC0\xAF", "the file is not UTF-8 text: save it as UTF-8");   /* overlong */
	video_bad("cat.txt", "\xED\xA0\x80", "the file is not UTF-8 text: save it as UTF-8"); /* surrogate */
	video_bad("cat.txt", "x\xF0\x9F\x90", "the file is not UTF-8 text: save it as UTF-8"); /* cut */
	video_bad("cat.json", "{\"prompt\": \"caf\xE9\"}", "the file is not UTF-8 text: save it as UTF-8");
	/* A prompt of only a partial parse is never sent: data is not NUL-terminated. */
	char unterminated[5] = { 'a', ' ', 'c', 'a', 't' };
	cJSON *req = NULL;
	char *err = NULL;
	CHECK_INT_EQ(prompt_parse_video("cat.txt", unterminated, 3, &req, &err), 0);
	CHECK_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(req, "prompt")), "a c");
	cJSON_Delete(req);
	CHECK_INT_EQ(prompt_parse_video("cat.json", "{}xx", 2, &req, &err), 0);
	cJSON_Delete(req);
}

static void test_json(void)
{
	video_ok("cat.json", "{\"prompt\": \"a cat\", \"size\": \"large\"}",
		 "{\"prompt\": \"a cat\", \"size\": \"large\"}");
	video_ok("CAT.JSON", "{\"prompt\": \"  a cat \\n\", \"duration\": 15}",
		 "{\"prompt\": \"a cat\", \"duration\": 15}");
	/* Numbers as strings are accepted and become numbers. */
	video_ok("cat.json", "{\"prompt\": \"x\", \"duration\": \"15\"}",
		 "{\"prompt\": \"x\", \"duration\": 15}");
	video_ok("cat.json", "{\"prompt\": \"x\", \"duration\": \" 10 \"}",
		 "{\"prompt\": \"x\", \"duration\": 10}");
	/* null means absent. */
	video_ok("cat.json", "{\"prompt\": \"x\", \"url\": null}", "{\"prompt\": \"x\"}");
	video_ok("cat.json", "{}", "{}");
	video_ok("cat.json", "\xEF\xBB\xBF {\"prompt\": \"\\u732b\"}\n", "{\"prompt\": \"猫\"}");
	/* A ".json" file with text in it is still JSON; a ".txt" with JSON is a prompt. */
	video_ok("cat.txt", "{\"prompt\": \"x\"}", "{\"prompt\": \"{\\\"prompt\\\": \\\"x\\\"}\"}");
	video_ok("cat.json.txt", "{}", "{\"prompt\": \"{}\"}");
}

static void test_json_errors(void)
{
	video_bad("cat.json", "{\"prompt\": \"x\",\n \"duration\": 15,,}",
		  "not valid JSON: error near line 2, column 18");
	video_bad("cat.json", "{\"prompt\": \"x\"", "not valid JSON: the text ends too early");
	video_bad("cat.json", "", "not valid JSON: the text ends too early");
	video_bad("cat.json", "a cat", "not valid JSON: error near line 1, column 1");
	video_bad("cat.json", "{} {}", "not valid JSON: error near line 1, column 4");
	video_bad("cat.json", "[\"a cat\"]",
		  "the JSON must be an object like {\"prompt\": \"…\"} (got a list)");
	video_bad("cat.json", "\"a cat\"",
		  "the JSON must be an object like {\"prompt\": \"…\"} (got a string)");
	video_bad("cat.json", "{\"prompt\": \"x\", \"durations\": 15}",
		  "unknown parameter \"durations\" (known: prompt, duration, aspectRatio, size, url, "
		  "remixTargetId, model)");
	video_bad("cat.json", "{\"prompt\": \"x\", \"duration\": 10, \"duration\": 15}",
		  "parameter \"duration\" is given twice");
	video_bad("cat.json", "{\"prompt\": \"x\", \"duration\": 7}", "duration must be 10 or 15 (got 7)");
	video_bad("cat.json", "{\"prompt\": \"x\", \"duration\": 15.5}",
		  "duration must be 10 or 15 (got 15.5)");
	video_bad("cat.json", "{\"prompt\": \"x\", \"duration\": \"7\"}",
		  "duration must be 10 or 15 (got 7)");
	video_bad("cat.json", "{\"prompt\": \"x\", \"duration\": true}",
		  "duration must be 10 or 15 (got true)");
	video_bad("cat.json", "{\"prompt\": \"x\", \"aspectRatio\": \"4:3\"}",
		  "aspectRatio must be 9:16 or 16:9 (got \"4:3\")");
	video_bad("cat.json", "{\"prompt\": \"x\", \"aspectRatio\": 1.5}",
		  "aspectRatio must be 9:16 or 16:9 (got 1.5)");
	video_bad("cat.json", "{\"prompt\": 42}", "prompt must be text");
	video_bad("cat.json", "{\"prompt\": \"  \"}", "prompt is empty");
	video_bad("cat.json", "{\"prompt\": \"x\", \"url\": [\"a\"]}",
		  "url must be an http(s) URL, a data: URL, base64 image data or a file path "
		  "(got [\"a\"])");
	video_bad_len("cat.json", "{\"prompt\": \"x\0\"}", 16, "the file contains NUL bytes: "
		      "write the prompt as plain text");
}

/* ---- characters ---------------------------------------------------------- */

static void character_ok(const char *text, const char *want_json)
{
	cJSON *req = NULL;
	char *err = NULL;
	CHECK_INT_EQ(prompt_parse_character(text, strlen(text), &req, &err), 0);
	CHECK_STR_EQ(err, NULL);
	cJSON *want = cJSON_Parse(want_json);
	bool same = req && cJSON_Compare(req, want, true);
	if (!same) {
		char *got = req ? cJSON_PrintUnformatted(req) : NULL;
		fprintf(stderr, "    got:  %s\n    want: %s\n", got ? got : "NULL", want_json);
		cJSON_free(got);
	}
	CHECK(same);
	cJSON_Delete(want);
	cJSON_Delete(req);
	free(err);
}

static void character_bad(const char *text, const char *want_err)
{
	cJSON *req = (cJSON *)1;
	char *err = NULL;
	CHECK_INT_EQ(prompt_parse_character(text, strlen(text), &req, &err), -EINVAL);
	CHECK(req == NULL);
	CHECK_STR_EQ(err, want_err);
	free(err);
}

static void test_character(void)
{
	character_ok("{\"url\": \"https://x/v.mp4\", \"timestamps\": \"0,3\"}",
		     "{\"url\": \"https://x/v.mp4\", \"timestamps\": \"0,3\"}");
	character_ok("{\"url\": \"https://x/v.mp4\", \"timestamps\": \" 1.5 , 4.5 \"}",
		     "{\"url\": \"https://x/v.mp4\", \"timestamps\": \"1.5,4.5\"}");
	character_ok("{\"pid\": \"s_0123456789abcdef0123456789abcdef\"}",
		     "{\"pid\": \"s_0123456789abcdef0123456789abcdef\"}");
	character_ok("{\"pid\": \"s_0123456789abcdef0123456789abcdef\", \"timestamps\": \"2,3\"}",
		     "{\"pid\": \"s_0123456789abcdef0123456789abcdef\", \"timestamps\": \"2,3\"}");
	character_ok("{\"url\": \"/home/me/v.mp4\", \"timestamps\": \"0,0.5\", \"pid\": null}",
		     "{\"url\": \"/home/me/v.mp4\", \"timestamps\": \"0,0.5\"}");

	const char *ts_err = "timestamps must be \"start,end\" at most 3 seconds apart (got \"0,5\")";
	character_bad("{\"url\": \"https://x/v.mp4\", \"timestamps\": \"0,5\"}", ts_err);
	character_bad("{\"url\": \"u\", \"timestamps\": \"3,1\"}",
		      "timestamps must be \"start,end\" at most 3 seconds apart (got \"3,1\")");
	character_bad("{\"url\": \"u\", \"timestamps\": \"1,1\"}",
		      "timestamps must be \"start,end\" at most 3 seconds apart (got \"1,1\")");
	character_bad("{\"url\": \"u\", \"timestamps\": \"-1,1\"}",
		      "timestamps must be \"start,end\" at most 3 seconds apart (got \"-1,1\")");
	character_bad("{\"url\": \"u\", \"timestamps\": \"0,3,4\"}",
		      "timestamps must be \"start,end\" at most 3 seconds apart (got \"0,3,4\")");
	character_bad("{\"url\": \"u\", \"timestamps\": \"03\"}",
		      "timestamps must be \"start,end\" at most 3 seconds apart (got \"03\")");
	character_bad("{\"url\": \"u\", \"timestamps\": \"a,b\"}",
		      "timestamps must be \"start,end\" at most 3 seconds apart (got \"a,b\")");
	character_bad("{\"url\": \"u\", \"timestamps\": [0, 3]}",
		      "timestamps must be \"start,end\" at most 3 seconds apart (got [0,3])");
	character_bad("{\"url\": \"u\"}",
		      "timestamps are required with \"url\": the seconds to take the character "
		      "from, e.g. \"0,3\"");
	character_bad("{\"url\": \"u\", \"pid\": \"s_0123456789abcdef0123456789abcdef\", "
		      "\"timestamps\": \"0,3\"}", "give either \"url\" or \"pid\", not both");
	character_bad("{\"timestamps\": \"0,3\"}",
		      "a character needs \"url\" (a video URL, base64 data or a file path) or "
		      "\"pid\" (the id of an earlier video)");
	character_bad("{\"pid\": \"abc\"}",
		      "pid must be \"s_\" followed by 32 lowercase hex digits (got \"abc\")");
	character_bad("{\"url\": \"u\", \"timestamps\": \"0,3\", \"name\": \"alice\"}",
		      "unknown parameter \"name\" (known: url, pid, timestamps)");
	character_bad("{\"url\": \"u\", \"url\": \"v\", \"timestamps\": \"0,3\"}",
		      "parameter \"url\" is given twice");
	character_bad("not json", "not valid JSON: error near line 1, column 1");
	character_bad("", "not valid JSON: the text ends too early");

	cJSON *req = (cJSON *)1;
	char *err = NULL;
	CHECK_INT_EQ(prompt_parse_character(NULL, 0, &req, &err), -EINVAL);
	CHECK(req == NULL);
	free(err);
}

/* ---- defaults and validation --------------------------------------------- */

static void test_merge_and_validate(void)
{
	cJSON *req = cJSON_Parse("{\"prompt\": \"a cat\", \"duration\": 15}");
	cJSON *defaults = cJSON_Parse("{\"duration\": 10, \"aspectRatio\": \"16:9\", "
				      "\"prompt\": \"never\", \"webHook\": \"http://x\", "
				      "\"shutProgress\": true, "
				      "\"remixTargetId\": \"s_0123456789abcdef0123456789abcdef\", "
				      "\"customFlag\": true, \"character_refs\": [\"a.b\"]}");
	prompt_merge_defaults(req, defaults);
	/* only request parameters go upstream (the Web Studio keeps UI state there) */
	cJSON *want = cJSON_Parse("{\"prompt\": \"a cat\", \"duration\": 15, "
				  "\"aspectRatio\": \"16:9\"}");
	CHECK(cJSON_Compare(req, want, true));
	cJSON_Delete(want);
	char *err = NULL;
	CHECK_INT_EQ(prompt_validate_video(req, &err), 0);
	CHECK(err == NULL);
	prompt_merge_defaults(req, NULL);       /* nothing to merge: no change */
	prompt_merge_defaults(NULL, defaults);
	cJSON_Delete(req);
	cJSON_Delete(defaults);

	/* A bad default is caught by validation, named by parameter. */
	req = cJSON_Parse("{\"prompt\": \"a cat\"}");
	defaults = cJSON_Parse("{\"duration\": 7}");
	prompt_merge_defaults(req, defaults);
	CHECK_INT_EQ(prompt_validate_video(req, &err), -EINVAL);
	CHECK_STR_HAS(err, "duration must be 10 or 15 (got 7)");
	free(err);
	cJSON_Delete(req);
	cJSON_Delete(defaults);

	/* Strings for numbers from an old Web Studio config are still valid. */
	req = cJSON_Parse("{\"prompt\": \"a cat\", \"duration\": \"10\", \"size\": \"small\"}");
	CHECK_INT_EQ(prompt_validate_video(req, &err), 0);
	cJSON_Delete(req);

	req = cJSON_Parse("{\"duration\": 10}");
	CHECK_INT_EQ(prompt_validate_video(req, &err), -EINVAL);
	CHECK_STR_EQ(err, "no prompt: write the text of the video into the file");
	free(err);
	cJSON_Delete(req);

	req = cJSON_Parse("{\"prompt\": \" \\n \"}");
	CHECK_INT_EQ(prompt_validate_video(req, &err), -EINVAL);
	CHECK_STR_EQ(err, "prompt is empty");
	free(err);
	cJSON_Delete(req);

	req = cJSON_Parse("{\"prompt\": \"x\", \"model\": \"sora-1\"}");
	CHECK_INT_EQ(prompt_validate_video(req, &err), -EINVAL);
	CHECK_STR_EQ(err, "model must be sora-2 (got \"sora-1\")");
	free(err);
	cJSON_Delete(req);

	req = cJSON_CreateArray();
	CHECK_INT_EQ(prompt_validate_video(req, &err), -EINVAL);
	free(err);
	cJSON_Delete(req);
}

/* ---- parameters as text -------------------------------------------------- */

static void from_text_ok(const char *name, const char *text, const char *want_json)
{
	cJSON *v = NULL;
	char *err = NULL;
	CHECK_INT_EQ(param_from_text(name, text, &v, &err), 0);
	CHECK(err == NULL);
	cJSON *want = cJSON_Parse(want_json);
	CHECK(v && cJSON_Compare(v, want, true));
	char *back = param_to_text(v);
	char *trimmed = str_trim_dup(text, strlen(text));
	/* Text of a typed value reads back as the same value. */
	cJSON *again = NULL;
	char *err2 = NULL;
	CHECK_INT_EQ(param_from_text(name, back, &again, &err2), 0);
	CHECK(again && cJSON_Compare(v, again, true));
	cJSON_Delete(again);
	free(trimmed);
	free(back);
	cJSON_Delete(want);
	cJSON_Delete(v);
}

static void test_param_text(void)
{
	CHECK(param_name_ok("aspectRatio"));
	CHECK(param_name_ok("duration"));
	CHECK(param_name_ok("size"));
	CHECK(param_name_ok("model"));
	CHECK(!param_name_ok("x"));             /* only real request parameters */
	CHECK(!param_name_ok("durations"));
	CHECK(!param_name_ok("character_refs"));
	CHECK(!param_name_ok("prompt"));
	CHECK(!param_name_ok("webHook"));
	CHECK(!param_name_ok("shutProgress"));
	CHECK(!param_name_ok("remixTargetId"));
	CHECK(!param_name_ok(""));
	CHECK(!param_name_ok(NULL));
	CHECK(!param_name_ok("2fast"));
	CHECK(!param_name_ok("_x"));
	CHECK(!param_name_ok("aspect-ratio"));
	CHECK(!param_name_ok("aspect.ratio"));
	CHECK(!param_name_ok(".swp"));
	CHECK(!param_name_ok("a1234567890123456789012345678901234567890123456789012345678901234"));

	from_text_ok("duration", "15\n", "15");
	from_text_ok("duration", " 10 ", "10");
	from_text_ok("aspectRatio", "16:9\n", "\"16:9\"");
	from_text_ok("size", "Large\n", "\"large\"");
	from_text_ok("model", "sora-2", "\"sora-2\"");
	from_text_ok("customFlag", "true", "true");
	from_text_ok("customFlag", "false\n", "false");
	from_text_ok("retries", "3", "3");
	from_text_ok("offset", "-42", "-42");
	from_text_ok("label", "my video", "\"my video\"");
	from_text_ok("label", "1.5", "\"1.5\"");   /* only integers become numbers */
	from_text_ok("label", "12345678901234567890", "\"12345678901234567890\"");

	cJSON *v = (cJSON *)1;
	char *err = NULL;
	CHECK_INT_EQ(param_from_text("duration", "7\n", &v, &err), -EINVAL);
	CHECK(v == NULL);
	CHECK_STR_EQ(err, "duration must be 10 or 15 (got 7)");
	free(err);
	CHECK_INT_EQ(param_from_text("aspectRatio", "4:3", &v, &err), -EINVAL);
	CHECK_STR_EQ(err, "aspectRatio must be 9:16 or 16:9 (got \"4:3\")");
	free(err);
	CHECK_INT_EQ(param_from_text("label", "caf\xE9", &v, &err), -EINVAL);
	CHECK_STR_EQ(err, "label is not valid UTF-8 text");
	free(err);

	cJSON *n = cJSON_CreateNumber(15);
	char *t = param_to_text(n);
	CHECK_STR_EQ(t, "15");
	free(t);
	cJSON_SetNumberValue(n, 0.1);
	t = param_to_text(n);
	CHECK_STR_EQ(t, "0.1");
	free(t);
	cJSON_SetNumberValue(n, 1.0 / 3);
	t = param_to_text(n);
	CHECK(strtod(t, NULL) == 1.0 / 3);
	free(t);
	cJSON_Delete(n);
	cJSON *o = cJSON_Parse("{\"a\": [1, \"x\"]}");
	t = param_to_text(o);
	CHECK_STR_EQ(t, "{\"a\":[1,\"x\"]}");
	free(t);
	cJSON_Delete(o);
	cJSON *nul = cJSON_CreateNull();
	t = param_to_text(nul);
	CHECK_STR_EQ(t, "");
	free(t);
	cJSON_Delete(nul);
	t = param_to_text(NULL);
	CHECK_STR_EQ(t, "");
	free(t);
}

int main(void)
{
	RUN(test_plain_text);
	RUN(test_front_matter);
	RUN(test_front_matter_errors);
	RUN(test_bad_bytes);
	RUN(test_json);
	RUN(test_json_errors);
	RUN(test_character);
	RUN(test_merge_and_validate);
	RUN(test_param_text);
	return check_report("unit-prompt");
}
