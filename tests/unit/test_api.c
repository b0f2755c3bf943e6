/* test_api.c - request bodies, envelopes, task objects, failure texts, streams.
 *
 *   $ meson test unit-api
 */
#include "api.h"
#include "check.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* cJSON value printed compactly, for comparing with literal JSON text. */
static char *compact(const cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	char *r = xstrdup(s ? s : "NULL");
	cJSON_free(s);
	return r;
}

static void check_json(const cJSON *got, const char *want)
{
	char *g = compact(got);
	CHECK_STR_EQ(g, want);
	free(g);
}

static void test_video_body(void)
{
	cJSON *req = cJSON_Parse("{\"customFlag\": true, \"size\": \"large\", \"prompt\": \"a cat\","
				 " \"duration\": \"15\", \"webHook\": \"http://evil\","
				 " \"shutProgress\": true, \"model\": \"sora-2\", \"url\": null}");
	cJSON *body = api_video_body(req);
	check_json(body, "{\"model\":\"sora-2\",\"webHook\":\"-1\",\"prompt\":\"a cat\","
			 "\"duration\":15,\"size\":\"large\",\"customFlag\":true}");
	cJSON_Delete(body);
	cJSON_Delete(req);

	req = cJSON_Parse("{\"prompt\": \"p\", \"duration\": 10, \"aspectRatio\": \"16:9\","
			  " \"url\": \"data:image/png;base64,AAAA\","
			  " \"remixTargetId\": \"s_0123456789abcdef0123456789abcdef\"}");
	body = api_video_body(req);
	check_json(body, "{\"model\":\"sora-2\",\"webHook\":\"-1\",\"prompt\":\"p\",\"duration\":10,"
			 "\"aspectRatio\":\"16:9\",\"url\":\"data:image/png;base64,AAAA\","
			 "\"remixTargetId\":\"s_0123456789abcdef0123456789abcdef\"}");
	cJSON_Delete(body);
	cJSON_Delete(req);
}

static void test_character_body(void)
{
	const char *path = "unset";
	cJSON *req = cJSON_Parse("{\"url\": \"https://x/v.mp4\", \"timestamps\": \"0,3\"}");
	cJSON *body = api_character_body(req, &path);
	check_json(body, "{\"url\":\"https://x/v.mp4\",\"timestamps\":\"0,3\",\"webHook\":\"-1\"}");
	CHECK_STR_EQ(path, API_PATH_UPLOAD_CHARACTER);
	cJSON_Delete(body);
	cJSON_Delete(req);

	req = cJSON_Parse("{\"pid\": \"s_0123456789abcdef0123456789abcdef\"}");
	body = api_character_body(req, &path);
	check_json(body, "{\"pid\":\"s_0123456789abcdef0123456789abcdef\",\"webHook\":\"-1\"}");
	CHECK_STR_EQ(path, API_PATH_CREATE_CHARACTER);
	cJSON_Delete(body);
	cJSON_Delete(req);

	req = cJSON_Parse("{\"timestamps\": \"0,3\"}");
	CHECK(api_character_body(req, &path) == NULL);
	CHECK(path == NULL);
	cJSON_Delete(req);

	body = api_result_body("f44bcf50-1");
	check_json(body, "{\"id\":\"f44bcf50-1\"}");
	cJSON_Delete(body);
}

/* Parse body; check outcome, code and the message (or data JSON when OK). */
static void envelope(const char *body, enum api_outcome want, long want_code,
		     const char *want_text)
{
	cJSON *data = NULL;
	long code = 12345;
	char *msg = NULL;
	enum api_outcome got = api_parse_envelope(body, body ? strlen(body) : 0, &data, &code, &msg);
	CHECK_INT_EQ(got, want);
	CHECK_INT_EQ(code, want_code);
	if (want == API_OK) {
		CHECK(msg == NULL);
		check_json(data, want_text);
	} else {
		CHECK(data == NULL);
		CHECK_STR_EQ(msg, want_text);
	}
	cJSON_Delete(data);
	free(msg);
}

