/* api.c - the Sora2 protocol: request bodies and parsing answers. Pure, fuzzable.
 *
 *   req {"prompt": "a cat", "duration": 15}
 *     -> api_video_body -> {"model": "sora-2", "webHook": "-1", "prompt": "a cat",
 *                           "duration": 15}
 *   answer {"code": 0, "msg": "success", "data": {"id": "f44b…"}}
 *     -> api_parse_envelope -> API_OK, data {"id": "f44b…"} -> api_submit_id "f44b…"
 *   answer {"code": -22, "msg": "task not found"}
 *     -> API_ERR_CODE, "code -22: task not found"
 *
 * The upstream API is loosely specified, so parsing is forgiving about shapes
 * (numbers sent as strings, missing fields) and strict about meaning: anything
 * it cannot understand becomes a clear message, never a guess.
 */
#include "api.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest upstream text copied into a message: error pages can be megabytes. */
#define SNIPPET_MAX 200

/* ---- request bodies --------------------------------------------------------- */

/* Fields the client controls itself; never copied from a request or defaults. */
static bool is_client_field(const char *name)
{
	return strcmp(name, "model") == 0 || strcmp(name, "webHook") == 0 ||
	       strcmp(name, "shutProgress") == 0;
}

/* duration may arrive as "15" from older defaults; the API documents a number. */
static cJSON *body_value(const char *name, const cJSON *v)
{
	if (strcmp(name, "duration") == 0 && cJSON_IsString(v)) {
		char *end;
		double d = strtod(v->valuestring, &end);
		if (end != v->valuestring && *end == '\0' && isfinite(d))
			return cJSON_CreateNumber(d);
	}
	return cJSON_Duplicate(v, true);
}

static void copy_field(cJSON *body, const cJSON *req, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
	if (v && !cJSON_IsNull(v) && !cJSON_HasObjectItem(body, name))
		cJSON_AddItemToObject(body, name, body_value(name, v));
}

cJSON *api_video_body(const cJSON *req)
{
	static const char *const ordered[] = {
		"prompt", "duration", "aspectRatio", "size", "url", "remixTargetId",
	};
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "model", "sora-2");
	/* "-1": answer at once with the task id; the engine polls. Never a stream
	 * held open for minutes. */
	cJSON_AddStringToObject(body, "webHook", "-1");
	for (size_t i = 0; i < sizeof ordered / sizeof ordered[0]; i++)
		copy_field(body, req, ordered[i]);
	const cJSON *it;
	cJSON_ArrayForEach(it, req) {
		if (it->string && !is_client_field(it->string))
			copy_field(body, req, it->string);
	}
	return body;
}

cJSON *api_character_body(const cJSON *req, const char **path)
{
	const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "url"));
	const char *pid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, "pid"));
	if (path)
		*path = NULL;
	if (!url && !pid)
		return NULL;
	cJSON *body = cJSON_CreateObject();
	if (url)
		cJSON_AddStringToObject(body, "url", url);
	else
		cJSON_AddStringToObject(body, "pid", pid);
	copy_field(body, req, "timestamps");
	cJSON_AddStringToObject(body, "webHook", "-1");
	if (path)
		*path = url ? API_PATH_UPLOAD_CHARACTER : API_PATH_CREATE_CHARACTER;
	return body;
}

cJSON *api_result_body(const char *task_id)
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "id", task_id ? task_id : "");
	return body;
}

/* ---- envelopes ---------------------------------------------------------------- */

/* Drop a UTF-8 character cut in half at the end of b (after truncation). */
static void utf8_trim_partial(buf_t *b)
{
	size_t k = b->len;
	while (k > 0 && ((unsigned char)b->data[k - 1] & 0xC0) == 0x80)
		k--;
	if (k == 0)
		return;
	unsigned char lead = (unsigned char)b->data[k - 1];
	size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (b->len - (k - 1) < need) {
		b->len = k - 1;
		b->data[b->len] = '\0';
	}
}

