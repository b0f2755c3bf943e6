/*
 * state.c - everything sora2-sim remembers: the configuration, the tasks and
 * how they evolve with time, API keys and credits, and the statistics shown by
 * /_sim/stats. All of it is guarded by the one mutex (sim_lock()).
 *
 * A task's state is computed from the clock: it is "running" from creation
 * until creation + duration, then final. Failed tasks are refunded the first
 * time anything looks at them in their final state (the webhook thread looks
 * at every task several times a second, so that is prompt).
 *
 *   $ curl -s -XPOST localhost:PORT/v1/video/sora-video -H 'Authorization: Bearer sk-x' \
 *         -d '{"model":"sora-2","prompt":"a cat [fail]","webHook":"-1"}'
 *   $ curl -s localhost:PORT/_sim/stats
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct key {
	char *key;
	long long credits;
	bool unlimited;
	bool implicit;     /* first seen in a request, not made by createAPIKey */
	double expire_at;  /* unix seconds, 0 = never */
};

static const char *const request_groups[] = {
	"/v1/video/sora-video",
	"/v1/draw/result",
	"/v1/video/sora-upload-character",
	"/v1/video/sora-create-character",
	"/client/openapi/createAPIKey",
	"/client/openapi/getAPIKeyCredits",
	"/client/openapi/getCredits",
	"/client/common/getModelStatus",
	"/files",
	"other",
};
#define NGROUPS (sizeof request_groups / sizeof request_groups[0])

static struct {
	struct sim_config start; /* as given on the command line */
	struct sim_config cfg;
	int port;
	struct task **tasks;
	size_t ntasks, tasks_cap;
	struct key *keys;
	size_t nkeys, keys_cap;
	long long account;
	long long next_key_id;
	unsigned long long tasks_created;
	unsigned long long requests[NGROUPS];
	unsigned long long connections;
	unsigned long long downloads_completed;
	unsigned long long webhooks_sent, webhooks_failed;
} S;

/* ---- configuration ---------------------------------------------------- */

static void config_copy(struct sim_config *dst, const struct sim_config *src)
{
	free(dst->model_down);
	*dst = *src;
	dst->model_down = src->model_down ? sim_strdup(src->model_down) : NULL;
}

bool state_init(const struct sim_config *start, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	memset(&S, 0, sizeof S);
	config_copy(&S.start, start);
	config_copy(&S.cfg, start);
	S.account = start->credits;
	S.next_key_id = 1001;
	return true;
}

void state_set_port(int port)
{
	sim_lock();
	S.port = port;
	sim_unlock();
}

int state_port(void)
{
	sim_lock();
	int p = S.port;
	sim_unlock();
	return p;
}

struct sim_config *state_config_locked(void)
{
	return &S.cfg;
}

static const char *progress_style_name(enum progress_style s)
{
	return s == PROGRESS_MISSING ? "missing" : s == PROGRESS_JUMP ? "jump" : "normal";
}

cJSON *state_config_json_locked(void)
{
	const struct sim_config *c = &S.cfg;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "gen_time", c->gen_time);
	cJSON_AddNumberToObject(o, "expire", c->expire);
	cJSON_AddNumberToObject(o, "credits", (double)c->credits);
	cJSON_AddNumberToObject(o, "video_size", (double)c->video_size);
	cJSON_AddStringToObject(o, "progress_style", progress_style_name(c->progress_style));
	cJSON_AddStringToObject(o, "id_style", c->id_style == ID_OPAQUE ? "opaque" : "uuid");
	cJSON_AddBoolToObject(o, "stream_bare", c->stream_bare);
	cJSON_AddBoolToObject(o, "bad_key_http401", c->bad_key_http401);
	if (c->model_down)
		cJSON_AddStringToObject(o, "model_down", c->model_down);
	else
		cJSON_AddNullToObject(o, "model_down");
	cJSON_AddNumberToObject(o, "port", S.port);
	return o;
}

static bool num_field(const cJSON *v, const char *name, double max, double *out, char *err,
		      size_t errlen)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > max) {
		snprintf(err, errlen, "%s must be a number between 0 and %.0f", name, max);
		return false;
	}
	*out = v->valuedouble;
	return true;
}

