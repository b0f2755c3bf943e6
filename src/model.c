/* model.c - jobs, configuration and history in memory, behind one lock.
 *
 *   $ echo "a cat" > jobs/cat.txt      model_job_create(): job "cat", queued
 *   $ cat jobs/cat/status              model_job_file(): "queued"
 *   $ echo cancel > jobs/cat/ctl       model_job_ctl()
 *
 * This is the only place where state changes. Each change that must survive a
 * crash is on disk (studio.c) before the call returns; each change that a reader
 * could see is queued as a path and handed to the change hook when the lock is
 * released, so kernel caches are invalidated outside every lock.
 */
#include "model.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "failpoint.h"
#include "job_record.h"
#include "job_index.h"
#include "history.h"
#include "job_files.h"
#include "json_file.h"
#include "mp4.h"
#include "local_ref.h"
#include "log.h"
#include "names.h"
#include "api.h"
#include "prompt.h"
#include "studio.h"
#include "util.h"
#include "writer.h"


static struct {
	pthread_mutex_t lock;
	struct options opt;
	cJSON *config;   /* data/config.json */
	cJSON *history;  /* data/history.json */
	struct history *hist; /* its index by base name (history.c) */
	cJSON *active;   /* data/active_tasks.json */
	cJSON *times;    /* data/task_times.json */
	struct job *jobs;
	unsigned next_serial;
	char *account_error;
	/* paths changed while the lock was held */
	char **changed;
	size_t n_changed, cap_changed;
	void (*change_hook)(const char *path);
	void (*wake_hook)(void);
	bool wake_pending;
	/* active_tasks.json / task_times.json changed, not yet queued: written
	 * once per engine turn (model_save_lists_locked), not once per task */
	bool active_dirty, times_dirty;
} m = { .lock = PTHREAD_MUTEX_INITIALIZER };

const char *job_status_name(enum job_status s)
{
	return fsm_status_name(s);
}

static const char *kind_dir(enum job_kind k)
{
	return k == JOB_VIDEO ? "jobs" : "characters";
}

/* --- lock and change queue ------------------------------------------------ */

void model_lock(void)
{
	pthread_mutex_lock(&m.lock);
}

static void queue_change(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void queue_change(const char *fmt, ...)
{
	if (!m.change_hook)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *p = NULL;
	if (vasprintf(&p, fmt, ap) < 0)
		abort();
	va_end(ap);
	for (size_t i = 0; i < m.n_changed; i++) {
		if (strcmp(m.changed[i], p) == 0) {
			free(p);
			return;
		}
	}
	if (m.n_changed == m.cap_changed) {
		m.cap_changed = m.cap_changed ? m.cap_changed * 2 : 32;
		m.changed = xrealloc(m.changed, m.cap_changed * sizeof *m.changed);
	}
	m.changed[m.n_changed++] = p;
}

void model_unlock(void)
{
	char **paths = m.changed;
	size_t n = m.n_changed;
	void (*hook)(const char *) = m.change_hook;
	bool wake = m.wake_pending;
	void (*wake_hook)(void) = m.wake_hook;
	m.changed = NULL;
	m.n_changed = m.cap_changed = 0;
	m.wake_pending = false;
	pthread_mutex_unlock(&m.lock);

	for (size_t i = 0; i < n; i++) {
		if (hook)
			hook(paths[i]);
		free(paths[i]);
	}
	free(paths);
	if (wake && wake_hook)
		wake_hook();
}

void model_set_change_hook(void (*hook)(const char *path))
{
	model_lock();
	m.change_hook = hook;
	model_unlock();
}

void model_set_wake_hook(void (*hook)(void))
{
	model_lock();
	m.wake_hook = hook;
	model_unlock();
}

static void wake_engine(void)
{
	m.wake_pending = true;
}

void job_changed(struct job *j)
{
	static const char *const files[] = {
		"", "/status", "/progress", "/error", "/id", "/result.json", "/pid",
		"/video", "/character_id", "/request.json",
	};
	j->mtime = now_wall();
	queue_change("/%s", kind_dir(j->kind));
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		queue_change("/%s/%s%s", kind_dir(j->kind), j->name, files[i]);
}

/* --- records ---------------------------------------------------------------- */

static void set_str(char **field, const char *value)
{
	char *old = *field;
	*field = (value && *value) ? xstrdup(value) : NULL;
	free(old);
}

static struct job *job_by_serial_locked(unsigned serial);

/* Saves of one job that someone waits for share a save_ctx; the last to land
 * (on the writer thread) decides. */
struct save_ctx {
	unsigned serial;
	int pending, rc;
	struct writer_wait *wait;
};

static void save_landed(int rc, void *ctx);

static struct save_ctx *save_ctx_new(unsigned serial)
{
	struct save_ctx *c = xcalloc(1, sizeof *c);
	c->serial = serial;
	return c;
}

/* Queue the request part if it is not on disk (old records, a full disk).
 * c->pending counts every save sharing c, set before the first is queued: the
 * writer may finish one before the next is queued. */
static void save_request_part(struct job *j, struct save_ctx *c)
{
	if (j->request_durable || j->request_queued)
		return;
	j->request_queued = true;
	cJSON *req = job_record_request(j);
	studio_save_job_request(j->serial, req, save_landed, c);
	cJSON_Delete(req);
}

static void save_state_part(struct job *j, bool sync, struct save_ctx *c)
{
	cJSON *rec = job_record_state(j);
	studio_save_job(j->serial, rec, sync, c ? save_landed : NULL, c);
	cJSON_Delete(rec);
}

/* The record is copied (serialised) here, under the lock, and written by the
 * writer thread after it: the request part first if it is not on disk yet,
 * then the state. */
void job_save(struct job *j, bool sync)
{
	struct save_ctx *c = NULL;
	if (!j->request_durable && !j->request_queued) {
		c = save_ctx_new(j->serial);
		c->pending = 2;
		save_request_part(j, c);
	}
	save_state_part(j, sync, c);
}

/* Writer thread, no lock: one save sharing c landed. */
static void save_landed(int rc, void *ctx)
{
	struct save_ctx *c = ctx;
	if (rc < 0 && c->rc == 0)
		c->rc = rc;
	if (--c->pending > 0)
		return;
	model_lock();
	struct job *j = job_by_serial_locked(c->serial);
	if (j && j->request_queued) {
		j->request_queued = false;
		j->request_durable = c->rc == 0 || j->request_durable;
	}
	model_unlock();
	if (c->wait)
		writer_wait_done(c->rc, c->wait);
	free(c);
}

/* A new job: the unchanging part first, then the state that points at it.
 * With wait, the caller waits (after unlocking) for both to be on disk. */
static void job_save_new(struct job *j, struct writer_wait *wait)
{
	struct save_ctx *c = save_ctx_new(j->serial);
	c->wait = wait;
	c->pending = (j->request_durable || j->request_queued) ? 1 : 2;
	save_request_part(j, c);
	save_state_part(j, true, c);
}

static void job_free(struct job *j)
{
	cJSON_free(j->body);
	free(j->name);
	free(j->source);
	free(j->source_file);
	cJSON_Delete(j->request);
	free(j->request_shown);
	free(j->id);
	free(j->host);
	free(j->error);
	free(j->result);
	free(j->url);
	free(j->pid);
	free(j->character_id);
	free(j->video);
	free(j->accepted_text);
	free(j->pending_accepted);
	free(j);
}

/* The list's last job, so appending is not a walk (job_index.c finds jobs). */
static struct job *jobs_tail;

static void job_append(struct job *j)
{
	j->next = NULL;
	if (!m.jobs || !jobs_tail) {
		struct job **pp = &m.jobs;
		while (*pp)
			pp = &(*pp)->next;
		*pp = j;
	} else {
		jobs_tail->next = j;
	}
	jobs_tail = j;
	job_index_add(j);
}

static struct job *find_job(enum job_kind kind, const char *name)
{
	return job_index_find(kind, name);
}

static struct job *find_job_by_id(const char *id)
{
	for (struct job *j = m.jobs; j; j = j->next)
		if (j->id && strcmp(j->id, id) == 0)
			return j;
	return NULL;
}

struct job *model_jobs(void)
{
	return m.jobs;
}

static struct job *job_by_serial_locked(unsigned serial)
{
	return job_by_serial(serial);
}

struct job *job_by_serial(unsigned serial)
{
	return job_index_serial(serial);
}

static void load_record(const cJSON *r, const cJSON *req, void *ctx)
{
	(void)ctx;
	struct job *j = job_record_load(r, req);
	if (!j)
		return;
	/* an old single-file record gets its request part at its next save */
	j->request_durable = req != NULL;
	if (j->serial >= m.next_serial)
		m.next_serial = j->serial + 1;
	if (find_job(j->kind, j->name)) {
		log_error("two job records are named %s; keeping the first", j->name);
		job_free(j);
		return;
	}
	job_append(j);
}

/* A crash between the video's rename and the saves after it leaves a job
 * "downloading" whose video is already complete in downloads: keep that file
 * (never a second download as NAME-2.mp4). Reads the file: no lock held (the
 * mount is not up yet). */
static bool video_complete(const struct job *j)
{
	if (j->kind != JOB_VIDEO || j->status != ST_DOWNLOADING || !j->video)
		return false;
	char *path = xasprintf("%s/%s", m.opt.downloads_dir, j->video);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return false;
	char *err = NULL;
	bool ok = mp4_check_fd(fd, -1, &err) == 0;
	close(fd);
	free(err);
	return ok;
}

static int job_set_video_done_at(struct job *j, double when);

/* What a restart means for each job: a submit that was on the wire when we
 * stopped has an unknown fate and is never sent again on our own. */
static void resume_job(struct job *j, bool video_there)
{
	if (video_there) {
		log_info("jobs/%s: videos/%s was complete when sora2fs stopped; kept",
			 j->name, j->video);
		if (job_set_video_done_at(j, j->finished > 0 ? j->finished : now_wall()) == 0)
			return;
	}
	const char *why = NULL;
	if (j->status == ST_QUEUED && j->submit == SUBMIT_SENDING)
		why = "sora2fs stopped while submitting this job, so its outcome is unknown: a "
		      "task may have been created and billed. Check your account, then write "
		      "retry to ctl to submit again.";
	else if ((j->status == ST_RUNNING || j->status == ST_DOWNLOADING) && !j->id)
		why = "this job was running but its task id was lost";
	job_event(j, EV_RESUME, why);
	if (j->status == ST_FAILED && why)
		log_warn("%s/%s failed: %s", kind_dir(j->kind), j->name, why);
}

static char *shown_text(enum job_kind kind, const cJSON *shown);

/* --- Web Studio files --------------------------------------------------- */

/* The Web Studio expects every key to be there. */
static void config_fill(cJSON *cfg)
{
	static const char *const keys[] = { "api_key", "token" };
	for (size_t i = 0; i < 2; i++)
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cfg, keys[i])))
			json_set_str(cfg, keys[i], "");
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cfg, "host_mode")))
		json_set_str(cfg, "host_mode", "auto");
	if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cfg, "query_defaults"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, "query_defaults");
		cJSON_AddItemToObject(cfg, "query_defaults", cJSON_CreateObject());
	}
}