/* A short, single-line excerpt of upstream text for a message. */
static char *snippet(const char *s, size_t len)
{
	buf_t b;
	buf_init(&b);
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	bool space = false;
	for (; i < len && b.len < SNIPPET_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			space = true;
			continue;
		}
		if (space && b.len)
			buf_adds(&b, " ");
		space = false;
		buf_add(&b, &c, 1);
	}
	if (i < len)
		utf8_trim_partial(&b);
	if (i < len)
		buf_adds(&b, "…");
	return buf_steal(&b);
}

/* The <title> of an HTML page, if it has a short one ("502 Bad Gateway"). */
static char *html_title(const char *body, size_t len)
{
	const char *open = memmem(body, len, "<title>", 7);
	if (!open)
		open = memmem(body, len, "<TITLE>", 7);
	if (!open)
		return NULL;
	open += 7;
	size_t rest = len - (size_t)(open - body);
	const char *close = memchr(open, '<', rest);
	if (!close || close == open)
		return NULL;
	return snippet(open, (size_t)(close - open));
}

static char *not_json_text(const char *body, size_t len)
{
	size_t i = 0;
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len)
		return xstrdup("the server sent an empty answer");
	if (body[i] == '<') {
		char *title = html_title(body, len);
		char *m = title && *title
			? xasprintf("the server answered with a web page instead of JSON (\"%s\")", title)
			: xstrdup("the server answered with a web page instead of JSON");
		free(title);
		return m;
	}
	char *snip = snippet(body, len);
	char *m = xasprintf("the server's answer is not JSON: %s", snip);
	free(snip);
	return m;
}

/* code as a number or a numeric string ("0", "-22"). */
static bool envelope_code(const cJSON *item, long *code)
{
	if (cJSON_IsNumber(item)) {
		double d = item->valuedouble;
		/* Range first: converting 1e300 (or inf, NaN) to long is undefined. */
		if (!(d > -1e9 && d < 1e9) || d != floor(d))
			return false;
		*code = (long)d;
		return true;
	}
	if (cJSON_IsString(item)) {
		char *end;
		errno = 0;
		long v = strtol(item->valuestring, &end, 10);
		if (end == item->valuestring || *end || errno)
			return false;
		*code = v;
		return true;
	}
	return false;
}

/* The API's words for an error: msg, or what other deployments call it. */
static const char *envelope_msg(const cJSON *env)
{
	static const char *const keys[] = { "msg", "message", "error" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(env, keys[i]));
		if (s && *s)
			return s;
	}
	return NULL;
}

static enum api_outcome error_code_outcome(const cJSON *env, long code, char **msg)
{
	const char *text = envelope_msg(env);
	if (text) {
		char *snip = snippet(text, strlen(text));
		*msg = xasprintf("code %ld: %s", code, snip);
		free(snip);
	} else {
		*msg = xasprintf("code %ld", code);
	}
	return API_ERR_CODE;
}

enum api_outcome api_parse_envelope(const char *body, size_t len, cJSON **data,
				    long *code, char **msg)
{
	*data = NULL;
	*code = 0;
	*msg = NULL;
	if (!body) {
		body = "";
		len = 0;
	}
	/* cJSON needs the terminating NUL inside the length to accept the end of
	 * the text, and an HTTP body has none: parse a terminated copy. */
	char *copy = xstrndup(body, len);
	cJSON *env = memchr(body, '\0', len) ? NULL
		: cJSON_ParseWithLengthOpts(copy, len + 1, NULL, true);
	free(copy);
	if (!env) {
		*msg = not_json_text(body, len);
		return API_ERR_SYNTAX;
	}
	enum api_outcome out = API_OK;
	const cJSON *code_item = cJSON_GetObjectItemCaseSensitive(env, "code");
	cJSON *data_item = cJSON_GetObjectItemCaseSensitive(env, "data");
	if (!cJSON_IsObject(env)) {
		char *snip = snippet(body, len);
		*msg = xasprintf("the server's answer is not an API envelope: %s", snip);
		free(snip);
		out = API_ERR_SYNTAX;
	} else if (code_item && !envelope_code(code_item, code)) {
		char *snip = snippet(body, len);
		*msg = xasprintf("the server's answer has an unreadable \"code\": %s", snip);
		free(snip);
		out = API_ERR_SYNTAX;
	} else if (code_item && *code != 0) {
		out = error_code_outcome(env, *code, msg);
	} else if (!code_item && !data_item) {
		/* No code and no data: an error object from a proxy, or another API. */
		const char *text = envelope_msg(env);
		char *snip = text ? snippet(text, strlen(text)) : snippet(body, len);
		*msg = xasprintf("the server's answer has no \"code\" and no \"data\": %s", snip);
		free(snip);
		out = API_ERR_SYNTAX;
	} else {
		*data = data_item ? cJSON_DetachItemViaPointer(env, data_item) : cJSON_CreateNull();
	}
	cJSON_Delete(env);
	return out;
}

