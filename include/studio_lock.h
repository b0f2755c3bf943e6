/* studio_lock.h - one sora2fs per studio: a lock on STUDIO_DIR/data held for the
 * mount's life.
 *
 *   $ sora2fs ~/studio ~/sora
 *   $ sora2fs ~/studio /mnt/other
 *   sora2fs: error: /home/me/studio is already mounted by sora2fs (PID 4242,
 *   on /home/me/sora); unmount it first: fusermount3 -u /home/me/sora
 *
 * The lock is flock(2) on data/.sora2fs.lock: it belongs to the open file, so it
 * survives fuse_daemonize()'s fork, and the kernel drops it when the daemon dies
 * (kill -9 included), so a stale file never blocks a remount.
 */
#ifndef SORA2FS_STUDIO_LOCK_H
#define SORA2FS_STUDIO_LOCK_H

/* Take the lock for studio_dir (data/ is created if missing) and record the PID
 * and mountpoint in it. 0, or -errno with *err saying why in words (-EBUSY: the
 * studio is in use by another mount). */
int studio_lock_take(const char *studio_dir, const char *mountpoint, char **err);
/* Record the current PID again (after daemonizing). */
void studio_lock_update_pid(void);
/* Drop the lock (at exit). */
void studio_lock_release(void);

#endif
