/* local_ref.c - reading a drop's local reference file without ever waiting on
 * the mount itself or on a file that never ends (see local_ref.h).
 *
 * The path is resolved here, component by component (symbolic links in the middle
 * followed, at most 40), and every prefix is compared with the mountpoint before
 * it is looked at, so nothing inside the mount is ever touched: even a single-
 * threaded mount cannot deadlock on url: MOUNTPOINT/history.json or on a link to
 * it. Only a regular file is opened, with O_NONBLOCK | O_NOFOLLOW, and checked
 * again with fstat (type, device, size) before it is read.
 */
#include "local_ref.h"

#include "json_file.h"
#include "log.h"
#include "names.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char *mount_path;
static dev_t mount_dev;

void local_ref_set_mount(const char *mountpoint, dev_t dev)
{
	free(mount_path);
	mount_path = mountpoint ? xstrdup(mountpoint) : NULL;
	mount_dev = dev;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

dev_t local_ref_mount_dev(const char *mountpoint)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	char *line = NULL;
	size_t cap = 0;
	dev_t dev = 0;
	/* "36 35 0:52 / /mnt/x rw,… - fuse.sora2fs sora2fs rw,…"; the last match wins
	 * (a mount stacked on the same point is the newest). */
	while (getline(&line, &cap, f) > 0) {
		unsigned maj, min;
		char mnt[PATH_MAX + 1];
		if (sscanf(line, "%*u %*u %u:%u %*s %4096s", &maj, &min, mnt) != 3)
			continue;
		unescape_octal(mnt);
		if (strcmp(mnt, mountpoint) == 0 && strstr(line, " - fuse"))
			dev = makedev(maj, min);
	}
	free(line);
	fclose(f);
	return dev;
}

void local_ref_caller(struct local_ref_cred *c)
{
	memset(c, 0, sizeof *c);
	struct fuse_context *ctx = fuse_get_context();
	if (!ctx || !ctx->fuse)
		return;
	c->known = true;
	c->uid = ctx->uid;
	c->gid = ctx->gid;
	int n = fuse_getgroups(LOCAL_REF_MAX_GROUPS, c->groups);
	c->ngroups = n < 0 ? 0 : (n > LOCAL_REF_MAX_GROUPS ? LOCAL_REF_MAX_GROUPS : n);
}

/* May the dropping user do mask (R_OK, X_OK) on st, by its mode bits? */
static bool cred_may(const struct local_ref_cred *c, const struct stat *st, int mask)
{
	if (!c || !c->known || c->uid == 0)
		return true;
	mode_t bits;
	if (st->st_uid == c->uid) {
		bits = (st->st_mode >> 6) & 7;
	} else {
		bool in_group = st->st_gid == c->gid;
		for (int i = 0; i < c->ngroups && !in_group; i++)
			in_group = c->groups[i] == st->st_gid;
		bits = in_group ? (st->st_mode >> 3) & 7 : st->st_mode & 7;
	}
	return (bits & (mode_t)mask) == (mode_t)mask;
}

static bool inside_mount(const char *path)
{
	if (!mount_path)
		return false;
	size_t n = strlen(mount_path);
	return strncmp(path, mount_path, n) == 0 &&
	       (path[n] == '/' || path[n] == '\0' || (n == 1 && mount_path[0] == '/'));
}