/* config.json writes, one at a time: copy, change, save, then show. */
static pthread_mutex_t config_write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Change a copy of the configuration, write it (outside the model's lock, in
 * the caller, which waits for its own write only), and only once it is on disk
 * make it the one the mount shows. change returns 0 or -errno. */
static int config_change(int (*change)(cJSON *cfg, void *arg), void *arg)
{
	pthread_mutex_lock(&config_write_lock);
	model_lock();
	cJSON *copy = cJSON_Duplicate(m.config, 1);
	model_unlock();
	int r = change(copy, arg);
	if (r == 0) {
		config_fill(copy);
		r = studio_save(SF_CONFIG, copy);
	}
	if (r == 0) {
		model_lock();
		cJSON *old = m.config;
		m.config = copy;
		copy = old; /* freed below, after the lock: config_peek pointers die with it */
		model_unlock();
	}
	cJSON_Delete(copy);
	pthread_mutex_unlock(&config_write_lock);
	return r;
}

static void save_history(void) { studio_save_async(SF_HISTORY, m.history); }

/* At most one rewrite of the lists per LISTS_EVERY seconds while they keep
 * changing (a burst changes them on every turn); the jobs' own records hold
 * the truth, these are the Web Studio's view. */
#define LISTS_EVERY 0.2

double model_save_lists_locked(bool force)
{
	static double last;
	if (!m.active_dirty && !m.times_dirty)
		return 1e9;
	double now = now_mono();
	if (!force && now - last < LISTS_EVERY)
		return LISTS_EVERY - (now - last);
	last = now;
	if (m.active_dirty)
		studio_save_async(SF_ACTIVE, m.active);
	if (m.times_dirty)
		studio_save_async(SF_TIMES, m.times);
	m.active_dirty = m.times_dirty = false;
	return 1e9;
}

/* A burst changes these lists once per task: the engine's next turn queues
 * them once (without an engine, now). */
static void lists_changed(bool active, bool times)
{
	m.active_dirty |= active;
	m.times_dirty |= times;
	if (m.wake_hook)
		wake_engine();
	else
		model_save_lists_locked(true);
}

static void active_remove(const char *id)
{
	if (!id)
		return;
	bool changed = false;
	/* along the list: by index, each item is a walk from the first (a burst
	 * of 1,000 finishes was 5e8 steps) */
	for (cJSON *t = m.active ? m.active->child : NULL, *next; t; t = next) {
		next = t->next;
		const char *aid = json_str(t, "id");
		if (aid && strcmp(aid, id) == 0) {
			cJSON_Delete(cJSON_DetachItemViaPointer(m.active, t));
			changed = true;
		}
	}
	if (changed)
		lists_changed(true, false);
}

/* The prompt as history, active_tasks.json and xattrs store it: secrets masked. */
static char *job_prompt_text(const struct job *j)
{
	const char *p = j->request ? json_str(j->request, "prompt") : NULL;
	return log_redact(p ? p : "");
}

