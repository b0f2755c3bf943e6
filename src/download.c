/* download.c - temp file, checks, rename: a partial video is never visible.
 *
 *   $ ls -a studio/downloads           while downloading
 *   .cat.mp4.part   sora_1700000000.mp4
 *   $ ls -a studio/downloads           after the check
 *   cat.mp4   sora_1700000000.mp4
 *
 * The temp file is hidden and lives in the downloads folder itself, so the final
 * rename never crosses file systems and videos/ never lists it.
 */
#include "download.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mp4.h"
#include "util.h"

int download_open(const char *dir, const char *name, struct download *d)
{
	memset(d, 0, sizeof *d);
	d->replaced_fd = -1;
	d->dir = xstrdup(dir);
	d->name = xstrdup(name);
	/* A short hidden name: NAME.mp4 may already use all 255 bytes. */
	static unsigned counter;
	d->tmp = xasprintf("%s/.sora2fs-%ld-%u.part", dir, (long)getpid(),
			   __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	d->fd = open(d->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (d->fd < 0) {
		int e = -errno;
		download_abort(d);
		return e;
	}
	return 0;
}

/* Everything but the replaced video (download_drop_replaced). */
static void release(struct download *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->dir);
	free(d->tmp);
	free(d->name);
	int replaced = d->replaced_fd;
	memset(d, 0, sizeof *d);
	d->fd = -1;
	d->replaced_fd = replaced;
}

void download_drop_replaced(struct download *d)
{
	if (d->replaced_fd >= 0)
		close(d->replaced_fd);
	d->replaced_fd = -1;
}

void download_abort(struct download *d)
{
	if (d->tmp)
		unlink(d->tmp);
	release(d);
	download_drop_replaced(d);
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int place(struct download *d, bool replace, bool dirsync)
{
	char *final = xasprintf("%s/%s", d->dir, d->name);
	int r;
	if (replace) {
		/* the rename would free the old video's blocks and pages before the
		 * new one is shown: keep it open, let it go after (a crash meanwhile
		 * leaves an orphan inode, which ext4 frees at the next mount) */
		int old = open(final, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		r = rename(d->tmp, final) < 0 ? -errno : 0;
		if (old >= 0 && r == 0 && d->replaced_fd < 0)
			d->replaced_fd = old;
		else if (old >= 0)
			close(old);
	} else {
		r = renameat2(AT_FDCWD, d->tmp, AT_FDCWD, final, RENAME_NOREPLACE) < 0 ? -errno : 0;
	}
	free(final);
	if (r == 0) {
		if (dirsync)
			sync_dir(d->dir);
		free(d->tmp);
		d->tmp = NULL;
		release(d);
	}
	return r;
}

int download_check(struct download *d, off_t expected, char **err)
{
	int r = mp4_check_fd(d->fd, expected, err);
	if (r < 0) {
		download_abort(d);
		return -EBADMSG;
	}
	/* only started here: download_sync waits */
	(void)sync_file_range(d->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

int download_sync(struct download *d, char **err)
{
	if (fsync(d->fd) < 0) {
		*err = xasprintf("cannot save the video: %s", strerror(errno));
		download_abort(d);
		return -EIO;
	}
	return 0;
}

static int place_or_abort(struct download *d, bool replace, bool dirsync, char **err)
{
	int r = place(d, replace, dirsync);
	if (r < 0 && r != -EEXIST) {
		*err = xasprintf("cannot move the video into place: %s", strerror(-r));
		download_abort(d);
	}
	return r;
}

int download_place(struct download *d, bool replace, char **err)
{
	return place_or_abort(d, replace, false, err);
}

int download_sync_dir(const char *dir)
{
	return sync_dir(dir);
}

int download_commit(struct download *d, off_t expected, bool replace, char **err)
{
	int r = download_check(d, expected, err);
	if (r == 0)
		r = download_sync(d, err);
	if (r == 0)
		r = place_or_abort(d, replace, true, err);
	return r;
}

int download_rename_to(struct download *d, const char *name)
{
	free(d->name);
	d->name = xstrdup(name);
	return place(d, false, true);
}