bool state_apply_config_locked(const cJSON *obj, char *err, size_t errlen)
{
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "body must be a JSON object");
		return false;
	}
	struct sim_config n = S.cfg;
	n.model_down = NULL;
	bool model_set = false;
	const char *model_down = NULL;
	bool credits_set = false;
	const cJSON *v;
	cJSON_ArrayForEach(v, obj) {
		const char *k = v->string;
		double d;
		if (strcmp(k, "gen_time") == 0) {
			if (!num_field(v, k, 1e7, &n.gen_time, err, errlen))
				return false;
		} else if (strcmp(k, "expire") == 0) {
			if (!num_field(v, k, 1e9, &n.expire, err, errlen))
				return false;
		} else if (strcmp(k, "credits") == 0) {
			if (!num_field(v, k, 1e15, &d, err, errlen))
				return false;
			n.credits = (long long)d;
			credits_set = true;
		} else if (strcmp(k, "video_size") == 0) {
			if (!num_field(v, k, 1e15, &d, err, errlen))
				return false;
			n.video_size = (uint64_t)d;
		} else if (strcmp(k, "progress_style") == 0) {
			const char *s = cJSON_GetStringValue(v);
			if (s && strcmp(s, "normal") == 0)
				n.progress_style = PROGRESS_NORMAL;
			else if (s && strcmp(s, "missing") == 0)
				n.progress_style = PROGRESS_MISSING;
			else if (s && strcmp(s, "jump") == 0)
				n.progress_style = PROGRESS_JUMP;
			else {
				snprintf(err, errlen, "progress_style must be normal, missing or jump");
				return false;
			}
		} else if (strcmp(k, "id_style") == 0) {
			const char *s = cJSON_GetStringValue(v);
			if (s && strcmp(s, "uuid") == 0)
				n.id_style = ID_UUID;
			else if (s && strcmp(s, "opaque") == 0)
				n.id_style = ID_OPAQUE;
			else {
				snprintf(err, errlen, "id_style must be uuid or opaque");
				return false;
			}
		} else if (strcmp(k, "stream_bare") == 0 || strcmp(k, "bad_key_http401") == 0) {
			if (!cJSON_IsBool(v)) {
				snprintf(err, errlen, "%s must be true or false", k);
				return false;
			}
			if (k[0] == 's')
				n.stream_bare = cJSON_IsTrue(v);
			else
				n.bad_key_http401 = cJSON_IsTrue(v);
		} else if (strcmp(k, "model_down") == 0) {
			if (cJSON_IsNull(v) || cJSON_IsFalse(v)) {
				model_down = NULL;
			} else if (cJSON_IsString(v)) {
				model_down = *v->valuestring ? v->valuestring : "unavailable";
			} else {
				snprintf(err, errlen, "model_down must be a reason string or null");
				return false;
			}
			model_set = true;
		} else {
			snprintf(err, errlen, "unknown config field '%s'", k);
			return false;
		}
	}
	char *old_down = S.cfg.model_down;
	S.cfg = n;
	if (model_set) {
		free(old_down);
		S.cfg.model_down = model_down ? sim_strdup(model_down) : NULL;
	} else {
		S.cfg.model_down = old_down;
	}
	if (credits_set) {
		S.account = n.credits;
		for (size_t i = 0; i < S.nkeys; i++)
			if (S.keys[i].implicit && strncmp(S.keys[i].key, "sk-poor", 7) != 0)
				S.keys[i].credits = n.credits;
	}
	return true;
}

/* ---- tasks ------------------------------------------------------------ */

static void task_free(struct task *t)
{
	cJSON_Delete(t->body);
	free(t->key);
	free(t->key_masked);
	free(t->webhook);
	free(t);
}

struct task *task_find_locked(const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < S.ntasks; i++)
		if (strcmp(S.tasks[i]->id, id) == 0)
			return S.tasks[i];
	return NULL;
}

