/* writer.c - the writer thread: files under data/ written outside every lock.
 *
 *   model (lock held):  text = serialise(record);  writer_save(path, text, ...)
 *   writer thread:      .N.json.tmp.PID.K  write, fsync  ->  rename N.json  -> fsync dir
 *
 * See writer.h for the ordering promise. A failed write leaves the old file as
 * it was and reports -errno to the callback; the log says which file and why.
 */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "failpoint.h"
#include "log.h"
#include "util.h"

struct cb {
	writer_done_fn fn;
	void *ctx;
};

struct item {
	char *path;
	char *data;       /* NULL: unlink (or rendered from obj) */
	size_t len;
	void *obj;        /* rendered to data on the writer thread (writer_save_render) */
	char *(*render)(const void *obj, size_t *len);
	void (*obj_free)(void *obj);
	mode_t mode;
	bool sync;
	bool unlink;
	bool urgent;      /* someone (a drop's close) waits for it: next group */
	bool early;       /* urgent and new: renamed before the fsync pass */
	struct cb *cbs;
	size_t n_cbs;
	/* during a group commit */
	char *tmp;
	int fd;
	int rc;
	struct item *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;      /* queue not empty / stop */
	pthread_cond_t done;      /* a group was finished */
	pthread_t thread;
	bool running, stop;
	struct item *head, *tail;
	unsigned long queued, written; /* sequence numbers, for writer_flush */
	unsigned long files, groups;
	unsigned long n_urgent;   /* urgent items queued */
	bool urgent_last;         /* the last group took only urgent items */
	double urgent_end;        /* when the last group with urgent items was done */
	unsigned hold;            /* threads queueing urgent saves (writer_urgent) */
} w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER };

static void (*_Atomic renamed_hook)(const char *path);
static _Thread_local bool urgent_here;

/* While a thread marks its saves urgent, the writer takes no group: a drop
 * queues its request, its state and whatever its first event saves in a few
 * microseconds under the model's lock, and they must land as one group, not
 * as a group the writer happened to start with the first of them and
 * another for the rest (two journal commits for the drop's close to wait for). */
void writer_urgent(bool on)
{
	if (urgent_here == on)
		return;
	urgent_here = on;
	pthread_mutex_lock(&w.lock);
	if (on) {
		w.hold++;
	} else {
		w.hold--;
		pthread_cond_signal(&w.cond);
	}
	pthread_mutex_unlock(&w.lock);
}

/* Lock held: detach the next group. Urgent items (a drop's close waits for
 * them) go first, in the order they were queued. When the rest of the queue
 * is short (URGENT_COMPANY small items at most) it joins them in the same group,
 * after them: a group costs its journal commits more than its files, so a
 * drop then waits for one group, not for the engine's and its own; a longer
 * rest waits for the next group, which takes everything, so it never starves.
 * *all says whether the whole queue was taken. */
#define URGENT_COMPANY 8
#define COMPANY_MAX_BYTES 4096

static struct item *take_group(bool *all)
{
	struct item *list = w.head;
	*all = true;
	if (w.n_urgent > 0 && !w.urgent_last) {
		struct item *u = NULL, **ut = &u, **pp = &w.head, *prev = NULL;
		size_t rest = 0;
		while (*pp) {
			struct item *q = *pp;
			if (q->urgent) {
				*pp = q->next;
				q->next = NULL;
				*ut = q;
				ut = &q->next;
			} else {
				/* a big file (the Web Studio's lists, history) is not
				 * company: a drop's close would wait for its writing */
				rest += q->obj || q->len > COMPANY_MAX_BYTES ? URGENT_COMPANY + 1 : 1;
				prev = q;
				pp = &q->next;
			}
		}
		w.tail = prev;
		w.n_urgent = 0;
		if (rest <= URGENT_COMPANY) {
			*ut = w.head; /* the short rest, in its order, after them */
			w.head = w.tail = NULL;
			w.urgent_last = false;
		} else {
			*all = false;
			w.urgent_last = true;
		}
		return u;
	}
	w.urgent_last = false;
	w.n_urgent = 0;
	w.head = w.tail = NULL;
	return list;
}

