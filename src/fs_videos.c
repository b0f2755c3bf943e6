/* fs_videos.c - videos/: the downloaded videos, passed through to the downloads
 * folder (STUDIO_DIR/downloads or -o downloads=DIR).
 *
 *   $ ls -l videos/
 *   -rw-r--r-- 1 me me 2345678 Jun  1 12:00 cat.mp4
 *   $ getfattr -d videos/cat.mp4
 *   user.sora2.task_id="f44bcf50-…"
 *   user.xdg.comment="a cat on a piano"
 *   user.xdg.origin.url="https://…/cat.mp4"
 *   $ mv videos/cat.mp4 videos/piano-cat.mp4     (history.json follows)
 *   $ rm videos/piano-cat.mp4                    (so does this)
 *
 * Only finished videos are shown: "*.mp4" regular files whose names do not start
 * with '.', so a download in progress (".cat.mp4.part") never appears. Videos are
 * never written through the mount; a file is replaced only by an atomic rename.
 */
#include "fs.h"
#include "log.h"
#include "model.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A name videos/ shows: "X.mp4", not hidden, no slash. */
static bool video_name_ok(const char *name)
{
	return *name && name[0] != '.' && !strchr(name, '/') && str_has_suffix(name, ".mp4") &&
	       strlen(name) > 4;
}

static char *real_path(const char *name)
{
	return xasprintf("%s/%s", model_downloads_dir(), name);
}

/* lstat of a shown video: 0, or -ENOENT for names videos/ does not show. */
static int video_lstat(const char *name, struct stat *real)
{
	if (!video_name_ok(name))
		return -ENOENT;
	char *path = real_path(name);
	int r = lstat(path, real) < 0 ? -errno : 0;
	free(path);
	if (r == 0 && !S_ISREG(real->st_mode))
		r = -ENOENT;
	return r;
}

/* Owner and link count as every other file of the mount; the rest is real. */
static void video_stat(const struct stat *real, struct stat *st)
{
	fs_stat_file(st, real->st_mode & 07777, real->st_size, 0);
	st->st_blocks = real->st_blocks;
	st->st_blksize = real->st_blksize;
	st->st_atim = real->st_atim;
	st->st_mtim = real->st_mtim;
	st->st_ctim = real->st_ctim;
}

static int vid_getattr(const char *rest, struct stat *st)
{
	if (!*rest) {
		fs_stat_dir(st, 0);
		return 0;
	}
	struct stat real;
	int r = video_lstat(rest, &real);
	if (r < 0)
		return r;
	video_stat(&real, st);
	return 0;
}

static int vid_readdir(const char *rest, void *buf, fuse_fill_dir_t filler)
{
	if (*rest)
		return video_name_ok(rest) ? -ENOTDIR : -ENOENT;
	DIR *d = opendir(model_downloads_dir());
	if (!d) {
		if (errno != ENOENT)
			return -errno;
		/* not created yet: empty */
		filler(buf, ".", NULL, 0, 0);
		filler(buf, "..", NULL, 0, 0);
		return 0;
	}
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	int dfd = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!video_name_ok(de->d_name))
			continue;
		if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG)
			continue;
		/* Attributes go with the listing (readdirplus): ls -l then needs no
		 * lookup per video. */
		struct stat real, st;
		if (fstatat(dfd, de->d_name, &real, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(real.st_mode))
			continue;
		video_stat(&real, &st);
		if (filler(buf, de->d_name, &st, 0, FUSE_FILL_DIR_PLUS))
			break;
	}
	closedir(d);
	return 0;
}

struct vdir {
	DIR *d;
	off_t next;           /* offset the kernel will ask for next */
	struct dirent *held;  /* an entry the last reply had no room for */
};

/* videos/ is listed through an open directory of the downloads folder, its
 * entries' own offsets passed on (NULL: not there yet, list it the plain way). */
static void *vid_opendir(const char *rest)
{
	if (*rest)
		return NULL;
	DIR *d = opendir(model_downloads_dir());
	if (!d)
		return NULL;
	struct vdir *v = xcalloc(1, sizeof *v);
	v->d = d;
	return v;
}

static void vid_closedir(void *dir)
{
	struct vdir *v = dir;
	if (!v)
		return;
	closedir(v->d);
	free(v);
}