/* Tasks the Web Studio (or an older sora2fs) left running become jobs. */
static void adopt_active_tasks(void)
{
	cJSON *t;
	cJSON_ArrayForEach(t, m.active) {
		const char *id = json_str(t, "id");
		if (!id || !*id || find_job_by_id(id))
			continue;
		const char *prompt = json_str(t, "prompt");
		if (!prompt)
			prompt = "";
		char *base = name_slug(prompt);
		struct job *j = xcalloc(1, sizeof *j);
		j->kind = JOB_VIDEO;
		j->serial = m.next_serial++;
		/* inline uniqueness: names of video jobs */
		for (int n = 1;; n++) {
			char *cand = n == 1 ? xstrdup(base) : xasprintf("%s-%d", base, n);
			if (!find_job(JOB_VIDEO, cand)) {
				j->name = cand;
				break;
			}
			free(cand);
		}
		free(base);
		j->source = xstrdup(prompt);
		j->source_len = strlen(prompt);
		j->request = cJSON_CreateObject();
		cJSON_AddStringToObject(j->request, "prompt", prompt);
		j->request_shown = shown_text(JOB_VIDEO, j->request);
		j->id = xstrdup(id);
		j->submit = SUBMIT_ACCEPTED;
		j->status = ST_RUNNING;
		double st = json_num_in(t, "start_time", 0, JSON_TIME_MAX, 0);
		j->created = j->started = st > 0 ? st : now_wall();
		j->mtime = j->created;
		job_append(j);
		job_save_new(j, NULL);
		log_info("adopted task %s left running by the Web Studio as jobs/%s", id, j->name);
	}
}

static void register_secrets(void)
{
	log_add_secret(json_str(m.config, "api_key"));
	log_add_secret(json_str(m.config, "token"));
}

int model_init(const struct options *opt, char **err)
{
	m.opt = *opt;
	studio_open(opt->studio_dir);
	int r;
	cJSON **targets[SF__COUNT] = { &m.config, &m.history, &m.active, &m.times };
	/* Read everything before creating anything: a bad file stops the mount
	 * with the folder exactly as it was. */
	for (int f = 0; f < SF__COUNT; f++) {
		r = studio_load((enum studio_file)f, targets[f], err);
		if (r < 0)
			goto fail;
	}
	r = studio_create_dirs(opt->downloads_dir, err);
	if (r < 0)
		goto fail;
	register_secrets();
	bool upgraded = false;
	char *dl = realpath(opt->downloads_dir, NULL);
	m.hist = history_open(m.history, dl ? dl : opt->downloads_dir, &upgraded);
	free(dl);
	if (upgraded)
		save_history(); /* entries older sora2fs wrote, in the Web Studio's format */
	m.next_serial = 1;
	studio_clean_leftovers(opt->downloads_dir);
	r = studio_load_jobs(load_record, NULL, err);
	if (r < 0)
		goto fail;
	size_t n = 0;
	for (struct job *j = m.jobs; j; j = j->next)
		n++;
	bool *there = xcalloc(n + 1, sizeof *there);
	n = 0;
	for (struct job *j = m.jobs; j; j = j->next)
		there[n++] = video_complete(j);
	model_lock();
	n = 0;
	for (struct job *j = m.jobs; j; j = j->next)
		resume_job(j, there[n++]);
	free(there);
	adopt_active_tasks();
	model_unlock();
	return 0;
fail:
	for (int f = 0; f < SF__COUNT; f++) {
		cJSON_Delete(*targets[f]);
		*targets[f] = NULL;
	}
	studio_close();
	return r;
}

void model_shutdown(void)
{
	/* everything queued reaches the disk; callbacks may still take the lock */
	model_lock();
	model_save_lists_locked(true);
	model_unlock();
	writer_stop();
	model_lock();
	job_index_clear();
	jobs_tail = NULL;
	while (m.jobs) {
		struct job *j = m.jobs;
		m.jobs = j->next;
		job_free(j);
	}
	cJSON_Delete(m.config);
	history_close(m.hist);
	m.hist = NULL;
	cJSON_Delete(m.history);
	cJSON_Delete(m.active);
	cJSON_Delete(m.times);
	m.config = m.history = m.active = m.times = NULL;
	free(m.account_error);
	m.account_error = NULL;
	m.change_hook = NULL;
	m.wake_hook = NULL;
	model_unlock();
	studio_close();
}

const struct options *model_options(void)
{
	return &m.opt;
}

const char *model_downloads_dir(void)
{
	return m.opt.downloads_dir;
}

const char *model_scratch_dir(enum job_kind kind)
{
	return studio_scratch_dir(kind == JOB_CHARACTER);
}

/* --- configuration -------------------------------------------------------- */

static bool config_field_ok(const char *field)
{
	return strcmp(field, "api_key") == 0 || strcmp(field, "token") == 0 ||
	       strcmp(field, "host_mode") == 0;
}

const char *config_peek(const char *field)
{
	const char *v = config_field_ok(field) ? json_str(m.config, field) : NULL;
	if (!v && strcmp(field, "host_mode") == 0)
		v = "auto";
	return v ? v : "";
}

char *model_config_get(const char *field)
{
	model_lock();
	const char *v = config_field_ok(field) ? json_str(m.config, field) : NULL;
	if (!v && strcmp(field, "host_mode") == 0)
		v = "auto";
	char *out = xstrdup(v ? v : "");
	model_unlock();
	return out;
}

/* A new key unblocks jobs waiting for one. */
static void key_appeared(void)
{
	for (struct job *j = m.jobs; j; j = j->next)
		if (j->status == ST_QUEUED && j->submit == SUBMIT_NONE && j->error &&
		    str_has_prefix(j->error, "no API key"))
			job_event(j, EV_KEY_APPEARS, NULL);
}

struct set_arg {
	const char *field, *value;
};

static int set_field(cJSON *cfg, void *arg)
{
	struct set_arg *a = arg;
	json_set_str(cfg, a->field, a->value);
	return 0;
}

int model_config_set(const char *field, const char *value, char **err)
{
	if (!field || !config_field_ok(field)) {
		*err = xasprintf("unknown setting %s", field ? field : "(none)");
		return -EINVAL;
	}
	if (strcmp(field, "host_mode") == 0 && strcmp(value, "auto") != 0 &&
	    strcmp(value, "domestic") != 0 && strcmp(value, "overseas") != 0) {
		*err = xasprintf("host_mode must be auto, domestic or overseas (got \"%s\")", value);
		return -EINVAL;
	}
	if (strchr(value, '\n')) {
		*err = xasprintf("%s must be one line", field);
		return -EINVAL;
	}
	/* A secret stays registered for the mount's life: an answer still on its
	 * way may echo the old key. */
	if (strcmp(field, "host_mode") != 0)
		log_add_secret(value);
	struct set_arg a = { field, value };
	int r = config_change(set_field, &a);
	if (r < 0) {
		*err = xasprintf("cannot save %s: %s", studio_file_path(SF_CONFIG), strerror(-r));
		return r;
	}
	model_lock();
	/* (GCC's format-overflow check under -fsanitize cannot see field is set) */
	queue_change("/config/%s", field ? field : "");
	if (strcmp(field, "api_key") == 0 && *value)
		key_appeared();
	wake_engine();
	model_unlock();
	log_info("config: %s updated", field);
	return 0;
}