/* ---- task objects --------------------------------------------------------------- */

/* A string member, or a number written as text (ids are opaque). Empty = absent. */
static char *member_text(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (cJSON_IsString(v))
		return *v->valuestring ? xstrdup(v->valuestring) : NULL;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		return d == floor(d) && fabs(d) < 1e15 ? xasprintf("%.0f", d) : xasprintf("%g", d);
	}
	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {   /* e.g. "error": {"message": …} */
		const char *m = envelope_msg(v);
		if (m)
			return xstrdup(m);
		char *s = cJSON_PrintUnformatted(v);
		char *r = xstrdup(s);
		cJSON_free(s);
		return r;
	}
	return NULL;
}

/* 0..100 from a number or "45" / "45%"; -1 when missing or unreadable. */
static int task_progress(const cJSON *obj)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "progress");
	double d;
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
	} else if (cJSON_IsString(v)) {
		char *end;
		d = strtod(v->valuestring, &end);
		while (*end == ' ' || *end == '%')
			end++;
		if (end == v->valuestring || *end || !isfinite(d))
			return -1;
	} else {
		return -1;
	}
	if (!(d >= 0))           /* negative, or NaN */
		return d < 0 ? 0 : -1;
	if (d > 100)
		return 100;
	return (int)d;
}

/* results[0], or results itself when a server sends one object. */
static const cJSON *first_result(const cJSON *obj)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(obj, "results");
	if (cJSON_IsArray(r))
		return cJSON_IsObject(r->child) ? r->child : NULL;
	return cJSON_IsObject(r) ? r : NULL;
}

/* From results[0], else from the task object itself (flatter API variants). */
static char *result_text(const cJSON *result, const cJSON *task, const char *key)
{
	char *s = result ? member_text(result, key) : NULL;
	return s ? s : member_text(task, key);
}

int api_task_parse(const cJSON *data, api_task *t)
{
	memset(t, 0, sizeof *t);
	t->progress = -1;
	if (!cJSON_IsObject(data))
		return -EINVAL;
	t->id = member_text(data, "id");
	t->status = member_text(data, "status");
	t->progress = task_progress(data);
	const cJSON *r = first_result(data);
	t->url = result_text(r, data, "url");
	t->pid = result_text(r, data, "pid");
	t->character_id = result_text(r, data, "character_id");
	t->failure_reason = member_text(data, "failure_reason");
	t->error = member_text(data, "error");
	return 0;
}

void api_task_free(api_task *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->status);
	free(t->url);
	free(t->pid);
	free(t->character_id);
	free(t->failure_reason);
	free(t->error);
	memset(t, 0, sizeof *t);
	t->progress = -1;
}

static bool status_in(const char *status, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strcasecmp(status, words[i]) == 0)
			return true;
	return false;
}

enum api_task_state api_task_state(const api_task *t)
{
	static const char *const running[] = { "running", "queued", "processing", "pending", NULL };
	static const char *const done[] = { "succeeded", "success", NULL };
	static const char *const failed[] = { "failed", "violation", NULL };
	if (!t || !t->status)
		return TASK_UNKNOWN_FINAL;
	if (status_in(t->status, running))
		return TASK_RUNNING;
	if (status_in(t->status, done))
		return TASK_SUCCEEDED;
	if (status_in(t->status, failed))
		return TASK_FAILED;
	return TASK_UNKNOWN_FINAL;
}

/* Why a failed task failed, in words; the reason codes are the API's. */
static const char *failure_sentence(const char *reason)
{
	if (reason && strcmp(reason, "input_moderation") == 0)
		return "the prompt was rejected by content moderation";
	if (reason && strcmp(reason, "output_moderation") == 0)
		return "the generated video was rejected by content moderation";
	return "the generation failed upstream";
}

