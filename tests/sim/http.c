/*
 * http.c - the HTTP side of sora2-sim: a libmicrohttpd server on 127.0.0.1,
 * one thread per connection (so a stalled request never blocks another),
 * request bodies collected up to 64 MiB, routing to api.c / control.c,
 * fault injection for the faultable endpoints, and one log line per request.
 *
 *   $ sora2-sim --port 8080 --fault poll=http503:1 &
 *   $ curl -si -XPOST localhost:8080/v1/draw/result -d '{"id":"x"}' | head -1
 *   HTTP/1.1 503 Service Unavailable
 *   sora2-sim: POST /v1/draw/result 503 (fault poll=http503)
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>

enum route {
	R_UNKNOWN,
	R_VIDEO,
	R_POLL,
	R_UPLOAD_CHARACTER,
	R_CREATE_CHARACTER,
	R_CREATE_KEY,
	R_KEY_CREDITS,
	R_CREDITS,
	R_MODEL_STATUS,
	R_FILES,
	R_CONTROL,
};

static const struct {
	const char *path;
	enum route route;
	enum fault_kind kind;
	const char *method;
} routes[] = {
	{"/v1/video/sora-video", R_VIDEO, FK_SUBMIT, "POST"},
	{"/v1/draw/result", R_POLL, FK_POLL, "POST"},
	{"/v1/video/sora-upload-character", R_UPLOAD_CHARACTER, FK_SUBMIT, "POST"},
	{"/v1/video/sora-create-character", R_CREATE_CHARACTER, FK_SUBMIT, "POST"},
	{"/client/openapi/createAPIKey", R_CREATE_KEY, FK_ACCOUNT, "POST"},
	{"/client/openapi/getAPIKeyCredits", R_KEY_CREDITS, FK_ACCOUNT, "POST"},
	{"/client/openapi/getCredits", R_CREDITS, FK_ACCOUNT, "POST"},
	{"/client/common/getModelStatus", R_MODEL_STATUS, FK_ACCOUNT, "GET"},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static int route_index(const char *path)
{
	for (size_t i = 0; i < NROUTES; i++)
		if (strcmp(routes[i].path, path) == 0)
			return (int)i;
	return -1;
}

static enum route classify(const char *path, enum fault_kind *kind, const char **group)
{
	int i = route_index(path);
	if (i >= 0) {
		*kind = routes[i].kind;
		*group = routes[i].path;
		return routes[i].route;
	}
	if (strncmp(path, "/files/", 7) == 0) {
		*kind = FK_DOWNLOAD;
		*group = "/files";
		return R_FILES;
	}
	*kind = FK_NONE;
	if (strncmp(path, "/_sim/", 6) == 0 || strcmp(path, "/_sim") == 0) {
		*group = NULL; /* control requests are not counted */
		return R_CONTROL;
	}
	*group = "other";
	return R_UNKNOWN;
}

/* ---- responses -------------------------------------------------------- */

enum MHD_Result http_send(struct MHD_Connection *c, struct req *r, unsigned status,
			  struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES)
		r->status = status;
	return ret;
}

enum MHD_Result http_send_text(struct MHD_Connection *c, struct req *r, unsigned status,
			       const char *ctype, const char *text)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return http_send(c, r, status, resp);
}

enum MHD_Result http_send_json(struct MHD_Connection *c, struct req *r, unsigned status,
			       cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (!text)
		return MHD_NO;
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return http_send(c, r, status, resp);
}

enum MHD_Result http_send_envelope(struct MHD_Connection *c, struct req *r, int code,
				   const char *msg, cJSON *data)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "code", code);
	cJSON_AddStringToObject(o, "msg", msg);
	if (data)
		cJSON_AddItemToObject(o, "data", data);
	else
		cJSON_AddNullToObject(o, "data");
	return http_send_json(c, r, MHD_HTTP_OK, o);
}