static void test_envelope(void)
{
	envelope("{\"code\":0,\"msg\":\"success\",\"data\":{\"id\":\"abc\"}}", API_OK, 0,
		 "{\"id\":\"abc\"}");
	envelope("{\"code\":\"0\",\"msg\":\"success\",\"data\":{\"credits\":5}}", API_OK, 0,
		 "{\"credits\":5}");
	envelope("{\"msg\":\"success\",\"data\":[1]}", API_OK, 0, "[1]");   /* code missing */
	envelope("{\"code\":0,\"msg\":\"success\",\"data\":null}", API_OK, 0, "null");
	envelope("{\"code\":0,\"msg\":\"success\"}", API_OK, 0, "null");
	envelope(" \r\n{\"code\":0,\"data\":\"text\"}\n", API_OK, 0, "\"text\"");

	envelope("{\"code\":-22,\"msg\":\"task not found\",\"data\":null}", API_ERR_CODE, -22,
		 "code -22: task not found");
	envelope("{\"code\":\"-22\",\"msg\":\"task not found\"}", API_ERR_CODE, -22,
		 "code -22: task not found");
	envelope("{\"code\":401}", API_ERR_CODE, 401, "code 401");
	envelope("{\"code\":500,\"msg\":\"\",\"message\":\"insufficient credits\"}", API_ERR_CODE, 500,
		 "code 500: insufficient credits");
	envelope("{\"code\":-1,\"msg\":\"line1\\nline2\"}", API_ERR_CODE, -1, "code -1: line1 line2");

	envelope("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
		 API_ERR_SYNTAX, 0,
		 "the server answered with a web page instead of JSON (\"502 Bad Gateway\")");
	envelope("<!DOCTYPE html><html><body>oops</body></html>", API_ERR_SYNTAX, 0,
		 "the server answered with a web page instead of JSON");
	envelope("", API_ERR_SYNTAX, 0, "the server sent an empty answer");
	envelope(NULL, API_ERR_SYNTAX, 0, "the server sent an empty answer");
	envelope("  \n", API_ERR_SYNTAX, 0, "the server sent an empty answer");
	envelope("Bad Gateway", API_ERR_SYNTAX, 0, "the server's answer is not JSON: Bad Gateway");
	envelope("{\"code\":0,", API_ERR_SYNTAX, 0, "the server's answer is not JSON: {\"code\":0,");
	envelope("[1,2]", API_ERR_SYNTAX, 0, "the server's answer is not an API envelope: [1,2]");
	/* codes out of range are unreadable, never converted */
	envelope("{\"code\":1e300}", API_ERR_SYNTAX, 0,
		 "the server's answer has an unreadable \"code\": {\"code\":1e300}");
	envelope("{\"code\":-1e300}", API_ERR_SYNTAX, 0,
		 "the server's answer has an unreadable \"code\": {\"code\":-1e300}");
	envelope("{\"code\":1e999}", API_ERR_SYNTAX, 0,
		 "the server's answer has an unreadable \"code\": {\"code\":1e999}");
	envelope("{\"code\":\"99999999999999999999999\"}", API_ERR_SYNTAX, 0,
		 "the server's answer has an unreadable \"code\": {\"code\":\"99999999999999999999999\"}");
	envelope("{\"code\":\"oops\",\"data\":{}}", API_ERR_SYNTAX, 0,
		 "the server's answer has an unreadable \"code\": {\"code\":\"oops\",\"data\":{}}");
	envelope("{\"error\":\"rate limited\"}", API_ERR_SYNTAX, 0,
		 "the server's answer has no \"code\" and no \"data\": rate limited");
	envelope("{\"id\":\"x\",\"status\":\"running\"}", API_ERR_SYNTAX, 0,
		 "the server's answer has no \"code\" and no \"data\": {\"id\":\"x\",\"status\":\"running\"}");

	/* A long page is cut, at a character boundary. */
	buf_t b;
	buf_init(&b);
	for (int i = 0; i < 300; i++)
		buf_adds(&b, "é");
	cJSON *data;
	long code;
	char *msg;
	CHECK_INT_EQ(api_parse_envelope(b.data, b.len, &data, &code, &msg), API_ERR_SYNTAX);
	CHECK(strlen(msg) < 300);
	CHECK(str_has_suffix(msg, "éé…"));
	free(msg);
	buf_free(&b);

	/* Embedded NUL: not JSON, never a partial parse. */
	CHECK_INT_EQ(api_parse_envelope("{\"code\":0}\0xx", 13, &data, &code, &msg), API_ERR_SYNTAX);
	free(msg);
}

