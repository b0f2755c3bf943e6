/* fs_jobs.c - jobs/ and characters/: dropped files become jobs.
 *
 *   $ echo "a cat" > jobs/cat.txt      close() -> job "cat" exists, queued
 *   $ ls jobs/cat
 *   ctl  error  id  progress  prompt  request.json  result.json  status
 *   $ cp notes.txt jobs/.notes         hidden: an ordinary scratch file, no job
 *   $ echo cancel > jobs/cat/ctl
 *   $ rm -r jobs/cat                   forget the job (the video stays)
 *
 * Files in jobs/ are real files in a scratch folder under data/sora2fs/, so
 * editors, rsync and file managers can write, rename and delete them as on any
 * folder. A file with an ordinary name becomes a job when its last writer is
 * done with it (see "writers" below), or when a file with content is renamed
 * onto that name.
 * The dropped name then answers for a little while as a "ghost" (stat, touch,
 * chmod succeed and do nothing) because tools touch it right after closing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "prompt.h"
#include "util.h"

#define GHOST_SECONDS 10.0
/* A job unchanged for this long: every size of its files the kernel still
 * holds was learnt after the last change (see open_k). */
#define SETTLED_SECONDS (FS_ATTR_TIMEOUT + 1.0)
#define DROP_MAX (64u * 1024 * 1024)

enum tag { TAG_FILE = 1, TAG_CTL, TAG_JOBFILE, TAG_CONVERTED,
	   TAG_REFUSED /* a drop that grew past its size limit: never a job */ };

/* --- ghosts: dropped names that just became jobs ------------------------- */

struct ghost {
	enum job_kind kind;
	char *name;
	char *job;
	double until;
	struct ghost *next;
};

static pthread_mutex_t ghost_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ghost *ghosts;

static void ghost_expire_locked(void)
{
	double now = now_mono();
	for (struct ghost **pp = &ghosts; *pp;) {
		struct ghost *g = *pp;
		if (g->until < now) {
			*pp = g->next;
			free(g->name);
			free(g->job);
			free(g);
		} else {
			pp = &g->next;
		}
	}
}

static struct ghost *ghost_find_locked(enum job_kind kind, const char *name)
{
	ghost_expire_locked();
	for (struct ghost *g = ghosts; g; g = g->next)
		if (g->kind == kind && strcmp(g->name, name) == 0)
			return g;
	return NULL;
}

static bool ghost_exists(enum job_kind kind, const char *name)
{
	pthread_mutex_lock(&ghost_lock);
	bool r = ghost_find_locked(kind, name) != NULL;
	pthread_mutex_unlock(&ghost_lock);
	return r;
}

static void ghost_remove(enum job_kind kind, const char *name)
{
	pthread_mutex_lock(&ghost_lock);
	struct ghost *g = ghost_find_locked(kind, name);
	if (g)
		g->until = -1;
	ghost_expire_locked();
	pthread_mutex_unlock(&ghost_lock);
}

static void ghost_add(enum job_kind kind, const char *name, const char *job)
{
	pthread_mutex_lock(&ghost_lock);
	struct ghost *g = ghost_find_locked(kind, name);
	if (!g) {
		g = xcalloc(1, sizeof *g);
		g->kind = kind;
		g->name = xstrdup(name);
		g->next = ghosts;
		ghosts = g;
	}
	free(g->job);
	g->job = xstrdup(job);
	g->until = now_mono() + GHOST_SECONDS;
	pthread_mutex_unlock(&ghost_lock);
}

/* --- when the kernel last learned a scratch name -------------------------- */

/* A drop named "plain" becomes the directory "plain". The kernel keeps its
 * lookup of the file for FS_ENTRY_TIMEOUT, and high-level libfuse cannot
 * invalidate one name, so close() waits out what is left of that time. */
struct seen {
	enum job_kind kind;
	char *name;
	double at;
	struct seen *next;
};
static struct seen *seen_names;

static void seen_note(enum job_kind kind, const char *name)
{
	double now = now_mono();
	pthread_mutex_lock(&ghost_lock);
	struct seen **pp = &seen_names, *hit = NULL;
	while (*pp) {
		struct seen *s = *pp;
		if (s->kind == kind && strcmp(s->name, name) == 0)
			hit = s;
		if (s != hit && now - s->at > 1.0) {
			*pp = s->next;
			free(s->name);
			free(s);
			continue;
		}
		pp = &s->next;
	}
	if (!hit) {
		hit = xcalloc(1, sizeof *hit);
		hit->kind = kind;
		hit->name = xstrdup(name);
		hit->next = seen_names;
		seen_names = hit;
	}
	hit->at = now;
	pthread_mutex_unlock(&ghost_lock);
}

/* After a rename the kernel's entry for the new name is the old one's. */
static void seen_transfer(enum job_kind kind, const char *from, const char *to)
{
	pthread_mutex_lock(&ghost_lock);
	double at = -1;
	for (struct seen *s = seen_names; s; s = s->next)
		if (s->kind == kind && strcmp(s->name, from) == 0)
			at = s->at;
	pthread_mutex_unlock(&ghost_lock);
	if (at >= 0)
		seen_note(kind, to);
}