cJSON *http_body_json(const struct req *r)
{
	if (!r->body || r->len == 0)
		return NULL;
	cJSON *j = cJSON_ParseWithLength(r->body, r->len);
	if (j && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* ---- faults ----------------------------------------------------------- */

/* The credential the caller sent (malloc'd, or NULL): the Bearer key, else the
 * body's apiKey or token. For the echo_key fault. */
static char *caller_credential(struct MHD_Connection *c, const struct req *r)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	if (h && strncasecmp(h, "Bearer", 6) == 0 && (h[6] == ' ' || h[6] == '\t')) {
		h += 6;
		while (*h == ' ' || *h == '\t')
			h++;
		if (*h)
			return strdup(h);
	}
	cJSON *body = http_body_json(r);
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "apiKey"));
	if (!v)
		v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "token"));
	char *out = v ? strdup(v) : NULL;
	cJSON_Delete(body);
	return out;
}

/*
 * Applies r->fault before the endpoint runs. Returns true when the request is
 * fully handled (*ret set); false to go on (slow, or modes the endpoint
 * itself carries out: reset_after_create, truncate).
 */
static bool apply_fault(struct MHD_Connection *c, struct req *r, enum MHD_Result *ret)
{
	const struct fault *f = &r->fault;
	switch (f->mode) {
	case FM_NONE:
	case FM_RESET_AFTER_CREATE:
	case FM_TRUNCATE:
	case FM_STREAM_CUT:
	case FM_STREAM_STALL:
		return false;
	case FM_SLOW:
		sim_sleep(f->delay);
		return false;
	case FM_HTTP500:
		*ret = http_send_text(c, r, 500, "application/json",
				      "{\"error\":\"internal server error\"}");
		return true;
	case FM_HTTP503:
		*ret = http_send_text(c, r, 503, "text/plain", "Service Unavailable\n");
		return true;
	case FM_HTTP429: {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			strlen("{\"code\":429,\"msg\":\"too many requests\"}"),
			(void *)"{\"code\":429,\"msg\":\"too many requests\"}",
			MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
		*ret = http_send(c, r, 429, resp);
		return true;
	}
	case FM_HTTP401:
		*ret = http_send_text(c, r, 401, "application/json",
				      "{\"code\":401,\"msg\":\"unauthorized\"}");
		return true;
	case FM_RESET:
		r->outcome = "reset";
		*ret = MHD_NO;
		return true;
	case FM_STALL:
		r->outcome = "stall";
		sim_sleep(f->delay);
		*ret = MHD_NO;
		return true;
	case FM_MALFORMED:
		if (r->fault_kind == FK_POLL)
			*ret = http_send_text(c, r, 200, "application/json",
					      "{\"code\":0,\"msg\":\"success\",\"data\":{\"id\":\"");
		else
			*ret = http_send_text(c, r, 200, "text/html",
					      "<html><body><h1>502 Bad Gateway</h1></body></html>\n");
		return true;
	case FM_CODE:
		*ret = http_send_envelope(c, r, f->code, f->msg, NULL);
		return true;
	case FM_EXPIRED:
		*ret = http_send_text(c, r, 403, "text/plain", "URL expired");
		return true;
	case FM_RAW:
		/* msg verbatim as the whole body: numbers no real server sends */
		*ret = http_send_text(c, r, 200, "application/json", f->msg);
		return true;
	case FM_ECHO_KEY: {
		/* like a careless API: the caller's credential quoted in the message */
		char *cred = caller_credential(c, r);
		char msg[1024];
		snprintf(msg, sizeof msg, "invalid api key %s", cred ? cred : "(none)");
		free(cred);
		*ret = http_send_envelope(c, r, f->code, msg, NULL);
		return true;
	}
	}
	return false;
}

/* ---- request life cycle ----------------------------------------------- */

static enum MHD_Result dispatch(struct MHD_Connection *c, struct req *r)
{
	if (r->too_big)
		return http_send_text(c, r, 413, "application/json",
				      "{\"code\":-3,\"msg\":\"request body too large\"}");
	if (r->route == R_CONTROL)
		return control_handle(c, r);
	if (r->route == R_UNKNOWN)
		return http_send_text(c, r, 404, "text/plain", "not found\n");

