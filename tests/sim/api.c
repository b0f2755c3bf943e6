/*
 * api.c - the upstream endpoints sora2-sim imitates: video and character
 * submission, polling, the account calls, and the file "CDN" under /files/.
 * Request shapes follow /work/shared/api-contract.md; the error codes other
 * than -22 are invented here (see README.md).
 *
 *   $ curl -s -XPOST localhost:PORT/v1/video/sora-video -H 'Authorization: Bearer sk-test' \
 *         -d '{"model":"sora-2","prompt":"a cat","webHook":"-1"}'
 *   {"code":0,"msg":"success","data":{"id":"6f1c…"}}
 *   $ curl -s -XPOST localhost:PORT/v1/draw/result -d '{"id":"6f1c…"}'
 *   {"code":0,"msg":"success","data":{"id":"6f1c…","status":"running","progress":12,…}}
 */
#include "sim.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Invented error codes (only -22 is known upstream). */
enum {
	CODE_BAD_AUTH = -1,
	CODE_NO_CREDITS = -2,
	CODE_BAD_PARAM = -3,
	CODE_MODEL_DOWN = -4,
	CODE_NOT_FOUND = -22,
};

static enum MHD_Result bad_param(struct MHD_Connection *c, struct req *r, const char *msg)
{
	return http_send_envelope(c, r, CODE_BAD_PARAM, msg, NULL);
}

/* The Bearer key, or NULL. Points into MHD's header storage. */
static const char *bearer_key(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return NULL;
	h += 6;
	while (*h == ' ' || *h == '\t')
		h++;
	return *h ? h : NULL;
}

static enum MHD_Result bad_key(struct MHD_Connection *c, struct req *r, bool http401)
{
	if (http401)
		return http_send_text(c, r, 401, "application/json",
				      "{\"code\":-1,\"msg\":\"invalid api key\",\"data\":null}");
	return http_send_envelope(c, r, CODE_BAD_AUTH, "invalid api key", NULL);
}

/* "start,end" in seconds, start < end, at most 3 s apart. */
static bool timestamps_ok(const char *s)
{
	char *end;
	double a = strtod(s, &end);
	if (end == s)
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != ',')
		return false;
	const char *p = end + 1;
	double b = strtod(p, &end);
	if (end == p)
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return false;
	return isfinite(a) && isfinite(b) && a >= 0 && a < b && b - a <= 3;
}

static bool str_in(const cJSON *v, const char *a, const char *b)
{
	const char *s = cJSON_GetStringValue(v);
	return s && (strcmp(s, a) == 0 || strcmp(s, b) == 0);
}

static bool is_http_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Checks the body of a submit; NULL if fine, else a message naming the field. */
static const char *check_submit_body_locked(enum task_kind kind, const cJSON *body)
{
	const cJSON *v;
	if (kind == TK_VIDEO) {
		v = cJSON_GetObjectItemCaseSensitive(body, "model");
		if (!cJSON_IsString(v) || strcmp(v->valuestring, "sora-2") != 0)
			return "model must be \"sora-2\"";
		v = cJSON_GetObjectItemCaseSensitive(body, "prompt");
		if (!cJSON_IsString(v) || !*v->valuestring)
			return "prompt must be a non-empty string";
		v = cJSON_GetObjectItemCaseSensitive(body, "duration");
		if (v && (!cJSON_IsNumber(v) || (v->valuedouble != 10 && v->valuedouble != 15)))
			return "duration must be 10 or 15";
		v = cJSON_GetObjectItemCaseSensitive(body, "aspectRatio");
		if (v && !str_in(v, "9:16", "16:9"))
			return "aspectRatio must be \"9:16\" or \"16:9\"";
		v = cJSON_GetObjectItemCaseSensitive(body, "size");
		if (v && !str_in(v, "small", "large"))
			return "size must be \"small\" or \"large\"";
		v = cJSON_GetObjectItemCaseSensitive(body, "url");
		if (v && !cJSON_IsString(v))
			return "url must be a string (http(s) URL or base64 image)";
		v = cJSON_GetObjectItemCaseSensitive(body, "remixTargetId");
		if (v && (!cJSON_IsString(v) || !task_find_pid_locked(v->valuestring)))
			return "remixTargetId is not the pid of a finished video";
	} else if (kind == TK_UPLOAD_CHARACTER) {
		v = cJSON_GetObjectItemCaseSensitive(body, "url");
		if (!cJSON_IsString(v) || !*v->valuestring)
			return "url must be a non-empty string (video URL or base64)";
		v = cJSON_GetObjectItemCaseSensitive(body, "timestamps");
		if (!cJSON_IsString(v) || !timestamps_ok(v->valuestring))
			return "timestamps must be \"start,end\" with start < end, at most 3 seconds apart";
	} else {
		v = cJSON_GetObjectItemCaseSensitive(body, "pid");
		if (!cJSON_IsString(v) || !*v->valuestring)
			return "pid must be the pid of a finished video";
		if (!task_find_pid_locked(v->valuestring))
			return "unknown pid";
		v = cJSON_GetObjectItemCaseSensitive(body, "timestamps");
		if (v && (!cJSON_IsString(v) || !timestamps_ok(v->valuestring)))
			return "timestamps must be \"start,end\" with start < end, at most 3 seconds apart";
	}
	v = cJSON_GetObjectItemCaseSensitive(body, "webHook");
	if (v && (!cJSON_IsString(v) ||
		  (strcmp(v->valuestring, "-1") != 0 && !is_http_url(v->valuestring))))
		return "webHook must be \"-1\" or an http(s) URL";
	v = cJSON_GetObjectItemCaseSensitive(body, "shutProgress");
	if (v && !cJSON_IsBool(v))
		return "shutProgress must be true or false";
	return NULL;
}

