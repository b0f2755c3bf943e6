/* studio.c - the files under STUDIO_DIR/data, read strictly and written atomically.
 *
 *   $ ls studio/data
 *   active_tasks.json  config.json  history.json  sora2fs/  task_times.json
 *   $ ls studio/data/sora2fs/jobs
 *   1.json  2.json
 *
 * The Web Studio wrote these files in place and replaced any it could not parse
 * with an empty one; here a bad file stops the mount instead, untouched.
 */
#include "studio.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_file.h"
#include "log.h"
#include "util.h"
#include "writer.h"

static struct {
	char *data;       /* STUDIO/data */
	char *jobs;       /* STUDIO/data/sora2fs/jobs */
	char *scratch[2]; /* STUDIO/data/sora2fs/scratch/{jobs,characters} */
	char *files[SF__COUNT];
} st;

static const char *const file_names[SF__COUNT] = {
	"config.json", "history.json", "active_tasks.json", "task_times.json",
};

static void note_renamed(const char *path);

void studio_open(const char *studio_dir)
{
	st.data = xasprintf("%s/data", studio_dir);
	st.jobs = xasprintf("%s/sora2fs/jobs", st.data);
	st.scratch[0] = xasprintf("%s/sora2fs/scratch/jobs", st.data);
	st.scratch[1] = xasprintf("%s/sora2fs/scratch/characters", st.data);
	for (int i = 0; i < SF__COUNT; i++)
		st.files[i] = xasprintf("%s/%s", st.data, file_names[i]);
	writer_set_renamed_hook(note_renamed);
}

int studio_create_dirs(const char *downloads_dir, char **err)
{
	const char *dirs[] = { st.data, st.jobs, st.scratch[0], st.scratch[1], downloads_dir };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		int r = mkdir_p(dirs[i], 0755);
		if (r < 0) {
			*err = xasprintf("cannot create %s: %s", dirs[i], strerror(-r));
			return r;
		}
	}
	/* The data folder holds the API key: keep it private. */
	if (chmod(st.data, 0700) < 0 && errno != EPERM)
		log_warn("cannot make %s private: %s", st.data, strerror(errno));
	return 0;
}

void studio_close(void)
{
	writer_set_renamed_hook(NULL);
	free(st.data);
	free(st.jobs);
	free(st.scratch[0]);
	free(st.scratch[1]);
	for (int i = 0; i < SF__COUNT; i++)
		free(st.files[i]);
	memset(&st, 0, sizeof st);
}

const char *studio_scratch_dir(int kind)
{
	return st.scratch[kind ? 1 : 0];
}

int studio_load(enum studio_file f, cJSON **out, char **err)
{
	cJSON *json = NULL;
	int r = json_load(st.files[f], &json, err);
	if (r < 0) {
		if (r == -EBADMSG) {
			char *why = *err;
			*err = xasprintf("%s; fix it or move it away (sora2fs never replaces it)", why);
			free(why);
		} else if (!*err) {
			*err = xasprintf("%s: %s", st.files[f], strerror(-r));
		}
		return r;
	}
	bool want_array = (f == SF_HISTORY || f == SF_ACTIVE);
	if (!json) {
		*out = want_array ? cJSON_CreateArray() : cJSON_CreateObject();
		return 0;
	}
	if (want_array ? !cJSON_IsArray(json) : !cJSON_IsObject(json)) {
		*err = xasprintf("%s: expected a JSON %s; fix it or move it away",
				 st.files[f], want_array ? "list" : "object");
		cJSON_Delete(json);
		return -EBADMSG;
	}
	*out = json;
	return 0;
}

/* What our own last writes of each file look like on disk, so that the watcher
 * of outside edits (outside.c) can tell them from another program's. */
#define OWN_WRITES 8
struct file_id { dev_t dev; ino_t ino; off_t size; struct timespec mtime; };
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static struct file_id own[SF__COUNT][OWN_WRITES];
static unsigned own_next[SF__COUNT];

