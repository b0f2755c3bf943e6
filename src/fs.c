/* fs.c - the FUSE operations table: split the path, call the subtree.
 *
 *   $ ls mnt
 *   README  account  characters  config  history.json  jobs  videos
 *   stat("/jobs/cat/status")  ->  fs_jobs_tree.getattr("cat/status")
 *
 * Handlers answer from memory and local files; nothing here touches the
 * network. Operations a subtree does not implement get the usual answer for
 * "not here": EACCES for creations and changes, no extended attributes.
 */
#include "fs.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_trash.h"
#include "model.h"
#include "notify.h"
#include "util.h"

static double mount_time;

/* Every open handle: after a lazy unmount the kernel may never send the last
 * releases, and the daemon still frees what it holds. */
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fs_handle *handles;

static const char readme_text[] =
"sora2fs: Sora 2 video generation as files\n"
"\n"
"  config/api_key        write your API key (read back masked)\n"
"  config/token          account token (credits, new API keys)\n"
"  config/host_mode      auto | domestic | overseas\n"
"  config/defaults/NAME  default request parameters (duration, aspectRatio, size)\n"
"  jobs/                 drop a prompt file here:  echo \"a cat\" > jobs/cat.txt\n"
"  jobs/NAME/            status, progress, error, id, prompt, request.json,\n"
"                        result.json, pid, video, ctl (cancel|retry|refresh|redownload)\n"
"  characters/           drop NAME.json: {\"url\": ..., \"timestamps\": \"0,3\"} or {\"pid\": ...}\n"
"  videos/               the finished videos: ls, cp, mv, rm\n"
"  account/              credits, api_key_credits, model_status, new_api_key, error\n"
"  history.json          finished videos, in the Web Studio's format\n"
"\n"
"Front matter in a prompt file:\n"
"  ---\n"
"  duration: 15\n"
"  aspectRatio: 16:9\n"
"  ---\n"
"  a cat playing the piano\n"
"\n"
"See sora2fs(8) for everything else.\n";

struct top {
	const char *name;
	const struct fs_subtree *tree;
};

static const struct top tops[] = {
	{ "config", &fs_config_tree },
	{ "jobs", &fs_jobs_tree },
	{ "characters", &fs_characters_tree },
	{ "videos", &fs_videos_tree },
	{ "account", &fs_account_tree },
};
#define N_TOPS (sizeof tops / sizeof tops[0])

enum root_file { RF_NONE, RF_README, RF_HISTORY };

/* "/jobs/cat/status" -> tree of jobs, rest "cat/status". Root files: *rf set. */
static const struct fs_subtree *split(const char *path, const char **rest, enum root_file *rf)
{
	*rf = RF_NONE;
	*rest = NULL;
	if (path[0] == '/')
		path++;
	if (strcmp(path, "README") == 0) {
		*rf = RF_README;
		return NULL;
	}
	if (strcmp(path, "history.json") == 0) {
		*rf = RF_HISTORY;
		return NULL;
	}
	for (size_t i = 0; i < N_TOPS; i++) {
		size_t n = strlen(tops[i].name);
		if (strncmp(path, tops[i].name, n) == 0 && (path[n] == '\0' || path[n] == '/')) {
			*rest = path[n] == '/' ? path + n + 1 : path + n;
			return tops[i].tree;
		}
	}
	const char *trash = fs_trash_name(); /* .Trash-UID */
	size_t n = strlen(trash);
	if (strncmp(path, trash, n) == 0 && (path[n] == '\0' || path[n] == '/')) {
		*rest = path[n] == '/' ? path + n + 1 : path + n;
		return &fs_trash_tree;
	}
	return NULL;
}

static bool is_root(const char *path)
{
	return strcmp(path, "/") == 0;
}

/* --- helpers for subtrees ------------------------------------------------ */

static void fill_times(struct stat *st, double mtime)
{
	if (mtime <= 0)
		mtime = mount_time;
	st->st_mtim.tv_sec = (time_t)mtime;
	st->st_mtim.tv_nsec = (long)((mtime - (double)(time_t)mtime) * 1e9);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static void fill_owner(struct stat *st)
{
	st->st_uid = getuid();
	st->st_gid = getgid();
}

void fs_stat_dir(struct stat *st, double mtime)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	fill_owner(st);
	fill_times(st, mtime);
}

void fs_stat_dir_private(struct stat *st, double mtime)
{
	fs_stat_dir(st, mtime);
	st->st_mode = S_IFDIR | 0700;
}