static const char *endpoint_name(enum task_kind kind)
{
	switch (kind) {
	case TK_VIDEO:
		return "/v1/video/sora-video";
	case TK_UPLOAD_CHARACTER:
		return "/v1/video/sora-upload-character";
	case TK_CREATE_CHARACTER:
		return "/v1/video/sora-create-character";
	}
	return "?";
}

enum MHD_Result api_submit(struct MHD_Connection *c, struct req *r, enum task_kind kind)
{
	const char *key = bearer_key(c);
	sim_lock();
	bool http401 = state_config_locked()->bad_key_http401;
	bool key_ok = key && key_check_locked(key) == KEY_OK;
	sim_unlock();
	if (!key_ok)
		return bad_key(c, r, http401);

	cJSON *body = http_body_json(r);
	if (!body)
		return bad_param(c, r, "the body must be a JSON object");

	sim_lock();
	char down[300] = "";
	const char *problem = NULL;
	if (kind == TK_VIDEO && state_config_locked()->model_down)
		snprintf(down, sizeof down, "sora-2 is unavailable: %s",
			 state_config_locked()->model_down);
	else
		problem = check_submit_body_locked(kind, body);
	if (*down || problem) {
		sim_unlock();
		cJSON_Delete(body);
		if (*down)
			return http_send_envelope(c, r, CODE_MODEL_DOWN, down, NULL);
		return bad_param(c, r, problem);
	}

	const char *hook = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "webHook"));
	bool stream = hook == NULL;
	const char *hook_url = hook && strcmp(hook, "-1") != 0 ? hook : NULL;
	bool shut = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "shutProgress"));
	long long cost = kind == TK_VIDEO ? SIM_VIDEO_COST : SIM_CHARACTER_COST;
	if (!credits_charge_locked(key, cost)) {
		sim_unlock();
		cJSON_Delete(body);
		return http_send_envelope(c, r, CODE_NO_CREDITS, "insufficient credits", NULL);
	}
	const char *trigger = NULL;
	if (kind == TK_VIDEO)
		trigger = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "prompt"));
	else if (kind == TK_UPLOAD_CHARACTER)
		trigger = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "url"));
	struct task *t = task_create_locked(kind, endpoint_name(kind), body, key, cost, trigger,
					    hook_url, shut);
	char id[sizeof t->id];
	memcpy(id, t->id, sizeof id);
	bool bare = state_config_locked()->stream_bare;
	sim_unlock();
	cJSON_Delete(body);

	if (r->fault.mode == FM_RESET_AFTER_CREATE) {
		r->outcome = "reset after creating the task";
		return MHD_NO;
	}
	if (stream) {
		bool cut = r->fault.mode == FM_STREAM_CUT;
		double stall = r->fault.mode == FM_STREAM_STALL ? r->fault.delay : 0;
		if (cut || stall > 0)
			r->outcome = cut ? "stream cut after the first object"
					 : "stream stalled after the first object";
		struct MHD_Response *resp = notify_stream_response(id, bare, shut, cut, stall);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
		return http_send(c, r, 200, resp);
	}
	cJSON *data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "id", id);
	return http_send_envelope(c, r, 0, "success", data);
}

