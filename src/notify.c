/* notify.c - inotify and poll(2) for changes the daemon makes (see notify.h).
 *
 *   $ inotifywait -m -r mnt/jobs &
 *   $ echo "an owl" > mnt/jobs/owl.txt
 *   mnt/jobs/ CREATE owl.txt  ... CLOSE_WRITE,CLOSE owl.txt   (the user's own)
 *   mnt/jobs/ DELETE owl.txt                                   (announced)
 *   mnt/jobs/ CREATE,ISDIR owl                                 (announced)
 *   mnt/jobs/owl/ CLOSE_WRITE,CLOSE status                     (announced)
 *
 * The announcer thread keeps a snapshot of what it last announced (each job's
 * files, the videos) and turns a batch of changed paths into the operations
 * that tell the difference. It never holds a lock while it calls into the mount:
 * its requests are served by the FUSE threads like anyone else's.
 */
#include "notify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "util.h"

#define FUSE_MAGIC 0x65735546
#define USER_OP_TTL 5.0
#define DROP_RECENT 10.0 /* a dropped name stays answerable this long (fs_jobs.c) */

enum ann { A_MODIFY, A_MKDIR, A_CREATE, A_SYMLINK, A_UNLINK, A_RMDIR };

/* The files of a job directory whose changes are announced. */
static const char *const job_files[] = {
	"status", "progress", "error", "id", "result.json", "pid", "character_id",
	"request.json", "video",
};
#define N_JOB_FILES (sizeof job_files / sizeof job_files[0])

struct snap_job {
	enum job_kind kind;
	char *name;
	bool exists[N_JOB_FILES];
	uint64_t hash[N_JOB_FILES];
};

struct user_op {
	char *path;
	bool removed;
	double at;
};