void fs_stat_file(struct stat *st, mode_t perm, off_t size, double mtime)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFREG | perm;
	st->st_nlink = 1;
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
	st->st_blksize = 4096;
	fill_owner(st);
	fill_times(st, mtime);
}

void fs_stat_link(struct stat *st, size_t target_len, double mtime)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size = (off_t)target_len;
	fill_owner(st);
	fill_times(st, mtime);
}

int fs_xattr_reply(const char *value, size_t len, char *buf, size_t size)
{
	if (size == 0)
		return (int)len;
	if (len > size)
		return -ERANGE;
	memcpy(buf, value, len);
	return (int)len;
}

int fs_read_mem(const char *data, size_t len, char *buf, size_t size, off_t off)
{
	if (off < 0)
		return -EINVAL;
	if ((size_t)off >= len)
		return 0;
	size_t n = len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(buf, data + off, n);
	return (int)n;
}

int fs_truncate_mem(struct fs_handle *h, size_t size)
{
	static const char zeros[256];
	if (size < h->data.len) {
		h->data.len = size;
		h->data.data[size] = '\0';
	}
	while (h->data.len < size) { /* growing leaves a hole of zeros */
		size_t k = size - h->data.len;
		buf_add(&h->data, zeros, k < sizeof zeros ? k : sizeof zeros);
	}
	h->dirty = true;
	return 0;
}

int fs_write_mem(struct fs_handle *h, const char *buf, size_t size, off_t off)
{
	if (off < 0)
		return -EINVAL;
	size_t end = (size_t)off + size;
	if (end > 1024 * 1024)
		return -EFBIG; /* settings and requests are small */
	if (size == 0)
		return 0;
	if (end > h->data.len)
		fs_truncate_mem(h, end);
	memcpy(h->data.data + off, buf, size);
	h->dirty = true;
	return (int)size;
}

int fs_path_utimens(const char *path, const void *arg)
{
	return utimensat(AT_FDCWD, path, arg, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int fs_path_chmod(const char *path, const void *arg)
{
	return chmod(path, *(const mode_t *)arg & 07777) < 0 ? -errno : 0;
}

int fs_path_chown(const char *path, const void *arg)
{
	const struct fs_owner *o = arg;
	return lchown(path, o->uid, o->gid) < 0 ? -errno : 0;
}

/* --- root files ---------------------------------------------------------- */

static char *root_file_text(enum root_file rf, size_t *len)
{
	if (rf == RF_README) {
		*len = sizeof readme_text - 1;
		return xstrdup(readme_text);
	}
	return model_history_text(len);
}

/* --- operations ------------------------------------------------------------ */

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	mount_time = now_wall();
	/* Short caches: status files change under the kernel's feet; the engine
	 * also invalidates what it changes. */
	cfg->entry_timeout = FS_ENTRY_TIMEOUT;
	cfg->attr_timeout = FS_ATTR_TIMEOUT;
	cfg->negative_timeout = 0;
	/* Unlinking an open scratch file must not leave .fuse_hidden files behind
	 * (they would show up in jobs/). */
	cfg->hard_remove = 1;
	cfg->use_ino = 0;
	/* A file whose mtime moved loses its cached pages (settled job files are
	 * read through the page cache, fs_jobs.c). libfuse's default; said here. */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	conn->max_read = 0;
	return NULL;
}

static void handle_free(struct fs_handle *h);

/* Release what the kernel never released (a lazy unmount can drop the last
 * RELEASE requests), as if it had. */
static void fs_destroy(void *private_data)
{
	(void)private_data;
	while (handles) {
		struct fs_handle *h = handles;
		if (h->tree && h->tree->release)
			h->tree->release(h);
		handle_free(h);
	}
}

/* A component longer than NAME_MAX: ENAMETOOLONG, as local filesystems say. */
static bool name_too_long(const char *path)
{
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n > 255)
			return true;
		p += n;
	}
	return false;
}

/* A new name that is not UTF-8 text: names end up in JSON files (job records,
 * history.json) that the Web Studio's Python must be able to read. */
static bool name_not_text(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !str_utf8_valid(base, strlen(base));
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	if (name_too_long(path))
		return -ENAMETOOLONG;
	if (notify_own_request()) {
		int r = notify_own_getattr(path, st);
		if (r != 1)
			return r;
	}
	if (is_root(path)) {
		fs_stat_dir(st, 0);
		st->st_nlink = 2 + N_TOPS;
		return 0;
	}
	const char *rest;
	enum root_file rf;
	const struct fs_subtree *t = split(path, &rest, &rf);
	if (rf != RF_NONE) {
		size_t len;
		char *text = root_file_text(rf, &len);
		free(text);
		/* history.json holds every prompt and video link: the owner's only. */
		fs_stat_file(st, rf == RF_HISTORY ? 0400 : 0444, (off_t)len, 0);
		return 0;
	}
	if (!t)
		return -ENOENT;
	return t->getattr(rest, st);
}