enum MHD_Result api_poll(struct MHD_Connection *c, struct req *r)
{
	cJSON *body = http_body_json(r);
	if (!body)
		return bad_param(c, r, "the body must be a JSON object");
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "id"));
	if (!id || !*id) {
		cJSON_Delete(body);
		return bad_param(c, r, "id must be a non-empty string");
	}
	sim_lock();
	struct task *t = task_find_locked(id);
	cJSON *data = t ? task_json_locked(t, sim_now(), NULL) : NULL;
	sim_unlock();
	cJSON_Delete(body);
	if (!data)
		return http_send_envelope(c, r, CODE_NOT_FOUND, "task not found", NULL);
	return http_send_envelope(c, r, 0, "success", data);
}

/* ---- /files/<id>.mp4 -------------------------------------------------- */

struct file_ctx {
	uint64_t total; /* size of the whole video */
	uint64_t start; /* first byte sent */
	uint64_t limit; /* bytes to send before stopping (< length when truncating) */
	uint64_t length; /* announced Content-Length */
};

static ssize_t file_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct file_ctx *f = cls;
	if (pos >= f->limit)
		return f->limit < f->length ? MHD_CONTENT_READER_END_WITH_ERROR
					    : MHD_CONTENT_READER_END_OF_STREAM;
	uint64_t left = f->limit - pos;
	size_t n = left < max ? (size_t)left : max;
	mp4_fill(f->total, f->start + pos, buf, n);
	if (pos + n == f->length) {
		/* Counted when the last byte is handed over, so the count is
		 * already up when the client has the whole body. */
		sim_lock();
		stats_download_done_locked();
		sim_unlock();
	}
	return (ssize_t)n;
}

/* Parses a single "bytes=" range. 0: no usable range, 1: range, -1: unsatisfiable. */
static int parse_range(const char *h, uint64_t total, uint64_t *from, uint64_t *to)
{
	if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
		return 0;
	const char *p = h + 6;
	char *end;
	if (*p == '-') {
		if (!isdigit((unsigned char)p[1]))
			return 0;
		unsigned long long n = strtoull(p + 1, &end, 10);
		if (*end)
			return 0;
		if (n == 0)
			return -1;
		*from = n >= total ? 0 : total - n;
		*to = total - 1;
		return 1;
	}
	if (!isdigit((unsigned char)*p))
		return 0;
	unsigned long long a = strtoull(p, &end, 10);
	if (*end != '-')
		return 0;
	p = end + 1;
	unsigned long long b = total ? total - 1 : 0;
	if (*p) {
		if (!isdigit((unsigned char)*p))
			return 0;
		b = strtoull(p, &end, 10);
		if (*end || b < a)
			return 0;
	}
	if (a >= total)
		return -1;
	if (b >= total)
		b = total - 1;
	*from = a;
	*to = b;
	return 1;
}

enum MHD_Result api_file(struct MHD_Connection *c, struct req *r)
{
	const char *name = r->path + strlen("/files/");
	size_t n = strlen(name);
	if (n <= 4 || n >= 60 || strcmp(name + n - 4, ".mp4") != 0)
		return http_send_text(c, r, 404, "text/plain", "not found\n");
	char id[64];
	memcpy(id, name, n - 4);
	id[n - 4] = '\0';

	sim_lock();
	double now = sim_now();
	struct task *t = task_find_locked(id);
	struct task_view v;
	bool found = false, expired = false;
	uint64_t total = 0;
	if (t && t->kind == TK_VIDEO) {
		task_view_locked(t, now, &v);
		found = v.final && t->outcome == OUT_SUCCEED;
		expired = found && task_url_expired_locked(t, now);
		total = t->video_bytes;
	}
	sim_unlock();
	if (!found)
		return http_send_text(c, r, 404, "text/plain", "not found\n");
	if (expired)
		return http_send_text(c, r, 403, "text/plain", "URL expired");

