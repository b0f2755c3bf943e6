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
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_file.h"
#include "log.h"
#include "util.h"

static struct {
	char *data;       /* STUDIO/data */
	char *jobs;       /* STUDIO/data/sora2fs/jobs */
	char *scratch[2]; /* STUDIO/data/sora2fs/scratch/{jobs,characters} */
	char *files[SF__COUNT];
} st;

static const char *const file_names[SF__COUNT] = {
	"config.json", "history.json", "active_tasks.json", "task_times.json",
};

void studio_open(const char *studio_dir)
{
	st.data = xasprintf("%s/data", studio_dir);
	st.jobs = xasprintf("%s/sora2fs/jobs", st.data);
	st.scratch[0] = xasprintf("%s/sora2fs/scratch/jobs", st.data);
	st.scratch[1] = xasprintf("%s/sora2fs/scratch/characters", st.data);
	for (int i = 0; i < SF__COUNT; i++)
		st.files[i] = xasprintf("%s/%s", st.data, file_names[i]);
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
	struct file_id id;
	if (file_id_of(st.files[f], &id)) {
		pthread_mutex_lock(&own_lock);
		own[f][own_next[f]++ % OWN_WRITES] = id;
		pthread_mutex_unlock(&own_lock);
	}
	return r;
}

static int serial_of(const char *name)
{
	char *end;
	long v = strtol(name, &end, 10);
	if (end == name || strcmp(end, ".json") != 0 || v <= 0)
		return -1;
	return (int)v;
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

int studio_load_jobs(void (*fn)(const cJSON *record, void *ctx), void *ctx, char **err)
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
		int s = serial_of(de->d_name);
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
		char *path = xasprintf("%s/%u.json", st.jobs, serials[i]);
		cJSON *rec = NULL;
		char *why = NULL;
		int r = json_load(path, &rec, &why);
		if (r < 0 || !cJSON_IsObject(rec)) {
			/* One damaged record must not hide every other job: keep it
			 * aside for a person to look at, and go on. */
			char *aside = xasprintf("%s.damaged", path);
			log_error("job record %s is damaged (%s); moved to %s", path,
				  why ? why : "not an object", aside);
			if (rename(path, aside) < 0)
				log_error("cannot move %s: %s", path, strerror(errno));
			free(aside);
		} else {
			fn(rec, ctx);
		}
		cJSON_Delete(rec);
		free(why);
		free(path);
	}
	free(serials);
	return 0;
}

/* Like write_file_atomic, but without fsync: for progress updates, where a
 * crash may lose the last value but never leaves a torn file. */
static int write_atomic_nosync(const char *path, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = -errno;
		free(tmp);
		return e;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			unlink(tmp);
			free(tmp);
			return e;
		}
		done += (size_t)w;
	}
	close(fd);
	int r = rename(tmp, path) < 0 ? -errno : 0;
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

int studio_save_job(unsigned serial, const cJSON *record, bool sync)
{
	char *path = xasprintf("%s/%u.json", st.jobs, serial);
	char *text = cJSON_Print(record);
	size_t len = strlen(text);
	int r = sync ? write_file_atomic(path, text, len, 0600)
		     : write_atomic_nosync(path, text, len);
	if (r < 0)
		log_error("cannot write job record %s: %s", path, strerror(-r));
	cJSON_free(text);
	free(path);
	return r;
}

void studio_delete_job(unsigned serial)
{
	char *path = xasprintf("%s/%u.json", st.jobs, serial);
	if (unlink(path) < 0 && errno != ENOENT)
		log_error("cannot delete job record %s: %s", path, strerror(errno));
	free(path);
}
