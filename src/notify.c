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
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "strset.h"
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
	pid_t helper; /* the helper process */
	int sock;     /* its end of the socket pair */
	/* changed paths waiting for the announcer */
	char **changed;
	size_t n_changed;
	struct strset changed_set; /* the same names, to add each once */
	double first_at;
	char **modified; /* explicit, from outside edits */
	size_t n_modified;
	struct strset modified_set;
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
} n = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .sock = -1 };

/* n.helper, for the handlers' "is it the helper?" without taking n.lock */
static _Atomic pid_t helper_pid;

static uint64_t fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* Appends a copy of S (the array doubles: 4, 8, 16, ... entries). */
static void strv_push(char ***v, size_t *cnt, const char *s)
{
	if (*cnt == 0 || (*cnt >= 4 && (*cnt & (*cnt - 1)) == 0))
		*v = xrealloc(*v, (*cnt ? *cnt * 2 : 4) * sizeof **v);
	(*v)[(*cnt)++] = xstrdup(s);
}

/* Appends S unless SET (the array's strings) has it already: a burst of
 * thousands of changes costs one hash lookup each, not a walk. */
static void strv_add(char ***v, size_t *cnt, struct strset *set, const char *s)
{
	if (strset_get(set, s, NULL))
		return;
	strv_push(v, cnt, s);
	strset_put(set, (*v)[*cnt - 1], 0);
}

/* A set of the strings of V, with their positions. */
static void strv_index(struct strset *set, char **v, size_t cnt)
{
	for (size_t i = 0; i < cnt; i++)
		strset_put(set, v[i], i);
}

static void strv_clear(char **v, size_t cnt)
{
	for (size_t i = 0; i < cnt; i++)
		free(v[i]);
	free(v);
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

void notify_invalidated(const char *path)
{
	wake_polls(path);
}

static _Atomic(bool (*)(const char *)) pending_check;

void notify_set_pending_check(bool (*pending)(const char *path))
{
	atomic_store(&pending_check, pending);
}

void notify_changed(const char *path)
{
	pthread_mutex_lock(&n.lock);
	if (n.running && !n.stop) {
		if (n.n_changed == 0 && n.n_modified == 0)
			n.first_at = now_mono();
		strv_add(&n.changed, &n.n_changed, &n.changed_set, path);
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
		strv_add(&n.modified, &n.n_modified, &n.modified_set, path);
		pthread_cond_signal(&n.cond);
	}
	pthread_mutex_unlock(&n.lock);
}

/* --- for fs.c ---------------------------------------------------------------- */

bool notify_own_request(void)
{
	/* every getattr asks: no lock */
	pid_t helper = atomic_load_explicit(&helper_pid, memory_order_acquire);
	if (helper <= 0)
		return false;
	struct fuse_context *c = fuse_get_context();
	return c && c->pid == helper;
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
	bool (*pending)(const char *) = atomic_load(&pending_check);
	bool changed = !(pending && pending(path)) &&
		       (model_job_file(kind, name, file, &data, &len) < 0 ||
			len != seen_len || (len && memcmp(data, seen, len) != 0));
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
		strv_push(out, cnt, de->d_name); /* a directory's names are unique */
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

/* The helper process: every operation on the mount is made by a child process
 * of the daemon, not by a thread. A thread blocked in a request on its own
 * mount is fine natively, but not under valgrind, which runs one thread at a
 * time and does not let go while a thread is in stat(2) or mkdir(2); a second
 * process has a lock of its own. It does nothing but system calls (it was forked
 * from a threaded process), on one request at a time from the announcer. */
struct helper_req {
	int op;
	char path[PATH_MAX];
};

/* In the helper: one operation relative to the mount's root, if the root is
 * still this mount (not unmounted, not covered). Returns 0 or an errno. */
static int helper_op(const char *mnt, dev_t dev, const struct helper_req *q)
{
	int root = open(mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return errno;
	struct stat st;
	struct statfs sf;
	if (fstat(root, &st) < 0 || st.st_dev != dev || fstatfs(root, &sf) < 0 ||
	    (unsigned long)sf.f_type != FUSE_MAGIC) {
		close(root);
		return ESTALE;
	}
	const char *rel = q->path;
	int fd, r = 0;
	switch (q->op) {
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
	default:
		break;
	}
	int err = r < 0 ? errno : 0;
	close(root);
	return err;
}

static _Noreturn void helper_main(int sock, const char *mnt)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL); /* Ctrl-C stops the daemon; it stops us */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	/* The root as mounted now (waits for the mount to be ready): later,
	 * anything else there is not ours. */
	struct stat st;
	dev_t dev = stat(mnt, &st) == 0 ? st.st_dev : (dev_t)-1;
	static struct helper_req q;
	for (;;) {
		ssize_t k = read(sock, &q, sizeof q);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			_exit(0); /* the daemon is done (or gone) */
		}
		q.path[sizeof q.path - 1] = '\0';
		int err = q.op < 0 ? 0 : helper_op(mnt, dev, &q);
		if (write(sock, &err, sizeof err) != (ssize_t)sizeof err)
			_exit(0);
	}
}