/* One reply's worth from offset OFF: each entry carries the offset of the one
 * after it (d_off), so the kernel's next request says where to go on. The
 * entry that did not fit is kept for that request (no seekdir, no second
 * getdents of the same block). */
static int vid_readdir_at(void *dir, off_t off, void *buf, fuse_fill_dir_t filler)
{
	struct vdir *v = dir;
	if (!v->held || off != v->next) {
		v->held = NULL;
		if (off == 0)
			rewinddir(v->d);
		else
			seekdir(v->d, off);
	}
	for (;;) {
		struct dirent *de = v->held;
		v->held = NULL;
		if (!de) {
			errno = 0;
			de = readdir(v->d);
			if (!de)
				return errno ? -errno : 0;
		}
		bool dots = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
		struct stat real, st;
		if (!dots) {
			if (!video_name_ok(de->d_name))
				continue;
			if (de->d_type != DT_UNKNOWN && de->d_type != DT_REG)
				continue;
			if (fstatat(dirfd(v->d), de->d_name, &real, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(real.st_mode))
				continue;
			video_stat(&real, &st);
		}
		if (filler(buf, de->d_name, dots ? NULL : &st, de->d_off,
			   dots ? 0 : FUSE_FILL_DIR_PLUS)) {
			v->held = de; /* valid until the next readdir() */
			v->next = off;
			return 0;
		}
		off = de->d_off;
	}
}

static int vid_open(const char *rest, struct fuse_file_info *fi, struct fs_handle *h)
{
	if (!*rest)
		return -EISDIR;
	struct stat real;
	int r = video_lstat(rest, &real);
	if (r < 0)
		return r;
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EACCES;
	char *path = real_path(rest);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	r = fd < 0 ? -errno : 0;
	free(path);
	if (r < 0)
		return r;
	h->fd = fd;
	/* Videos change only by an atomic rename, so the page cache stays valid. */
	fi->keep_cache = 1;
	return 0;
}

static int vid_create(const char *rest, mode_t mode, struct fuse_file_info *fi,
		      struct fs_handle *h)
{
	return -EACCES; /* videos come from downloads only */
}

static int vid_mkdir(const char *rest, mode_t mode)
{
	return -EACCES;
}

static int vid_unlink(const char *rest)
{
	struct stat real;
	int r = video_lstat(rest, &real);
	if (r < 0)
		return r;
	char *path = real_path(rest);
	r = unlink(path) < 0 ? -errno : 0;
	free(path);
	if (r < 0)
		return r;
	model_video_deleted(rest);
	return 0;
}

static int vid_rename(const char *from, const char *to, unsigned int flags)
{
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE would swap two histories */
	struct stat real;
	int r = video_lstat(from, &real);
	if (r < 0)
		return r;
	if (!video_name_ok(to))
		return -EINVAL;
	if (strcmp(from, to) == 0)
		return 0;
	char *a = real_path(from), *b = real_path(to);
	struct stat old;
	bool replaced = lstat(b, &old) == 0;
	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) < 0) {
		r = -errno;
		if (r == -EINVAL && flags) {
			/* The downloads folder's filesystem lacks RENAME_NOREPLACE. */
			if (replaced)
				r = -EEXIST;
			else
				r = rename(a, b) < 0 ? -errno : 0;
		}
	}
	free(a);
	free(b);
	if (r < 0)
		return r;
	if (replaced)
		model_video_deleted(to);
	model_video_renamed(from, to);
	return 0;
}

/* Time, mode and owner changes go to the real file (touch, chmod on a video). */
static int on_real_video(const char *rest, int (*apply)(const char *, const void *),
			 const void *arg)
{
	if (!*rest)
		return 0;
	struct stat real;
	int r = video_lstat(rest, &real);
	if (r < 0)
		return r;
	char *path = real_path(rest);
	r = apply(path, arg);
	free(path);
	return r;
}

static int vid_utimens(const char *rest, const struct timespec tv[2])
{
	return on_real_video(rest, fs_path_utimens, tv);
}

static int vid_chmod(const char *rest, mode_t mode)
{
	return on_real_video(rest, fs_path_chmod, &mode);
}

static int vid_chown(const char *rest, uid_t uid, gid_t gid)
{
	struct fs_owner o = { uid, gid };
	return on_real_video(rest, fs_path_chown, &o);
}

