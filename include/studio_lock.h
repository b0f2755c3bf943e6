/* studio_lock.h - one sora2fs per studio: a lock on STUDIO_DIR/data held for the
 * mount's life.
 *
 *   $ sora2fs ~/studio ~/sora
 *   $ sora2fs ~/studio /mnt/other
 *   sora2fs: error: /home/me/studio is already mounted by sora2fs (PID 4242,
 *   on /home/me/sora); unmount it first: fusermount3 -u /home/me/sora
 *
 * The lock is flock(2) on the data/ directory: it belongs to the open file, so it
 * survives fuse_daemonize()'s fork, and the kernel drops it when the daemon dies
 * (kill -9 included), so nothing stale ever blocks a remount. Who holds it is
 * written to data/sora2fs/mount for the message.
 */
#ifndef SORA2FS_STUDIO_LOCK_H
#define SORA2FS_STUDIO_LOCK_H

/* Take the lock for studio_dir (data/ is created if missing; nothing else is
 * written). 0, or -errno with *err saying why in words (-EBUSY: the studio is in
 * use by another mount, named with its PID and mountpoint when known). */
int studio_lock_take(const char *studio_dir, const char *mountpoint, char **err);
/* Write this process's PID and the mountpoint to data/sora2fs/mount (once the
 * studio is loaded, and again after daemonizing). */
void studio_lock_publish(void);
/* Drop the lock (at exit). */
void studio_lock_release(void);

#endif