static cJSON *defaults_in(cJSON *cfg, bool create)
{
	cJSON *d = cJSON_GetObjectItemCaseSensitive(cfg, "query_defaults");
	if (!cJSON_IsObject(d) && create) {
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, "query_defaults");
		d = cJSON_AddObjectToObject(cfg, "query_defaults");
	}
	return cJSON_IsObject(d) ? d : NULL;
}

static cJSON *defaults_obj(bool create)
{
	return defaults_in(m.config, create);
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

char **model_defaults_list(void)
{
	model_lock();
	cJSON *d = defaults_obj(false);
	int n = d ? cJSON_GetArraySize(d) : 0;
	char **out = xcalloc((size_t)n + 1, sizeof *out);
	int k = 0;
	cJSON *it;
	if (d)
		cJSON_ArrayForEach(it, d)
			if (it->string && param_name_ok(it->string)) /* UI state stays hidden */
				out[k++] = xstrdup(it->string);
	model_unlock();
	return out;
}

int model_default_get(const char *name, char **text)
{
	model_lock();
	cJSON *d = defaults_obj(false);
	cJSON *v = d && param_name_ok(name) ? cJSON_GetObjectItemCaseSensitive(d, name) : NULL;
	int r = v ? 0 : -ENOENT;
	if (v)
		*text = param_to_text(v);
	model_unlock();
	return r;
}

struct default_arg {
	const char *name;
	const cJSON *value;
};

static int default_put(cJSON *cfg, void *arg)
{
	struct default_arg *a = arg;
	cJSON *d = defaults_in(cfg, true);
	cJSON *v = cJSON_Duplicate(a->value, 1);
	if (cJSON_GetObjectItemCaseSensitive(d, a->name))
		cJSON_ReplaceItemInObjectCaseSensitive(d, a->name, v);
	else
		cJSON_AddItemToObject(d, a->name, v);
	return 0;
}

int model_default_set(const char *name, const char *text, char **err)
{
	cJSON *value = NULL;
	int r = param_from_text(name, text, &value, err);
	if (r < 0)
		return r;
	struct default_arg a = { name, value };
	r = config_change(default_put, &a);
	cJSON_Delete(value);
	if (r < 0) {
		*err = xasprintf("cannot save %s: %s", studio_file_path(SF_CONFIG), strerror(-r));
		return r;
	}
	model_lock();
	queue_change("/config/defaults");
	queue_change("/config/defaults/%s", name);
	model_unlock();
	log_info("config: default %s set", name);
	return 0;
}

static int default_drop(cJSON *cfg, void *arg)
{
	cJSON *d = defaults_in(cfg, false);
	if (!d || !cJSON_GetObjectItemCaseSensitive(d, arg))
		return -ENOENT;
	cJSON_DeleteItemFromObjectCaseSensitive(d, arg);
	return 0;
}

int model_default_remove(const char *name)
{
	int r = config_change(default_drop, (void *)name);
	if (r == 0) {
		model_lock();
		queue_change("/config/defaults");
		queue_change("/config/defaults/%s", name);
		model_unlock();
	}
	return r;
}

/* --- jobs --------------------------------------------------------------- */

static bool job_name_taken(const char *name, void *ctx)
{
	enum job_kind kind = *(enum job_kind *)ctx;
	if (find_job(kind, name))
		return true;
	/* A scratch file of that name would hide the job directory. */
	char *p = xasprintf("%s/%s", model_scratch_dir(kind), name);
	struct stat sb;
	bool taken = lstat(p, &sb) == 0;
	free(p);
	return taken;
}

/* request.json: the body exactly as it goes out, local files replaced by a note. */
static char *shown_text(enum job_kind kind, const cJSON *shown)
{
	const char *path;
	cJSON *body = kind == JOB_VIDEO ? api_video_body(shown) : api_character_body(shown, &path);
	if (m.opt.stream)
		api_body_stream(body);
	char *t = cJSON_Print(body);
	cJSON_Delete(body);
	char *out = xstrdup(t);
	cJSON_free(t);
	return out;
}

int model_job_create(enum job_kind kind, const char *file_name, const char *data,
		     size_t len, char **name)
{
	cJSON *req = NULL;
	char *err = NULL;
	int r;
	if (!str_utf8_valid(data, len)) {
		/* nothing of it may reach a JSON file raw: say so without echoing it */
		err = xstrdup("the file is not valid UTF-8 text (convert it, e.g. with "
			      "iconv -f latin1 -t utf-8)");
		r = -EINVAL;
	} else if (kind == JOB_VIDEO)
		r = prompt_parse_video(file_name, data, len, &req, &err);
	else
		r = prompt_parse_character(data, len, &req, &err);

	if (r == 0 && kind == JOB_VIDEO) {
		model_lock();
		const cJSON *d = defaults_obj(false);
		cJSON *defaults = d ? cJSON_Duplicate(d, 1) : NULL;
		model_unlock();
		prompt_merge_defaults(req, defaults);
		cJSON_Delete(defaults);
		r = prompt_validate_video(req, &err);
	}
	cJSON *shown = req ? cJSON_Duplicate(req, 1) : cJSON_CreateObject();
	/* A reference file is read before the lock is taken: it may be slow, a FIFO,
	 * or (refused) a file of this very mount. */
	if (r == 0) {
		struct local_ref_cred cred;
		local_ref_caller(&cred);
		r = local_ref_inline(kind, req, shown, &cred, &err);
	}
	/* The unchanging part of the record, serialised before the lock too: with
	 * a 20 MiB reference it is 27 MB of text. */
	char *shown_req = r == 0 ? shown_text(kind, shown) : xstrdup("");
	/* and the submit body (27 MB of JSON with a 20 MiB reference) */
	char *body = NULL;
	const char *body_path = API_PATH_VIDEO;
	if (r == 0) {
		cJSON *b = kind == JOB_VIDEO ? api_video_body(req) : api_character_body(req, &body_path);
		if (m.opt.stream)
			api_body_stream(b);
		body = cJSON_PrintUnformatted(b);
		cJSON_Delete(b);
	}
	size_t req_len;
	char *req_text = job_record_request_text(data, len, file_name, r == 0 ? req : NULL,
						 shown_req, &req_len);

	model_lock();

	struct job *j = xcalloc(1, sizeof *j);
	j->kind = kind;
	j->serial = m.next_serial++;
	char *base = name_job_from_file(file_name);
	j->name = name_unique(base, NULL, job_name_taken, &kind);
	free(base);
	j->source = xmalloc(len + 1);
	memcpy(j->source, data, len);
	j->source[len] = '\0';
	j->source_len = len;
	j->source_file = xstrdup(file_name);
	j->created = j->mtime = now_wall();
	j->status = ST_NEW;
	j->submit = SUBMIT_NONE;
	job_append(j);
	/* the drop returns once its job is on disk: request part, then state */
	struct writer_wait saved;
	writer_wait_init(&saved);
	struct save_ctx *c = save_ctx_new(j->serial);
	c->wait = &saved;
	c->pending = 2;
	j->request_queued = true;
	/* its close waits: the new job's own files go before the engine's */
	writer_urgent(true); /* until its state is queued too: one group */
	studio_save_job_request_text(j->serial, req_text, req_len, save_landed, c);
	j->request_shown = shown_req;
	if (r == 0) {
		j->request = req;
		req = NULL;
		j->body = body;
		j->body_path = body_path;
		job_event(j, EV_DROP, NULL);
	} else {
		char *why = xasprintf("%s; nothing was submitted", err ? err : "invalid request");
		job_event(j, EV_DROP_INVALID, why);
		free(why);
	}
	cJSON_Delete(shown);
	cJSON_Delete(req);
	if (r == 0) {
		log_info("%s/%s: new job from %s", kind_dir(kind), j->name, file_name);
	} else {
		log_warn("%s/%s: %s", kind_dir(kind), j->name, j->error);
		r = -EINVAL;
	}
	*name = xstrdup(j->name);
	save_state_part(j, true, c);
	writer_urgent(false);
	char *path = studio_job_path(j->serial);
	model_unlock();
	int w = writer_wait(&saved);
	if (w < 0)
		/* the job stays (and says why); its submit waits for the disk */
		log_error("%s/%s: cannot save %s: %s", kind_dir(kind), *name, path, strerror(-w));
	free(path);
	free(err);
	return r;
}

char **model_job_names(enum job_kind kind)
{
	model_lock();
	size_t n = 0;
	for (struct job *j = m.jobs; j; j = j->next)
		n += j->kind == kind;
	char **out = xcalloc(n + 1, sizeof *out);
	size_t k = 0;
	for (struct job *j = m.jobs; j; j = j->next)
		if (j->kind == kind)
			out[k++] = xstrdup(j->name);
	model_unlock();
	return out;
}

char **model_job_names_mtimes(enum job_kind kind, double **mtimes)
{
	model_lock();
	size_t n = 0;
	for (struct job *j = m.jobs; j; j = j->next)
		n += j->kind == kind;
	char **out = xcalloc(n + 1, sizeof *out);
	double *mt = xcalloc(n + 1, sizeof *mt);
	size_t k = 0;
	for (struct job *j = m.jobs; j; j = j->next) {
		if (j->kind == kind) {
			mt[k] = j->mtime;
			out[k++] = xstrdup(j->name);
		}
	}
	model_unlock();
	*mtimes = mt;
	return out;
}

bool model_job_exists(enum job_kind kind, const char *name)
{
	model_lock();
	bool r = find_job(kind, name) != NULL;
	model_unlock();
	return r;
}

int model_job_file(enum job_kind kind, const char *name, const char *file,
		   char **data, size_t *len)
{
	model_lock();
	struct job *j = find_job(kind, name);
	char *text = j ? job_file_text(j, file, len) : NULL;
	model_unlock();
	if (!text)
		return -ENOENT;
	*data = text;
	return 0;
}

char **model_job_files(enum job_kind kind, const char *name)
{
	model_lock();
	struct job *j = find_job(kind, name);
	char **out = NULL;
	if (j) {
		size_t n = 0, k = 0;
		while (job_file_names[n])
			n++;
		out = xcalloc(n + 1, sizeof *out);
		for (size_t i = 0; i < n; i++) {
			size_t len;
			char *t = job_file_text(j, job_file_names[i], &len);
			if (t)
				out[k++] = xstrdup(job_file_names[i]);
			free(t);
		}
	}
	model_unlock();
	return out;
}

double model_job_created(enum job_kind kind, const char *name)
{
	model_lock();
	struct job *j = find_job(kind, name);
	double t = j ? j->created : 0;
	model_unlock();
	return t;
}

double model_job_mtime(enum job_kind kind, const char *name)
{
	model_lock();
	struct job *j = find_job(kind, name);
	double t = j ? j->mtime : 0;
	model_unlock();
	return t;
}

int model_job_ctl(enum job_kind kind, const char *name, const char *cmd)
{
	model_lock();
	struct job *j = find_job(kind, name);
	int r = 0;
	if (!j) {
		r = -ENOENT;
	} else if (strcmp(cmd, "cancel") == 0) {
		/* a task upstream (or a submit on its way) gets the rule's note */
		bool plain = (j->status == ST_QUEUED && j->submit == SUBMIT_NONE) ||
			     j->status == ST_DOWNLOADING;
		r = job_event(j, EV_CANCEL, plain ? "cancelled" : NULL);
	} else if (strcmp(cmd, "retry") == 0) {
		bool resubmit = j->status == ST_FAILED || j->status == ST_CANCELLED;
		r = job_event(j, EV_RETRY, NULL);
		if (r == 0 && resubmit && j->status == ST_QUEUED)
			log_info("%s/%s: retry requested: submitting again", kind_dir(kind), name);
	} else if (strcmp(cmd, "refresh") == 0) {
		r = job_event(j, EV_REFRESH, NULL);
	} else if (strcmp(cmd, "redownload") == 0) {
		bool replace = j->video != NULL;
		r = job_event(j, EV_REDOWNLOAD, NULL);
		if (r == 0)
			j->replace_video = replace;
	} else {
		r = -EINVAL;
	}
	model_unlock();
	return r;
}

int model_job_forget(enum job_kind kind, const char *name)
{
	model_lock();
	struct job **pp = &m.jobs;
	while (*pp && !((*pp)->kind == kind && strcmp((*pp)->name, name) == 0))
		pp = &(*pp)->next;
	struct job *j = *pp;
	if (!j) {
		model_unlock();
		return -ENOENT;
	}
	bool in_flight = j->busy && j->submit == SUBMIT_SENDING;
	if (job_event(j, EV_FORGET, NULL) < 0) {
		model_unlock();
		return -EBUSY;
	}
	if (in_flight)
		log_warn("%s/%s: forgotten while its submit was on the way; it will not be sent "
			 "again, but check your account for a task created meanwhile",
			 kind_dir(kind), name);
	*pp = j->next;
	job_index_remove(j);
	if (jobs_tail == j)
		jobs_tail = NULL; /* job_append walks once to find the new end */
	job_changed(j);
	studio_delete_job(j->serial);
	log_info("%s/%s: forgotten", kind_dir(kind), name);
	job_free(j);
	model_unlock();
	return 0;
}

int model_job_rename(enum job_kind kind, const char *from, const char *to)
{
	if (!name_valid(to))
		return -EINVAL;
	model_lock();
	struct job *j = find_job(kind, from);
	int r = 0;
	if (!j)
		r = -ENOENT;
	else if (find_job(kind, to))
		r = -EEXIST;
	else {
		job_changed(j);
		job_index_remove(j);
		set_str(&j->name, to);
		job_index_add(j);
		job_save(j, true);
		job_changed(j);
	}
	model_unlock();
	return r;
}

/* --- videos and history -------------------------------------------------- */

/* The history entry of a video file in downloads (matched by base name, as
 * the Web Studio does). Lock held. */
static cJSON *history_entry(const char *file)
{
	return history_find(m.hist, file);
}

int model_video_info(const char *file, struct video_info *vi)
{
	memset(vi, 0, sizeof *vi);
	model_lock();
	int r = -ENOENT;
	cJSON *e = history_entry(file);
	if (e) {
		vi->prompt = xstrdup(json_str(e, "prompt"));
		vi->url = xstrdup(json_str(e, "url"));
		vi->task_id = xstrdup(json_str(e, "id"));
		vi->pid = xstrdup(json_str(e, "pid"));
		r = 0;
	} else {
		for (struct job *j = m.jobs; j; j = j->next) {
			if (j->video && strcmp(j->video, file) == 0) {
				vi->prompt = job_prompt_text(j);
				vi->url = xstrdup(j->url);
				vi->task_id = xstrdup(j->id);
				vi->pid = xstrdup(j->pid);
				r = 0;
				break;
			}
		}
	}
	model_unlock();
	return r;
}

void video_info_free(struct video_info *vi)
{
	free(vi->prompt);
	free(vi->url);
	free(vi->task_id);
	free(vi->pid);
	memset(vi, 0, sizeof *vi);
}

/* With the lock held: history.json is queued for saving; *saved hears when it
 * is on disk (the Web Studio sees a change once mv / rm / trash returns). */
static void history_save_waited(struct writer_wait *saved)
{
	studio_save_queued(SF_HISTORY, m.history, writer_wait_done, saved);
	queue_change("/history.json");
}

/* Without the lock: wait for the save history_save_waited() queued, if any. */
static void history_wait_saved(struct writer_wait *saved, bool queued)
{
	if (!queued)
		writer_wait_done(0, saved);
	writer_wait(saved);
}

/* With the lock held: jobs whose video was `from` now point to `to` (NULL: gone). */
static void jobs_video_moved(const char *from, const char *to)
{
	for (struct job *j = m.jobs; j; j = j->next) {
		if (j->video && strcmp(j->video, from) == 0) {
			set_str(&j->video, to);
			job_save(j, true);
			job_changed(j);
		}
	}
}

void model_video_renamed(const char *from, const char *to)
{
	struct writer_wait saved;
	writer_wait_init(&saved);
	bool wait = false;
	model_lock();
	if (history_rename(m.hist, from, to) > 0) {
		history_save_waited(&saved);
		wait = true;
	}
	jobs_video_moved(from, to);
	queue_change("/videos");
	model_unlock();
	history_wait_saved(&saved, wait);
	log_info("videos: %s renamed to %s", from, to);
}

void model_video_deleted(const char *file)
{
	struct writer_wait saved;
	writer_wait_init(&saved);
	bool wait = false;
	model_lock();
	if (history_remove(m.hist, file) > 0) {
		history_save_waited(&saved);
		wait = true;
	}
	jobs_video_moved(file, NULL);
	queue_change("/videos");
	model_unlock();
	history_wait_saved(&saved, wait);
	log_info("videos: %s deleted", file);
}

char *model_video_trashed(const char *file)
{
	struct writer_wait saved;
	writer_wait_init(&saved);
	bool wait = false;
	model_lock();
	cJSON *e = history_find(m.hist, file);
	char *entry = e ? cJSON_PrintUnformatted(e) : NULL;
	if (history_remove(m.hist, file) > 0) {
		history_save_waited(&saved);
		wait = true;
	}
	jobs_video_moved(file, NULL);
	queue_change("/videos");
	model_unlock();
	history_wait_saved(&saved, wait);
	char *out = xstrdup(entry);
	cJSON_free(entry);
	return out;
}

void model_video_restored(const char *file, const char *entry)
{
	cJSON *e = entry ? cJSON_Parse(entry) : NULL;
	struct writer_wait saved;
	writer_wait_init(&saved);
	bool wait = false;
	model_lock();
	if (cJSON_IsObject(e)) {
		history_record(m.hist, file, json_str(e, "prompt"), json_num(e, "time", now_wall()),
			       json_str(e, "id"), json_str(e, "pid"), json_str(e, "url"),
			       json_num(e, "duration_seconds", 0));
		history_save_waited(&saved);
		wait = true;
	}
	queue_change("/videos");
	queue_change("/videos/%s", file);
	model_unlock();
	history_wait_saved(&saved, wait);
	cJSON_Delete(e);
}

char *model_history_text(size_t *len)
{
	model_lock();
	char *t = cJSON_Print(m.history);
	model_unlock();
	char *out = xasprintf("%s\n", t);
	cJSON_free(t);
	*len = strlen(out);
	return out;
}

/* --- outside edits (outside.c) -------------------------------------------- */

static void queue_defaults(const cJSON *config)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(config, "query_defaults");
	const cJSON *it;
	cJSON_ArrayForEach(it, d)
		if (it->string)
			queue_change("/config/defaults/%s", it->string);
}