static const char *type_words(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

/* Resolve path without touching anything inside the mount. Returns the resolved
 * path (its last component not followed) or NULL with *e (errno) and *err. */
static char *resolve(const char *path, const struct local_ref_cred *cred, const char *shown,
		     char **err)
{
	buf_t res;
	buf_init(&res);
	char *todo = xstrdup(path);   /* what is left to walk, without leading '/' */
	int links = 0;
	char *out = NULL;
	for (;;) {
		char *p = todo;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		char *slash = strchr(p, '/');
		size_t clen = slash ? (size_t)(slash - p) : strlen(p);
		char *comp = xasprintf("%.*s", (int)clen, p);
		char *rest = xstrdup(slash ? slash : "");
		bool last = true;
		for (const char *q = rest; *q; q++)
			if (*q != '/') {
				last = false;
				break;
			}
		free(todo);
		todo = rest;
		if (strcmp(comp, ".") == 0) {
			free(comp);
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			char *s = strrchr(res.data ? res.data : "", '/');
			if (s) {
				res.len = (size_t)(s - res.data);
				res.data[res.len] = '\0';
			}
			free(comp);
			continue;
		}
		size_t before = res.len;
		buf_printf(&res, "/%s", comp);
		free(comp);
		if (inside_mount(res.data)) {
			*err = xasprintf("url file %s is inside the mount itself (%s): copy it out "
					 "first", shown, mount_path);
			goto fail_inval;
		}
		struct stat st;
		if (lstat(res.data, &st) < 0) {
			int e = errno;
			*err = xasprintf("url file %s cannot be read: %s", shown, strerror(e));
			goto fail;
		}
		if (mount_dev && st.st_dev == mount_dev) {
			*err = xasprintf("url file %s is inside the mount itself: copy it out first",
					 shown);
			goto fail_inval;
		}
		if (S_ISLNK(st.st_mode) && !last) {
			if (++links > 40) {
				*err = xasprintf("url file %s: too many symbolic links", shown);
				goto fail_inval;
			}
			char target[PATH_MAX];
			ssize_t n = readlink(res.data, target, sizeof target - 1);
			if (n < 0) {
				*err = xasprintf("url file %s cannot be read: %s", shown,
						 strerror(errno));
				goto fail;
			}
			target[n] = '\0';
			char *nt = xasprintf("%s%s", target, todo);
			free(todo);
			todo = nt;
			if (target[0] == '/')
				res.len = 0;
			else
				res.len = before;
			if (res.data)
				res.data[res.len] = '\0';
			continue;
		}
		if (!last) {
			if (!S_ISDIR(st.st_mode)) {
				*err = xasprintf("url file %s cannot be read: %s", shown,
						 strerror(ENOTDIR));
				goto fail;
			}
			if (!cred_may(cred, &st, X_OK)) {
				*err = xasprintf("url file %s cannot be read: %s (as the user who "
						 "dropped the file)", shown, strerror(EACCES));
				goto fail;
			}
		}
	}
	out = xstrdup(res.len ? res.data : "/");
	free(todo);
	buf_free(&res);
	return out;
fail_inval:
	free(todo);
	buf_free(&res);
	return NULL;
fail:
	free(todo);
	buf_free(&res);
	return NULL;
}

/* A root daemon opens as the dropping user: fsuid, fsgid and groups of this
 * thread only (raw syscalls: glibc's setgroups() would change every thread), so
 * the kernel itself checks modes and ACLs. Other daemons cannot switch; they
 * check the modes themselves (cred_may). */
struct saved_cred {
	bool switched;
	int ngroups;
	gid_t groups[LOCAL_REF_MAX_GROUPS * 2];
};

static bool cred_switch(const struct local_ref_cred *c, struct saved_cred *s)
{
	s->switched = false;
	if (!c || !c->known || c->uid == 0 || geteuid() != 0)
		return false;
	s->ngroups = getgroups((int)(sizeof s->groups / sizeof s->groups[0]), s->groups);
	if (s->ngroups < 0)
		return false;
	if (syscall(SYS_setgroups, (size_t)c->ngroups, c->groups) < 0)
		return false;
	setfsgid(c->gid);
	setfsuid(c->uid);
	s->switched = true;
	return true;
}

static void cred_restore(struct saved_cred *s)
{
	if (!s->switched)
		return;
	setfsuid(0);
	setfsgid(getegid());
	if (syscall(SYS_setgroups, (size_t)s->ngroups, s->groups) < 0)
		log_error("cannot restore the daemon's groups: %s", strerror(errno));
	s->switched = false;
}

static int read_as(const char *path, const struct local_ref_cred *cred, char **data,
		   size_t *len, char **err);

int local_ref_read(const char *path, const struct local_ref_cred *cred, char **data,
		   size_t *len, char **err)
{
	struct saved_cred saved;
	int r;
	if (cred_switch(cred, &saved)) {
		/* the kernel checks: no mode bits of our own */
		r = read_as(path, NULL, data, len, err);
		cred_restore(&saved);
	} else {
		r = read_as(path, cred, data, len, err);
	}
	return r;
}

static int read_as(const char *path, const struct local_ref_cred *cred, char **data,
		   size_t *len, char **err)
{
	*data = NULL;
	*len = 0;
	char *real = resolve(path, cred, path, err);
	if (!real)
		return -EINVAL;
	int r = 0;
	struct stat st;
	if (lstat(real, &st) < 0) {
		r = -errno;
		*err = xasprintf("url file %s cannot be read: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		*err = xasprintf("url file %s is %s, not a regular file", path,
				 type_words(st.st_mode));
		goto out;
	}
	if (!cred_may(cred, &st, R_OK)) {
		r = -EACCES;
		*err = xasprintf("url file %s cannot be read: %s (the user who dropped the file "
				 "may not read it)", path, strerror(EACCES));
		goto out;
	}
	int fd = open(real, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		*err = xasprintf("url file %s cannot be read: %s%s", path, strerror(errno),
				 errno == EACCES ? " (the user who dropped the file may not read it)"
						 : "");
		goto out;
	}
	/* Checked again on what was opened: the path may have changed meanwhile. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (mount_dev && st.st_dev == mount_dev) || !cred_may(cred, &st, R_OK)) {
		r = -EINVAL;
		*err = xasprintf("url file %s changed while being opened; try again", path);
		close(fd);
		goto out;
	}
	if ((size_t)st.st_size > LOCAL_REF_MAX) {
		r = -EFBIG;
		*err = xasprintf("url file %s is larger than %u MiB", path, LOCAL_REF_MAX >> 20);
		close(fd);
		goto out;
	}
	char *buf = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got <= LOCAL_REF_MAX) {
		size_t want = (size_t)st.st_size + 1 - got;
		if (want == 0) {
			/* grew since fstat: read on up to the limit */
			buf = xrealloc(buf, got + 65536 + 1);
			want = 65536;
		}
		ssize_t n = read(fd, buf + got, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (r == 0 && got > LOCAL_REF_MAX) {
		r = -EFBIG;
		*err = xasprintf("url file %s is larger than %u MiB", path, LOCAL_REF_MAX >> 20);
	} else if (r < 0) {
		*err = xasprintf("url file %s cannot be read: %s", path, strerror(-r));
	} else if (got == 0) {
		r = -EINVAL;
		*err = xasprintf("url file %s is empty", path);
	}
	if (r < 0) {
		free(buf);
		goto out;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
out:
	free(real);
	return r;
}

/* --- turning a local url into a data: URL ------------------------------------ */

static bool is_base64_text(const char *s)
{
	size_t n = strlen(s);
	if (n < 200)
		return false;
	for (const char *p = s; *p; p++)
		if (!(('A' <= *p && *p <= 'Z') || ('a' <= *p && *p <= 'z') ||
		      ('0' <= *p && *p <= '9') || *p == '+' || *p == '/' || *p == '=' ||
		      *p == '\n' || *p == '\r'))
			return false;
	return true;
}

bool local_ref_is_local(const char *u)
{
	return !(str_has_prefix(u, "http://") || str_has_prefix(u, "https://") ||
		 str_has_prefix(u, "data:") || is_base64_text(u));
}

static const char *mime_for(const char *path)
{
	static const struct { const char *ext, *mime; } types[] = {
		{ ".png", "image/png" }, { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
		{ ".webp", "image/webp" }, { ".gif", "image/gif" }, { ".mp4", "video/mp4" },
		{ ".mov", "video/quicktime" },
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(path) > strlen(types[i].ext) &&
		    strcasecmp(path + strlen(path) - strlen(types[i].ext), types[i].ext) == 0)
			return types[i].mime;
	return "application/octet-stream";
}

/* Where a local url points: absolute paths as they are; "../videos/X" is a
 * video of this mount (its real file in downloads); any other relative name is a
 * file in jobs/ (or characters/), i.e. in its scratch folder. */
static char *resolve_local(enum job_kind kind, const char *u, char **err)
{
	if (u[0] == '/')
		return xstrdup(u);
	if (str_has_prefix(u, "../videos/") && !strchr(u + 10, '/') && name_valid(u + 10))
		return xasprintf("%s/%s", model_downloads_dir(), u + 10);
	const char *rel = str_has_prefix(u, "./") ? u + 2 : u;
	if (!name_valid(rel)) {
		*err = xasprintf("url \"%s\" is neither a web address nor a file in %s/ "
				 "(use an absolute path for files elsewhere)", u,
				 kind == JOB_VIDEO ? "jobs" : "characters");
		return NULL;
	}
	return xasprintf("%s/%s", model_scratch_dir(kind), rel);
}

int local_ref_inline(enum job_kind kind, cJSON *req, cJSON *shown,
		     const struct local_ref_cred *cred, char **err)
{
	const char *u = json_str(req, "url");
	if (!u || !*u || !local_ref_is_local(u))
		return 0;
	char *path = resolve_local(kind, u, err);
	if (!path)
		return -EINVAL;
	char *data = NULL;
	size_t len = 0;
	if (local_ref_read(path, cred, &data, &len, err) < 0) {
		free(path);
		return -EINVAL;
	}
	char *b64 = str_base64_encode(data, len);
	char *durl = xasprintf("data:%s;base64,%s", mime_for(path), b64);
	json_set_str(req, "url", durl);
	char *note = xasprintf("<local file %s, %zu bytes, sent as base64>", path, len);
	json_set_str(shown, "url", note);
	free(note);
	free(durl);
	free(b64);
	free(data);
	free(path);
	return 0;
}