struct task *task_find_pid_locked(const char *pid)
{
	if (!pid || !*pid)
		return NULL;
	double now = sim_now();
	for (size_t i = 0; i < S.ntasks; i++) {
		struct task *t = S.tasks[i];
		if (t->kind != TK_VIDEO || strcmp(t->pid, pid) != 0)
			continue;
		struct task_view v;
		task_view_locked(t, now, &v);
		if (v.final && t->outcome == OUT_SUCCEED)
			return t;
	}
	return NULL;
}

size_t task_count_locked(void)
{
	return S.ntasks;
}

struct task *task_at_locked(size_t i)
{
	return i < S.ntasks ? S.tasks[i] : NULL;
}

/* Replace long "url" strings (base64 images) by "<N bytes>", recursively. */
static void shorten_urls(cJSON *node)
{
	cJSON *c;
	cJSON_ArrayForEach(c, node) {
		if (c->string && strcmp(c->string, "url") == 0 && cJSON_IsString(c) &&
		    strlen(c->valuestring) > 200) {
			char repl[48];
			snprintf(repl, sizeof repl, "<%zu bytes>", strlen(c->valuestring));
			cJSON_SetValuestring(c, repl);
		} else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			shorten_urls(c);
		}
	}
}

static bool parse_size_trigger(const char *text, uint64_t *out)
{
	const char *p = text ? strstr(text, "[size=") : NULL;
	if (!p)
		return false;
	p += 6;
	uint64_t n = 0;
	int digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 16) {
		n = n * 10 + (uint64_t)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || *p != ']')
		return false;
	*out = n;
	return true;
}

static bool has(const char *text, const char *trigger)
{
	return text && strstr(text, trigger) != NULL;
}

struct task *task_create_locked(enum task_kind kind, const char *endpoint, const cJSON *body,
				const char *key, long long cost, const char *trigger_text,
				const char *webhook, bool shut_progress)
{
	struct task *t = sim_xmalloc(sizeof *t);
	memset(t, 0, sizeof *t);
	do {
		if (S.cfg.id_style == ID_OPAQUE) {
			memcpy(t->id, "task_", 5);
			sim_random_alnum(t->id + 5, 20);
		} else {
			sim_random_uuid(t->id);
		}
	} while (task_find_locked(t->id));
	t->kind = kind;
	t->endpoint = endpoint;
	t->body = body ? cJSON_Duplicate(body, true) : cJSON_CreateObject();
	shorten_urls(t->body);
	t->key = sim_strdup(key ? key : "");
	t->key_masked = sim_mask_key(key);
	t->cost = cost;
	t->created_wall = sim_wall();
	t->created = sim_now();

	double dur = S.cfg.gen_time;
	if (kind != TK_VIDEO)
		dur /= 2;
	if (has(trigger_text, "[slow]"))
		dur *= 10;
	t->duration = dur;

	if (has(trigger_text, "[moderation]"))
		t->outcome = OUT_INPUT_MODERATION;
	else if (has(trigger_text, "[output_moderation]"))
		t->outcome = OUT_OUTPUT_MODERATION;
	else if (has(trigger_text, "[fail]"))
		t->outcome = OUT_FAIL;
	else if (has(trigger_text, "[violation]"))
		t->outcome = OUT_VIOLATION;
	else if (has(trigger_text, "[weird]"))
		t->outcome = OUT_MYSTERY;
	else
		t->outcome = OUT_SUCCEED;

	if (kind == TK_VIDEO) {
		uint64_t want = S.cfg.video_size;
		parse_size_trigger(trigger_text, &want);
		t->video_bytes = mp4_served_size(want);
		memcpy(t->pid, "s_", 2);
		sim_random_hex(t->pid + 2, 32);
	} else {
		memcpy(t->character_id, "char", 4);
		sim_random_hex(t->character_id + 4, 6);
		strcat(t->character_id, ".sora");
	}
	t->webhook = webhook ? sim_strdup(webhook) : NULL;
	t->shut_progress = shut_progress;
	t->hook_last_key = -1;
	t->hook_done = webhook == NULL;

	if (S.ntasks == S.tasks_cap) {
		size_t nc = S.tasks_cap ? S.tasks_cap * 2 : 16;
		struct task **nt = realloc(S.tasks, nc * sizeof *nt);
		if (!nt) {
			fputs("sora2-sim: out of memory\n", stderr);
			abort();
		}
		S.tasks = nt;
		S.tasks_cap = nc;
	}
	S.tasks[S.ntasks++] = t;
	S.tasks_created++;
	return t;
}