static void seen_wait(enum job_kind kind, const char *name)
{
	pthread_mutex_lock(&ghost_lock);
	double at = -1;
	for (struct seen *s = seen_names; s; s = s->next)
		if (s->kind == kind && strcmp(s->name, name) == 0)
			at = s->at;
	pthread_mutex_unlock(&ghost_lock);
	double left = at + FS_ENTRY_TIMEOUT + 0.01 - now_mono();
	if (at >= 0 && left > 0) {
		struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}


/* --- writers: when a drop is done ----------------------------------------
 *
 * A drop becomes a job at the flush (close) of its last writer, so that
 * "{ cat a; cat b; } > jobs/x.txt", a here-document or a pipeline into one
 * file makes one job with the whole text:
 *
 *   - Each handle open for writing on a drop remembers the process that opened
 *     it. A close by another process (a child that inherited the descriptor,
 *     like "cat a" above) is not the end: the opener still holds it. The
 *     opener's close with content converts (and that close() returns once
 *     jobs/NAME/ exists). If the opener is gone, any close converts; a handle
 *     nobody closed with content converts at release.
 *   - A second handle opened for writing while another writer holds the file
 *     (two processes, or "exec 3>x; echo B > x") gets a private, unnamed file
 *     of its own: each becomes its own job (x, x-2), nothing is overwritten or
 *     lost.
 */
struct writer_file {
	dev_t dev;
	ino_t ino;
	int writers;
	struct writer_file *next;
};

struct drop_state {
	pid_t opener;            /* thread group that opened the handle */
	struct writer_file *wf;  /* the shared real file; NULL for a private one */
	bool private_file;       /* unnamed file of its own (O_TMPFILE) */
	enum job_kind kind;
};

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static struct writer_file *writer_files;

static struct writer_file *writer_find_locked(dev_t dev, ino_t ino)
{
	for (struct writer_file *w = writer_files; w; w = w->next)
		if (w->dev == dev && w->ino == ino)
			return w;
	return NULL;
}

static void writer_put_locked(struct writer_file *wf)
{
	if (!wf || --wf->writers > 0)
		return;
	for (struct writer_file **pp = &writer_files; *pp; pp = &(*pp)->next) {
		if (*pp == wf) {
			*pp = wf->next;
			break;
		}
	}
	free(wf);
}

/* The process (thread group) of a thread id: FUSE tells the thread. */
static pid_t tgid_of(pid_t tid)
{
	if (tid <= 0)
		return tid;
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tid;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return tid;
	buf[n] = '\0';
	const char *t = strstr(buf, "\nTgid:");
	return t ? (pid_t)strtol(t + 6, NULL, 10) : tid;
}

static pid_t caller_pid(void)
{
	struct fuse_context *c = fuse_get_context();
	return tgid_of(c ? c->pid : 0);
}

/* Does the process still run? A zombie (exited, not yet reaped) holds no
 * descriptors any more: it counts as gone. */
static bool process_alive(pid_t pid)
{
	if (pid <= 0)
		return false;
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kill(pid, 0) == 0 || errno == EPERM; /* no /proc: ask the kernel */
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* Every handle of jobs/ and characters/ carries one (h->priv). */
static struct drop_state *state_of(struct fs_handle *h)
{
	if (!h->priv)
		h->priv = xcalloc(1, sizeof(struct drop_state));
	return h->priv;
}

/* The handle's state goes with its last reference, or with an open that failed
 * (FUSE sends no release for those). */
static void state_free(struct fs_handle *h)
{
	struct drop_state *ds = h->priv;
	if (!ds)
		return;
	pthread_mutex_lock(&writer_lock);
	writer_put_locked(ds->wf);
	pthread_mutex_unlock(&writer_lock);
	free(ds);
	h->priv = NULL;
}

static enum job_kind kind_of(struct fs_handle *h)
{
	return state_of(h)->kind;
}

/* --- paths ------------------------------------------------------------------ */

static char *real_path(enum job_kind kind, const char *name)
{
	return xasprintf("%s/%s", model_scratch_dir(kind), name);
}

/* "cat/status" -> job "cat", file "status"; "cat" -> job "cat", file NULL. */
static char *split_rest(const char *rest, const char **file)
{
	const char *slash = strchr(rest, '/');
	if (!slash) {
		*file = NULL;
		return xstrdup(rest);
	}
	*file = slash + 1;
	return xstrndup(rest, (size_t)(slash - rest));
}

/* --- turning a file into a job ------------------------------------------- */

/* Read the whole file at fd (or path when fd < 0). */
static int slurp(int fd, const char *path, char **data, size_t *len)
{
	if (fd < 0)
		return read_file(path, DROP_MAX, data, len);
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if ((size_t)sb.st_size > DROP_MAX)
		return -EFBIG;
	*data = xmalloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = pread(fd, *data + got, (size_t)sb.st_size - got, (off_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			free(*data);
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	(*data)[got] = '\0';
	*len = got;
	return 0;
}

/* Start a job from scratch file NAME (content already read). The real file is
 * removed first so the job may take the name it frees. */
static int convert(enum job_kind kind, const char *name, const char *data, size_t len,
		   bool remove_file)
{
	char *base = name_job_from_file(name);
	if (strcmp(base, name) == 0)
		seen_wait(kind, name);
	free(base);
	if (remove_file) {
		char *path = real_path(kind, name);
		unlink(path);
		free(path);
	}
	char *job = NULL;
	int r = model_job_create(kind, name, data, len, &job);
	if (job)
		ghost_add(kind, name, job);
	free(job);
	return r;
}

static bool is_drop_name(const char *name)
{
	return !name_is_scratch(name);
}

/* --- operations ------------------------------------------------------------ */

/* What others may read under allow_other (default_permissions): a job's
 * state, not its content. prompt, request.json and result.json (the prompt, the
 * request, the video's link) are the owner's only. */
static mode_t job_file_perm(const char *file)
{
	if (strcmp(file, "prompt") == 0 || strcmp(file, "request.json") == 0 ||
	    strcmp(file, "result.json") == 0)
		return 0400;
	return 0444;
}

static int getattr_k(enum job_kind kind, const char *rest, struct stat *st)
{
	if (!*rest) {
		fs_stat_dir(st, 0);
		return 0;
	}
	const char *file;
	char *name = split_rest(rest, &file);
	int r = -ENOENT;
	if (file) {
		char *data = NULL;
		size_t len = 0;
		if (!strchr(file, '/') &&
		    model_job_file(kind, name, file, &data, &len) == 0) {
			double mt = model_job_mtime(kind, name);
			/* what never changes carries the job's creation time
			 * (sora2fs-status shows the elapsed time from it) */
			if (strcmp(file, "prompt") == 0 || strcmp(file, "request.json") == 0)
				mt = model_job_created(kind, name);
			if (strcmp(file, "video") == 0)
				fs_stat_link(st, len, mt);
			else if (strcmp(file, "ctl") == 0)
				fs_stat_file(st, 0200, 0, mt);
			else
				fs_stat_file(st, job_file_perm(file), (off_t)len, mt);
			r = 0;
		}
		free(data);
	} else if (model_job_exists(kind, name)) {
		fs_stat_dir(st, model_job_mtime(kind, name));
		r = 0;
	} else {
		char *path = real_path(kind, name);
		if (lstat(path, st) == 0) {
			r = 0;
			seen_note(kind, name);
		} else if (ghost_exists(kind, name)) {
			fs_stat_file(st, 0644, 0, 0);
			r = 0;
		}
		free(path);
	}
	free(name);
	return r;
}

/* --- listings --------------------------------------------------------------
 *
 * jobs/ (the jobs, then the scratch files) and a job directory are listed from
 * a snapshot taken when a listing starts at offset 0, each entry carrying its
 * own offset (index + 1) and its attributes (readdirplus: ls -l then needs no
 * lookup per entry). libfuse then hands every reply straight to the kernel
 * instead of keeping a listing filled at offset 0 and walking it from its head
 * for each 4 KiB reply (see fs.h); a reader that seeks back to 0 sees the
 * directory as it is then.
 */
struct jent {
	char *name;
	double mtime;    /* a job directory's (when st is NULL and not a dot) */
	struct stat *st; /* any other entry's attributes; NULL for jobs and dots */
	bool dots;
};

struct jdir {
	enum job_kind kind;
	char *job;       /* the job directory listed; NULL: jobs/ itself */
	struct jent *e;
	size_t n, cap;
	bool taken;
};

static struct jent *jdir_add(struct jdir *d, const char *name)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->e = xrealloc(d->e, d->cap * sizeof *d->e);
	}
	struct jent *e = &d->e[d->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(name);
	return e;
}

static void jdir_clear(struct jdir *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->e[i].name);
		free(d->e[i].st);
	}
	d->n = 0;
	d->taken = false;
}

static void jdir_add_stat(struct jdir *d, const char *name, const struct stat *st)
{
	struct jent *e = jdir_add(d, name);
	e->st = xmalloc(sizeof *e->st);
	*e->st = *st;
}

/* jobs/ now: the jobs (one pass under the model's lock), then the scratch files. */
static void take_top(struct jdir *d)
{
	double *mtimes;
	char **names = model_job_names_mtimes(d->kind, &mtimes);
	for (size_t i = 0; names[i]; i++)
		jdir_add(d, names[i])->mtime = mtimes[i];
	strv_free(names);
	free(mtimes);
	DIR *dir = opendir(model_scratch_dir(d->kind));
	if (!dir)
		return;
	struct dirent *de;
	struct stat st;
	while ((de = readdir(dir)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			seen_note(d->kind, de->d_name);
			jdir_add_stat(d, de->d_name, &st);
		}
	closedir(dir);
}

/* A job directory now: its files as getattr shows them. */
static int take_job(struct jdir *d)
{
	char **files = model_job_files(d->kind, d->job);
	if (!files) {
		char *path = real_path(d->kind, d->job);
		struct stat sb;
		int r = lstat(path, &sb) == 0 ? -ENOTDIR : -ENOENT;
		free(path);
		return r;
	}
	for (char **p = files; *p; p++) {
		struct stat st;
		char *sub = xasprintf("%s/%s", d->job, *p);
		if (getattr_k(d->kind, sub, &st) == 0)
			jdir_add_stat(d, *p, &st);
		free(sub);
	}
	strv_free(files);
	return 0;
}

static int jdir_take(struct jdir *d)
{
	jdir_clear(d);
	jdir_add(d, ".")->dots = true;
	jdir_add(d, "..")->dots = true;
	int r = 0;
	if (d->job)
		r = take_job(d);
	else
		take_top(d);
	d->taken = r == 0;
	return r;
}

/* Entries from index FROM on, until the reply is full; with offsets, each says
 * where the next one is; without, libfuse keeps the whole listing. */
static void jdir_fill(const struct jdir *d, size_t from, bool offsets, void *buf,
		      fuse_fill_dir_t filler)
{
	for (size_t i = from; i < d->n; i++) {
		const struct jent *e = &d->e[i];
		struct stat st;
		const struct stat *sp = e->st;
		if (!sp && !e->dots) {
			fs_stat_dir(&st, e->mtime);
			sp = &st;
		}
		if (filler(buf, e->name, sp, offsets ? (off_t)(i + 1) : 0,
			   sp ? FUSE_FILL_DIR_PLUS : 0))
			break;
	}
}

static void jdir_free(struct jdir *d)
{
	jdir_clear(d);
	free(d->e);
	free(d->job);
	free(d);
}

static struct jdir *jdir_new(enum job_kind kind, const char *rest)
{
	struct jdir *d = xcalloc(1, sizeof *d);
	d->kind = kind;
	d->job = *rest ? xstrdup(rest) : NULL;
	return d;
}

static void *opendir_k(enum job_kind kind, const char *rest)
{
	if (strchr(rest, '/'))
		return NULL; /* not a directory: readdir says so */
	return jdir_new(kind, rest);
}

static int jdir_readdir_at(void *dir, off_t off, void *buf, fuse_fill_dir_t filler)
{
	struct jdir *d = dir;
	if (off == 0 || !d->taken) {
		int r = jdir_take(d);
		if (r < 0)
			return r;
	}
	if (off < 0 || (size_t)off >= d->n)
		return 0;
	jdir_fill(d, (size_t)off, true, buf, filler);
	return 0;
}

static void jdir_closedir(void *dir)
{
	jdir_free(dir);
}

/* Without an open directory: the whole listing at offset 0. */
static int readdir_k(enum job_kind kind, const char *rest, void *buf, fuse_fill_dir_t filler)
{
	if (strchr(rest, '/'))
		return -ENOTDIR;
	struct jdir *d = jdir_new(kind, rest);
	int r = jdir_take(d);
	if (r == 0)
		jdir_fill(d, 0, false, buf, filler);
	jdir_free(d);
	return r;
}

/* Open the real file behind a drop (see "writers" above). */
static int open_real(enum job_kind kind, const char *name, int flags, mode_t mode,
		     struct fs_handle *h)
{
	char *path = real_path(kind, name);
	struct drop_state *ds = state_of(h);
	ds->kind = kind;
	/* Writers get read access too: the drop is read back at close. The kernel
	 * already turns appends into writes at the end, so O_APPEND goes. */
	if ((flags & O_ACCMODE) == O_WRONLY)
		flags = (flags & ~O_ACCMODE) | O_RDWR;
	flags = (flags & ~(O_NOCTTY | O_APPEND)) | O_CLOEXEC;
	bool drop = h->writable && is_drop_name(name);
	if (drop)
		pthread_mutex_lock(&writer_lock);
	struct stat sb;
	int fd;
	if (drop && lstat(path, &sb) == 0 && writer_find_locked(sb.st_dev, sb.st_ino)) {
		/* someone else is writing this drop: a file of one's own */
		fd = open(model_scratch_dir(kind), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
		if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
			/* no O_TMPFILE on this filesystem: a named file, unlinked at once */
			static unsigned counter;
			char *tmp = xasprintf("%s/.sora2fs-private-%d-%u", model_scratch_dir(kind),
					      (int)getpid(), __atomic_add_fetch(&counter, 1,
										__ATOMIC_RELAXED));
			fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd >= 0)
				unlink(tmp);
			free(tmp);
		}
		if (fd >= 0)
			ds->private_file = true;
	} else {
		fd = open(path, flags, mode);
	}
	int r = fd < 0 ? -errno : 0;
	if (drop && fd >= 0 && !ds->private_file && fstat(fd, &sb) == 0) {
		struct writer_file *wf = writer_find_locked(sb.st_dev, sb.st_ino);
		if (!wf) {
			wf = xcalloc(1, sizeof *wf);
			wf->dev = sb.st_dev;
			wf->ino = sb.st_ino;
			wf->next = writer_files;
			writer_files = wf;
		}
		wf->writers++;
		ds->wf = wf;
	}
	if (drop)
		pthread_mutex_unlock(&writer_lock);
	free(path);
	if (r < 0)
		return r;
	if (drop)
		ds->opener = caller_pid();
	h->fd = fd;
	h->tag = TAG_FILE;
	if (h->writable && (flags & O_TRUNC))
		h->dirty = true;
	return 0;
}

static int open_k(enum job_kind kind, const char *rest, struct fuse_file_info *fi,
		  struct fs_handle *h)
{
	const char *file;
	char *name = split_rest(rest, &file);
	int r;
	state_of(h)->kind = kind;
	if (file) {
		char *data = NULL;
		size_t len = 0;
		r = model_job_file(kind, name, file, &data, &len);
		if (r == 0 && strcmp(file, "ctl") == 0) {
			r = h->writable ? 0 : -EACCES;
			h->tag = TAG_CTL;
		} else if (r == 0 && h->writable) {
			r = -EACCES; /* a submitted job's files are its record */
		} else if (r == 0) {
			h->tag = TAG_JOBFILE;
			buf_add(&h->data, data, len);
			/* A job that changed lately: every read asks us (the page
			 * cache would cut a longer new value at the size the kernel
			 * learnt before the change, until the engine's invalidation
			 * lands). A settled one is read through the page cache, as a
			 * real file (cat: no READ, and none for the end of the file):
			 * any size the kernel holds is newer than its last change,
			 * and a change from now on reaches readers only once the
			 * engine has invalidated the kernel's pages and attributes
			 * (poll(2) waiters are woken after that, notify.h), or at the
			 * latest when the attributes expire (the mtime moves, and
			 * libfuse's auto_inval_data drops the pages). */
			double age = now_wall() - model_job_mtime(kind, name);
			if (age >= SETTLED_SECONDS)
				fi->keep_cache = 1;
			else
				fi->direct_io = 1;
			/* Nothing to do at close (the kernel would wait for a FLUSH
			 * round trip in every close()). */
			fi->noflush = 1;
		}
		free(data);
	} else if (model_job_exists(kind, name)) {
		r = -EISDIR;
	} else {
		r = open_real(kind, name, fi->flags & ~(O_CREAT | O_EXCL), 0, h);
		if (r == -ENOENT && h->writable && is_drop_name(name)) {
			/* The kernel believed in the name (a ghost, or a drop another
			 * writer just turned into a job): writing it is a new drop. */
			ghost_remove(kind, name);
			r = open_real(kind, name, (fi->flags & ~O_EXCL) | O_CREAT, 0644, h);
		} else if (r == -ENOENT && ghost_exists(kind, name)) {
			r = 0; /* reading it back right after the drop: empty */
			h->tag = TAG_CONVERTED;
		}
	}
	free(name);
	if (r < 0)
		state_free(h);
	return r;
}

static int create_drop(enum job_kind kind, const char *rest, mode_t mode,
		       struct fuse_file_info *fi, struct fs_handle *h)
{
	state_of(h)->kind = kind;
	if (strchr(rest, '/'))
		return -EACCES; /* nothing can be added to a job directory */
	if (strlen(rest) > 255)
		return -ENAMETOOLONG;
	if (!name_valid(rest))
		return -EINVAL;
	if (model_job_exists(kind, rest))
		return -EISDIR;
	ghost_remove(kind, rest);
	return open_real(kind, rest, fi->flags | O_CREAT, mode & 07777, h);
}

static int create_k(enum job_kind kind, const char *rest, mode_t mode,
		    struct fuse_file_info *fi, struct fs_handle *h)
{
	int r = create_drop(kind, rest, mode, fi, h);
	if (r < 0)
		state_free(h);
	return r;
}

static bool ctl_word_known(const char *cmd)
{
	return strcmp(cmd, "cancel") == 0 || strcmp(cmd, "retry") == 0 ||
	       strcmp(cmd, "refresh") == 0 || strcmp(cmd, "redownload") == 0;
}

/* "failed" (for log lines); static storage is fine: the name table is. */
static const char *job_status_text(enum job_kind kind, const char *name)
{
	char *data = NULL;
	size_t len = 0;
	static __thread char buf[32];
	buf[0] = '\0';
	if (model_job_file(kind, name, "status", &data, &len) == 0) {
		snprintf(buf, sizeof buf, "%.*s", (int)(len && data[len - 1] == '\n' ? len - 1 : len),
			 data);
	}
	free(data);
	return buf;
}

/* A drop larger than prompt_drop_max() is refused at write() (EFBIG), before
 * anything can be submitted: what was written is dropped with it (a cut prompt
 * must never be billed), further writes and the close() fail with EFBIG. */
static bool over_limit(struct fs_handle *h, const char *rest, off_t off, size_t size)
{
	enum job_kind kind = kind_of(h);
	if (!is_drop_name(rest) || off < 0)
		return false;
	size_t max = prompt_drop_max(rest, kind == JOB_CHARACTER);
	if ((size_t)off + size <= max)
		return false;
	log_warn("%s/%s: larger than %zu KiB (the limit for such a drop): refused (EFBIG), "
		 "nothing submitted", kind == JOB_VIDEO ? "jobs" : "characters", rest, max >> 10);
	char *path = real_path(kind, rest);
	struct stat a, b;
	if (fstat(h->fd, &a) == 0 && lstat(path, &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev)
		unlink(path);
	free(path);
	if (ftruncate(h->fd, 0) < 0) {
		/* unlinked already: the bytes go with the handle */
	}
	h->tag = TAG_REFUSED;
	h->dirty = false;
	return true;
}

static int write_k(struct fs_handle *h, const char *buf, size_t size, off_t off)
{
	if (h->tag == TAG_CTL) {
		enum job_kind kind = kind_of(h);
		const char *file;
		char *name = split_rest(h->rest, &file);
		char *cmd = str_trim_dup(buf, size);
		int r = *cmd ? model_job_ctl(kind, name, cmd) : 0;
		const char *dir = kind == JOB_VIDEO ? "jobs" : "characters";
		if (r == -EINVAL && !ctl_word_known(cmd))
			log_warn("%s/%s: ctl: unknown command \"%s\" (commands: cancel, retry, "
				 "refresh, redownload)", dir, name, cmd);
		else if (r == -EINVAL || r == -EBUSY)
			log_warn("%s/%s: ctl: \"%s\" is not possible now (status %s)", dir, name,
				 cmd, job_status_text(kind, name));
		free(cmd);
		free(name);
		return r < 0 ? r : (int)size;
	}
	if (h->tag == TAG_REFUSED)
		return -EFBIG;
	if (h->tag != TAG_FILE || h->fd < 0)
		return -EBADF; /* the drop already became a job */
	if (over_limit(h, h->rest, off, size))
		return -EFBIG;
	ssize_t n = pwrite(h->fd, buf, size, off);
	if (n < 0)
		return -errno;
	h->dirty = true;
	return (int)n;
}

/* Read the drop behind h and make it a job (see "writers" above). */
static int drop_convert(struct fs_handle *h)
{
	struct drop_state *ds = state_of(h);
	enum job_kind kind = ds->kind;
	struct stat a, b;
	if (fstat(h->fd, &a) < 0 || a.st_size == 0)
		return 0;
	if (!ds->private_file) {
		/* Is the name still ours? (the file may have been renamed or removed) */
		char *path = real_path(kind, h->rest);
		bool same = lstat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
		free(path);
		if (!same)
			return 0;
	}
	char *data = NULL;
	size_t len = 0;
	int r = slurp(h->fd, NULL, &data, &len);
	if (r < 0)
		return r;
	h->dirty = false;
	r = convert(kind, h->rest, data, len, !ds->private_file);
	free(data);
	close(h->fd);
	h->fd = -1;
	h->tag = TAG_CONVERTED;
	return r;
}

static int flush_k(struct fs_handle *h)
{
	if (h->tag == TAG_REFUSED)
		return -EFBIG;
	if (h->tag != TAG_FILE || !h->dirty || h->fd < 0 || !is_drop_name(h->rest))
		return 0;
	struct drop_state *ds = state_of(h);
	/* A child that inherited the descriptor is done; the opener still holds it. */
	pid_t pid = caller_pid();
	if (ds->opener > 0 && pid != ds->opener && process_alive(ds->opener))
		return 0;
	/* The opener's close (or, once the opener is gone, anyone's) ends the drop.
	 * The kernel does not say whether other descriptors remain: a background
	 * child the opener did not wait for ("( (sleep 1; echo b) & ) > x") writes
	 * too late and gets EBADF; the README says to wait for it. */
	return drop_convert(h);
}

/* The last reference is gone: a drop nobody closed with content converts now
 * (nobody hears an error; the job's status and error say it). */
static void release_k(struct fs_handle *h)
{
	if (h->tag == TAG_FILE && h->dirty && h->fd >= 0 && is_drop_name(h->rest))
		drop_convert(h);
	state_free(h);
}

static int read_k(struct fs_handle *h, char *buf, size_t size, off_t off)
{
	if (h->tag == TAG_JOBFILE && off == 0) {
		/* a monitor re-reading from the start sees the current value */
		enum job_kind kind = kind_of(h);
		const char *file;
		char *name = split_rest(h->rest, &file);
		char *data = NULL;
		size_t len = 0;
		if (file && model_job_file(kind, name, file, &data, &len) == 0) {
			h->data.len = 0;
			buf_add(&h->data, data, len);
		}
		free(data);
		free(name);
	}
	if (h->fd >= 0) {
		ssize_t n = pread(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	return fs_read_mem(h->data.data, h->data.len, buf, size, off);
}

static int fsync_k(struct fs_handle *h, int datasync)
{
	if (h->fd < 0)
		return 0;
	return (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
}

static int truncate_k(enum job_kind kind, const char *rest, off_t size, struct fs_handle *h)
{
	if (is_drop_name(rest) && size > 0 &&
	    (size_t)size > prompt_drop_max(rest, kind == JOB_CHARACTER))
		return -EFBIG;
	if (h && h->tag == TAG_FILE && h->fd >= 0) {
		if (ftruncate(h->fd, size) < 0)
			return -errno;
		h->dirty = true;
		return 0;
	}
	if (strchr(rest, '/') || model_job_exists(kind, rest))
		return -EACCES;
	char *path = real_path(kind, rest);
	int r = truncate(path, size) < 0 ? -errno : 0;
	free(path);
	if (r == -ENOENT && ghost_exists(kind, rest))
		r = 0;
	return r;
}

/* Time, mode and owner changes: real files get them, ghosts and jobs ignore
 * them (file managers and cp -p set them right after writing). */
static int attr_k(enum job_kind kind, const char *rest, int (*apply)(const char *, const void *),
		  const void *arg, int job_answer)
{
	const char *file;
	char *name = split_rest(rest, &file);
	int r;
	if (model_job_exists(kind, name)) {
		r = job_answer;
	} else if (file) {
		r = -ENOENT;
	} else {
		char *path = real_path(kind, name);
		r = apply(path, arg);
		free(path);
		if (r == -ENOENT && ghost_exists(kind, name))
			r = 0;
	}
	free(name);
	return r;
}

static int unlink_k(enum job_kind kind, const char *rest)
{
	const char *file;
	char *name = split_rest(rest, &file);
	int r;
	if (file) {
		/* rm -r removes the files first: let it, the rmdir forgets the job */
		r = model_job_exists(kind, name) ? 0 : -ENOENT;
	} else if (model_job_exists(kind, name)) {
		r = -EISDIR;
	} else {
		char *path = real_path(kind, name);
		r = unlink(path) < 0 ? -errno : 0;
		free(path);
		if (r == -ENOENT && ghost_exists(kind, name)) {
			ghost_remove(kind, name);
			r = 0;
		}
	}
	free(name);
	return r;
}

static int rmdir_k(enum job_kind kind, const char *rest)
{
	if (strchr(rest, '/'))
		return -ENOTDIR;
	int r = model_job_forget(kind, rest);
	if (r == -ENOENT) {
		char *path = real_path(kind, rest);
		struct stat sb;
		if (lstat(path, &sb) == 0)
			r = -ENOTDIR;
		free(path);
	}
	return r;
}

static int rename_k(enum job_kind kind, const char *from, const char *to, unsigned int flags)
{
	if (strchr(from, '/') || strchr(to, '/'))
		return -EACCES;
	if (strlen(to) > 255)
		return -ENAMETOOLONG;
	if (!name_valid(to))
		return -EINVAL;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (model_job_exists(kind, from)) {
		/* a job under a scratch name would vanish from view and its video
		 * would get a hidden name */
		if (!is_drop_name(to))
			return -EPERM;
		char *p = real_path(kind, to);
		struct stat sb;
		bool file_there = lstat(p, &sb) == 0;
		free(p);
		if (file_there)
			return -ENOTDIR;
		return model_job_rename(kind, from, to);
	}
	if (model_job_exists(kind, to))
		return -EISDIR;
	char *a = real_path(kind, from), *b = real_path(kind, to);
	int r = renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) < 0 ? -errno : 0;
	if (r == 0)
		seen_transfer(kind, from, to); /* the kernel moves its entry along */
	free(a);
	if (r == 0) {
		ghost_remove(kind, to);
		struct stat sb;
		/* an editor or rsync finished the file and moved it into place */
		if (is_drop_name(to) && lstat(b, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) {
			char *data = NULL;
			size_t len = 0;
			if (slurp(-1, b, &data, &len) == 0)
				convert(kind, to, data, len, true); /* a bad drop fails as a job, the rename stands */
			free(data);
		}
	}
	free(b);
	return r;
}

static int readlink_k(enum job_kind kind, const char *rest, char *buf, size_t size)
{
	const char *file;
	char *name = split_rest(rest, &file);
	int r = -EINVAL;
	if (file && strcmp(file, "video") == 0) {
		char *data = NULL;
		size_t len = 0;
		r = model_job_file(kind, name, file, &data, &len);
		if (r == 0) {
			size_t n = len < size - 1 ? len : size - 1;
			memcpy(buf, data, n);
			buf[n] = '\0';
		}
		free(data);
	}
	free(name);
	return r;
}

/* --- extended attributes -----------------------------------------------------
 *
 * Scratch files are real files and keep every attribute they are given (rsync
 * -X, cp -a, --preserve=xattr, setfacl: what is set reads back, what a copy
 * lists it can read). jobs/ itself keeps the scratch folder's user.* ones. The
 * job directories and their files have none. security.* and system.* (no
 * SELinux label, no ACL) answer ENOTSUP on jobs/ itself and inside a job
 * directory by name, before any lookup, and on a job directory after one hash
 * lookup (see fs_xattr_foreign: ls -l jobs/ then asks twice for the whole
 * mount, not twice per job). Other names of a job's answer ENODATA; changes
 * ENOTSUP.
 */
enum xa_target { XA_NONE, XA_GHOST, XA_REAL };

/* Where REST's attributes live: XA_REAL with *path (a scratch file, or the
 * scratch folder for jobs/), XA_GHOST (a name that just became a job: quietly
 * nothing) or XA_NONE (a job directory or a job file). */
static enum xa_target xattr_target(enum job_kind kind, const char *rest, char **path)
{
	*path = NULL;
	if (strchr(rest, '/') || (*rest && model_job_exists(kind, rest)))
		return XA_NONE;
	if (ghost_exists(kind, rest))
		return XA_GHOST;
	*path = real_path(kind, rest);
	return XA_REAL;
}

/* jobs/ itself or a job's file, and security.* or system.*: by name alone */
static bool foreign_here(const char *rest, const char *attr)
{
	return fs_xattr_foreign(attr) && (!*rest || strchr(rest, '/'));
}

static int getxattr_k(enum job_kind kind, const char *rest, const char *attr, char *v, size_t size)
{
	if (foreign_here(rest, attr))
		return -ENOTSUP;
	char *path;
	enum xa_target t = xattr_target(kind, rest, &path);
	if (t != XA_REAL)
		return t == XA_NONE && fs_xattr_foreign(attr) ? -ENOTSUP : -ENODATA;
	ssize_t n = lgetxattr(path, attr, v, size);
	free(path);
	return n < 0 ? -errno : (int)n;
}

/* The scratch folder's names, without security.* and system.* (jobs/ itself). */
static int list_user_names(const char *path, char *list, size_t size)
{
	ssize_t n = llistxattr(path, NULL, 0);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	char *all = xmalloc((size_t)n);
	n = llistxattr(path, all, (size_t)n);
	int r = n < 0 ? -errno : 0;
	buf_t b;
	buf_init(&b);
	for (ssize_t i = 0; r == 0 && i < n; i += (ssize_t)strlen(all + i) + 1)
		if (!fs_xattr_foreign(all + i))
			buf_add(&b, all + i, strlen(all + i) + 1);
	if (r == 0)
		r = fs_xattr_reply(b.data ? b.data : "", b.len, list, size);
	buf_free(&b);
	free(all);
	return r;
}

static int listxattr_k(enum job_kind kind, const char *rest, char *list, size_t size)
{
	char *path;
	if (xattr_target(kind, rest, &path) != XA_REAL)
		return 0;
	ssize_t n = *rest ? llistxattr(path, list, size) : list_user_names(path, list, size);
	int r = n < 0 && *rest ? -errno : (int)n;
	free(path);
	return r;
}

static int setxattr_k(enum job_kind kind, const char *rest, const char *attr, const char *v,
		      size_t size, int flags)
{
	if (foreign_here(rest, attr))
		return -ENOTSUP;
	char *path;
	enum xa_target t = xattr_target(kind, rest, &path);
	if (t != XA_REAL)
		return t == XA_GHOST ? 0 : -ENOTSUP;
	int r = lsetxattr(path, attr, v, size, flags) < 0 ? -errno : 0;
	free(path);
	return r;
}

static int removexattr_k(enum job_kind kind, const char *rest, const char *attr)
{
	if (foreign_here(rest, attr))
		return -ENOTSUP;
	char *path;
	enum xa_target t = xattr_target(kind, rest, &path);
	if (t != XA_REAL)
		return t == XA_GHOST ? 0 : -ENOTSUP;
	int r = lremovexattr(path, attr) < 0 ? -errno : 0;
	free(path);
	return r;
}

static int mkdir_k(enum job_kind kind, const char *rest, mode_t mode)
{
	(void)kind;
	(void)rest;
	(void)mode;
	return -EACCES; /* a job directory is made by dropping a file */
}

/* Two trees, one implementation: wrappers fix the kind. */
#define KIND_TREE(prefix, KIND)                                                              \
	static int prefix##_getattr(const char *r, struct stat *st) { return getattr_k(KIND, r, st); } \
	static int prefix##_readdir(const char *r, void *b, fuse_fill_dir_t f)                 \
	{ return readdir_k(KIND, r, b, f); }                                                   \
	static void *prefix##_opendir(const char *r) { return opendir_k(KIND, r); }           \
	static int prefix##_open(const char *r, struct fuse_file_info *fi, struct fs_handle *h) \
	{ return open_k(KIND, r, fi, h); }                                                     \
	static int prefix##_create(const char *r, mode_t m, struct fuse_file_info *fi,         \
				   struct fs_handle *h)                                        \
	{ return create_k(KIND, r, m, fi, h); }                                                \
	static int prefix##_truncate(const char *r, off_t s, struct fs_handle *h)              \
	{ return truncate_k(KIND, r, s, h); }                                                  \
	static int prefix##_utimens(const char *r, const struct timespec tv[2])                \
	{ return attr_k(KIND, r, fs_path_utimens, tv, 0); }                                      \
	static int prefix##_chmod(const char *r, mode_t m)                                     \
	{ return attr_k(KIND, r, fs_path_chmod, &m, 0); }                                   \
	static int prefix##_chown(const char *r, uid_t u, gid_t g)                             \
	{ struct fs_owner o = { u, g }; return attr_k(KIND, r, fs_path_chown, &o, 0); }        \
	static int prefix##_unlink(const char *r) { return unlink_k(KIND, r); }               \
	static int prefix##_mkdir(const char *r, mode_t m) { return mkdir_k(KIND, r, m); }    \
	static int prefix##_rmdir(const char *r) { return rmdir_k(KIND, r); }                 \
	static int prefix##_rename(const char *a, const char *b, unsigned int f)               \
	{ return rename_k(KIND, a, b, f); }                                                    \
	static int prefix##_readlink(const char *r, char *b, size_t s)                         \
	{ return readlink_k(KIND, r, b, s); }                                                  \
	static int prefix##_getxattr(const char *r, const char *n, char *v, size_t s)          \
	{ return getxattr_k(KIND, r, n, v, s); }                                               \
	static int prefix##_listxattr(const char *r, char *l, size_t s)                        \
	{ return listxattr_k(KIND, r, l, s); }                                                 \
	static int prefix##_setxattr(const char *r, const char *n, const char *v, size_t s, int f) \
	{ return setxattr_k(KIND, r, n, v, s, f); }                                            \
	static int prefix##_removexattr(const char *r, const char *n)                          \
	{ return removexattr_k(KIND, r, n); }                                                  \
	const struct fs_subtree fs_##prefix##_tree = {                                         \
		.getattr = prefix##_getattr, .readdir = prefix##_readdir,                      \
		.opendir = prefix##_opendir, .readdir_at = jdir_readdir_at,                    \
		.closedir = jdir_closedir,                                                     \
		.open = prefix##_open, .create = prefix##_create, .read = read_k, .write = write_k,           \
		.flush = flush_k, .release = release_k, .fsync = fsync_k, .truncate = prefix##_truncate,            \
		.utimens = prefix##_utimens, .chmod = prefix##_chmod, .chown = prefix##_chown, \
		.unlink = prefix##_unlink, .mkdir = prefix##_mkdir, .rmdir = prefix##_rmdir,  \
		.rename = prefix##_rename, .readlink = prefix##_readlink,                      \
		.getxattr = prefix##_getxattr, .listxattr = prefix##_listxattr,               \
		.setxattr = prefix##_setxattr, .removexattr = prefix##_removexattr,           \
	};

KIND_TREE(jobs, JOB_VIDEO)
KIND_TREE(characters, JOB_CHARACTER)
