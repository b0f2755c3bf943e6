/*
 * faults.c - the fault-injection table of sora2-sim: one active fault per
 * kind of endpoint (submit, poll, download, account), each with a mode and
 * an optional use count after which it clears itself.
 *
 *   $ sora2-sim --fault submit=http503:2 --fault poll=stall &
 *   $ curl -s -XPOST localhost:PORT/_sim/fault \
 *         -d '{"kind":"download","mode":"truncate","count":1}'
 *   $ curl -s -XPOST localhost:PORT/_sim/fault -d '{"kind":"all","mode":"none"}'
 */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct fault g_faults[FK_COUNT];

static const char *const kind_names[FK_COUNT] = {"submit", "poll", "download", "account"};

static const struct {
	enum fault_mode mode;
	const char *name;
	double default_delay;
} modes[] = {
	{FM_NONE, "none", 0},
	{FM_HTTP500, "http500", 0},
	{FM_HTTP503, "http503", 0},
	{FM_HTTP429, "http429", 0},
	{FM_HTTP401, "http401", 0},
	{FM_RESET, "reset", 0},
	{FM_RESET_AFTER_CREATE, "reset_after_create", 0},
	{FM_STALL, "stall", 3600},
	{FM_SLOW, "slow", 5},
	{FM_MALFORMED, "malformed", 0},
	{FM_CODE, "code", 0},
	{FM_TRUNCATE, "truncate", 0},
	{FM_EXPIRED, "expired", 0},
	{FM_RAW, "raw", 0},
	{FM_ECHO_KEY, "echo_key", 0},
	{FM_STREAM_CUT, "stream_cut", 0},
	{FM_STREAM_STALL, "stream_stall", 3600},
};

const char *fault_kind_name(enum fault_kind k)
{
	return k >= 0 && k < FK_COUNT ? kind_names[k] : "none";
}

const char *fault_mode_name(enum fault_mode m)
{
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (modes[i].mode == m)
			return modes[i].name;
	return "?";
}

static bool mode_allowed(enum fault_kind k, enum fault_mode m)
{
	switch (m) {
	case FM_RESET_AFTER_CREATE:
	case FM_STREAM_CUT:
	case FM_STREAM_STALL:
		return k == FK_SUBMIT;
	case FM_TRUNCATE:
	case FM_EXPIRED:
		return k == FK_DOWNLOAD;
	case FM_ECHO_KEY:
		return k != FK_DOWNLOAD;
	default:
		return true;
	}
}

bool fault_set_locked(const char *kind, const char *mode, long count, double delay,
		      bool has_delay, int code, const char *msg, char *err, size_t errlen)
{
	size_t mi = 0;
	bool found = false;
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (mode && strcmp(modes[i].name, mode) == 0) {
			mi = i;
			found = true;
		}
	}
	if (!found) {
		snprintf(err, errlen, "unknown fault mode '%s'", mode ? mode : "");
		return false;
	}
	int first, last;
	if (kind && strcmp(kind, "all") == 0) {
		first = 0;
		last = FK_COUNT - 1;
	} else {
		first = -1;
		for (int k = 0; k < FK_COUNT; k++)
			if (kind && strcmp(kind, kind_names[k]) == 0)
				first = k;
		if (first < 0) {
			snprintf(err, errlen, "unknown fault kind '%s'", kind ? kind : "");
			return false;
		}
		last = first;
	}
	enum fault_mode m = modes[mi].mode;
	for (int k = first; k <= last; k++) {
		if (!mode_allowed((enum fault_kind)k, m)) {
			snprintf(err, errlen, "fault mode '%s' does not apply to kind '%s'",
				 modes[mi].name, kind_names[k]);
			return false;
		}
	}
	if (count == 0 || count < -1) {
		snprintf(err, errlen, "count must be a positive number or -1");
		return false;
	}
	if (has_delay && !(delay >= 0)) {
		snprintf(err, errlen, "delay must be >= 0");
		return false;
	}
	for (int k = first; k <= last; k++) {
		struct fault *f = &g_faults[k];
		memset(f, 0, sizeof *f);
		f->mode = m;
		if (m == FM_NONE)
			continue;
		f->count = count;
		f->delay = has_delay ? delay : modes[mi].default_delay;
		f->code = code;
		snprintf(f->msg, sizeof f->msg, "%s", msg && *msg ? msg : "simulated error");
	}
	return true;
}

bool fault_parse_cli_locked(const char *arg, char *err, size_t errlen)
{
	char buf[128];
	if (strlen(arg) >= sizeof buf) {
		snprintf(err, errlen, "--fault argument too long");
		return false;
	}
	strcpy(buf, arg);
	char *eq = strchr(buf, '=');
	if (!eq) {
		snprintf(err, errlen, "--fault expects KIND=MODE[:COUNT], got '%s'", arg);
		return false;
	}
	*eq = '\0';
	char *mode = eq + 1;
	long count = -1;
	char *colon = strchr(mode, ':');
	if (colon) {
		*colon = '\0';
		char *end;
		count = strtol(colon + 1, &end, 10);
		if (end == colon + 1 || *end || count <= 0) {
			snprintf(err, errlen, "--fault %s: COUNT must be a positive integer", arg);
			return false;
		}
	}
	return fault_set_locked(buf, mode, count, 0, false, -1, NULL, err, errlen);
}

void fault_take_locked(enum fault_kind kind, struct fault *out)
{
	memset(out, 0, sizeof *out);
	out->mode = FM_NONE;
	if (kind < 0 || kind >= FK_COUNT)
		return;
	struct fault *f = &g_faults[kind];
	if (f->mode == FM_NONE)
		return;
	*out = *f;
	if (f->count > 0 && --f->count == 0) {
		memset(f, 0, sizeof *f);
		f->mode = FM_NONE;
	}
}

void fault_clear_all_locked(void)
{
	memset(g_faults, 0, sizeof g_faults);
	for (int k = 0; k < FK_COUNT; k++)
		g_faults[k].mode = FM_NONE;
}

cJSON *fault_json_locked(void)
{
	cJSON *o = cJSON_CreateObject();
	for (int k = 0; k < FK_COUNT; k++) {
		const struct fault *f = &g_faults[k];
		if (f->mode == FM_NONE) {
			cJSON_AddNullToObject(o, kind_names[k]);
			continue;
		}
		cJSON *e = cJSON_AddObjectToObject(o, kind_names[k]);
		cJSON_AddStringToObject(e, "mode", fault_mode_name(f->mode));
		cJSON_AddNumberToObject(e, "count", (double)f->count);
		cJSON_AddNumberToObject(e, "delay", f->delay);
		cJSON_AddNumberToObject(e, "code", f->code);
		cJSON_AddStringToObject(e, "msg", f->msg);
	}
	return o;
}