static struct key *key_get_locked(const char *key);

static void refund_locked(struct task *t)
{
	if (t->refunded || t->cost == 0)
		return;
	t->refunded = true;
	struct key *k = key_get_locked(t->key);
	if (k && !k->unlimited)
		k->credits += t->cost;
	S.account += t->cost;
}

static double task_finish_time(const struct task *t)
{
	if (t->forced)
		return t->forced_at;
	if (t->outcome == OUT_INPUT_MODERATION)
		return t->created;
	return t->created + t->duration;
}

void task_view_locked(struct task *t, double now, struct task_view *v)
{
	enum progress_style style = S.cfg.progress_style;
	double fin = task_finish_time(t);
	memset(v, 0, sizeof *v);
	if (now < fin) {
		double frac = t->duration > 0 ? (now - t->created) / t->duration : 1;
		if (frac < 0)
			frac = 0;
		v->status = "running";
		v->final = false;
		v->has_progress = style != PROGRESS_MISSING;
		v->progress = 0;
		v->notify_key = 0;
		if (style == PROGRESS_NORMAL) {
			int p = (int)floor(99 * frac);
			v->progress = p < 0 ? 0 : p > 99 ? 99 : p;
			int step = (int)floor(5 * frac);
			v->notify_key = step < 0 ? 0 : step > 4 ? 4 : step;
		}
		return;
	}
	v->final = true;
	v->has_progress = true;
	v->notify_key = 100;
	int fail_progress = t->outcome == OUT_INPUT_MODERATION || style == PROGRESS_JUMP ? 0 : 99;
	switch (t->outcome) {
	case OUT_SUCCEED:
		v->status = "succeeded";
		v->progress = 100;
		break;
	case OUT_FAIL:
	case OUT_INPUT_MODERATION:
	case OUT_OUTPUT_MODERATION:
		v->status = "failed";
		v->progress = fail_progress;
		break;
	case OUT_VIOLATION:
		v->status = "violation";
		v->progress = fail_progress;
		break;
	case OUT_MYSTERY:
		v->status = "mystery";
		v->progress = 100;
		break;
	}
	if (!t->settled) {
		t->settled = true;
		if (t->outcome != OUT_SUCCEED && t->outcome != OUT_MYSTERY)
			refund_locked(t);
	}
}

void tasks_settle_all_locked(double now)
{
	struct task_view v;
	for (size_t i = 0; i < S.ntasks; i++)
		if (!S.tasks[i]->settled)
			task_view_locked(S.tasks[i], now, &v);
}

cJSON *task_json_locked(struct task *t, double now, struct task_view *vout)
{
	struct task_view v;
	task_view_locked(t, now, &v);
	if (vout)
		*vout = v;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", t->id);
	cJSON_AddStringToObject(o, "status", v.status);
	if (v.has_progress)
		cJSON_AddNumberToObject(o, "progress", v.progress);
	cJSON *results = cJSON_AddArrayToObject(o, "results");
	const char *reason = "", *error = "";
	if (v.final) {
		switch (t->outcome) {
		case OUT_SUCCEED: {
			cJSON *r = cJSON_CreateObject();
			if (t->kind == TK_VIDEO) {
				char url[128];
				snprintf(url, sizeof url, "http://127.0.0.1:%d/files/%s.mp4", S.port,
					 t->id);
				cJSON_AddStringToObject(r, "url", url);
				cJSON_AddBoolToObject(r, "removeWatermark", true);
				cJSON_AddStringToObject(r, "pid", t->pid);
			} else {
				cJSON_AddStringToObject(r, "character_id", t->character_id);
			}
			cJSON_AddItemToArray(results, r);
			break;
		}
		case OUT_FAIL:
			reason = "error";
			error = "internal error while generating";
			break;
		case OUT_INPUT_MODERATION:
			reason = "input_moderation";
			error = "the prompt or image was rejected by input moderation";
			break;
		case OUT_OUTPUT_MODERATION:
			reason = "output_moderation";
			error = "the generated video was rejected by output moderation";
			break;
		case OUT_VIOLATION:
			reason = "output_moderation";
			error = "the content violates the usage policy";
			break;
		case OUT_MYSTERY:
			break;
		}
	}
	cJSON_AddStringToObject(o, "failure_reason", reason);
	cJSON_AddStringToObject(o, "error", error);
	return o;
}