/* A directory listed through its subtree's open directory (see fs.h). */
struct fs_dir {
	const struct fs_subtree *tree;
	void *dir;
};

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
	fi->fh = 0;
	const char *rest;
	enum root_file rf;
	const struct fs_subtree *t = is_root(path) ? NULL : split(path, &rest, &rf);
	void *dir = (t && t->opendir) ? t->opendir(rest) : NULL;
	if (dir) {
		struct fs_dir *d = xmalloc(sizeof *d);
		d->tree = t;
		d->dir = dir;
		fi->fh = (uint64_t)(uintptr_t)d;
	}
	return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
	if (d) {
		d->tree->closedir(d->dir);
		free(d);
	}
	fi->fh = 0;
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)flags;
	struct fs_dir *d = fi ? (struct fs_dir *)(uintptr_t)fi->fh : NULL;
	if (d)
		return d->tree->readdir_at(d->dir, off, buf, filler);
	/* the rest list from scratch at offset 0 */
	if (is_root(path)) {
		filler(buf, ".", NULL, 0, 0);
		filler(buf, "..", NULL, 0, 0);
		filler(buf, "README", NULL, 0, 0);
		for (size_t i = 0; i < N_TOPS; i++)
			filler(buf, tops[i].name, NULL, 0, 0);
		filler(buf, "history.json", NULL, 0, 0);
		if (fs_trash_nonempty())
			filler(buf, fs_trash_name(), NULL, 0, 0);
		return 0;
	}
	const char *rest;
	enum root_file rf;
	const struct fs_subtree *t = split(path, &rest, &rf);
	if (rf != RF_NONE)
		return -ENOTDIR;
	if (!t)
		return -ENOENT;
	return t->readdir(rest, buf, filler);
}

static struct fs_handle *handle_new(const char *rest, int flags)
{
	struct fs_handle *h = xcalloc(1, sizeof *h);
	h->fd = -1;
	buf_init(&h->data);
	h->rest = xstrdup(rest ? rest : "");
	h->writable = (flags & O_ACCMODE) != O_RDONLY;
	pthread_mutex_lock(&handles_lock);
	h->next = handles;
	if (handles)
		handles->prev = h;
	handles = h;
	pthread_mutex_unlock(&handles_lock);
	return h;
}

static void handle_free(struct fs_handle *h)
{
	pthread_mutex_lock(&handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&handles_lock);
	if (h->fd >= 0)
		close(h->fd);
	buf_free(&h->data);
	free(h->rest);
	free(h);
}

/* The announcer's open or create: a handle that does nothing. */
static int own_handle(const char *path, struct fuse_file_info *fi)
{
	notify_own_done(path);
	struct fs_handle *h = handle_new("", fi->flags);
	h->own = true;
	fi->direct_io = 1;
	fi->fh = (uintptr_t)h;
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	const char *rest;
	enum root_file rf;
	const struct fs_subtree *t = split(path, &rest, &rf);
	if (notify_own_request())
		return own_handle(path, fi);
	if (rf != RF_NONE) {
		if ((fi->flags & O_ACCMODE) != O_RDONLY)
			return -EACCES;
		struct fs_handle *h = handle_new("", fi->flags);
		size_t len;
		char *text = root_file_text(rf, &len);
		buf_add(&h->data, text, len);
		free(text);
		fi->direct_io = 1;
		fi->fh = (uintptr_t)h;
		return 0;
	}
	if (!t || !t->open)
		return is_root(path) ? -EISDIR : -ENOENT;
	struct fs_handle *h = handle_new(rest, fi->flags);
	h->tree = t;
	int r = t->open(rest, fi, h);
	if (r < 0) {
		handle_free(h);
		return r;
	}
	fi->fh = (uintptr_t)h;
	return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	const char *rest;
	enum root_file rf;
	const struct fs_subtree *t = split(path, &rest, &rf);
	if (notify_own_request())
		return own_handle(path, fi);
	if (rf != RF_NONE)
		return -EEXIST;
	if (!t || !t->create || !*rest)
		return -EACCES;
	if (name_not_text(rest))
		return -EINVAL;
	struct fs_handle *h = handle_new(rest, fi->flags);
	h->tree = t;
	int r = t->create(rest, mode, fi, h);
	if (r < 0) {
		handle_free(h);
		return r;
	}
	fi->fh = (uintptr_t)h;
	notify_user_op(path, false);
	return 0;
}