	const char *want = "GET";
	if (r->route != R_FILES)
		want = routes[route_index(r->path)].method;
	bool ok = strcmp(r->method, want) == 0 ||
		  (r->route == R_FILES && strcmp(r->method, "HEAD") == 0);
	if (!ok) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			strlen("method not allowed\n"), (void *)"method not allowed\n",
			MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					r->route == R_FILES ? "GET, HEAD" : want);
		return http_send(c, r, 405, resp);
	}

	sim_lock();
	fault_take_locked(r->fault_kind, &r->fault);
	sim_unlock();
	enum MHD_Result ret;
	if (apply_fault(c, r, &ret))
		return ret;

	switch ((enum route)r->route) {
	case R_VIDEO:
		return api_submit(c, r, TK_VIDEO);
	case R_UPLOAD_CHARACTER:
		return api_submit(c, r, TK_UPLOAD_CHARACTER);
	case R_CREATE_CHARACTER:
		return api_submit(c, r, TK_CREATE_CHARACTER);
	case R_POLL:
		return api_poll(c, r);
	case R_FILES:
		return api_file(c, r);
	case R_CREATE_KEY:
		return api_create_key(c, r);
	case R_KEY_CREDITS:
		return api_key_credits(c, r);
	case R_CREDITS:
		return api_credits(c, r);
	case R_MODEL_STATUS:
		return api_model_status(c, r);
	case R_UNKNOWN:
	case R_CONTROL:
		break;
	}
	return http_send_text(c, r, 404, "text/plain", "not found\n");
}

static void body_append(struct req *r, const char *data, size_t n)
{
	if (r->too_big)
		return;
	if (n > SIM_MAX_BODY - r->len) {
		r->too_big = true;
		free(r->body);
		r->body = NULL;
		r->len = r->cap = 0;
		return;
	}
	if (r->len + n + 1 > r->cap) {
		size_t nc = r->cap ? r->cap : 4096;
		while (nc < r->len + n + 1)
			nc *= 2;
		char *nb = realloc(r->body, nc);
		if (!nb) {
			r->too_big = true;
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
			return;
		}
		r->body = nb;
		r->cap = nc;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct req *r = *con_cls;
	if (!r) {
		r = sim_xmalloc(sizeof *r);
		memset(r, 0, sizeof *r);
		snprintf(r->method, sizeof r->method, "%s", method);
		r->path = sim_strdup(url);
		r->fault.mode = FM_NONE;
		const char *group;
		r->route = classify(url, &r->fault_kind, &group);
		*con_cls = r;
		if (group) {
			sim_lock();
			stats_request_locked(group);
			sim_unlock();
		}
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > SIM_MAX_BODY) {
			r->too_big = true;
			return http_send_text(c, r, 413, "application/json",
					      "{\"code\":-3,\"msg\":\"request body too large\"}");
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		body_append(r, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	struct req *r = *con_cls;
	if (!r)
		return;
	*con_cls = NULL;
	bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	char what[64];
	if (r->outcome)
		snprintf(what, sizeof what, "%s", r->outcome);
	else if (r->status)
		snprintf(what, sizeof what, "%u%s", r->status, ok ? "" : " (cut short)");
	else
		snprintf(what, sizeof what, "closed");
	char fault[96] = "";
	if (r->fault.mode != FM_NONE)
		snprintf(fault, sizeof fault, " (fault %s=%s)", fault_kind_name(r->fault_kind),
			 fault_mode_name(r->fault.mode));
	sim_log("%s %s %s%s", r->method, r->path, what, fault);
	free(r->path);
	free(r->body);
	free(r);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)c;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		sim_lock();
		stats_connection_locked();
		sim_unlock();
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	sim_log("libmicrohttpd: %s", line);
}

struct MHD_Daemon *http_start(int port, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	errno = 0;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, on_request, NULL,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024,
		MHD_OPTION_END);
	if (!d)
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%d: %s", port,
			 errno ? strerror(errno) : "libmicrohttpd failed to start");
	return d;
}

int http_bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	if (!info)
		return -1;
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	if (getsockname(info->listen_fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	return ntohs(sa.sin_port);
}