bool model_outside_config(cJSON *config)
{
	model_lock();
	bool same = cJSON_Compare(config, m.config, true);
	if (!same) {
		static const char *const fields[] = { "api_key", "token", "host_mode" };
		/* secrets stay registered for the mount's life (model_config_set) */
		queue_defaults(m.config);
		cJSON *old = m.config;
		m.config = config;
		config = old;
		register_secrets();
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
			queue_change("/config/%s", fields[i]);
		queue_change("/config/defaults");
		queue_defaults(m.config);
		/* a new key unblocks jobs waiting for one, as config/api_key does */
		const char *key = json_str(m.config, "api_key");
		if (key && *key) {
			for (struct job *j = m.jobs; j; j = j->next)
				if (j->status == ST_QUEUED && j->submit == SUBMIT_NONE && j->error &&
				    str_has_prefix(j->error, "no API key"))
					job_event(j, EV_KEY_APPEARS, NULL);
		}
		wake_engine();
	}
	model_unlock();
	cJSON_Delete(config);
	return !same;
}

bool model_outside_history(cJSON *history)
{
	char *dl = realpath(m.opt.downloads_dir, NULL); /* as model_init indexes it */
	model_lock();
	bool same = cJSON_Compare(history, m.history, true);
	if (!same) {
		cJSON *old = m.history;
		history_close(m.hist);
		m.history = history;
		bool upgraded = false;
		m.hist = history_open(m.history, dl ? dl : m.opt.downloads_dir, &upgraded);
		history = old;
		queue_change("/history.json");
		queue_change("/videos");
	}
	model_unlock();
	free(dl);
	cJSON_Delete(history);
	return !same;
}