static const struct fs_subtree *tree_of(const char *path, const char **rest)
{
	enum root_file rf;
	const struct fs_subtree *t = split(path, rest, &rf);
	return rf == RF_NONE ? t : NULL;
}

#define HANDLE(fi) ((struct fs_handle *)(uintptr_t)(fi)->fh)

static int do_read(const struct fs_subtree *t, struct fs_handle *h, char *buf, size_t size,
		   off_t off)
{
	if (t && t->read)
		return t->read(h, buf, size, off);
	if (h->fd >= 0) {
		ssize_t n = pread(h->fd, buf, size, off);
		return n < 0 ? -errno : (int)n;
	}
	return fs_read_mem(h->data.data, h->data.len, buf, size, off);
}

/* Whose handle it is: from the open, not the path (the name may be gone, e.g. a
 * drop that became a job: libfuse then passes no path). */
static const struct fs_subtree *handle_tree(const struct fs_handle *h)
{
	return h->own ? NULL : h->tree;
}

static int fs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs_handle *h = HANDLE(fi);
	const struct fs_subtree *t = handle_tree(h);
	struct fuse_bufvec *bv = xmalloc(sizeof *bv);
	*bv = FUSE_BUFVEC_INIT(size);
	if (h->fd >= 0 && !(t && t->read)) {
		/* a real file: let libfuse splice it to the kernel */
		bv->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv->buf[0].fd = h->fd;
		bv->buf[0].pos = off;
		*bufp = bv;
		return 0;
	}
	char *mem = xmalloc(size ? size : 1);
	int n = do_read(t, h, mem, size, off);
	if (n < 0) {
		free(mem);
		free(bv);
		return n;
	}
	bv->buf[0].mem = mem;
	bv->buf[0].size = (size_t)n;
	*bufp = bv;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fs_handle *h = HANDLE(fi);
	return do_read(handle_tree(h), h, buf, size, off);
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_handle *h = HANDLE(fi);
	const struct fs_subtree *t = handle_tree(h);
	if (!h->writable)
		return -EBADF;
	if (h->own)
		return (int)size;
	if (t && t->write)
		return t->write(h, buf, size, off);
	if (h->fd >= 0) {
		ssize_t n = pwrite(h->fd, buf, size, off);
		if (n < 0)
			return -errno;
		h->dirty = true;
		return (int)n;
	}
	return fs_write_mem(h, buf, size, off);
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	const struct fs_subtree *t = handle_tree(HANDLE(fi));
	return (t && t->flush) ? t->flush(HANDLE(fi)) : 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct fs_handle *h = HANDLE(fi);
	const struct fs_subtree *t = handle_tree(h);
	notify_poll_forget(h);
	if (t && t->release)
		t->release(h);
	handle_free(h);
	return 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fs_handle *h = HANDLE(fi);
	const struct fs_subtree *t = handle_tree(h);
	if (h->own)
		return 0;
	if (t && t->fsync)
		return t->fsync(h, datasync);
	if (h->fd >= 0)
		return (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
	return 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fs_handle *h = fi ? HANDLE(fi) : NULL;
	const char *rest;
	const struct fs_subtree *t = tree_of(path ? path : "/", &rest);
	if (notify_own_request())
		return 0;
	if (t && t->truncate)
		return t->truncate(rest, size, h);
	if (h && h->fd >= 0)
		return ftruncate(h->fd, size) < 0 ? -errno : 0;
	return -EACCES;
}

/* Times, modes and owners of files with nothing to change: fine if it exists. */
static int quiet_if_exists(const struct fs_subtree *t, const char *rest, int otherwise)
{
	if (!t)
		return otherwise;
	struct stat st;
	return t->getattr(rest, &st);
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)fi;
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	if (is_root(path))
		return 0;
	if (notify_own_request())
		return quiet_if_exists(t, rest, 0);
	return (t && t->utimens) ? t->utimens(rest, tv) : quiet_if_exists(t, rest, -EACCES);
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	return (t && t->chmod) ? t->chmod(rest, mode) : quiet_if_exists(t, rest, -EPERM);
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)fi;
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	return (t && t->chown) ? t->chown(rest, uid, gid) : quiet_if_exists(t, rest, -EPERM);
}

/* A creation or removal: the announcer's is a no-op; a user's is remembered
 * so that it is not announced a second time. */