static void task(const char *json, api_task *t)
{
	cJSON *j = cJSON_Parse(json);
	CHECK(j != NULL);
	CHECK_INT_EQ(api_task_parse(j, t), 0);
	cJSON_Delete(j);
}

static void test_task_parse(void)
{
	api_task t;
	task("{\"id\": \"f44bcf50\", \"status\": \"succeeded\", \"progress\": 100,"
	     " \"results\": [{\"url\": \"https://files.example/x.mp4\", \"removeWatermark\": true,"
	     " \"pid\": \"s_0123\"}], \"failure_reason\": \"\", \"error\": \"\"}", &t);
	CHECK_STR_EQ(t.id, "f44bcf50");
	CHECK_STR_EQ(t.status, "succeeded");
	CHECK_INT_EQ(t.progress, 100);
	CHECK_STR_EQ(t.url, "https://files.example/x.mp4");
	CHECK_STR_EQ(t.pid, "s_0123");
	CHECK(t.character_id == NULL);
	CHECK(t.failure_reason == NULL);
	CHECK(t.error == NULL);
	CHECK_INT_EQ(api_task_state(&t), TASK_SUCCEEDED);
	char *f = api_task_failure_text(&t);
	CHECK_STR_EQ(f, "");
	free(f);
	api_task_free(&t);

	task("{\"id\": 12345, \"status\": \"running\"}", &t);
	CHECK_STR_EQ(t.id, "12345");
	CHECK_INT_EQ(t.progress, -1);              /* missing */
	CHECK(t.url == NULL);
	CHECK_INT_EQ(api_task_state(&t), TASK_RUNNING);
	api_task_free(&t);

	task("{\"status\": \"running\", \"progress\": \"45\", \"results\": []}", &t);
	CHECK_INT_EQ(t.progress, 45);
	CHECK(t.url == NULL);
	api_task_free(&t);
	task("{\"status\": \"running\", \"progress\": \"45%\"}", &t);
	CHECK_INT_EQ(t.progress, 45);
	api_task_free(&t);
	task("{\"status\": \"running\", \"progress\": 250}", &t);
	CHECK_INT_EQ(t.progress, 100);
	api_task_free(&t);
	/* Out of range: checked before any conversion (no undefined behaviour). */
	static const struct { const char *v; int want; } odd[] = {
		{ "1e300", 100 }, { "-1e300", 0 }, { "1e999", 100 }, { "-1e999", 0 },
		{ "-5", 0 }, { "\"nan\"", -1 }, { "\"inf\"", -1 }, { "\"1e300\"", 100 },
		{ "\"-inf%\"", -1 },
	};
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		char *body = xasprintf("{\"status\": \"running\", \"progress\": %s}", odd[i].v);
		task(body, &t);
		CHECK_INT_EQ(t.progress, odd[i].want);
		api_task_free(&t);
		free(body);
	}
	task("{\"status\": \"running\", \"progress\": -5}", &t);
	CHECK_INT_EQ(t.progress, 0);
	api_task_free(&t);
	task("{\"status\": \"running\", \"progress\": 37.9}", &t);
	CHECK_INT_EQ(t.progress, 37);
	api_task_free(&t);
	task("{\"status\": \"running\", \"progress\": \"soon\"}", &t);
	CHECK_INT_EQ(t.progress, -1);
	api_task_free(&t);
	task("{\"status\": \"running\", \"progress\": null}", &t);
	CHECK_INT_EQ(t.progress, -1);
	api_task_free(&t);

	/* Character results; results as a single object; fields at top level. */
	task("{\"status\": \"succeeded\", \"results\": [{\"character_id\": \"alice.sora\"}]}", &t);
	CHECK_STR_EQ(t.character_id, "alice.sora");
	api_task_free(&t);
	task("{\"status\": \"succeeded\", \"results\": {\"url\": \"u\"}}", &t);
	CHECK_STR_EQ(t.url, "u");
	api_task_free(&t);
	task("{\"status\": \"succeeded\", \"url\": \"top\", \"results\": [\"junk\"]}", &t);
	CHECK_STR_EQ(t.url, "top");
	api_task_free(&t);

	/* An error detail sent as an object. */
	task("{\"status\": \"failed\", \"error\": {\"message\": \"GPU melted\"}}", &t);
	CHECK_STR_EQ(t.error, "GPU melted");
	api_task_free(&t);

	cJSON *arr = cJSON_Parse("[1]");
	CHECK_INT_EQ(api_task_parse(arr, &t), -EINVAL);
	CHECK(t.id == NULL && t.progress == -1);
	api_task_free(&t);
	cJSON_Delete(arr);
	CHECK_INT_EQ(api_task_parse(NULL, &t), -EINVAL);
	api_task_free(&t);
	api_task_free(NULL);
}