/* --- extended attributes ------------------------------------------------------ */

enum { XA_COMMENT, XA_ORIGIN, XA_TASK_ID, XA_PID, XA_COUNT };
static const char *const xattr_names[XA_COUNT] = {
	[XA_COMMENT] = "user.xdg.comment",
	[XA_ORIGIN] = "user.xdg.origin.url",
	[XA_TASK_ID] = "user.sora2.task_id",
	[XA_PID] = "user.sora2.pid",
};

static const char *xattr_value(const struct video_info *vi, int which)
{
	const char *v = NULL;
	switch (which) {
	case XA_COMMENT: v = vi->prompt; break;
	case XA_ORIGIN: v = vi->url; break;
	case XA_TASK_ID: v = vi->task_id; break;
	case XA_PID: v = vi->pid; break;
	}
	return v && *v ? v : NULL;
}

/* What the model knows about a shown video; an unknown video has no attributes. */
static int video_info(const char *rest, struct video_info *vi)
{
	memset(vi, 0, sizeof *vi);
	if (!*rest)
		return 0;
	struct stat real;
	int r = video_lstat(rest, &real);
	if (r < 0)
		return r;
	if (model_video_info(rest, vi) < 0)
		memset(vi, 0, sizeof *vi);
	return 0;
}

/* Which of our attributes a name is, or -1. Checked before any lookup: ls -l
 * asks for security.selinux and system.posix_acl_access on every file, and
 * those must cost nothing (no lstat, no history or job lookup). */
static int xattr_which(const char *name)
{
	if (strncmp(name, "user.", 5) != 0)
		return -1;
	for (int i = 0; i < XA_COUNT; i++)
		if (strcmp(name, xattr_names[i]) == 0)
			return i;
	return -1;
}

static int vid_getxattr(const char *rest, const char *name, char *value, size_t size)
{
	int which = xattr_which(name);
	if (which < 0) {
		/* Not ours: no such attribute, without touching the file or the model
		 * (a name videos/ does not show still says ENOENT). */
		if (*rest && !video_name_ok(rest))
			return -ENOENT;
		/* No SELinux label and no POSIX ACL here (setxattr says ENOTSUP):
		 * "not supported" rather than "absent" makes ls -l stop asking for
		 * the rest of the mount (coreutils caches it per st_dev), where
		 * ENODATA costs two FUSE round trips per file, the kernel caching
		 * neither. */
		if (strncmp(name, "security.", 9) == 0 || strncmp(name, "system.", 7) == 0)
			return -ENOTSUP;
		return -ENODATA;
	}
	struct video_info vi;
	int r = video_info(rest, &vi);
	if (r < 0)
		return r;
	const char *v = xattr_value(&vi, which);
	r = v ? fs_xattr_reply(v, strlen(v), value, size) : -ENODATA;
	video_info_free(&vi);
	return r;
}

static int vid_listxattr(const char *rest, char *list, size_t size)
{
	struct video_info vi;
	int r = video_info(rest, &vi);
	if (r < 0)
		return r;
	buf_t b;
	buf_init(&b);
	for (int i = 0; i < XA_COUNT; i++)
		if (xattr_value(&vi, i))
			buf_add(&b, xattr_names[i], strlen(xattr_names[i]) + 1);
	r = fs_xattr_reply(b.data ? b.data : "", b.len, list, size);
	buf_free(&b);
	video_info_free(&vi);
	return r;
}

static int vid_setxattr(const char *rest, const char *name, const char *value, size_t size,
			int flags)
{
	return -ENOTSUP;
}

static int vid_removexattr(const char *rest, const char *name)
{
	return -ENOTSUP;
}

const struct fs_subtree fs_videos_tree = {
	.getattr = vid_getattr,
	.readdir = vid_readdir,
	.opendir = vid_opendir,
	.readdir_at = vid_readdir_at,
	.closedir = vid_closedir,
	.open = vid_open,
	.create = vid_create,
	.mkdir = vid_mkdir,
	.unlink = vid_unlink,
	.rename = vid_rename,
	.utimens = vid_utimens,
	.chmod = vid_chmod,
	.chown = vid_chown,
	.getxattr = vid_getxattr,
	.listxattr = vid_listxattr,
	.setxattr = vid_setxattr,
	.removexattr = vid_removexattr,
};