/* Fork the helper (called before the announcer thread exists). 0 or -errno. */
static int helper_start(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		/* Keep nothing of the daemon's open files but the socket and stdio:
		 * above all not /dev/fuse, which would keep the connection alive after
		 * the daemon's unmount. */
		if (sv[1] == 3)
			fcntl(3, F_SETFD, 0);
		else if (dup2(sv[1], 3) < 0)
			_exit(1);
		if (close_range(4, ~0U, 0) < 0)
			for (int fd = 4; fd < 65536; fd++)
				close(fd);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "sora2fs-notify"); /* ps shows which one it is */
		if (getppid() != parent)
			_exit(0);
		helper_main(3, n.mnt);
	}
	close(sv[1]);
	n.sock = sv[0];
	n.helper = pid;
	atomic_store_explicit(&helper_pid, pid, memory_order_release);
	return 0;
}

/* One operation by the helper; waits for it. 0 or an errno. */
static int helper_call(int op, const char *rel)
{
	struct helper_req *q = xcalloc(1, sizeof *q);
	q->op = op;
	size_t len = strlen(rel);
	int err = 0;
	if (len >= sizeof q->path) {
		err = ENAMETOOLONG;
	} else {
		memcpy(q->path, rel, len + 1);
		size_t size = offsetof(struct helper_req, path) + len + 1;
		if (write(n.sock, q, size) != (ssize_t)size || read(n.sock, &err, sizeof err) !=
		    (ssize_t)sizeof err)
			err = EPIPE;
	}
	free(q);
	return err;
}

static void announce(const char *path, enum ann op)
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
	int err = helper_call((int)op, path + 1);
	if (err)
		log_debug("notify: %s: %s", path, strerror(err));
	pthread_mutex_lock(&n.lock);
	free(n.cur_path);
	n.cur_path = NULL;
	pthread_mutex_unlock(&n.lock);
}

static void announce_job_diff(struct snap_job *old, const struct snap_job *now)
{
	for (size_t i = 0; i < N_JOB_FILES; i++) {
		if (old->exists[i] == now->exists[i] && old->hash[i] == now->hash[i])
			continue;
		char *p = xasprintf("/%s/%s/%s", kind_dir(now->kind), now->name, job_files[i]);
		if (!now->exists[i])
			announce(p, A_UNLINK);
		else if (!old->exists[i])
			announce(p, strcmp(job_files[i], "video") == 0 ? A_SYMLINK : A_CREATE);
		else
			announce(p, A_MODIFY);
		free(p);
	}
}

static void job_appeared(enum job_kind kind, const char *name)
{
	char *dir = xasprintf("/%s/%s", kind_dir(kind), name);
	char *drop = recent_drop(kind, name);
	if (drop) {
		char *p = xasprintf("/%s/%s", kind_dir(kind), drop);
		if (!user_did(p, true))
			announce(p, A_UNLINK);
		free(p);
		free(drop);
	}
	if (!user_did(dir, false))
		announce(dir, A_MKDIR);
	free(dir);
}