static void state_is(const char *status, enum api_task_state want)
{
	api_task t = { .status = (char *)status, .progress = -1 };
	CHECK_INT_EQ(api_task_state(&t), want);
}

static void test_task_state(void)
{
	state_is("running", TASK_RUNNING);
	state_is("RUNNING", TASK_RUNNING);
	state_is("queued", TASK_RUNNING);
	state_is("Processing", TASK_RUNNING);
	state_is("pending", TASK_RUNNING);
	state_is("succeeded", TASK_SUCCEEDED);
	state_is("success", TASK_SUCCEEDED);
	state_is("SUCCEEDED", TASK_SUCCEEDED);
	state_is("failed", TASK_FAILED);
	state_is("violation", TASK_FAILED);
	state_is("cancelled", TASK_UNKNOWN_FINAL);
	state_is("", TASK_UNKNOWN_FINAL);
	state_is(NULL, TASK_UNKNOWN_FINAL);
	CHECK_INT_EQ(api_task_state(NULL), TASK_UNKNOWN_FINAL);
}

static void failure_is(const char *json, const char *want)
{
	api_task t;
	task(json, &t);
	char *f = api_task_failure_text(&t);
	CHECK_STR_EQ(f, want);
	free(f);
	api_task_free(&t);
}

static void test_failure_text(void)
{
	failure_is("{\"status\": \"failed\", \"failure_reason\": \"input_moderation\"}",
		   "the prompt was rejected by content moderation");
	failure_is("{\"status\": \"failed\", \"failure_reason\": \"input_moderation\","
		   " \"error\": \"mentions a public figure\"}",
		   "the prompt was rejected by content moderation: mentions a public figure");
	failure_is("{\"status\": \"failed\", \"failure_reason\": \"output_moderation\", \"error\": \"\"}",
		   "the generated video was rejected by content moderation");
	failure_is("{\"status\": \"failed\", \"failure_reason\": \"error\", \"error\": \"timeout\"}",
		   "the generation failed upstream: timeout");
	failure_is("{\"status\": \"failed\"}", "the generation failed upstream");
	failure_is("{\"status\": \"failed\", \"failure_reason\": \"quota\", \"error\": \"x\"}",
		   "the generation failed upstream (reason \"quota\"): x");
	failure_is("{\"status\": \"violation\"}",
		   "the task ended with status \"violation\" (content policy)");
	failure_is("{\"status\": \"violation\", \"error\": \"nudity\"}",
		   "the task ended with status \"violation\" (content policy): nudity");
	failure_is("{\"status\": \"exploded\"}", "the task ended with an unknown status \"exploded\"");
	failure_is("{\"id\": \"x\"}", "the API sent a task without a status");
	failure_is("{\"status\": \"running\"}", "");
}

static void submit_id_is(const char *json, const char *want)
{
	cJSON *j = cJSON_Parse(json);
	char *id = api_submit_id(j);
	CHECK_STR_EQ(id, want);
	free(id);
	cJSON_Delete(j);
}

static void test_submit_id(void)
{
	submit_id_is("{\"id\": \"f44bcf50-aaaa\"}", "f44bcf50-aaaa");
	submit_id_is("{\"id\": 42}", "42");
	submit_id_is("{\"taskId\": \"t1\"}", "t1");
	submit_id_is("\"bare\"", "bare");
	submit_id_is("{\"id\": \"\"}", NULL);
	submit_id_is("{\"id\": null}", NULL);
	submit_id_is("{}", NULL);
	submit_id_is("null", NULL);
	submit_id_is("[\"x\"]", NULL);
	CHECK(api_submit_id(NULL) == NULL);
}