/* --- account ------------------------------------------------------------- */

char *model_account_error(void)
{
	model_lock();
	char *e = xstrdup(m.account_error ? m.account_error : "");
	model_unlock();
	return e;
}

void model_account_error_set(const char *text)
{
	char *masked = text ? log_redact(text) : NULL;
	model_lock();
	set_str(&m.account_error, masked);
	queue_change("/account/error");
	model_unlock();
	free(masked);
}

/* --- state changes: every one through the job state machine (lock held) --- */

static struct fsm_in fsm_in_of(const struct job *j)
{
	return (struct fsm_in){
		.status = j->status, .submit = j->submit, .kind = j->kind,
		.has_request = j->request != NULL, .has_id = j->id != NULL,
		.has_video_url = j->kind == JOB_VIDEO && j->upstream_succeeded && j->url,
		.busy = j->busy,
	};
}

/* Ask the machine; a refusal is logged and changes nothing. */
static int job_check(struct job *j, enum fsm_event ev, struct fsm_out *o)
{
	struct fsm_in in = fsm_in_of(j);
	*o = fsm_step(&in, ev);
	if (!o->ok)
		log_info("%s/%s: %s refused while %s (submit %s)", kind_dir(j->kind), j->name,
			 fsm_event_name(ev), fsm_status_name(j->status), fsm_submit_name(j->submit));
	return o->ok ? 0 : o->err;
}

