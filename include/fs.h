/* fs.h - the FUSE side: one operations table (fs.c) dispatching to subtrees.
 *
 * fs.c splits a path into its top-level directory and the rest, and calls that
 * subtree's handler with the rest ("" for the directory itself, "cat/status" for
 * /jobs/cat/status). Handlers answer from the model and local files only; they
 * never touch the network (account reads excepted, see engine.h).
 *
 * A NULL handler means the operation makes no sense there: fs.c answers EACCES
 * for creations and changes, ENOTSUP for extended attributes. NULL utimens,
 * chmod and chown succeed quietly on anything getattr finds (cp -p, editors and
 * file managers set them right after writing).
 */
#ifndef SORA2FS_FS_H
#define SORA2FS_FS_H

#include <fuse.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "util.h"

/* One open file. fs.c allocates it (fi->fh) and frees it after release. */
struct fs_handle {
	int fd;          /* real file behind it, or -1 */
	buf_t data;      /* content to read (snapshot made at open) or collected writes */
	bool dirty;      /* written (or truncated) since the last flush applied it */
	bool writable;   /* opened for writing */
	bool own;        /* the announcer's (notify.c): every operation is a no-op */
	int tag;         /* subtree's own use (which file) */
	char *rest;      /* path within the subtree at open time */
	void *priv;      /* subtree's own use */
	const struct fs_subtree *tree; /* fs.c: whose handle it is */
	struct fs_handle *next, *prev; /* fs.c: every open handle, released at unmount */
};

struct fs_subtree {
	int (*getattr)(const char *rest, struct stat *st);
	int (*readdir)(const char *rest, void *buf, fuse_fill_dir_t filler);
	/* Listing through an open directory (all three, or none): opendir returns
	 * the listing's state (NULL: list with readdir instead); readdir_at fills
	 * one reply from offset OFF, each entry carrying the offset of the next, so
	 * libfuse passes replies straight on. libfuse keeps a listing filled at
	 * offset 0 in a linked list and walks it from the start for every 4 KiB
	 * READDIRPLUS reply: quadratic. */
	void *(*opendir)(const char *rest);
	int (*readdir_at)(void *dir, off_t off, void *buf, fuse_fill_dir_t filler);
	void (*closedir)(void *dir);
	/* open/create fill h (fd or data) and may set fi->direct_io / keep_cache. */
	int (*open)(const char *rest, struct fuse_file_info *fi, struct fs_handle *h);
	int (*create)(const char *rest, mode_t mode, struct fuse_file_info *fi, struct fs_handle *h);
	/* NULL read/write: fs.c reads/writes h->fd with pread/pwrite, or h->data. */
	int (*read)(struct fs_handle *h, char *buf, size_t size, off_t off);
	int (*write)(struct fs_handle *h, const char *buf, size_t size, off_t off);
	int (*flush)(struct fs_handle *h);
	void (*release)(struct fs_handle *h);
	int (*fsync)(struct fs_handle *h, int datasync);
	/* h is the open handle when truncating through one (ftruncate), else NULL. */
	int (*truncate)(const char *rest, off_t size, struct fs_handle *h);
	int (*utimens)(const char *rest, const struct timespec tv[2]);
	int (*chmod)(const char *rest, mode_t mode);
	int (*chown)(const char *rest, uid_t uid, gid_t gid);
	int (*unlink)(const char *rest);
	int (*mkdir)(const char *rest, mode_t mode);
	int (*rmdir)(const char *rest);
	int (*rename)(const char *from, const char *to, unsigned int flags);
	int (*readlink)(const char *rest, char *buf, size_t size);
	int (*getxattr)(const char *rest, const char *name, char *value, size_t size);
	int (*listxattr)(const char *rest, char *list, size_t size);
	int (*setxattr)(const char *rest, const char *name, const char *value, size_t size, int flags);
	int (*removexattr)(const char *rest, const char *name);
};

extern const struct fs_subtree fs_config_tree;     /* config/     fs_config.c */
extern const struct fs_subtree fs_jobs_tree;       /* jobs/       fs_jobs.c */
extern const struct fs_subtree fs_characters_tree; /* characters/ fs_jobs.c */
extern const struct fs_subtree fs_videos_tree;     /* videos/     fs_videos.c */
extern const struct fs_subtree fs_account_tree;    /* account/    fs_account.c */

/* How long the kernel may keep a name's lookup. A dropped file without an
 * extension turns into a directory of the same name, and high-level libfuse
 * cannot invalidate one name, so fs_jobs.c waits out what is left of this
 * before such a close() returns. Shorter would make every ls -l slower. */
#define FS_ENTRY_TIMEOUT 1.0
/* How long the kernel may keep a file's attributes (its size among them). */
#define FS_ATTR_TIMEOUT 1.0

/* The operations table handed to fuse_new(). */
extern const struct fuse_operations fs_operations;

/* Helpers for subtrees: fill a stat for a directory / regular file / symlink owned
 * by the mounting user, with mtime (wall seconds; 0 = mount time). */
void fs_stat_dir(struct stat *st, double mtime);
/* config/ and account/: the mounting user's only (0700). With allow_other the
 * kernel enforces every mode shown (default_permissions), so these modes are the
 * permission model: see README "Sharing a mount". */
void fs_stat_dir_private(struct stat *st, double mtime);
void fs_stat_file(struct stat *st, mode_t perm, off_t size, double mtime);
void fs_stat_link(struct stat *st, size_t target_len, double mtime);
/* security.* or system.*: attribute names the virtual files of the mount
 * answer ENOTSUP (no SELinux label, no POSIX ACL) before any lookup. ls -l asks
 * for security.selinux and system.posix_acl_access on every file; "not
 * supported" makes it stop asking for the rest of the mount (coreutils caches
 * it per st_dev), where ENODATA costs two uncached FUSE round trips per file. */
bool fs_xattr_foreign(const char *name);
/* Copy a value into an xattr reply buffer (size 0: just the length). */
int fs_xattr_reply(const char *value, size_t len, char *buf, size_t size);
/* Apply a time, mode or owner change to a real file (no symlink following);
 * 0 or -errno. arg: const struct timespec[2] / const mode_t * / const
 * struct fs_owner *. Subtrees pass these to their own "which real file" code. */
struct fs_owner { uid_t uid; gid_t gid; };
int fs_path_utimens(const char *path, const void *arg);
int fs_path_chmod(const char *path, const void *arg);
int fs_path_chown(const char *path, const void *arg);
/* Serve a read from memory. */
int fs_read_mem(const char *data, size_t len, char *buf, size_t size, off_t off);
/* Set h->data to size bytes (cut, or zero-filled), marking it dirty. 0. */
int fs_truncate_mem(struct fs_handle *h, size_t size);
/* Store a write into h->data at off (grows, zero-fills). Returns size. */
int fs_write_mem(struct fs_handle *h, const char *buf, size_t size, off_t off);

#endif