static bool file_id_of(const char *path, struct file_id *id)
{
	struct stat sb;
	if (stat(path, &sb) < 0)
		return false;
	*id = (struct file_id){ sb.st_dev, sb.st_ino, sb.st_size, sb.st_mtim };
	return true;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

bool studio_is_own_write(enum studio_file f)
{
	struct file_id id;
	if (!file_id_of(st.files[f], &id))
		return false;
	bool found = false;
	pthread_mutex_lock(&own_lock);
	for (unsigned i = 0; i < OWN_WRITES && !found; i++)
		found = own[f][i].ino != 0 && file_id_eq(&own[f][i], &id);
	pthread_mutex_unlock(&own_lock);
	return found;
}

static void note_own(enum studio_file f)
{
	struct file_id id;
	if (file_id_of(st.files[f], &id)) {
		pthread_mutex_lock(&own_lock);
		own[f][own_next[f]++ % OWN_WRITES] = id;
		pthread_mutex_unlock(&own_lock);
	}
}

/* Writer thread: a file was renamed into place; ours if it is a Web Studio file. */
static void note_renamed(const char *path)
{
	for (int f = 0; f < SF__COUNT; f++)
		if (st.files[f] && strcmp(path, st.files[f]) == 0)
			note_own((enum studio_file)f);
}

static char *json_text(const cJSON *json, size_t *len)
{
	char *text = cJSON_Print(json);
	if (!text)
		return NULL;
	char *out = xasprintf("%s\n", text);
	cJSON_free(text);
	*len = strlen(out);
	return out;
}

const char *studio_file_path(enum studio_file f)
{
	return st.files[f];
}

int studio_save(enum studio_file f, const cJSON *json)
{
	/* config.json holds the key and token: owner only. */
	int r = json_save(st.files[f], json, f == SF_CONFIG ? 0600 : 0644);
	if (r < 0) {
		log_error("cannot write %s: %s", st.files[f], strerror(-r));
		return r;
	}
	note_own(f);
	return r;
}

static char *render_json(const void *obj, size_t *len)
{
	return json_text(obj, len);
}

static void free_json(void *obj)
{
	cJSON_Delete(obj);
}

/* A copy is made here (under the caller's lock) and printed by the writer
 * thread: printing history.json's thousands of numbers took milliseconds. */
void studio_save_queued(enum studio_file f, const cJSON *json, writer_done_fn done, void *ctx)
{
	cJSON *copy = cJSON_Duplicate(json, 1);
	if (copy)
		writer_save_render(st.files[f], copy, render_json, free_json,
				   f == SF_CONFIG ? 0600 : 0644, true, done, ctx);
	else if (done)
		done(-ENOMEM, ctx);
}

void studio_save_async(enum studio_file f, const cJSON *json)
{
	studio_save_queued(f, json, NULL, NULL);
}

static int serial_of(const char *name, const char *suffix)
{
	char *end;
	long v = strtol(name, &end, 10);
	if (end == name || strcmp(end, suffix) != 0 || v <= 0 || name[0] < '1' || name[0] > '9')
		return -1;
	return (int)v;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

char *studio_job_path(unsigned serial)
{
	return xasprintf("%s/%u.json", st.jobs, serial);
}

static char *request_path(unsigned serial)
{
	return xasprintf("%s/%u.request.json", st.jobs, serial);
}

/* A damaged file is kept aside for a person to look at. */
static void put_aside(const char *path, const char *why)
{
	char *aside = xasprintf("%s.damaged", path);
	log_error("job record %s is damaged (%s); moved to %s", path, why ? why : "not an object",
		  aside);
	if (rename(path, aside) < 0)
		log_error("cannot move %s: %s", path, strerror(errno));
	free(aside);
}

int studio_load_jobs(void (*fn)(const cJSON *record, const cJSON *request, void *ctx),
		     void *ctx, char **err)
{
	DIR *d = opendir(st.jobs);
	if (!d) {
		*err = xasprintf("%s: %s", st.jobs, strerror(errno));
		return -errno;
	}
	unsigned *serials = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int s = serial_of(de->d_name, ".json");
		if (s < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			serials = xrealloc(serials, cap * sizeof *serials);
		}
		serials[n++] = (unsigned)s;
	}
	closedir(d);
	if (n > 1)
		qsort(serials, n, sizeof *serials, cmp_uint);
	for (size_t i = 0; i < n; i++) {
		char *path = studio_job_path(serials[i]);
		char *rpath = request_path(serials[i]);
		cJSON *rec = NULL, *req = NULL;
		char *why = NULL;
		int r = json_load(path, &rec, &why);
		if (r < 0 || !cJSON_IsObject(rec)) {
			/* One damaged record must not hide every other job. */
			put_aside(path, why);
		} else {
			free(why);
			why = NULL;
			r = json_load(rpath, &req, &why);
			if (r < 0 || (req && !cJSON_IsObject(req))) {
				put_aside(rpath, why);
				cJSON_Delete(req);
				req = NULL;
			}
			fn(rec, req, ctx);
		}
		cJSON_Delete(rec);
		cJSON_Delete(req);
		free(why);
		free(path);
		free(rpath);
	}
	free(serials);
	return 0;
}

void studio_save_job(unsigned serial, const cJSON *record, bool sync,
		     writer_done_fn done, void *ctx)
{
	char *path = studio_job_path(serial);
	char *text = cJSON_PrintUnformatted(record);
	char *data = xasprintf("%s\n", text);
	cJSON_free(text);
	writer_save(path, data, strlen(data), 0600, sync, done, ctx);
	free(path);
}

void studio_save_job_request(unsigned serial, cJSON *request, writer_done_fn done, void *ctx)
{
	char *path = request_path(serial);
	char *text = cJSON_PrintUnformatted(request);
	size_t len = strlen(text);
	char *data = xmalloc(len + 2);
	memcpy(data, text, len);
	data[len] = '\n';
	data[len + 1] = '\0';
	cJSON_free(text);
	writer_save(path, data, len + 1, 0600, true, done, ctx);
	free(path);
}

void studio_save_job_request_text(unsigned serial, char *text, size_t len,
				  writer_done_fn done, void *ctx)
{
	char *path = request_path(serial);
	writer_save(path, text, len, 0600, true, done, ctx);
	free(path);
}

void studio_delete_job(unsigned serial)
{
	char *path = studio_job_path(serial);
	char *rpath = request_path(serial);
	writer_unlink(path);
	writer_unlink(rpath);
	free(path);
	free(rpath);
}

/* ".NAME.tmp.PID.N" (writer, write_file_atomic), "N.json.tmp" (older
 * versions), ".sora2fs-PID-N.part" (downloads): the pid, or 0 for none. */
static bool leftover(const char *name, bool downloads)
{
	long pid = 0;
	if (downloads) {
		if (sscanf(name, ".sora2fs-%ld-", &pid) != 1 || !str_has_suffix(name, ".part"))
			return false;
	} else if (str_has_suffix(name, ".json.tmp")) {
		pid = 0;
	} else {
		const char *t = name[0] == '.' ? strstr(name, ".tmp.") : NULL;
		if (!t || sscanf(t, ".tmp.%ld.", &pid) != 1)
			return false;
	}
	/* another live process (should not happen: one owner per studio) keeps its own */
	if (pid > 0 && pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
		return false;
	return true;
}

static void clean_dir(const char *dir, bool downloads)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		if (!leftover(de->d_name, downloads))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
		else
			log_warn("cannot remove leftover %s/%s: %s", dir, de->d_name, strerror(errno));
	}
	closedir(d);
	if (n)
		log_info("removed %d leftover temporary file%s from %s", n, n == 1 ? "" : "s", dir);
}

/* A request part whose state record never made it was a drop that did not
 * finish being saved: nothing refers to it. */
static void clean_requests(void)
{
	DIR *d = opendir(st.jobs);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		int s = serial_of(de->d_name, ".request.json");
		if (s < 0)
			continue;
		char *path = studio_job_path((unsigned)s);
		if (access(path, F_OK) < 0 && errno == ENOENT) {
			log_info("removed %s/%s: its job record was never written", st.jobs, de->d_name);
			unlinkat(dirfd(d), de->d_name, 0);
		}
		free(path);
	}
	closedir(d);
}

void studio_clean_leftovers(const char *downloads_dir)
{
	clean_dir(st.data, false);
	clean_dir(st.jobs, false);
	clean_dir(downloads_dir, true);
	clean_requests();
}