/* Every text a job shows or stores passes here: registered secrets masked. */
static bool set_error_text(struct job *j, const char *text)
{
	char *e = (text && *text) ? log_redact(text) : NULL;
	if ((e == NULL) != (j->error == NULL) || (e && strcmp(e, j->error) != 0)) {
		free(j->error);
		j->error = e;
		job_changed(j);
		return true;
	}
	free(e);
	return false;
}

static void active_add(struct job *j)
{
	if (j->kind != JOB_VIDEO || !j->id)
		return;
	cJSON *t;
	cJSON_ArrayForEach(t, m.active) {
		const char *aid = json_str(t, "id");
		if (aid && strcmp(aid, j->id) == 0)
			return;
	}
	t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "id", j->id);
	char *p = job_prompt_text(j);
	cJSON_AddStringToObject(t, "prompt", p);
	free(p);
	double start = j->started > 0 ? j->started : now_wall();
	cJSON_AddNumberToObject(t, "start_time", (double)(long long)start);
	cJSON_AddItemToArray(m.active, t);
	json_set_num(m.times, j->id, (double)(long long)start);
	lists_changed(true, true);
}

static char *record_text(const cJSON *rec)
{
	char *t = cJSON_PrintUnformatted(rec);
	char *out = xstrdup(t);
	cJSON_free(t);
	return out;
}

/* The accepted answer applied: is the record now exactly the one
 * job_save_accepted wrote and the writer reported on disk? (Then writing it
 * again is one fsync per task for nothing.) */
static bool accepted_on_disk(struct job *j, enum fsm_event ev)
{
	char *had = j->accepted_text;
	j->accepted_text = NULL;
	if (ev != EV_SUBMIT_ACCEPTED || !had) {
		free(had);
		return false;
	}
	cJSON *rec = job_record_state(j);
	char *now = record_text(rec);
	cJSON_Delete(rec);
	bool same = strcmp(had, now) == 0;
	free(had);
	free(now);
	return same;
}

/* Store the machine's answer and do its actions. error: the job's new error
 * text, or NULL to let the rule decide (notes, clearing, or unchanged). */
static void job_apply(struct job *j, enum fsm_event ev, const struct fsm_out *o,
		      const char *error)
{
	unsigned a = o->actions;
	bool changed = j->status != o->status || j->submit != o->submit;
	if (changed)
		log_debug("%s/%s: %s: %s/%s -> %s/%s", kind_dir(j->kind), j->name,
			  fsm_event_name(ev), fsm_status_name(j->status),
			  fsm_submit_name(j->submit), fsm_status_name(o->status),
			  fsm_submit_name(o->submit));
	if (a & ACT_ACTIVE_DEL)
		active_remove(j->id);
	j->status = o->status;
	j->submit = o->submit;
	if (a & ACT_RESET_TASK) {
		set_str(&j->id, NULL);
		set_str(&j->host, NULL);
		set_str(&j->result, NULL);
		set_str(&j->url, NULL);
		set_str(&j->pid, NULL);
		set_str(&j->character_id, NULL);
		j->upstream_succeeded = false;
		j->progress = 0;
		j->started = j->finished = 0;
	}
	if (a & ACT_RESET_BUDGET) {
		j->attempts = 0;
		j->url_refreshed = false;
		j->next_at = 0;
	}
	if (a & ACT_FINISHED)
		j->finished = now_wall();
	if (a & ACT_ACTIVE_ADD)
		active_add(j);
	if (a & ACT_POLL_NOW) {
		j->refresh = true;
		j->next_at = 0;
	}
	if (a & ACT_DOWNLOAD) {
		j->replace_video = false;
		j->url_refreshed = false;
		j->next_at = 0;
	}
	if (error) {
		set_error_text(j, error);
	} else if (a & ACT_NOTE_TASK) {
		char *t = ev == EV_SUBMIT_ACCEPTED
			? xasprintf("cancelled while its submit was on the way, but the API had "
				    "already created task %s: it cannot be stopped and may finish and "
				    "be billed. Nothing will be sent again (write retry to ctl to "
				    "follow that task).", j->id ? j->id : "")
			: xasprintf("cancelled; the upstream task %s cannot be stopped and may "
				    "still finish and be billed (write retry to ctl to follow it "
				    "again)", j->id ? j->id : "");
		set_error_text(j, t);
		free(t);
	} else if (a & ACT_NOTE_MAYBE) {
		set_error_text(j, "cancelled while its submit was on the way; nothing will be sent "
			       "again, but a task may have been created upstream and billed: check "
			       "your account");
	} else if (a & ACT_CLEAR_ERROR) {
		set_error_text(j, NULL);
	}
	if (a & ACT_WAKE)
		wake_engine();
	if (a & ACT_DELETE)
		return; /* the caller unlinks the job and deletes its record */
	if ((a & ACT_SAVE) && !accepted_on_disk(j, ev))
		job_save(j, true);
	else if (a & ACT_SAVE)
		; /* job_save_accepted wrote this very record, and it is on disk */
	else if (changed || error)
		job_save(j, false);
	if (changed || (a & ACT_SAVE))
		job_changed(j);
}

int job_event(struct job *j, enum fsm_event ev, const char *error)
{
	struct fsm_out o;
	int r = job_check(j, ev, &o);
	if (r == 0)
		job_apply(j, ev, &o, error);
	return r;
}

int job_eventf(struct job *j, enum fsm_event ev, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *e = xvasprintf(fmt, ap);
	va_end(ap);
	int r = job_event(j, ev, e);
	if (r == 0 && (j->status == ST_FAILED))
		log_warn("%s/%s failed: %s", kind_dir(j->kind), j->name, j->error ? j->error : "");
	free(e);
	return r;
}

void job_set_error(struct job *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *e = xvasprintf(fmt, ap);
	va_end(ap);
	if (set_error_text(j, e))
		job_save(j, false);
	free(e);
}

void job_clear_error(struct job *j)
{
	if (!j->error)
		return;
	set_str(&j->error, NULL);
	job_save(j, false);
	job_changed(j);
}

void job_set_progress(struct job *j, int progress)
{
	if (progress < 0 || progress == j->progress)
		return;
	j->progress = progress;
	job_save(j, false);
	job_changed(j);
}

void job_set_result(struct job *j, const char *result_json)
{
	char *r = result_json ? log_redact(result_json) : NULL;
	if (j->result && r && strcmp(j->result, r) == 0) {
		free(r);
		return;
	}
	set_str(&j->result, r);
	free(r);
	job_save(j, false);
	job_changed(j);
}

void job_set_url(struct job *j, const char *url)
{
	if (!url || (j->url && strcmp(j->url, url) == 0))
		return;
	set_str(&j->url, url);
	job_save(j, true);
}

struct sending_ctx {
	unsigned serial, seq;
};