void writer_set_renamed_hook(void (*hook)(const char *path))
{
	atomic_store(&renamed_hook, hook);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static void item_free(struct item *it)
{
	free(it->path);
	free(it->data);
	if (it->obj)
		it->obj_free(it->obj);
	free(it->cbs);
	free(it->tmp);
	free(it);
}

static void add_cb(struct item *it, writer_done_fn fn, void *ctx)
{
	if (!fn)
		return;
	it->cbs = xrealloc(it->cbs, (it->n_cbs + 1) * sizeof *it->cbs);
	it->cbs[it->n_cbs++] = (struct cb){ fn, ctx };
}

#define SYNC_SLICE 64

/* Write the temp file and start its writeback (sync); the fd stays open for
 * the fsync pass. */
static int write_tmp(struct item *it)
{
	static atomic_uint counter;
	char *dir = dir_of(it->path);
	it->tmp = xasprintf("%s/.%s.tmp.%ld.%u", dir, base_name(it->path), (long)getpid(),
			    atomic_fetch_add(&counter, 1));
	free(dir);
	if (!it->data && it->obj) {
		it->data = it->render(it->obj, &it->len);
		if (!it->data)
			return -ENOMEM;
	}
	it->fd = open(it->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, it->mode & 07777);
	if (it->fd < 0)
		return -errno;
	int rc = write_all(it->fd, it->data, it->len);
	if (rc == 0 && fchmod(it->fd, it->mode & 07777) < 0)
		rc = -errno;
	/* only a start: the fsync pass waits (see commit_group) */
	if (rc == 0 && it->sync)
		(void)sync_file_range(it->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return rc;
}

/* The fsync of a temp file written by write_tmp, and its close. */
static int sync_tmp(struct item *it)
{
	int rc = it->rc;
	if (it->fd < 0)
		return rc;
	if (rc == 0 && it->sync && fsync(it->fd) < 0)
		rc = -errno;
	if (close(it->fd) < 0 && rc == 0)
		rc = -errno;
	it->fd = -1;
	if (rc < 0)
		unlink(it->early ? it->path : it->tmp); /* an early one was new: nothing to keep */
	return rc;
}

/* The directories of the items that pass (rc 0, synced or an unlink) and
 * are picked by want (NULL: all), each once. */
static size_t group_dirs(struct item *list, bool (*want)(const struct item *), char ***dirs)
{
	size_t n = 0;
	*dirs = NULL;
	for (struct item *it = list; it; it = it->next) {
		if (it->rc != 0 || !(it->sync || it->unlink) || (want && !want(it)))
			continue;
		char *d = dir_of(it->path);
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp((*dirs)[i], d) == 0;
		if (seen) {
			free(d);
		} else {
			*dirs = xrealloc(*dirs, (n + 1) * sizeof **dirs);
			(*dirs)[n++] = d;
		}
	}
	return n;
}

/* fsync each directory once; a failure fails the synced items in it that
 * want picks. */
static void sync_dirs(struct item *list, bool (*want)(const struct item *), char **dirs,
		      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = fsync_dir(dirs[i]);
		if (r < 0) {
			log_error("cannot sync folder %s: %s", dirs[i], strerror(-r));
			for (struct item *it = list; it; it = it->next) {
				char *d = dir_of(it->path);
				if (it->rc == 0 && it->sync && (!want || want(it)) &&
				    strcmp(d, dirs[i]) == 0)
					it->rc = r;
				free(d);
			}
		}
		free(dirs[i]);
	}
	free(dirs);
}

static void rename_tmp(struct item *it)
{
	if (rename(it->tmp, it->path) < 0) {
		it->rc = -errno;
		unlink(it->tmp);
		return;
	}
	void (*hook)(const char *) = atomic_load(&renamed_hook);
	if (hook)
		hook(it->path);
	failpoint2("renamed:", base_name(it->path));
}

static void report(struct item *it)
{
	if (it->rc < 0)
		log_error("cannot %s %s: %s", it->unlink ? "delete" : "write", it->path,
			  strerror(-it->rc));
	for (size_t i = 0; i < it->n_cbs; i++)
		it->cbs[i].fn(it->rc, it->cbs[i].ctx);
	it->n_cbs = 0;
}

static bool is_early(const struct item *it)
{
	return it->early;
}

static bool is_late(const struct item *it)
{
	return !it->early;
}

/* The early items of list from..to (synced): their directories synced and
 * their waiters told. */
static void report_early(struct item *from, struct item *to)
{
	/* group_dirs/sync_dirs walk to the end of the list: cut it here */
	struct item *last = NULL;
	for (struct item *it = from; it != to; it = it->next)
		last = it;
	if (!last)
		return;
	last->next = NULL;
	char **dirs;
	size_t n = group_dirs(from, is_early, &dirs);
	if (n > 0)
		sync_dirs(from, is_early, dirs, n);
	else
		free(dirs);
	for (struct item *it = from; it; it = it->next)
		if (it->early)
			report(it);
	last->next = to;
}

/* One group: temp files, renames in order, one fsync per directory.
 *
 * Every temp file is written and its writeback started before the first
 * fsync: the filesystem then allocates them all in one journal transaction,
 * the first fsync commits it and the others find their data on disk and that
 * transaction committed (ext4: one journal commit for the group's files, not
 * one per file; 3-4 ms each on this disk). Then the renames, in order, and
 * one fsync of each directory. Nothing is renamed before every temp file of
 * the group is durable, so the order promise (writer.h) holds.
 *
 * One exception, for a drop's close: an urgent item whose file does not exist
 * yet (a new job's own records, which nothing queued must precede) is renamed
 * right after its temp file is written, so the fsync pass commits its data
 * and its name in one journal commit, its directory is synced at once and its
 * waiter told: one commit before the close returns, not two. The rename is
 * still of a whole temp file (a crash of the daemon leaves the record whole
 * or absent); a power cut before that fsync ended can leave the new name
 * with the data not yet on disk, which only a record nobody was told about
 * can be, and the loader puts a damaged record aside. */
static void commit_group(struct item *list)
{
	bool any_early = false;
	/* in slices of SYNC_SLICE files, so a big group stays within the fd limit */
	for (struct item *from = list; from;) {
		struct item *to = from;
		for (int n = 0; to && n < SYNC_SLICE; to = to->next, n++) {
			to->fd = -1;
			to->early = false;
			if (to->unlink)
				continue;
			to->rc = write_tmp(to);
			if (to->rc == 0 && to->urgent && to->sync && access(to->path, F_OK) < 0 &&
			    errno == ENOENT) {
				to->early = true;
				any_early = true;
				rename_tmp(to);
			}
		}
		/* the early ones first: their waiters are told before the others'
		 * fsyncs (which then find the journal committed) */
		for (int pass = any_early ? 0 : 1; pass < 2; pass++) {
			for (struct item *it = from; it != to; it = it->next) {
				if (it->unlink || it->early != (pass == 0))
					continue;
				it->rc = sync_tmp(it);
				if (it->rc == 0)
					failpoint2("tmp:", base_name(it->path));
			}
			if (pass == 0)
				report_early(from, to);
		}
		from = to;
	}
	char **dirs;
	size_t n_dirs;
	for (struct item *it = list; it; it = it->next) {
		if (it->unlink)
			it->rc = unlink(it->path) < 0 && errno != ENOENT ? -errno : 0;
		else if (it->rc == 0 && !it->early)
			rename_tmp(it);
	}
	n_dirs = group_dirs(list, is_late, &dirs);
	sync_dirs(list, is_late, dirs, n_dirs);
	for (struct item *it = list; it; it = it->next)
		if (!it->early)
			report(it);
}

/* Without the thread (a mount that failed to start): write what is queued
 * here, in the caller, which holds no lock. */
static void drain_inline(void)
{
	pthread_mutex_lock(&w.lock);
	struct item *list = w.head;
	w.head = w.tail = NULL;
	w.n_urgent = 0;
	w.urgent_last = false;
	pthread_mutex_unlock(&w.lock);
	if (!list)
		return;
	commit_group(list);
	while (list) {
		struct item *next = list->next;
		item_free(list);
		list = next;
	}
}

/* Lock held, the queue not empty. In a stream of drops, the engine's records
 * for one drop (its "sending" record) come just after that drop's group, and
 * the next drop just after that: written at once, they are a group of their
 * own that the next drop's close waits behind. So for LINGER seconds after a
 * group with urgent items, items that are not urgent wait for the next
 * urgent one and join its group (take_group): one group per drop, not two.
 * true: woken (an item, stop, or the time is up): look again. */
#define LINGER 0.002

static bool linger_for_urgent(void)
{
	if (w.n_urgent > 0 || w.stop || w.urgent_end <= 0)
		return false;
	double left = w.urgent_end + LINGER - now_mono();
	if (left <= 0)
		return false;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long ns = ts.tv_nsec + (long)(left * 1e9);
	ts.tv_sec += ns / 1000000000L;
	ts.tv_nsec = ns % 1000000000L;
	unsigned long before = w.queued;
	pthread_cond_timedwait(&w.cond, &w.lock, &ts);
	if (w.queued == before && w.n_urgent == 0 && !w.stop)
		w.urgent_end = 0; /* the time is up (or a spurious wake-up): write */
	return true;
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&w.lock);
	for (;;) {
		while ((!w.head || w.hold > 0) && !w.stop)
			pthread_cond_wait(&w.cond, &w.lock);
		if (!w.head && w.stop)
			break;
		if (linger_for_urgent())
			continue;
		bool all;
		unsigned long upto = w.queued;
		struct item *list = take_group(&all);
		pthread_mutex_unlock(&w.lock);

		bool had_urgent = list && list->urgent;
		commit_group(list);
		unsigned long n = 0;
		while (list) {
			struct item *next = list->next;
			item_free(list);
			list = next;
			n++;
		}

		pthread_mutex_lock(&w.lock);
		w.files += n;
		w.groups++;
		if (had_urgent)
			w.urgent_end = now_mono();
		if (all)
			w.written = upto;
		pthread_cond_broadcast(&w.done);
	}
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

int writer_start(void)
{
	pthread_mutex_lock(&w.lock);
	if (w.running) {
		pthread_mutex_unlock(&w.lock);
		return 0;
	}
	w.stop = false;
	/* what model_init queued before the daemon forked is written first */
	int r = pthread_create(&w.thread, NULL, writer_main, NULL);
	if (r == 0)
		w.running = true;
	pthread_mutex_unlock(&w.lock);
	return -r;
}

void writer_stop(void)
{
	pthread_mutex_lock(&w.lock);
	if (!w.running) {
		pthread_mutex_unlock(&w.lock);
		drain_inline();
		return;
	}
	w.stop = true;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
	pthread_mutex_lock(&w.lock);
	w.running = false;
	w.written = w.queued;
	pthread_mutex_unlock(&w.lock);
}

static void enqueue(struct item *it, writer_done_fn done, void *ctx)
{
	pthread_mutex_lock(&w.lock);
	if (!it->unlink) {
		/* group commit: a queued, unstarted save of the same file is replaced */
		struct item **pp = &w.head, *prev = NULL;
		while (*pp) {
			struct item *q = *pp;
			if (!q->unlink && strcmp(q->path, it->path) == 0) {
				*pp = q->next;
				if (w.tail == q)
					w.tail = prev;
				for (size_t i = 0; i < q->n_cbs; i++)
					add_cb(it, q->cbs[i].fn, q->cbs[i].ctx);
				it->sync |= q->sync;
				it->urgent |= q->urgent;
				if (q->urgent)
					w.n_urgent--;
				item_free(q);
				break;
			}
			prev = q;
			pp = &q->next;
		}
	}
	add_cb(it, done, ctx);
	it->urgent |= urgent_here;
	if (it->urgent)
		w.n_urgent++;
	it->next = NULL;
	if (w.tail)
		w.tail->next = it;
	else
		w.head = it;
	w.tail = it;
	w.queued++;
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
}

void writer_save(const char *path, char *data, size_t len, mode_t mode, bool sync,
		 writer_done_fn done, void *ctx)
{
	struct item *it = xcalloc(1, sizeof *it);
	it->path = xstrdup(path);
	it->data = data;
	it->len = len;
	it->mode = mode;
	it->sync = sync;
	enqueue(it, done, ctx);
}

void writer_save_render(const char *path, void *obj, char *(*render)(const void *obj, size_t *len),
			void (*obj_free)(void *obj), mode_t mode, bool sync,
			writer_done_fn done, void *ctx)
{
	struct item *it = xcalloc(1, sizeof *it);
	it->path = xstrdup(path);
	it->obj = obj;
	it->render = render;
	it->obj_free = obj_free;
	it->mode = mode;
	it->sync = sync;
	enqueue(it, done, ctx);
}

void writer_unlink(const char *path)
{
	struct item *it = xcalloc(1, sizeof *it);
	it->path = xstrdup(path);
	it->unlink = true;
	enqueue(it, NULL, NULL);
}

void writer_flush(void)
{
	pthread_mutex_lock(&w.lock);
	unsigned long want = w.queued;
	while (w.running && w.written < want)
		pthread_cond_wait(&w.done, &w.lock);
	pthread_mutex_unlock(&w.lock);
}

void writer_counts(unsigned long *files, unsigned long *groups)
{
	pthread_mutex_lock(&w.lock);
	*files = w.files;
	*groups = w.groups;
	pthread_mutex_unlock(&w.lock);
}

void writer_wait_init(struct writer_wait *ww)
{
	pthread_mutex_init(&ww->m, NULL);
	pthread_cond_init(&ww->c, NULL);
	ww->done = false;
	ww->rc = 0;
}

void writer_wait_done(int rc, void *ctx)
{
	struct writer_wait *ww = ctx;
	pthread_mutex_lock(&ww->m);
	ww->rc = rc;
	ww->done = true;
	pthread_cond_broadcast(&ww->c);
	pthread_mutex_unlock(&ww->m);
}

int writer_wait(struct writer_wait *ww)
{
	pthread_mutex_lock(&ww->m);
	while (!ww->done)
		pthread_cond_wait(&ww->c, &ww->m);
	int rc = ww->rc;
	pthread_mutex_unlock(&ww->m);
	pthread_mutex_destroy(&ww->m);
	pthread_cond_destroy(&ww->c);
	return rc;
}