static void stream_is(const char *body, const char *want)
{
	cJSON *t = api_stream_last_task(body, strlen(body));
	if (want) {
		check_json(t, want);
	} else {
		CHECK(t == NULL);
	}
	cJSON_Delete(t);
}

static void test_stream(void)
{
	stream_is("data: {\"id\":\"a\",\"status\":\"running\",\"progress\":10}\n\n"
		  "data: {\"id\":\"a\",\"status\":\"running\",\"progress\":60}\n\n"
		  "data: {\"id\":\"a\",\"status\":\"succeeded\",\"progress\":100}\n\n",
		  "{\"id\":\"a\",\"status\":\"succeeded\",\"progress\":100}");
	/* Bare JSON lines, CRLF, "data:" without a space, comments and events. */
	stream_is("{\"progress\":1}\r\n{\"progress\":2}\r\n", "{\"progress\":2}");
	stream_is(": keep-alive\nevent: message\nid: 7\ndata:{\"progress\":3}\nretry: 100\n"
		  "data: [DONE]\n", "{\"progress\":3}");
	/* A cut-off last line is ignored: the last complete object counts. */
	stream_is("data: {\"progress\":50}\ndata: {\"progress\":6", "{\"progress\":50}");
	/* Envelopes in the stream: their data is the task. */
	stream_is("data: {\"code\":0,\"msg\":\"success\",\"data\":{\"progress\":70}}\n",
		  "{\"progress\":70}");
	stream_is("data: {\"code\":-1,\"msg\":\"bad\",\"data\":null}\n", NULL);
	/* One pretty-printed object. */
	stream_is("{\n  \"id\": \"a\",\n  \"status\": \"failed\"\n}\n",
		  "{\"id\":\"a\",\"status\":\"failed\"}");
	stream_is("", NULL);
	stream_is("data: not json\n", NULL);
	stream_is("data: [1,2]\n", NULL);
	CHECK(api_stream_last_task(NULL, 0) == NULL);
	CHECK(api_stream_last_task("{\"a\":1}\0", 8) == NULL);
}

static void line_is(const char *line, const char *want)
{
	cJSON *t = api_stream_line_task(line, strlen(line));
	if (want) {
		check_json(t, want);
	} else {
		CHECK(t == NULL);
	}
	cJSON_Delete(t);
}

static void test_stream_line(void)
{
	line_is("data: {\"id\":\"a\",\"status\":\"running\"}", "{\"id\":\"a\",\"status\":\"running\"}");
	line_is("{\"id\":\"b\"}\r", "{\"id\":\"b\"}");            /* bare, CRLF */
	line_is("data:{\"code\":0,\"data\":{\"id\":\"c\"}}", "{\"id\":\"c\"}"); /* envelope */
	line_is("data: {\"code\":-2,\"msg\":\"poor\",\"data\":null}", NULL);
	line_is("data: {\"id\":\"cut", NULL);
	line_is(": keep-alive", NULL);
	line_is("event: message", NULL);
	line_is("data: [DONE]", NULL);
	line_is("", NULL);
	CHECK(api_stream_line_task(NULL, 0) == NULL);
	CHECK(api_stream_line_task("{\"a\":1}\0", 8) == NULL);
}

static void test_body_streamed(void)
{
	cJSON *req = cJSON_Parse("{\"prompt\":\"a cat\",\"duration\":15}");
	cJSON *body = api_video_body(req);
	api_body_stream(body);
	check_json(body, "{\"model\":\"sora-2\",\"prompt\":\"a cat\",\"duration\":15}");
	cJSON_Delete(body);
	cJSON_Delete(req);
	req = cJSON_Parse("{\"pid\":\"s_1\",\"timestamps\":\"0,3\"}");
	body = api_character_body(req, NULL);
	api_body_stream(body);
	check_json(body, "{\"pid\":\"s_1\",\"timestamps\":\"0,3\"}");
	cJSON_Delete(body);
	cJSON_Delete(req);
	api_body_stream(NULL);
}

int main(void)
{
	RUN(test_video_body);
	RUN(test_character_body);
	RUN(test_envelope);
	RUN(test_task_parse);
	RUN(test_task_state);
	RUN(test_failure_text);
	RUN(test_submit_id);
	RUN(test_stream);
	RUN(test_stream_line);
	RUN(test_body_streamed);
	return check_report("unit-api");
}