static int own_op(const char *path)
{
	if (!notify_own_request())
		return 1;
	notify_own_done(path);
	return 0;
}

static int user_op(const char *path, bool removed, int r)
{
	if (r == 0)
		notify_user_op(path, removed);
	return r;
}

static int fs_unlink(const char *path)
{
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	if (own_op(path) == 0)
		return 0;
	return user_op(path, true, (t && t->unlink && *rest) ? t->unlink(rest) : -EACCES);
}

static int fs_mkdir(const char *path, mode_t mode)
{
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	if (own_op(path) == 0)
		return 0;
	return user_op(path, false, (t && t->mkdir && *rest) ? t->mkdir(rest, mode) : -EACCES);
}

static int fs_rmdir(const char *path)
{
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	if (own_op(path) == 0)
		return 0;
	if (t && !*rest)
		return -EBUSY; /* the top-level folders are part of the mount */
	return user_op(path, true, (t && t->rmdir) ? t->rmdir(rest) : -EACCES);
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	if (name_too_long(to))
		return -ENAMETOOLONG;
	if (name_not_text(to))
		return -EINVAL;
	const char *rf, *rt;
	const struct fs_subtree *a = tree_of(from, &rf), *b = tree_of(to, &rt);
	if (!a || !b || !*rf || !*rt)
		return -EACCES;
	int r;
	if (a == &fs_videos_tree && b == &fs_trash_tree && !(flags & RENAME_EXCHANGE))
		r = fs_trash_put(rf, rt); /* gio trash, a file manager's Delete */
	else if (a == &fs_trash_tree && b == &fs_videos_tree && !(flags & RENAME_EXCHANGE))
		r = fs_trash_restore(rf, rt);
	else if (a != b)
		return -EXDEV;
	else
		r = a->rename ? a->rename(rf, rt, flags) : -EACCES;
	if (r == 0) {
		notify_user_op(from, true);
		notify_user_op(to, false);
	}
	return r;
}

static int fs_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph,
		   unsigned *reventsp)
{
	struct fs_handle *h = HANDLE(fi);
	notify_poll(path ? path : "/", h, h->data.data, h->data.len, ph, reventsp);
	return 0;
}

/* Links cannot be made here: a job is made by dropping a file, a video by a job.
 * (The announcer's symlink says a job's video link appeared: a no-op.) */
static int fs_symlink(const char *target, const char *path)
{
	(void)target;
	if (own_op(path) == 0)
		return 0;
	return name_too_long(path) ? -ENAMETOOLONG : -EPERM;
}

static int fs_link(const char *from, const char *to)
{
	(void)from;
	return name_too_long(to) ? -ENAMETOOLONG : -EPERM;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	return (t && t->readlink) ? t->readlink(rest, buf, size) : -EINVAL;
}

bool fs_xattr_foreign(const char *name)
{
	return strncmp(name, "security.", 9) == 0 || strncmp(name, "system.", 7) == 0;
}

static int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	if (t && t->getxattr)
		return t->getxattr(rest, name, value, size);
	/* setxattr says ENOTSUP here too */
	return fs_xattr_foreign(name) ? -ENOTSUP : -ENODATA;
}

static int fs_listxattr(const char *path, char *list, size_t size)
{
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	return (t && t->listxattr) ? t->listxattr(rest, list, size) : 0;
}

static int fs_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	return (t && t->setxattr) ? t->setxattr(rest, name, value, size, flags) : -ENOTSUP;
}

static int fs_removexattr(const char *path, const char *name)
{
	const char *rest;
	const struct fs_subtree *t = tree_of(path, &rest);
	return (t && t->removexattr) ? t->removexattr(rest, name) : -ENOTSUP;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	/* df shows the space where the videos go */
	return statvfs(model_downloads_dir(), sv) < 0 ? -errno : 0;
}

const struct fuse_operations fs_operations = {
	.init = fs_init,
	.destroy = fs_destroy,
	.getattr = fs_getattr,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.read_buf = fs_read_buf,
	.write = fs_write,
	.flush = fs_flush,
	.release = fs_release,
	.fsync = fs_fsync,
	.truncate = fs_truncate,
	.utimens = fs_utimens,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.unlink = fs_unlink,
	.mkdir = fs_mkdir,
	.rmdir = fs_rmdir,
	.rename = fs_rename,
	.poll = fs_poll,
	.readlink = fs_readlink,
	.symlink = fs_symlink,
	.link = fs_link,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.setxattr = fs_setxattr,
	.removexattr = fs_removexattr,
	.statfs = fs_statfs,
};
