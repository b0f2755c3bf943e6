/* floorfs.c - the FUSE floor for bench/: the least a FUSE filesystem on the
 * same libfuse (high-level API, same settings as sora2fs) can do to serve a
 * folder read-only. sora2fs is measured against it in the same run, so the
 * cost of FUSE itself is told apart from the cost of sora2fs.
 *
 *   $ build/bench/floorfs SRC_DIR MNT [fuse options]    e.g. -f to stay in the foreground
 *   $ ls -l MNT                                         = ls -l SRC_DIR, through FUSE
 *
 * getattr is lstat; a directory is listed through the DIR its opendir keeps,
 * each entry with its own offset (d_off) and the attributes (readdirplus), the
 * entry that did not fit kept for the next request: as sora2fs's videos/, so
 * libfuse never walks a listing filled at offset 0 (quadratic). Reads are
 * spliced from the real file. security.* and system.* attributes answer
 * ENOTSUP (ls -l then stops asking for the mount, as it does of sora2fs); the
 * others are passed through. Caches: attributes and entries 1 s, no negative
 * entries, page cache kept: as sora2fs. Not installed.
 */
#define FUSE_USE_VERSION 312
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <stdint.h>
#include <unistd.h>

static int src_fd = -1;

/* "/a/b" -> "a/b", "/" -> "." (relative to src_fd) */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static void *floor_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* FLOORFS_TIMEOUT=SECONDS: other cache times, to see what they would buy */
	const char *t = getenv("FLOORFS_TIMEOUT");
	cfg->entry_timeout = t ? atof(t) : 1.0;
	cfg->attr_timeout = t ? atof(t) : 1.0;
	cfg->negative_timeout = 0;
	cfg->use_ino = 0;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	return NULL;
}

static int floor_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (fi && fi->fh)
		return fstat((int)fi->fh, st) < 0 ? -errno : 0;
	return fstatat(src_fd, rel(path), st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

struct fdir {
	DIR *d;
	off_t next;          /* offset the kernel asks for next */
	struct dirent *held; /* the entry the last reply had no room for */
};

static int floor_opendir(const char *path, struct fuse_file_info *fi)
{
	int fd = openat(src_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct fdir *v = calloc(1, sizeof *v);
	if (!v || !(v->d = fdopendir(fd))) {
		int e = v ? errno : ENOMEM;
		free(v);
		close(fd);
		return -e;
	}
	fi->fh = (uint64_t)(uintptr_t)v;
	return 0;
}

static int floor_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
			 struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fdir *v = (struct fdir *)(uintptr_t)fi->fh;
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
			if (!(de = readdir(v->d)))
				return -errno;
		}
		struct stat st;
		if (fstatat(dirfd(v->d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (filler(buf, de->d_name, &st, de->d_off, FUSE_FILL_DIR_PLUS)) {
			v->held = de; /* valid until the next readdir() */
			v->next = off;
			return 0;
		}
		off = de->d_off;
	}
}

static int floor_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct fdir *v = (struct fdir *)(uintptr_t)fi->fh;
	closedir(v->d);
	free(v);
	return 0;
}

static int floor_open(const char *path, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	int fd = openat(src_fd, rel(path), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	return 0;
}

static int floor_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int floor_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	struct fuse_bufvec *bv = malloc(sizeof *bv);
	if (!bv)
		return -ENOMEM;
	*bv = FUSE_BUFVEC_INIT(size);
	bv->buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv->buf[0].fd = (int)fi->fh;
	bv->buf[0].pos = off;
	*bufp = bv;
	return 0;
}

static int floor_release(const char *path, struct fuse_file_info *fi)
{
	close((int)fi->fh);
	return 0;
}

static int floor_getxattr(const char *path, const char *name, char *value, size_t size)
{
	if (strncmp(name, "security.", 9) == 0 || strncmp(name, "system.", 7) == 0)
		return -ENOTSUP;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "/proc/self/fd/%d/%s", src_fd, rel(path));
	ssize_t n = lgetxattr(p, name, value, size);
	return n < 0 ? -errno : (int)n;
}

static int floor_listxattr(const char *path, char *list, size_t size)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "/proc/self/fd/%d/%s", src_fd, rel(path));
	ssize_t n = llistxattr(p, list, size);
	return n < 0 ? -errno : (int)n;
}

static const struct fuse_operations floor_ops = {
	.init = floor_init,
	.getattr = floor_getattr,
	.opendir = floor_opendir,
	.readdir = floor_readdir,
	.releasedir = floor_releasedir,
	.open = floor_open,
	.read = floor_read,
	.read_buf = floor_read_buf,
	.release = floor_release,
	.getxattr = floor_getxattr,
	.listxattr = floor_listxattr,
};

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: floorfs SRC_DIR MNT [fuse options]\n");
		return 2;
	}
	src_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src_fd < 0) {
		perror(argv[1]);
		return 1;
	}
	/* fuse_main sees: floorfs MNT [options] */
	argv[1] = argv[0];
	return fuse_main(argc - 1, argv + 1, &floor_ops, NULL);
}