struct poll_reg {
	const void *owner;
	char *path;
	struct fuse_pollhandle *ph;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stop;
	char *mnt;
	dev_t dev;
	pid_t tid;
	/* changed paths waiting for the announcer */
	char **changed;
	size_t n_changed;
	double first_at;
	char **modified; /* explicit, from outside edits */
	size_t n_modified;
	/* the announcement in flight */
	char *cur_path;
	enum ann cur_op;
	bool cur_done;
	struct user_op *uops;
	size_t n_uops;
	struct poll_reg *polls;
	size_t n_polls;
	/* announcer thread only */
	struct snap_job *jobs;
	size_t n_jobs;
	char **videos;
	size_t n_videos;
} n = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static uint64_t fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static void strv_add(char ***v, size_t *cnt, const char *s)
{
	for (size_t i = 0; i < *cnt; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	*v = xrealloc(*v, (*cnt + 1) * sizeof **v);
	(*v)[(*cnt)++] = xstrdup(s);
}

static void strv_clear(char **v, size_t cnt)
{
	for (size_t i = 0; i < cnt; i++)
		free(v[i]);
	free(v);
}

static bool strv_has(char **v, size_t cnt, const char *s)
{
	for (size_t i = 0; i < cnt; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static const char *kind_dir(enum job_kind k)
{
	return k == JOB_VIDEO ? "jobs" : "characters";
}

/* --- change intake ----------------------------------------------------------- */

static void wake_polls(const char *path)
{
	struct poll_reg *woken = NULL;
	size_t nw = 0;
	pthread_mutex_lock(&n.lock);
	for (size_t i = 0; i < n.n_polls;) {
		if (strcmp(n.polls[i].path, path) == 0) {
			woken = xrealloc(woken, (nw + 1) * sizeof *woken);
			woken[nw++] = n.polls[i];
			n.polls[i] = n.polls[--n.n_polls];
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&n.lock);
	for (size_t i = 0; i < nw; i++) {
		fuse_notify_poll(woken[i].ph);
		fuse_pollhandle_destroy(woken[i].ph);
		free(woken[i].path);
	}
	free(woken);
}

void notify_changed(const char *path)
{
	wake_polls(path);
	pthread_mutex_lock(&n.lock);
	if (n.running && !n.stop) {
		if (n.n_changed == 0 && n.n_modified == 0)
			n.first_at = now_mono();
		strv_add(&n.changed, &n.n_changed, path);
		pthread_cond_signal(&n.cond);
	}
	pthread_mutex_unlock(&n.lock);
}

void notify_modified(const char *path)
{
	pthread_mutex_lock(&n.lock);
	if (n.running && !n.stop) {
		if (n.n_changed == 0 && n.n_modified == 0)
			n.first_at = now_mono();
		strv_add(&n.modified, &n.n_modified, path);
		pthread_cond_signal(&n.cond);
	}
	pthread_mutex_unlock(&n.lock);
}

/* --- for fs.c ---------------------------------------------------------------- */

bool notify_own_request(void)
{
	struct fuse_context *c = fuse_get_context();
	if (!c)
		return false;
	pthread_mutex_lock(&n.lock);
	bool own = n.running && n.tid != 0 && c->pid == n.tid;
	pthread_mutex_unlock(&n.lock);
	return own;
}

int notify_own_getattr(const char *path, struct stat *st)
{
	int r = 1;
	pthread_mutex_lock(&n.lock);
	if (n.cur_path && !n.cur_done && strcmp(path, n.cur_path) == 0) {
		switch (n.cur_op) {
		case A_MKDIR:
		case A_CREATE:
		case A_SYMLINK:
			r = -ENOENT; /* to the announcer only: it is about to "create" it */
			break;
		case A_UNLINK:
			memset(st, 0, sizeof *st);
			st->st_mode = S_IFREG | 0444;
			st->st_nlink = 1;
			st->st_uid = getuid();
			st->st_gid = getgid();
			r = 0;
			break;
		case A_RMDIR:
			memset(st, 0, sizeof *st);
			st->st_mode = S_IFDIR | 0755;
			st->st_nlink = 2;
			st->st_uid = getuid();
			st->st_gid = getgid();
			r = 0;
			break;
		case A_MODIFY:
			break;
		}
	}
	pthread_mutex_unlock(&n.lock);
	return r;
}

void notify_own_done(const char *path)
{
	pthread_mutex_lock(&n.lock);
	if (n.cur_path && strcmp(path, n.cur_path) == 0)
		n.cur_done = true;
	pthread_mutex_unlock(&n.lock);
}

static void uops_expire_locked(double now)
{
	for (size_t i = 0; i < n.n_uops;) {
		if (now - n.uops[i].at > USER_OP_TTL) {
			free(n.uops[i].path);
			n.uops[i] = n.uops[--n.n_uops];
		} else {
			i++;
		}
	}
}

void notify_user_op(const char *path, bool removed)
{
	pthread_mutex_lock(&n.lock);
	if (n.running) {
		double now = now_mono();
		uops_expire_locked(now);
		n.uops = xrealloc(n.uops, (n.n_uops + 1) * sizeof *n.uops);
		n.uops[n.n_uops++] = (struct user_op){ xstrdup(path), removed, now };
	}
	pthread_mutex_unlock(&n.lock);
}

/* Did a user just do this through the mount? (consumes the record) */
static bool user_did(const char *path, bool removed)
{
	bool found = false;
	pthread_mutex_lock(&n.lock);
	uops_expire_locked(now_mono());
	for (size_t i = 0; i < n.n_uops; i++) {
		if (n.uops[i].removed == removed && strcmp(n.uops[i].path, path) == 0) {
			free(n.uops[i].path);
			n.uops[i] = n.uops[--n.n_uops];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&n.lock);
	return found;
}

/* --- poll(2) ----------------------------------------------------------------- */

static void poll_remove_locked(const void *owner, struct fuse_pollhandle **ph)
{
	for (size_t i = 0; i < n.n_polls; i++) {
		if (n.polls[i].owner == owner) {
			*ph = n.polls[i].ph;
			free(n.polls[i].path);
			n.polls[i] = n.polls[--n.n_polls];
			return;
		}
	}
	*ph = NULL;
}

static bool pollable(const char *path, enum job_kind *kind, char **name, const char **file)
{
	const char *rest;
	if (str_has_prefix(path, "/jobs/")) {
		*kind = JOB_VIDEO;
		rest = path + 6;
	} else if (str_has_prefix(path, "/characters/")) {
		*kind = JOB_CHARACTER;
		rest = path + 12;
	} else {
		return false;
	}
	const char *slash = strchr(rest, '/');
	if (!slash || strchr(slash + 1, '/'))
		return false;
	*file = slash + 1;
	if (strcmp(*file, "status") != 0 && strcmp(*file, "progress") != 0 &&
	    strcmp(*file, "error") != 0)
		return false;
	*name = xstrndup(rest, (size_t)(slash - rest));
	return true;
}

void notify_poll(const char *path, const void *owner, const char *seen, size_t seen_len,
		 struct fuse_pollhandle *ph, unsigned *revents)
{
	*revents = POLLIN | POLLRDNORM;
	enum job_kind kind;
	char *name = NULL;
	const char *file;
	if (!pollable(path, &kind, &name, &file)) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		return;
	}
	struct fuse_pollhandle *old = NULL;
	pthread_mutex_lock(&n.lock);
	poll_remove_locked(owner, &old);
	if (ph) {
		/* registered before looking, so a change from here on wakes it */
		n.polls = xrealloc(n.polls, (n.n_polls + 1) * sizeof *n.polls);
		n.polls[n.n_polls++] = (struct poll_reg){ owner, xstrdup(path), ph };
	}
	pthread_mutex_unlock(&n.lock);
	if (old)
		fuse_pollhandle_destroy(old);

	char *data = NULL;
	size_t len = 0;
	bool changed = model_job_file(kind, name, file, &data, &len) < 0 ||
		       len != seen_len || (len && memcmp(data, seen, len) != 0);
	free(data);
	free(name);
	if (changed) {
		*revents |= POLLPRI | POLLERR;
		struct fuse_pollhandle *mine = NULL;
		pthread_mutex_lock(&n.lock);
		poll_remove_locked(owner, &mine);
		pthread_mutex_unlock(&n.lock);
		if (mine)
			fuse_pollhandle_destroy(mine);
	}
}

void notify_poll_forget(const void *owner)
{
	struct fuse_pollhandle *ph = NULL;
	pthread_mutex_lock(&n.lock);
	poll_remove_locked(owner, &ph);
	pthread_mutex_unlock(&n.lock);
	if (ph)
		fuse_pollhandle_destroy(ph);
}

/* --- snapshots (announcer thread) ------------------------------------------- */

static void snap_fill(struct snap_job *s)
{
	for (size_t i = 0; i < N_JOB_FILES; i++) {
		char *data = NULL;
		size_t len = 0;
		s->exists[i] = model_job_file(s->kind, s->name, job_files[i], &data, &len) == 0;
		s->hash[i] = s->exists[i] ? fnv(data, len) : 0;
		free(data);
	}
}

static struct snap_job *snap_find(enum job_kind kind, const char *name)
{
	for (size_t i = 0; i < n.n_jobs; i++)
		if (n.jobs[i].kind == kind && strcmp(n.jobs[i].name, name) == 0)
			return &n.jobs[i];
	return NULL;
}

static void snap_remove(struct snap_job *s)
{
	free(s->name);
	*s = n.jobs[--n.n_jobs];
}

static struct snap_job *snap_add(enum job_kind kind, const char *name)
{
	n.jobs = xrealloc(n.jobs, (n.n_jobs + 1) * sizeof *n.jobs);
	struct snap_job *s = &n.jobs[n.n_jobs++];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	s->name = xstrdup(name);
	return s;
}

/* The names videos/ lists now. */
static void list_videos(char ***out, size_t *cnt)
{
	*out = NULL;
	*cnt = 0;
	const char *dir = model_downloads_dir();
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ".mp4"))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		strv_add(out, cnt, de->d_name);
	}
	closedir(d);
}

/* The dropped file a job was made from, if it was made just now. */
static char *recent_drop(enum job_kind kind, const char *name)
{
	char *file = NULL;
	double now = now_wall();
	model_lock();
	for (struct job *j = model_jobs(); j; j = j->next) {
		if (j->kind == kind && strcmp(j->name, name) == 0) {
			if (j->source_file && *j->source_file && !strchr(j->source_file, '/') &&
			    now - j->created < DROP_RECENT)
				file = xstrdup(j->source_file);
			break;
		}
	}
	model_unlock();
	return file;
}

/* --- announcing --------------------------------------------------------------- */

/* The mount's root, if it is still ours (not unmounted, not covered). Opened
 * for one batch only: an open directory would keep the mount busy. */
static int open_root(void)
{
	int fd = open(n.mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	struct statfs sf;
	if (fstat(fd, &st) < 0 || st.st_dev != n.dev || fstatfs(fd, &sf) < 0 ||
	    (unsigned long)sf.f_type != FUSE_MAGIC) {
		close(fd);
		return -1;
	}
	return fd;
}

static void announce(int root, const char *path, enum ann op)
{
	pthread_mutex_lock(&n.lock);
	bool stop = n.stop;
	if (!stop) {
		free(n.cur_path);
		n.cur_path = xstrdup(path);
		n.cur_op = op;
		n.cur_done = false;
	}
	pthread_mutex_unlock(&n.lock);
	if (stop)
		return;
	const char *rel = path + 1;
	int fd, r = 0;
	switch (op) {
	case A_MODIFY:
		fd = openat(root, rel, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		else if (errno == EACCES) /* default_permissions on a read-only file */
			r = utimensat(root, rel, NULL, AT_SYMLINK_NOFOLLOW);
		else
			r = -1;
		break;
	case A_CREATE:
		fd = openat(root, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		else
			r = -1;
		break;
	case A_MKDIR:
		r = mkdirat(root, rel, 0755);
		break;
	case A_SYMLINK:
		r = symlinkat("video", root, rel);
		break;
	case A_UNLINK:
		r = unlinkat(root, rel, 0);
		break;
	case A_RMDIR:
		r = unlinkat(root, rel, AT_REMOVEDIR);
		break;
	}
	if (r < 0)
		log_debug("notify: %s: %s", path, strerror(errno));
	pthread_mutex_lock(&n.lock);
	free(n.cur_path);
	n.cur_path = NULL;
	pthread_mutex_unlock(&n.lock);
}

static void announce_job_diff(int root, struct snap_job *old, const struct snap_job *now)
{
	for (size_t i = 0; i < N_JOB_FILES; i++) {
		if (old->exists[i] == now->exists[i] && old->hash[i] == now->hash[i])
			continue;
		char *p = xasprintf("/%s/%s/%s", kind_dir(now->kind), now->name, job_files[i]);
		if (!now->exists[i])
			announce(root, p, A_UNLINK);
		else if (!old->exists[i])
			announce(root, p, strcmp(job_files[i], "video") == 0 ? A_SYMLINK : A_CREATE);
		else
			announce(root, p, A_MODIFY);
		free(p);
	}
}

static void job_appeared(int root, enum job_kind kind, const char *name)
{
	char *dir = xasprintf("/%s/%s", kind_dir(kind), name);
	char *drop = recent_drop(kind, name);
	if (drop) {
		char *p = xasprintf("/%s/%s", kind_dir(kind), drop);
		if (!user_did(p, true))
			announce(root, p, A_UNLINK);
		free(p);
		free(drop);
	}
	if (!user_did(dir, false))
		announce(root, dir, A_MKDIR);
	free(dir);
}

static void job_list_changed(int root, enum job_kind kind)
{
	char **names = model_job_names(kind);
	size_t cnt = 0;
	while (names && names[cnt])
		cnt++;
	for (size_t i = 0; i < n.n_jobs;) {
		struct snap_job *s = &n.jobs[i];
		if (s->kind == kind && !strv_has(names, cnt, s->name)) {
			char *dir = xasprintf("/%s/%s", kind_dir(kind), s->name);
			if (!user_did(dir, true))
				announce(root, dir, A_RMDIR);
			free(dir);
			snap_remove(s);
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < cnt; i++) {
		if (!snap_find(kind, names[i])) {
			job_appeared(root, kind, names[i]);
			snap_fill(snap_add(kind, names[i]));
		}
	}
	strv_free(names);
}

static void videos_changed(int root, char **changed, size_t n_changed)
{
	char **now;
	size_t cnt;
	list_videos(&now, &cnt);
	for (size_t i = 0; i < n.n_videos; i++) {
		if (strv_has(now, cnt, n.videos[i]))
			continue;
		char *p = xasprintf("/videos/%s", n.videos[i]);
		if (!user_did(p, true))
			announce(root, p, A_UNLINK);
		free(p);
	}
	for (size_t i = 0; i < cnt; i++) {
		char *p = xasprintf("/videos/%s", now[i]);
		if (!strv_has(n.videos, n.n_videos, now[i])) {
			if (!user_did(p, false))
				announce(root, p, A_CREATE);
		} else if (strv_has(changed, n_changed, p)) {
			announce(root, p, A_MODIFY); /* replaced by a redownload */
		}
		free(p);
	}
	strv_clear(n.videos, n.n_videos);
	n.videos = now;
	n.n_videos = cnt;
}

static void process(char **changed, size_t n_changed, char **modified, size_t n_modified)
{
	int root = open_root();
	if (root < 0)
		return;
	bool list[2] = { false, false }, videos = false, history = false;
	char **touched[2] = { NULL, NULL };
	size_t n_touched[2] = { 0, 0 };
	for (size_t i = 0; i < n_changed; i++) {
		const char *p = changed[i];
		for (int k = 0; k < 2; k++) {
			const char *top = k == 0 ? "/jobs" : "/characters";
			size_t tl = strlen(top);
			if (strncmp(p, top, tl) != 0)
				continue;
			if (p[tl] == '\0') {
				list[k] = true;
			} else if (p[tl] == '/') {
				const char *nm = p + tl + 1, *sl = strchr(nm, '/');
				char *name = sl ? xstrndup(nm, (size_t)(sl - nm)) : xstrdup(nm);
				strv_add(&touched[k], &n_touched[k], name);
				free(name);
			}
		}
		if (strcmp(p, "/videos") == 0 || str_has_prefix(p, "/videos/"))
			videos = true;
		if (strcmp(p, "/history.json") == 0)
			history = true;
	}
	for (int k = 0; k < 2; k++) {
		enum job_kind kind = k == 0 ? JOB_VIDEO : JOB_CHARACTER;
		if (list[k])
			job_list_changed(root, kind);
		for (size_t i = 0; i < n_touched[k]; i++) {
			struct snap_job now = { .kind = kind, .name = touched[k][i] };
			struct snap_job *old = snap_find(kind, now.name);
			if (!old)
				continue; /* appears with the next listing change */
			snap_fill(&now);
			announce_job_diff(root, old, &now);
			memcpy(old->exists, now.exists, sizeof now.exists);
			memcpy(old->hash, now.hash, sizeof now.hash);
		}
		strv_clear(touched[k], n_touched[k]);
	}
	if (videos)
		videos_changed(root, changed, n_changed);
	if (history)
		announce(root, "/history.json", A_MODIFY);
	for (size_t i = 0; i < n_modified; i++)
		announce(root, modified[i], A_MODIFY);
	close(root);
}

static void snapshot_all(void)
{
	for (int k = 0; k < 2; k++) {
		enum job_kind kind = k == 0 ? JOB_VIDEO : JOB_CHARACTER;
		char **names = model_job_names(kind);
		for (size_t i = 0; names && names[i]; i++)
			snap_fill(snap_add(kind, names[i]));
		strv_free(names);
	}
	list_videos(&n.videos, &n.n_videos);
}

static void *announcer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&n.lock);
	n.tid = (pid_t)syscall(SYS_gettid);
	pthread_mutex_unlock(&n.lock);
	snapshot_all();
	/* The root as mounted now: later, anything else there is not ours. */
	struct stat st;
	bool ok = stat(n.mnt, &st) == 0;
	pthread_mutex_lock(&n.lock);
	n.dev = ok ? st.st_dev : 0;
	while (!n.stop) {
		if (n.n_changed == 0 && n.n_modified == 0) {
			pthread_cond_wait(&n.cond, &n.lock);
			continue;
		}
		/* collect a burst: wait until NOTIFY_DELAY after its first change */
		double wait = n.first_at + NOTIFY_DELAY - now_mono();
		if (wait > 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			double t = (double)ts.tv_sec + ts.tv_nsec / 1e9 + wait;
			ts.tv_sec = (time_t)t;
			ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
			pthread_cond_timedwait(&n.cond, &n.lock, &ts);
			continue;
		}
		char **changed = n.changed, **modified = n.modified;
		size_t nc = n.n_changed, nm = n.n_modified;
		n.changed = n.modified = NULL;
		n.n_changed = n.n_modified = 0;
		pthread_mutex_unlock(&n.lock);
		if (ok)
			process(changed, nc, modified, nm);
		strv_clear(changed, nc);
		strv_clear(modified, nm);
		pthread_mutex_lock(&n.lock);
	}
	pthread_mutex_unlock(&n.lock);
	return NULL;
}

int notify_start(const char *mountpoint)
{
	pthread_mutex_lock(&n.lock);
	n.mnt = xstrdup(mountpoint);
	n.stop = false;
	n.running = true;
	pthread_mutex_unlock(&n.lock);
	int r = pthread_create(&n.thread, NULL, announcer_main, NULL);
	if (r != 0) {
		pthread_mutex_lock(&n.lock);
		n.running = false;
		free(n.mnt);
		n.mnt = NULL;
		pthread_mutex_unlock(&n.lock);
		return -r;
	}
	return 0;
}

void notify_stop(void)
{
	pthread_mutex_lock(&n.lock);
	bool running = n.running;
	n.stop = true;
	pthread_cond_signal(&n.cond);
	pthread_mutex_unlock(&n.lock);
	if (running)
		pthread_join(n.thread, NULL);
	pthread_mutex_lock(&n.lock);
	n.running = false;
	n.tid = 0;
	strv_clear(n.changed, n.n_changed);
	strv_clear(n.modified, n.n_modified);
	n.changed = n.modified = NULL;
	n.n_changed = n.n_modified = 0;
	for (size_t i = 0; i < n.n_uops; i++)
		free(n.uops[i].path);
	free(n.uops);
	n.uops = NULL;
	n.n_uops = 0;
	struct poll_reg *polls = n.polls;
	size_t np = n.n_polls;
	n.polls = NULL;
	n.n_polls = 0;
	free(n.mnt);
	n.mnt = NULL;
	pthread_mutex_unlock(&n.lock);
	for (size_t i = 0; i < np; i++) {
		fuse_pollhandle_destroy(polls[i].ph);
		free(polls[i].path);
	}
	free(polls);
	for (size_t i = 0; i < n.n_jobs; i++)
		free(n.jobs[i].name);
	free(n.jobs);
	n.jobs = NULL;
	n.n_jobs = 0;
	strv_clear(n.videos, n.n_videos);
	n.videos = NULL;
	n.n_videos = 0;
}
