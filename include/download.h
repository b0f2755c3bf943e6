/* download.h - a video reaches downloads/ complete and checked, or not at all.
 *
 *   download_open(dir, "cat.mp4", &d)     -> dir/.sora2fs-PID-N.part
 *   … bytes written to d.fd …
 *   download_commit(&d, length, false)    -> checked, fsynced, renamed to dir/cat.mp4
 */
#ifndef SORA2FS_DOWNLOAD_H
#define SORA2FS_DOWNLOAD_H

#include <stdbool.h>
#include <sys/types.h>

struct download {
	int fd;
	char *dir;
	char *tmp;    /* dir/.sora2fs-PID-N.part */
	char *name;   /* final file name */
	int replaced_fd; /* the video a replacing commit put aside, or -1 */
};

/* Create the hidden temporary file. 0 or -errno. */
int download_open(const char *dir, const char *name, struct download *d);
/* Check (expected length when >= 0, MP4 structure), fsync, rename into place.
 * replace: an existing file of that name is replaced atomically; otherwise
 * -EEXIST leaves the temp file for another try with download_rename_to().
 * Other failures: -EBADMSG with *err, temp file removed. */
int download_commit(struct download *d, off_t expected, bool replace, char **err);
/* The same in steps, for many videos at once (engine.c): check all and
 * start their writeback (download_check), fsync each (download_sync: one
 * journal commit for all of them), rename each without the folder's fsync
 * (download_place), then download_sync_dir once. Each step fails like
 * download_commit, with the temp file removed (but -EEXIST). */
int download_check(struct download *d, off_t expected, char **err);
int download_sync(struct download *d, char **err);
int download_place(struct download *d, bool replace, char **err);
int download_sync_dir(const char *dir);
/* After a commit that replaced a video: let the old one go. Freeing a big
 * file's blocks and pages takes a while (0.26 s for 1 GiB), so the commit only
 * holds it open and the caller calls this once the new video is shown. */
void download_drop_replaced(struct download *d);
/* After -EEXIST: try again under another name (no new check). */
int download_rename_to(struct download *d, const char *name);
/* Give up: close and remove the temp file. */
void download_abort(struct download *d);

#endif
