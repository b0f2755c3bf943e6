/* fs_trash.c - .Trash-UID/: the freedesktop trash of the mount, for videos.
 *
 *   $ gio trash mnt/videos/cat.mp4     (GNOME Files' Delete key)
 *   mnt/.Trash-1000/info/cat.mp4.trashinfo    written by GLib
 *   mnt/.Trash-1000/files/cat.mp4             renamed from videos/ (fs.c)
 *   $ gio trash --restore trash:///cat.mp4    renamed back, history entry too
 *   $ gio trash --empty                       deleted for good
 *
 * The Trash specification puts a mount's trash in $topdir/.Trash-$uid with
 * files/ and info/. Here it is backed by STUDIO_DIR/data/sora2fs/trash (or, when
 * the downloads folder is on another filesystem, DOWNLOADS/.trash-sora2fs, so
 * that a video is moved by a rename, never copied). A trashed video leaves
 * history.json; its entry is kept beside it (entries/NAME.json) and goes back
 * with it on restore. Deleting it from files/ deletes it for good. `rm
 * videos/X.mp4` stays a plain delete.
 */
#include "fs.h"
#include "fs_trash.h"
#include "log.h"
#include "model.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *root; /* backing folder */
static char top_name[32];

static void init(void)
{
	snprintf(top_name, sizeof top_name, ".Trash-%u", (unsigned)getuid());
	const char *studio = model_options()->studio_dir;
	const char *downloads = model_downloads_dir();
	char *data = xasprintf("%s/data", studio);
	struct stat a, b;
	bool same = stat(data, &a) == 0 && stat(downloads, &b) == 0 && a.st_dev == b.st_dev;
	free(data);
	root = same ? xasprintf("%s/data/sora2fs/trash", studio)
		    : xasprintf("%s/.trash-sora2fs", downloads);
}

const char *fs_trash_name(void)
{
	pthread_once(&once, init);
	return top_name;
}

static void ensure_dirs(void)
{
	static const char *const subs[] = { "files", "info", "expunged", "entries" };
	for (size_t i = 0; i < 4; i++) {
		char *p = xasprintf("%s/%s", root, subs[i]);
		mkdir_p(p, 0700);
		free(p);
	}
}

/* The folders of a trash: files/ and info/ (the specification), expunged/
 * (where gvfs moves what it deletes for good, then deletes it). */
enum part { P_TOP, P_FILES, P_INFO, P_EXPUNGED, P_FILE, P_INFOFILE, P_EXPFILE, P_NONE };
static const char *const subdirs[] = { "files", "info", "expunged" };
#define IS_DIR(p) ((p) <= P_EXPUNGED)

/* "" / "files" / "info/NAME" ... */
static enum part classify(const char *rest, const char **name)
{
	*name = NULL;
	if (!*rest)
		return P_TOP;
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
	int which = -1;
	for (int i = 0; i < 3; i++)
		if (strlen(subdirs[i]) == n && strncmp(rest, subdirs[i], n) == 0)
			which = i;
	if (which < 0)
		return P_NONE;
	if (!slash)
		return (enum part)(P_FILES + which);
	*name = slash + 1;
	if (!**name || strchr(*name, '/') || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0)
		return P_NONE;
	return (enum part)(P_FILE + which);
}

static char *real_of(enum part p, const char *name)
{
	pthread_once(&once, init);
	return xasprintf("%s/%s/%s", root, subdirs[p - P_FILE], name);
}

static char *entry_path(const char *name)
{
	return xasprintf("%s/entries/%s.json", root, name);
}

