/*
 * control.c - the test-control endpoints of sora2-sim under /_sim/. They are
 * never faulted and not counted in the request statistics. Answers are JSON:
 * {"ok":true,...} or HTTP 400/404 with {"ok":false,"error":"..."}.
 *
 *   $ curl -s -XPOST localhost:PORT/_sim/fault -d '{"kind":"poll","mode":"http503","count":2}'
 *   $ curl -s -XPOST localhost:PORT/_sim/config -d '{"gen_time":0.5,"model_down":"maintenance"}'
 *   $ curl -s -XPOST localhost:PORT/_sim/finish -d '{"id":"<task id>"}'
 *   $ curl -s localhost:PORT/_sim/stats
 *   $ curl -s -XPOST localhost:PORT/_sim/reset
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static enum MHD_Result fail(struct MHD_Connection *c, struct req *r, unsigned status,
			    const char *error)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", false);
	cJSON_AddStringToObject(o, "error", error);
	return http_send_json(c, r, status, o);
}

static enum MHD_Result ok(struct MHD_Connection *c, struct req *r, const char *name,
			  cJSON *value)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", true);
	if (name)
		cJSON_AddItemToObject(o, name, value);
	return http_send_json(c, r, 200, o);
}

static enum MHD_Result do_fault(struct MHD_Connection *c, struct req *r, const cJSON *body)
{
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "kind"));
	const char *mode = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "mode"));
	const cJSON *count = cJSON_GetObjectItemCaseSensitive(body, "count");
	const cJSON *delay = cJSON_GetObjectItemCaseSensitive(body, "delay");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(body, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(body, "msg");
	if (!kind || !mode)
		return fail(c, r, 400, "kind and mode are required strings");
	if (count && !cJSON_IsNull(count) &&
	    (!cJSON_IsNumber(count) || count->valuedouble != floor(count->valuedouble) ||
	     count->valuedouble > 1e9))
		return fail(c, r, 400, "count must be a whole number (-1 = until cleared)");
	if (delay && !cJSON_IsNull(delay) && (!cJSON_IsNumber(delay) || delay->valuedouble > 1e6))
		return fail(c, r, 400, "delay must be a number of seconds");
	if (code && !cJSON_IsNull(code) &&
	    (!cJSON_IsNumber(code) || fabs(code->valuedouble) > 1e9))
		return fail(c, r, 400, "code must be a number");
	if (msg && !cJSON_IsNull(msg) && !cJSON_IsString(msg))
		return fail(c, r, 400, "msg must be a string");
	long n = cJSON_IsNumber(count) ? (long)count->valuedouble : -1;
	bool has_delay = cJSON_IsNumber(delay);
	char err[200];
	sim_lock();
	bool done = fault_set_locked(kind, mode, n, has_delay ? delay->valuedouble : 0, has_delay,
				     cJSON_IsNumber(code) ? (int)code->valuedouble : -1,
				     cJSON_GetStringValue(msg), err, sizeof err);
	cJSON *faults = done ? fault_json_locked() : NULL;
	sim_unlock();
	if (!done)
		return fail(c, r, 400, err);
	return ok(c, r, "faults", faults);
}

static enum MHD_Result do_task_op(struct MHD_Connection *c, struct req *r, const cJSON *body,
				  const char *op)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(body, "id"));
	if (!id)
		return fail(c, r, 400, "id is required");
	sim_lock();
	struct task *t = task_find_locked(id);
	if (!t) {
		sim_unlock();
		return fail(c, r, 404, "unknown task id");
	}
	double now = sim_now();
	struct task_view v;
	task_view_locked(t, now, &v);
	if (strcmp(op, "expire") == 0) {
		t->url_expired = true;
	} else if (strcmp(op, "finish") == 0) {
		if (!v.final) {
			t->forced = true;
			t->forced_at = now;
		}
	} else {
		task_forget_locked(t);
		t = NULL;
	}
	cJSON *task = t ? task_json_locked(t, now, NULL) : NULL;
	sim_unlock();
	return task ? ok(c, r, "task", task) : ok(c, r, NULL, NULL);
}

enum MHD_Result control_handle(struct MHD_Connection *c, struct req *r)
{
	const char *what = strncmp(r->path, "/_sim/", 6) == 0 ? r->path + 6 : "";
	bool get = strcmp(r->method, "GET") == 0;
	bool post = strcmp(r->method, "POST") == 0;

	if (get && strcmp(what, "stats") == 0) {
		sim_lock();
		cJSON *s = stats_json_locked();
		sim_unlock();
		return http_send_json(c, r, 200, s);
	}
	if (get && (strcmp(what, "config") == 0 || strcmp(what, "fault") == 0)) {
		sim_lock();
		cJSON *v = what[0] == 'c' ? state_config_json_locked() : fault_json_locked();
		sim_unlock();
		return ok(c, r, what[0] == 'c' ? "config" : "faults", v);
	}
	if (post && strcmp(what, "reset") == 0) {
		sim_lock();
		state_reset_locked();
		sim_unlock();
		return ok(c, r, NULL, NULL);
	}
	bool known = strcmp(what, "fault") == 0 || strcmp(what, "config") == 0 ||
		     strcmp(what, "expire") == 0 || strcmp(what, "finish") == 0 ||
		     strcmp(what, "forget") == 0;
	if (!known || !post) {
		if (known || strcmp(what, "stats") == 0 || strcmp(what, "reset") == 0)
			return fail(c, r, 405, "method not allowed");
		return fail(c, r, 404, "unknown control endpoint");
	}

	cJSON *body = http_body_json(r);
	if (!body)
		return fail(c, r, 400, "the body must be a JSON object");
	enum MHD_Result ret;
	if (strcmp(what, "fault") == 0) {
		ret = do_fault(c, r, body);
	} else if (strcmp(what, "config") == 0) {
		char err[200];
		sim_lock();
		bool done = state_apply_config_locked(body, err, sizeof err);
		cJSON *cfg = done ? state_config_json_locked() : NULL;
		sim_unlock();
		ret = done ? ok(c, r, "config", cfg) : fail(c, r, 400, err);
	} else {
		ret = do_task_op(c, r, body, what);
	}
	cJSON_Delete(body);
	return ret;
}