bool task_url_expired_locked(struct task *t, double now)
{
	if (t->url_expired)
		return true;
	return now > task_finish_time(t) + S.cfg.expire;
}

void task_forget_locked(struct task *t)
{
	for (size_t i = 0; i < S.ntasks; i++) {
		if (S.tasks[i] == t) {
			memmove(&S.tasks[i], &S.tasks[i + 1], (S.ntasks - i - 1) * sizeof *S.tasks);
			S.ntasks--;
			task_free(t);
			return;
		}
	}
}

/* ---- keys and credits ------------------------------------------------- */

bool token_valid(const char *token)
{
	return token && *token && strncmp(token, "bad", 3) != 0;
}

static struct key *key_find_locked(const char *key)
{
	for (size_t i = 0; i < S.nkeys; i++)
		if (strcmp(S.keys[i].key, key) == 0)
			return &S.keys[i];
	return NULL;
}

static struct key *key_add_locked(const char *key)
{
	if (S.nkeys == S.keys_cap) {
		size_t nc = S.keys_cap ? S.keys_cap * 2 : 16;
		struct key *nk = realloc(S.keys, nc * sizeof *nk);
		if (!nk) {
			fputs("sora2-sim: out of memory\n", stderr);
			abort();
		}
		S.keys = nk;
		S.keys_cap = nc;
	}
	struct key *k = &S.keys[S.nkeys++];
	memset(k, 0, sizeof *k);
	k->key = sim_strdup(key);
	return k;
}

static struct key *key_get_locked(const char *key)
{
	if (!key || !*key)
		return NULL;
	struct key *k = key_find_locked(key);
	if (k)
		return k;
	k = key_add_locked(key);
	k->implicit = true;
	k->credits = strncmp(key, "sk-poor", 7) == 0 ? 0 : S.cfg.credits;
	return k;
}

enum key_state key_check_locked(const char *key)
{
	if (!key || strncmp(key, "sk-", 3) != 0 || strncmp(key, "sk-bad", 6) == 0)
		return KEY_INVALID;
	if (strlen(key) > 200)
		return KEY_INVALID;
	struct key *k = key_find_locked(key);
	if (k && k->expire_at > 0 && sim_wall() > k->expire_at)
		return KEY_INVALID;
	return KEY_OK;
}

bool credits_charge_locked(const char *key, long long cost)
{
	struct key *k = key_get_locked(key);
	if (!k)
		return false;
	if (!k->unlimited && k->credits < cost)
		return false;
	if (S.account < cost)
		return false;
	if (!k->unlimited)
		k->credits -= cost;
	S.account -= cost;
	return true;
}

long long key_credits_locked(const char *key)
{
	tasks_settle_all_locked(sim_now());
	struct key *k = key_get_locked(key);
	if (!k)
		return 0;
	return k->unlimited ? S.account : k->credits;
}

long long account_credits_locked(void)
{
	tasks_settle_all_locked(sim_now());
	return S.account;
}

cJSON *key_create_locked(const char *name, int type, long long credits, double expire_time)
{
	char keystr[40];
	do {
		memcpy(keystr, "sk-", 3);
		sim_random_hex(keystr + 3, 32);
	} while (key_find_locked(keystr));
	struct key *k = key_add_locked(keystr);
	k->unlimited = type == 0 || credits == 0;
	k->credits = credits;
	/* Unknown unit upstream: values past 10^12 are taken as milliseconds. */
	k->expire_at = expire_time > 1e12 ? expire_time / 1000 : expire_time;
	long long id = S.next_key_id++;

	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "id", (double)id);
	cJSON_AddStringToObject(d, "key", keystr);
	cJSON_AddStringToObject(d, "name", name);
	cJSON_AddNumberToObject(d, "credits", (double)credits);
	cJSON_AddNumberToObject(d, "expireTime", expire_time);
	cJSON_AddNumberToObject(d, "createTime", floor(sim_wall()));
	return d;
}