static void job_list_changed(enum job_kind kind)
{
	char **names = model_job_names(kind);
	size_t cnt = 0;
	while (names && names[cnt])
		cnt++;
	struct strset now = STRSET_INIT, had = STRSET_INIT;
	strv_index(&now, names, cnt);
	for (size_t i = 0; i < n.n_jobs;) {
		struct snap_job *s = &n.jobs[i];
		if (s->kind == kind && !strset_get(&now, s->name, NULL)) {
			char *dir = xasprintf("/%s/%s", kind_dir(kind), s->name);
			if (!user_did(dir, true))
				announce(dir, A_RMDIR);
			free(dir);
			snap_remove(s);
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < n.n_jobs; i++)
		if (n.jobs[i].kind == kind)
			strset_put(&had, n.jobs[i].name, i);
	for (size_t i = 0; i < cnt; i++) {
		if (!strset_get(&had, names[i], NULL)) {
			job_appeared(kind, names[i]);
			snap_fill(snap_add(kind, names[i]));
		}
	}
	strset_free(&now);
	strset_free(&had);
	strv_free(names);
}

static void videos_changed(char **changed, size_t n_changed)
{
	char **now;
	size_t cnt;
	list_videos(&now, &cnt);
	struct strset now_set = STRSET_INIT, had = STRSET_INIT, touched = STRSET_INIT;
	strv_index(&now_set, now, cnt);
	strv_index(&had, n.videos, n.n_videos);
	strv_index(&touched, changed, n_changed);
	for (size_t i = 0; i < n.n_videos; i++) {
		if (strset_get(&now_set, n.videos[i], NULL))
			continue;
		char *p = xasprintf("/videos/%s", n.videos[i]);
		if (!user_did(p, true))
			announce(p, A_UNLINK);
		free(p);
	}
	for (size_t i = 0; i < cnt; i++) {
		char *p = xasprintf("/videos/%s", now[i]);
		if (!strset_get(&had, now[i], NULL)) {
			if (!user_did(p, false))
				announce(p, A_CREATE);
		} else if (strset_get(&touched, p, NULL)) {
			announce(p, A_MODIFY); /* replaced by a redownload */
		}
		free(p);
	}
	strset_free(&now_set);
	strset_free(&had);
	strset_free(&touched);
	strv_clear(n.videos, n.n_videos);
	n.videos = now;
	n.n_videos = cnt;
}

static void helper_stop(void);

static void process(char **changed, size_t n_changed, char **modified, size_t n_modified)
{
	bool list[2] = { false, false }, videos = false, history = false;
	char **touched[2] = { NULL, NULL };
	size_t n_touched[2] = { 0, 0 };
	struct strset touched_set[2] = { STRSET_INIT, STRSET_INIT };
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
				strv_add(&touched[k], &n_touched[k], &touched_set[k], name);
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
			job_list_changed(kind);
		strset_free(&touched_set[k]);
		struct strset snap = STRSET_INIT; /* n.jobs does not change below */
		if (n_touched[k])
			for (size_t i = 0; i < n.n_jobs; i++)
				if (n.jobs[i].kind == kind)
					strset_put(&snap, n.jobs[i].name, i);
		for (size_t i = 0; i < n_touched[k]; i++) {
			struct snap_job now = { .kind = kind, .name = touched[k][i] };
			size_t at;
			if (!strset_get(&snap, now.name, &at))
				continue; /* appears with the next listing change */
			struct snap_job *old = &n.jobs[at];
			snap_fill(&now);
			announce_job_diff(old, &now);
			memcpy(old->exists, now.exists, sizeof now.exists);
			memcpy(old->hash, now.hash, sizeof now.hash);
		}
		strset_free(&snap);
		strv_clear(touched[k], n_touched[k]);
	}
	if (videos)
		videos_changed(changed, n_changed);
	if (history)
		announce("/history.json", A_MODIFY);
	for (size_t i = 0; i < n_modified; i++)
		announce(modified[i], A_MODIFY);
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
	snapshot_all();
	/* the helper notes the mount's root (it waits for the mount to be ready) */
	bool ok = helper_call(-1, "") == 0;
	pthread_mutex_lock(&n.lock);
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
		strset_free(&n.changed_set);
		strset_free(&n.modified_set);
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

static void helper_stop(void)
{
	if (n.sock >= 0) {
		shutdown(n.sock, SHUT_RDWR);
		close(n.sock);
		n.sock = -1;
	}
	atomic_store_explicit(&helper_pid, 0, memory_order_release);
	if (n.helper > 0) {
		/* it may be inside a request of the mount that is gone */
		kill(n.helper, SIGKILL);
		while (waitpid(n.helper, NULL, 0) < 0 && errno == EINTR)
			;
		n.helper = 0;
	}
}

int notify_start(const char *mountpoint)
{
	pthread_mutex_lock(&n.lock);
	n.mnt = xstrdup(mountpoint);
	n.stop = false;
	pthread_mutex_unlock(&n.lock);
	int r = helper_start();
	if (r == 0) {
		pthread_mutex_lock(&n.lock);
		n.running = true;
		pthread_mutex_unlock(&n.lock);
		r = -pthread_create(&n.thread, NULL, announcer_main, NULL);
	}
	if (r < 0) {
		log_warn("inotify events for the daemon's changes are off: %s", strerror(-r));
		pthread_mutex_lock(&n.lock);
		n.running = false;
		pthread_mutex_unlock(&n.lock);
		helper_stop();
		return r;
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
	if (n.sock >= 0)
		shutdown(n.sock, SHUT_RDWR); /* an announcement in flight ends at once */
	if (running)
		pthread_join(n.thread, NULL);
	helper_stop();
	pthread_mutex_lock(&n.lock);
	n.running = false;
	strv_clear(n.changed, n.n_changed);
	strv_clear(n.modified, n.n_modified);
	n.changed = n.modified = NULL;
	n.n_changed = n.n_modified = 0;
	strset_free(&n.changed_set);
	strset_free(&n.modified_set);
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