	uint64_t from = 0, to = total - 1;
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	int rr = parse_range(range, total, &from, &to);
	char cr[96];
	if (rr < 0) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			strlen("range not satisfiable\n"), (void *)"range not satisfiable\n",
			MHD_RESPMEM_PERSISTENT);
		snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)total);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		return http_send(c, r, 416, resp);
	}
	struct file_ctx *f = sim_xmalloc(sizeof *f);
	f->total = total;
	f->start = from;
	f->length = to - from + 1;
	f->limit = r->fault.mode == FM_TRUNCATE ? f->length / 2 : f->length;
	struct MHD_Response *resp =
		MHD_create_response_from_callback(f->length, 64 * 1024, file_reader, f, free);
	if (!resp) {
		free(f);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "video/mp4");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	if (rr > 0) {
		snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)from,
			 (unsigned long long)to, (unsigned long long)total);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	}
	return http_send(c, r, rr > 0 ? 206 : 200, resp);
}

/* ---- account ---------------------------------------------------------- */

static bool opt_number(const cJSON *body, const char *name, double max, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
	if (!v || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > max ||
	    v->valuedouble != floor(v->valuedouble))
		return false;
	*out = v->valuedouble;
	return true;
}

enum MHD_Result api_create_key(struct MHD_Connection *c, struct req *r)
{
	cJSON *body = http_body_json(r);
	if (!body)
		return bad_param(c, r, "the body must be a JSON object");
	const char *token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "token"));
	const char *problem = NULL;
	double type = -1, credits = 0, expire = 0;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "name");
	if (!token_valid(token)) {
		cJSON_Delete(body);
		return http_send_envelope(c, r, CODE_BAD_AUTH, "invalid token", NULL);
	}
	if (name && !cJSON_IsString(name))
		problem = "name must be a string";
	else if (!opt_number(body, "type", 1, &type))
		problem = "type must be 0 (unlimited) or 1 (credit-limited)";
	else if (!opt_number(body, "credits", 1e15, &credits))
		problem = "credits must be a whole number >= 0";
	else if (!opt_number(body, "expireTime", 1e16, &expire))
		problem = "expireTime must be a whole number >= 0 (0 = never)";
	if (problem) {
		cJSON_Delete(body);
		return bad_param(c, r, problem);
	}
	if (type < 0)
		type = credits > 0 ? 1 : 0;
	sim_lock();
	cJSON *data = key_create_locked(name ? name->valuestring : "", (int)type,
					(long long)credits, expire);
	sim_unlock();
	cJSON_Delete(body);
	return http_send_envelope(c, r, 0, "success", data);
}

enum MHD_Result api_key_credits(struct MHD_Connection *c, struct req *r)
{
	cJSON *body = http_body_json(r);
	if (!body)
		return bad_param(c, r, "the body must be a JSON object");
	const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "apiKey"));
	sim_lock();
	bool ok = key && key_check_locked(key) == KEY_OK;
	long long credits = ok ? key_credits_locked(key) : 0;
	sim_unlock();
	cJSON_Delete(body);
	if (!ok)
		return http_send_envelope(c, r, CODE_BAD_AUTH, "invalid api key", NULL);
	cJSON *data = cJSON_CreateObject();
	cJSON_AddNumberToObject(data, "credits", (double)credits);
	return http_send_envelope(c, r, 0, "success", data);
}

enum MHD_Result api_credits(struct MHD_Connection *c, struct req *r)
{
	cJSON *body = http_body_json(r);
	if (!body)
		return bad_param(c, r, "the body must be a JSON object");
	const char *token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "token"));
	bool ok = token_valid(token);
	cJSON_Delete(body);
	if (!ok)
		return http_send_envelope(c, r, CODE_BAD_AUTH, "invalid token", NULL);
	sim_lock();
	long long credits = account_credits_locked();
	sim_unlock();
	cJSON *data = cJSON_CreateObject();
	cJSON_AddNumberToObject(data, "credits", (double)credits);
	return http_send_envelope(c, r, 0, "success", data);
}

enum MHD_Result api_model_status(struct MHD_Connection *c, struct req *r)
{
	const char *model = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "model");
	if (!model || !*model)
		return bad_param(c, r, "model is required");
	cJSON *data = cJSON_CreateObject();
	if (strcmp(model, "sora-2") != 0) {
		cJSON_AddBoolToObject(data, "status", false);
		cJSON_AddStringToObject(data, "error", "unknown model");
		return http_send_envelope(c, r, 0, "success", data);
	}
	sim_lock();
	const char *down = state_config_locked()->model_down;
	cJSON_AddBoolToObject(data, "status", down == NULL);
	cJSON_AddStringToObject(data, "error", down ? down : "");
	sim_unlock();
	return http_send_envelope(c, r, 0, "success", data);
}