/* Writer thread: the "sending" record is on disk, or could not be written. */
static void sending_saved(int rc, void *ctx)
{
	struct sending_ctx *c = ctx;
	model_lock();
	struct job *j = job_by_serial(c->serial);
	if (j && j->sending_wait && j->sending_seq == c->seq) {
		j->sending_wait = false;
		j->busy = false;
		if (j->submit == SUBMIT_SENDING && j->status == ST_QUEUED) {
			if (rc == 0 && !j->request_durable)
				rc = -EIO;
			if (rc == 0) {
				j->sending_durable = true;
				failpoint("sending-saved");
			} else {
				char *path = studio_job_path(j->serial);
				char *why = xasprintf("cannot save %s%s: %s; nothing was sent, trying "
						      "again when it can be saved", path,
						      j->request_durable ? "" : " (or its request part)",
						      strerror(-rc));
				/* back to "not sent": the machine allows it, nothing left */
				job_event(j, EV_SUBMIT_UNSENT, why);
				free(why);
				free(path);
				j->next_at = now_mono() + 1.0;
			}
		}
		wake_engine();
	}
	model_unlock();
	free(c);
}

int job_set_submitting(struct job *j, const char *host)
{
	struct fsm_out o;
	int r = job_check(j, EV_SLOT_FREE, &o);
	if (r < 0)
		return r;
	set_str(&j->host, host);
	job_apply(j, EV_SLOT_FREE, &o, NULL);
	/* The submit leaves only once this record is on disk (sending_saved);
	 * until then the job is busy. It replaces the save job_apply queued. */
	j->sending_durable = false;
	j->sending_wait = true;
	j->busy = true;
	struct sending_ctx *c = xcalloc(1, sizeof *c);
	c->serial = j->serial;
	c->seq = ++j->sending_seq;
	if (!j->request_durable && !j->request_queued) {
		struct save_ctx *rc = save_ctx_new(j->serial);
		rc->pending = 1;
		save_request_part(j, rc);
	}
	cJSON *rec = job_record_state(j);
	studio_save_job(j->serial, rec, true, sending_saved, c);
	cJSON_Delete(rec);
	return 0;
}

int job_save_accepted(struct job *j, const char *id, writer_done_fn done, void *ctx)
{
	if (j->status != ST_QUEUED || j->submit != SUBMIT_SENDING)
		return -EINVAL;
	/* the record as job_set_submitted will make it, written first */
	char *old_id = j->id;
	double old_started = j->started;
	j->id = (char *)id;
	j->submit = SUBMIT_ACCEPTED;
	j->status = ST_RUNNING;
	j->started = now_wall();
	j->accepted_started = j->started;
	cJSON *rec = job_record_state(j);
	j->id = old_id;
	j->submit = SUBMIT_SENDING;
	j->status = ST_QUEUED;
	j->started = old_started;
	free(j->pending_accepted);
	j->pending_accepted = record_text(rec);
	free(j->accepted_text);
	j->accepted_text = NULL;
	studio_save_job(j->serial, rec, true, done, ctx);
	cJSON_Delete(rec);
	return 0;
}

void job_accepted_landed(struct job *j, int rc)
{
	free(j->accepted_text);
	j->accepted_text = rc == 0 ? j->pending_accepted : NULL;
	if (rc < 0)
		free(j->pending_accepted);
	j->pending_accepted = NULL;
}

int job_set_submitted(struct job *j, const char *id)
{
	struct fsm_out o;
	int r = job_check(j, EV_SUBMIT_ACCEPTED, &o);
	if (r < 0)
		return r;
	set_str(&j->id, id);
	/* the time the accepted record holds, so that record is this one */
	j->started = j->accepted_started > 0 ? j->accepted_started : now_wall();
	j->accepted_started = 0;
	cJSON_free(j->body); /* sent for good */
	j->body = NULL;
	job_apply(j, EV_SUBMIT_ACCEPTED, &o, NULL);
	return 0;
}

int job_set_upstream_success(struct job *j, const char *url, const char *pid,
			     const char *character_id)
{
	struct fsm_out o;
	int r = job_check(j, EV_POLL_SUCCEEDED, &o);
	if (r < 0)
		return r;
	set_str(&j->url, url);
	set_str(&j->pid, pid);
	set_str(&j->character_id, character_id);
	j->upstream_succeeded = true;
	j->progress = 100;
	job_apply(j, EV_POLL_SUCCEEDED, &o, NULL);
	if (j->kind == JOB_CHARACTER)
		log_info("characters/%s: created %s", j->name, character_id ? character_id : "?");
	return 0;
}

static bool video_name_taken(const char *name, void *ctx)
{
	struct job *self = ctx;
	for (struct job *j = m.jobs; j; j = j->next)
		if (j != self && j->video && strcmp(j->video, name) == 0)
			return true;
	char *p = xasprintf("%s/%s", m.opt.downloads_dir, name);
	struct stat sb;
	bool taken = lstat(p, &sb) == 0;
	free(p);
	return taken;
}

const char *job_reserve_video_again(struct job *j)
{
	set_str(&j->video, NULL);
	return job_reserve_video(j);
}

void job_set_host(struct job *j, const char *host)
{
	if (j->host && host && strcmp(j->host, host) == 0)
		return;
	set_str(&j->host, host);
	job_save(j, false);
}

const char *job_reserve_video(struct job *j)
{
	if (!j->video) {
		j->video = name_unique(j->name, ".mp4", video_name_taken, j);
		job_save(j, true);
	}
	return j->video;
}

int job_set_video_done(struct job *j)
{
	return job_set_video_done_at(j, now_wall());
}

/* History first, then the records: a crash between the two leaves records
 * saying "downloading" next to complete videos, which the next mount keeps.
 * Many videos at once (a burst) share one history save: history.json holds
 * every video, so saving it once per video was the burst's biggest write. */
void job_set_videos_done(struct job **js, size_t n, double when)
{
	bool *ok = xcalloc(n ? n : 1, sizeof *ok);
	struct fsm_out *o = xcalloc(n ? n : 1, sizeof *o);
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		ok[i] = job_check(js[i], EV_DOWNLOAD_DONE, &o[i]) == 0;
		if (!ok[i])
			continue;
		struct job *j = js[i];
		/* history: appended, in the Web Studio's format (history.c) */
		char *p = job_prompt_text(j);
		double start = j->started > 0 ? j->started : j->created;
		history_record(m.hist, j->video, p, when, j->id, j->pid, j->url, when - start);
		free(p);
		queue_change("/videos/%s", j->video);
		any = true;
	}
	if (any) {
		save_history();
		queue_change("/history.json");
		queue_change("/videos");
	}
	for (size_t i = 0; i < n; i++) {
		if (!ok[i])
			continue;
		struct job *j = js[i];
		j->progress = 100;
		j->replace_video = false;
		job_apply(j, EV_DOWNLOAD_DONE, &o[i], NULL);
		log_info("jobs/%s: video ready: videos/%s", j->name, j->video);
	}
	free(ok);
	free(o);
}

static int job_set_video_done_at(struct job *j, double when)
{
	struct fsm_out o;
	int r = job_check(j, EV_DOWNLOAD_DONE, &o);
	if (r < 0)
		return r;
	job_set_videos_done(&j, 1, when);
	return 0;
}
