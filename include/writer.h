/* writer.h - the writer thread: files under data/ written outside every lock.
 *
 * The model serialises what must be saved while it holds its lock (a copy),
 * hands the text here and lets go; one thread writes it, atomically (temp file,
 * fsync, rename, directory fsync) and in the order it was queued. Everything
 * queued at one moment is one group commit: all temp files written and synced,
 * then renamed in order, then each directory synced once.
 *
 *   writer_save(path, text, len, 0600, true, saved_cb, ctx);   // returns at once
 *   ...writer thread: saved_cb(0 or -errno, ctx), no lock held
 *
 * A newer save of a path replaces a queued one that has not started (its
 * callback gets the newer write's result); it moves to the end of the queue, so
 * the last versions of all files reach the disk in the order they were queued.
 * Saves queued before writer_start() wait for the thread (which does not
 * survive fuse_daemonize's fork); writer_stop() without a thread writes them in
 * the caller.
 */
#ifndef SORA2FS_WRITER_H
#define SORA2FS_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef void (*writer_done_fn)(int rc, void *ctx);

int writer_start(void);
/* Write everything queued, then stop the thread. */
void writer_stop(void);
/* Queue an atomic write of path; takes data (malloc'd). sync: durable (fsync).
 * done (may be NULL) runs on the writer thread with 0 or -errno. */
void writer_save(const char *path, char *data, size_t len, mode_t mode, bool sync,
		 writer_done_fn done, void *ctx);
/* The same for a big file whose text takes a while to produce: obj (taken,
 * freed with obj_free) is rendered to text by render on the writer thread,
 * outside every lock (the Web Studio's lists and history, with thousands of
 * entries, were printed under the model's lock). render returns malloc'd text
 * or NULL (-ENOMEM to done). */
void writer_save_render(const char *path, void *obj, char *(*render)(const void *obj, size_t *len),
			void (*obj_free)(void *obj), mode_t mode, bool sync,
			writer_done_fn done, void *ctx);
/* Saves this thread queues while on are written before everything else
 * queued (renamed first in the next group; a short rest of the queue joins
 * that group after them, a long one waits for the group after): for a
 * writer waiting on them, such as a drop's close. Only for files nothing
 * else queued must precede (a new job's own records). */
void writer_urgent(bool on);
/* Queue the removal of path (in order with the saves). */
void writer_unlink(const char *path);
/* Wait until everything queued before this call is on disk. */
void writer_flush(void);
/* Wait for one queued write: pass writer_wait_done and &w as its callback. */
struct writer_wait {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool done;
	int rc;
};
void writer_wait_init(struct writer_wait *w);
void writer_wait_done(int rc, void *ctx);
int writer_wait(struct writer_wait *w);   /* the result; destroys w */

/* Called on the writer thread right after each file is renamed into place
 * (studio.c notes its own writes, so the outside-edit watcher can tell them). */
void writer_set_renamed_hook(void (*hook)(const char *path));

/* Writes and fsyncs done so far (for tests and the log). */
void writer_counts(unsigned long *files, unsigned long *groups);

#endif
