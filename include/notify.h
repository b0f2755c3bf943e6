/* notify.h - tell watchers of the mount about changes the daemon makes.
 *
 * The kernel raises inotify events only for operations that pass through the
 * VFS, so the daemon (its announcer thread, through a helper process it forks)
 * performs each change that watchers should see as an ordinary operation on the
 * mount: mkdir of a new job
 * directory, unlink of the dropped file, open-for-write + close of a status file
 * that changed, creation of a video. The handlers (fs.c) recognise its requests
 * by the caller's pid (the helper's) and apply them as no-ops, so nothing a user sees
 * changes because of it. Changes are collected for NOTIFY_DELAY seconds and
 * compared with what was announced before, so a burst of progress ticks gives
 * one event per file per period.
 *
 *   engine/model change hook -> notify_changed("/jobs/owl/status")
 *   announcer, 0.15 s later  -> open("MNT/jobs/owl/status", O_WRONLY); close()
 *   inotifywait              -> jobs/owl/ CLOSE_WRITE,CLOSE status
 *
 * It also answers poll(2) on status, progress and error (sysfs style).
 */
#ifndef SORA2FS_NOTIFY_H
#define SORA2FS_NOTIFY_H

#include <fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define NOTIFY_DELAY 0.15

/* Start the announcer for the mount at mountpoint (absolute). 0 or -errno. */
int notify_start(const char *mountpoint);
/* Stop it (after the mount is gone: a request in flight then fails at once)
 * and release pending poll handles. */
void notify_stop(void);

/* A mount path whose content changed (the model's change hook): announced to
 * inotify watchers. Any thread. */
void notify_changed(const char *path);
/* The kernel was told that path changed (its caches invalidated): wake its
 * poll(2) waiters. The engine's thread, after notify_changed(path). */
void notify_invalidated(const char *path);
/* Whether a change of path still waits for notify_invalidated (the engine's
 * queue; NULL: none). Until then notify_poll does not call it changed: a
 * reader served by the page cache would read the old value. */
void notify_set_pending_check(bool (*pending)(const char *path));
/* An outside program changed what path shows: announce it as modified. */
void notify_modified(const char *path);

/* --- for fs.c ------------------------------------------------------------ */
/* Is the current FUSE request the announcer's own? */
bool notify_own_request(void);
/* getattr for the announcer: 1 = answer as usual; else 0 (st filled: a name
 * about to be announced as removed) or -ENOENT (about to be announced as new). */
int notify_own_getattr(const char *path, struct stat *st);
/* The announcer's operation on path arrived: apply it as a no-op (fs.c answers
 * 0); from now on path is answered as usual. */
void notify_own_done(const char *path);
/* A user's operation succeeded: created (or renamed to) / removed (or renamed
 * from) path. The announcer does not announce it a second time. */
void notify_user_op(const char *path, bool removed);

/* poll(2): owner = the open handle, seen = what its reader last read. Sets
 * *revents; registers ph (taking it) to be woken when path changes. */
void notify_poll(const char *path, const void *owner, const char *seen, size_t seen_len,
		 struct fuse_pollhandle *ph, unsigned *revents);
/* The handle is closed: drop its poll registration. */
void notify_poll_forget(const void *owner);

#endif