/* ---- statistics ------------------------------------------------------- */

void stats_request_locked(const char *group)
{
	for (size_t i = 0; i < NGROUPS; i++) {
		if (strcmp(request_groups[i], group) == 0) {
			S.requests[i]++;
			return;
		}
	}
	S.requests[NGROUPS - 1]++;
}

void stats_connection_locked(void)
{
	S.connections++;
}

void stats_download_done_locked(void)
{
	S.downloads_completed++;
}

void stats_webhook_locked(bool ok)
{
	if (ok)
		S.webhooks_sent++;
	else
		S.webhooks_failed++;
}

cJSON *stats_json_locked(void)
{
	double now = sim_now();
	tasks_settle_all_locked(now);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "tasks_created", (double)S.tasks_created);
	cJSON *arr = cJSON_AddArrayToObject(o, "tasks");
	for (size_t i = 0; i < S.ntasks; i++) {
		struct task *t = S.tasks[i];
		struct task_view v;
		task_view_locked(t, now, &v);
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", t->id);
		cJSON_AddStringToObject(e, "endpoint", t->endpoint);
		cJSON_AddItemToObject(e, "body", cJSON_Duplicate(t->body, true));
		cJSON_AddStringToObject(e, "status", v.status);
		cJSON_AddNumberToObject(e, "created", floor(t->created_wall));
		cJSON_AddStringToObject(e, "key", t->key_masked);
		cJSON_AddItemToArray(arr, e);
	}
	cJSON *req = cJSON_AddObjectToObject(o, "requests");
	for (size_t i = 0; i < NGROUPS; i++)
		cJSON_AddNumberToObject(req, request_groups[i], (double)S.requests[i]);
	cJSON_AddNumberToObject(o, "connections", (double)S.connections);
	cJSON_AddNumberToObject(o, "downloads_completed", (double)S.downloads_completed);
	cJSON *wh = cJSON_AddObjectToObject(o, "webhooks");
	cJSON_AddNumberToObject(wh, "sent", (double)S.webhooks_sent);
	cJSON_AddNumberToObject(wh, "failed", (double)S.webhooks_failed);
	cJSON *cr = cJSON_AddObjectToObject(o, "credits");
	cJSON_AddNumberToObject(cr, "account", (double)S.account);
	cJSON *keys = cJSON_AddObjectToObject(cr, "keys");
	for (size_t i = 0; i < S.nkeys; i++) {
		char *m = sim_mask_key(S.keys[i].key);
		if (!cJSON_GetObjectItemCaseSensitive(keys, m))
			cJSON_AddNumberToObject(keys, m,
						S.keys[i].unlimited ? -1.0 : (double)S.keys[i].credits);
		free(m);
	}
	cJSON_AddItemToObject(o, "faults", fault_json_locked());
	return o;
}

/* ---- reset and teardown ----------------------------------------------- */

static void forget_all_locked(void)
{
	for (size_t i = 0; i < S.ntasks; i++)
		task_free(S.tasks[i]);
	free(S.tasks);
	S.tasks = NULL;
	S.ntasks = S.tasks_cap = 0;
	for (size_t i = 0; i < S.nkeys; i++)
		free(S.keys[i].key);
	free(S.keys);
	S.keys = NULL;
	S.nkeys = S.keys_cap = 0;
}

void state_reset_locked(void)
{
	forget_all_locked();
	config_copy(&S.cfg, &S.start);
	S.account = S.cfg.credits;
	S.next_key_id = 1001;
	S.tasks_created = 0;
	memset(S.requests, 0, sizeof S.requests);
	S.connections = 0;
	S.downloads_completed = 0;
	S.webhooks_sent = S.webhooks_failed = 0;
	fault_clear_all_locked();
}

void state_free(void)
{
	sim_lock();
	forget_all_locked();
	free(S.cfg.model_down);
	free(S.start.model_down);
	S.cfg.model_down = S.start.model_down = NULL;
	sim_unlock();
}