char *api_task_failure_text(const api_task *t)
{
	buf_t b;
	buf_init(&b);
	enum api_task_state st = api_task_state(t);
	if (st == TASK_RUNNING || st == TASK_SUCCEEDED)
		return xstrdup("");
	if (st == TASK_UNKNOWN_FINAL) {
		if (t && t->status)
			buf_printf(&b, "the task ended with an unknown status \"%s\"", t->status);
		else
			buf_adds(&b, "the API sent a task without a status");
	} else if (strcasecmp(t->status, "violation") == 0) {
		buf_adds(&b, "the task ended with status \"violation\" (content policy)");
	} else {
		buf_adds(&b, failure_sentence(t->failure_reason));
		const char *r = t->failure_reason;
		if (r && strcmp(r, "input_moderation") != 0 && strcmp(r, "output_moderation") != 0 &&
		    strcmp(r, "error") != 0)
			buf_printf(&b, " (reason \"%s\")", r);
	}
	if (t && t->error) {
		char *detail = snippet(t->error, strlen(t->error));
		if (*detail)
			buf_printf(&b, ": %s", detail);
		free(detail);
	}
	return buf_steal(&b);
}

char *api_submit_id(const cJSON *data)
{
	if (cJSON_IsString(data))
		return *data->valuestring ? xstrdup(data->valuestring) : NULL;
	static const char *const keys[] = { "id", "taskId", "task_id" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, keys[i]);
		if (cJSON_IsString(v) || cJSON_IsNumber(v))
			return member_text(data, keys[i]);
	}
	return NULL;
}

/* ---- streams -------------------------------------------------------------------- */

/* A task object from one parsed line: bare, or inside an envelope's data. */
static cJSON *task_from_json(cJSON *j)
{
	if (!cJSON_IsObject(j))
		return NULL;
	cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
	if (cJSON_HasObjectItem(j, "code"))   /* an envelope: the task is its data */
		return cJSON_IsObject(data) ? cJSON_DetachItemViaPointer(j, data) : NULL;
	return cJSON_Duplicate(j, true);
}

/* One line of a stream, "data: " removed; NULL for comments, events, [DONE]. */
static char *stream_payload(const char *line, size_t len)
{
	char *t = str_trim_dup(line, len);
	if (str_has_prefix(t, "data:")) {
		char *rest = str_trim_dup(t + 5, strlen(t + 5));
		free(t);
		t = rest;
	}
	if (t[0] != '{') {     /* event:, id:, retry:, ": comment", [DONE], blank */
		free(t);
		return NULL;
	}
	return t;
}

static cJSON *parse_task_text(const char *text)
{
	cJSON *j = cJSON_Parse(text);
	cJSON *task = task_from_json(j);
	cJSON_Delete(j);
	return task;
}

cJSON *api_stream_line_task(const char *line, size_t len)
{
	if (!line || memchr(line, '\0', len))
		return NULL;
	char *payload = stream_payload(line, len);
	cJSON *task = payload ? parse_task_text(payload) : NULL;
	free(payload);
	return task;
}

void api_body_stream(cJSON *body)
{
	/* no webHook: the answer is a stream; shutProgress would hold back the
	 * first object, and with it the task id, until the very end */
	cJSON_DeleteItemFromObjectCaseSensitive(body, "webHook");
	cJSON_DeleteItemFromObjectCaseSensitive(body, "shutProgress");
}

cJSON *api_stream_last_task(const char *body, size_t len)
{
	if (!body || memchr(body, '\0', len))
		return NULL;
	cJSON *last = NULL;
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		char *payload = stream_payload(p, (size_t)(stop - p));
		cJSON *task = payload ? parse_task_text(payload) : NULL;
		free(payload);
		if (task) {
			cJSON_Delete(last);
			last = task;
		}
		p = nl ? nl + 1 : end;
	}
	if (!last) {
		/* One JSON object spread over several lines (pretty-printed). */
		char *copy = xstrndup(body, len);
		char *payload = stream_payload(copy, len);
		last = payload ? parse_task_text(payload) : NULL;
		free(payload);
		free(copy);
	}
	return last;
}