bool fs_trash_nonempty(void)
{
	pthread_once(&once, init);
	char *files = xasprintf("%s/files", root);
	DIR *d = opendir(files);
	free(files);
	bool any = false;
	struct dirent *de;
	while (d && !any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (d)
		closedir(d);
	return any;
}

static int tr_getattr(const char *rest, struct stat *st)
{
	const char *name;
	enum part p = classify(rest, &name);
	if (p == P_NONE)
		return -ENOENT;
	if (IS_DIR(p)) {
		fs_stat_dir(st, 0);
		st->st_mode = S_IFDIR | 0700; /* as the specification asks */
		return 0;
	}
	char *path = real_of(p, name);
	struct stat real;
	int r = lstat(path, &real) < 0 ? -errno : 0;
	free(path);
	if (r < 0)
		return r;
	if (!S_ISREG(real.st_mode))
		return -ENOENT;
	fs_stat_file(st, real.st_mode & 07777, real.st_size, 0);
	st->st_mtim = real.st_mtim;
	st->st_ctim = real.st_ctim;
	st->st_atim = real.st_atim;
	st->st_blocks = real.st_blocks;
	return 0;
}

static int tr_readdir(const char *rest, void *buf, fuse_fill_dir_t filler)
{
	const char *name;
	enum part p = classify(rest, &name);
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	if (p == P_TOP) {
		for (int i = 0; i < 3; i++)
			filler(buf, subdirs[i], NULL, 0, 0);
		return 0;
	}
	if (!IS_DIR(p))
		return p == P_NONE ? -ENOENT : -ENOTDIR;
	pthread_once(&once, init);
	char *dir = xasprintf("%s/%s", root, subdirs[p - P_FILES]);
	DIR *d = opendir(dir);
	free(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (filler(buf, de->d_name, NULL, 0, 0))
			break;
	}
	closedir(d);
	return 0;
}

static int open_real(enum part p, const char *name, int flags, mode_t mode, struct fs_handle *h)
{
	if (p != P_INFOFILE && (flags & O_ACCMODE) != O_RDONLY)
		return -EACCES; /* a trashed video is kept as it is */
	ensure_dirs();
	char *path = real_of(p, name);
	int fd = open(path, (flags & ~(O_NOCTTY | O_APPEND)) | O_CLOEXEC | O_NOFOLLOW, mode);
	free(path);
	if (fd < 0)
		return -errno;
	h->fd = fd;
	return 0;
}

static int tr_open(const char *rest, struct fuse_file_info *fi, struct fs_handle *h)
{
	const char *name;
	enum part p = classify(rest, &name);
	if (IS_DIR(p))
		return -EISDIR;
	if (p == P_NONE)
		return -ENOENT;
	return open_real(p, name, fi->flags & ~(O_CREAT | O_EXCL), 0, h);
}

static int tr_create(const char *rest, mode_t mode, struct fuse_file_info *fi,
		     struct fs_handle *h)
{
	const char *name;
	enum part p = classify(rest, &name);
	if (p != P_INFOFILE)
		return -EACCES; /* videos come in by rename; nothing else belongs here */
	return open_real(p, name, fi->flags | O_CREAT, mode & 0777, h);
}

static int tr_truncate(const char *rest, off_t size, struct fs_handle *h)
{
	const char *name;
	enum part p = classify(rest, &name);
	if (p != P_INFOFILE)
		return -EACCES;
	if (h && h->fd >= 0)
		return ftruncate(h->fd, size) < 0 ? -errno : 0;
	char *path = real_of(p, name);
	int r = truncate(path, size) < 0 ? -errno : 0;
	free(path);
	return r;
}

static int tr_unlink(const char *rest)
{
	const char *name;
	enum part p = classify(rest, &name);
	if (IS_DIR(p) || p == P_NONE)
		return p == P_NONE ? -ENOENT : -EISDIR;
	char *path = real_of(p, name);
	int r = unlink(path) < 0 ? -errno : 0;
	free(path);
	if (r == 0 && p == P_FILE) {
		/* emptied: the video and its history entry are gone for good */
		char *e = entry_path(name);
		unlink(e);
		free(e);
	}
	if (r == 0 && p != P_INFOFILE)
		log_info("trash: %s deleted for good", name);
	return r;
}

static int tr_mkdir(const char *rest, mode_t mode)
{
	const char *name;
	enum part p = classify(rest, &name);
	return IS_DIR(p) ? -EEXIST : -EACCES;
}

static int tr_rmdir(const char *rest)
{
	const char *name;
	enum part p = classify(rest, &name);
	return IS_DIR(p) ? -EBUSY : -ENOENT;
}

static int rename_noreplace(const char *a, const char *b)
{
	if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	struct stat st;
	if (lstat(b, &st) == 0)
		return -EEXIST;
	return rename(a, b) < 0 ? -errno : 0;
}

static int tr_rename(const char *from, const char *to, unsigned int flags)
{
	const char *a, *b;
	enum part pa = classify(from, &a), pb = classify(to, &b);
	/* within info/ (GLib rewrites a .trashinfo), within files/, and from
	 * files/ to expunged/ (gvfs deleting for good) */
	bool ok = (pa == P_INFOFILE && pb == P_INFOFILE) || (pa == P_FILE && pb == P_FILE) ||
		  (pa == P_FILE && pb == P_EXPFILE);
	if (!ok)
		return -EACCES;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	char *ra = real_of(pa, a), *rb = real_of(pb, b);
	int r = (flags & RENAME_NOREPLACE) || pb == P_FILE ? rename_noreplace(ra, rb)
		: (rename(ra, rb) < 0 ? -errno : 0);
	free(ra);
	free(rb);
	if (r == 0 && pa == P_FILE) {
		char *ea = entry_path(a), *eb = entry_path(b);
		if (pb == P_FILE)
			rename(ea, eb);
		else
			unlink(ea); /* on its way out for good: no history to restore */
		free(ea);
		free(eb);
	}
	return r;
}

/* --- in and out of videos/ (fs.c's rename) ---------------------------------- */

static bool video_name(const char *name)
{
	return *name && name[0] != '.' && !strchr(name, '/') && strlen(name) > 4 &&
	       str_has_suffix(name, ".mp4");
}

int fs_trash_put(const char *video, const char *to)
{
	const char *name;
	if (classify(to, &name) != P_FILE)
		return -EACCES;
	if (!video_name(video))
		return -ENOENT;
	ensure_dirs();
	char *src = xasprintf("%s/%s", model_downloads_dir(), video);
	char *dst = real_of(P_FILE, name);
	struct stat st;
	int r = lstat(src, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -ENOENT;
	if (r == 0)
		r = rename_noreplace(src, dst);
	free(src);
	free(dst);
	if (r < 0)
		return r;
	char *entry = model_video_trashed(video);
	if (entry) {
		char *e = entry_path(name);
		int w = write_file_atomic(e, entry, strlen(entry), 0600);
		if (w < 0)
			log_warn("trash: cannot keep the history entry of %s: %s", video, strerror(-w));
		free(e);
		free(entry);
	}
	log_info("videos: %s moved to the trash", video);
	return 0;
}

int fs_trash_restore(const char *from, const char *video)
{
	const char *name;
	if (classify(from, &name) != P_FILE)
		return -EACCES;
	if (!video_name(video))
		return -EACCES; /* videos/ shows *.mp4 only */
	char *src = real_of(P_FILE, name);
	char *dst = xasprintf("%s/%s", model_downloads_dir(), video);
	int r = rename_noreplace(src, dst);
	free(src);
	free(dst);
	if (r < 0)
		return r;
	char *e = entry_path(name);
	char *entry = NULL;
	size_t len = 0;
	if (read_file(e, 1024 * 1024, &entry, &len) == 0)
		unlink(e);
	free(e);
	model_video_restored(video, entry);
	free(entry);
	log_info("videos: %s restored from the trash", video);
	return 0;
}

const struct fs_subtree fs_trash_tree = {
	.getattr = tr_getattr,
	.readdir = tr_readdir,
	.open = tr_open,
	.create = tr_create,
	.truncate = tr_truncate,
	.unlink = tr_unlink,
	.mkdir = tr_mkdir,
	.rmdir = tr_rmdir,
	.rename = tr_rename,
};
