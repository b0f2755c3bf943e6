/* fs_config.c - config/: the API key, the account token, the host mode, and one
 * file per default request parameter.
 *
 *   $ echo sk-abcdef0123456789wxyz > config/api_key
 *   $ cat config/api_key
 *   sk-abc…wxyz
 *   $ echo moon > config/host_mode
 *   bash: echo: write error: Invalid argument      (write() fails; value kept)
 *   $ echo 16:9 > config/defaults/aspectRatio
 *   $ ls config/defaults
 *   aspectRatio
 *   $ rm config/defaults/aspectRatio
 *
 * A file is read from a snapshot taken at open. Writes are collected in the
 * handle and applied as a whole when the writer closes it (flush), so a value
 * is never half-written. Each write() checks what was collected so far as the
 * whole value (sysfs style): a bad value fails that write() with EINVAL, so
 * "echo bogus > host_mode" fails in every shell, and nothing changes; a
 * refused handle (bad value, or more than 1 MiB: EFBIG) applies nothing. Opening with O_TRUNC and writing nothing (": > config/token")
 * clears the value, but only at release: bash's "echo x > f" closes a dup of the
 * descriptor before it writes, and applying the empty content at that first
 * flush would clear the key for a moment.
 */
#include "fs.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "prompt.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which file a handle is for (low bits of h->tag), plus flags. */
enum cfg_file { CF_NONE, CF_API_KEY, CF_TOKEN, CF_HOST_MODE, CF_DEFAULT };
#define CF_KIND_MASK 0xff
#define CF_APPEND    0x100  /* opened with O_APPEND: writes go to the end */
#define CF_REFUSED   0x200  /* a write was refused: this handle changes nothing */
#define CF_TOO_BIG   0x400  /* ... because it was too big (EFBIG) */

/* No value is anywhere near this; a bigger write is a mistake (cat video > token). */
#define CF_MAX_SIZE (1 << 20)

static const char defaults_dir[] = "defaults";
static const char defaults_prefix[] = "defaults/";

/* --- pending defaults files ------------------------------------------------
 * A defaults file that is open for writing, by name. A created file ("listed")
 * exists while its handle is open, before any value is set, so that
 * "touch defaults/size" or an editor's create-then-write works. A rename of an
 * open file moves the entry, so the value lands under the new name. */
struct pending {
	char *name;
	int refs;
	int listed;          /* handles that created the file */
	struct pending *next;
};

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pending_list;

static struct pending *pending_find_locked(const char *name)
{
	for (struct pending *p = pending_list; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static struct pending *pending_get(const char *name, bool created)
{
	pthread_mutex_lock(&pending_lock);
	struct pending *p = pending_find_locked(name);
	if (!p) {
		p = xcalloc(1, sizeof *p);
		p->name = xstrdup(name);
		p->next = pending_list;
		pending_list = p;
	}
	p->refs++;
	if (created)
		p->listed++;
	pthread_mutex_unlock(&pending_lock);
	return p;
}

static void pending_put(struct pending *p, bool created)
{
	pthread_mutex_lock(&pending_lock);
	p->refs--;
	if (created && p->listed > 0)
		p->listed--;
	if (p->refs == 0) {
		for (struct pending **pp = &pending_list; *pp; pp = &(*pp)->next) {
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		}
		free(p->name);
		free(p);
	}
	pthread_mutex_unlock(&pending_lock);
}

/* The current name of a pending entry (it may have been renamed). malloc'd. */
static char *pending_name(struct pending *p)
{
	pthread_mutex_lock(&pending_lock);
	char *name = xstrdup(p->name);
	pthread_mutex_unlock(&pending_lock);
	return name;
}

static bool pending_listed(const char *name)
{
	bool listed = false;
	pthread_mutex_lock(&pending_lock);
	for (struct pending *p = pending_list; p; p = p->next)
		if (p->listed > 0 && strcmp(p->name, name) == 0)
			listed = true;
	pthread_mutex_unlock(&pending_lock);
	return listed;
}

/* Hide a created-but-empty file (unlink of it, or a rename over it). */
static void pending_unlist(const char *name)
{
	pthread_mutex_lock(&pending_lock);
	for (struct pending *p = pending_list; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			p->listed = 0;
	pthread_mutex_unlock(&pending_lock);
}

/* Move open handles of defaults/from to defaults/to. */
static void pending_rename(const char *from, const char *to)
{
	pthread_mutex_lock(&pending_lock);
	for (struct pending *p = pending_list; p; p = p->next) {
		if (strcmp(p->name, from) == 0) {
			free(p->name);
			p->name = xstrdup(to);
		}
	}
	pthread_mutex_unlock(&pending_lock);
}

/* A handle's own state: the pending entry of a defaults file open for writing. */
struct cfg_priv {
	struct pending *pending;
	bool created;
};

/* --- names and content ----------------------------------------------------- */

static enum cfg_file file_of(const char *rest)
{
	if (strcmp(rest, "api_key") == 0)
		return CF_API_KEY;
	if (strcmp(rest, "token") == 0)
		return CF_TOKEN;
	if (strcmp(rest, "host_mode") == 0)
		return CF_HOST_MODE;
	if (str_has_prefix(rest, defaults_prefix) && rest[sizeof defaults_prefix - 1] &&
	    !strchr(rest + sizeof defaults_prefix - 1, '/'))
		return CF_DEFAULT;
	return CF_NONE;
}

static const char *field_of(enum cfg_file f)
{
	switch (f) {
	case CF_API_KEY: return "api_key";
	case CF_TOKEN: return "token";
	case CF_HOST_MODE: return "host_mode";
	default: return NULL;
	}
}

/* "defaults/size" -> "size" */
static const char *default_name(const char *rest)
{
	return rest + sizeof defaults_prefix - 1;
}

/* A name from query_defaults that can be shown as a file. */
static bool showable_name(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* What reading the file returns now. 0, or -ENOENT when a default is not set. */
static int content_of(enum cfg_file f, const char *rest, buf_t *out)
{
	char *value = NULL;
	if (f == CF_DEFAULT) {
		int r = model_default_get(default_name(rest), &value);
		if (r < 0)
			return r;
	} else {
		value = model_config_get(field_of(f));
		if (f != CF_HOST_MODE && *value) {
			char *masked = mask_secret(value);
			free(value);
			value = masked;
		}
	}
	if (value && *value)
		buf_printf(out, "%s\n", value);
	free(value);
	return 0;
}

/* Does the file exist? For a default: set in the model, or created and open. */
static bool exists(enum cfg_file f, const char *rest)
{
	if (f == CF_NONE)
		return false;
	if (f != CF_DEFAULT)
		return true;
	char *text = NULL;
	int r = model_default_get(default_name(rest), &text);
	free(text);
	return r == 0 || pending_listed(default_name(rest));
}

static void stat_config_file(enum cfg_file f, off_t size, struct stat *st)
{
	mode_t perm = (f == CF_API_KEY || f == CF_TOKEN) ? 0600 : 0644;
	fs_stat_file(st, perm, size, 0);
}

/* --- checking and applying a written value ---------------------------------- */

/* Is raw (what a handle collected) a whole, valid value for the file? Used at
 * write(), so the shell hears about a bad value. 0, or -EINVAL with *err. */
static int check_value(enum cfg_file f, const char *name, const char *raw, size_t len,
		       char **err)
{
	if (memchr(raw, '\0', len)) {
		*err = xstrdup("the value contains a NUL byte");
		return -EINVAL;
	}
	if (!str_utf8_valid(raw, len)) {
		*err = xstrdup("the value is not valid UTF-8 text");
		return -EINVAL;
	}
	char *value = str_trim_dup(raw, len);
	int r = 0;
	if (strchr(value, '\n')) {
		*err = xstrdup("the value must be one line");
		r = -EINVAL;
	} else if (f == CF_HOST_MODE) {
		if (strcmp(value, "auto") != 0 && strcmp(value, "domestic") != 0 &&
		    strcmp(value, "overseas") != 0) {
			*err = xasprintf("host_mode must be auto, domestic or overseas (got \"%s\")",
					 value);
			r = -EINVAL;
		}
	} else if (f == CF_DEFAULT) {
		cJSON *v = NULL;
		if (!param_name_ok(name)) {
			*err = xasprintf("\"%s\" is not a request parameter (defaults: duration, "
					 "aspectRatio, size, model, url)", name);
			r = -EINVAL;
		} else if (*value) {
			r = param_from_text(name, value, &v, err);
		}
		cJSON_Delete(v);
	}
	free(value);
	return r;
}

/* Apply what a handle collected. 0, or -EINVAL (logged) when the value is bad. */
static int apply(struct fs_handle *h)
{
	enum cfg_file f = (enum cfg_file)(h->tag & CF_KIND_MASK);
	struct cfg_priv *cp = h->priv;
	const char *raw = h->data.data ? h->data.data : "";
	char *err = NULL;
	char *name = NULL;
	int r = 0;

	if (f == CF_DEFAULT)
		name = cp && cp->pending ? pending_name(cp->pending) : xstrdup(default_name(h->rest));
	const char *what = f == CF_DEFAULT ? "defaults/" : "";
	const char *which = f == CF_DEFAULT ? name : field_of(f);

	if (check_value(f, which, raw, h->data.len, &err) < 0) {
		log_warn("config/%s%s: %s; not changed", what, which, err);
		free(err);
		free(name);
		return -EINVAL;
	}
	char *value = str_trim_dup(raw, h->data.len);

	switch (f) {
	case CF_API_KEY:
	case CF_TOKEN:
		/* Registered before anything can print it. */
		log_add_secret(value);
		r = model_config_set(field_of(f), value, &err);
		break;
	case CF_HOST_MODE:
		r = model_config_set("host_mode", value, &err); /* "" is refused there */
		break;
	case CF_DEFAULT:
		if (!*value) {
			r = model_default_remove(name);
			if (r == -ENOENT)
				r = 0;
			else if (r == 0)
				log_info("config: default %s removed", name);
		} else {
			r = model_default_set(name, value, &err);
		}
		break;
	default:
		r = -EACCES;
		break;
	}
	if (r < 0) {
		log_warn("config/%s%s: %s; not changed", what, which,
			 err ? err : strerror(-r));
		/* Failing to store it is not the value's fault. */
		if (r != -EIO && r != -ENOSPC && r != -EDQUOT && r != -EROFS)
			r = -EINVAL;
	}
	free(err);
	free(value);
	free(name);
	return r;
}

/* --- handlers ---------------------------------------------------------------- */

static int cfg_getattr(const char *rest, struct stat *st)
{
	if (!*rest || strcmp(rest, defaults_dir) == 0) {
		fs_stat_dir_private(st, 0);
		return 0;
	}
	enum cfg_file f = file_of(rest);
	if (f == CF_NONE)
		return -ENOENT;
	buf_t b;
	buf_init(&b);
	int r = content_of(f, rest, &b);
	if (r == -ENOENT && f == CF_DEFAULT && pending_listed(default_name(rest)))
		r = 0; /* created, no value yet */
	if (r == 0)
		stat_config_file(f, (off_t)b.len, st);
	buf_free(&b);
	return r;
}

static int cfg_readdir(const char *rest, void *buf, fuse_fill_dir_t filler)
{
	if (!*rest) {
		static const char *const names[] = { ".", "..", "api_key", "token", "host_mode",
						     "defaults" };
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			filler(buf, names[i], NULL, 0, 0);
		return 0;
	}
	if (strcmp(rest, defaults_dir) != 0)
		return file_of(rest) == CF_NONE ? -ENOENT : -ENOTDIR;

	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	char **names = model_defaults_list();
	for (char **n = names; n && *n; n++)
		if (showable_name(*n))
			filler(buf, *n, NULL, 0, 0);
	/* Created files without a value yet. */
	pthread_mutex_lock(&pending_lock);
	for (struct pending *p = pending_list; p; p = p->next) {
		if (p->listed <= 0)
			continue;
		bool dup = false;
		for (char **n = names; n && *n && !dup; n++)
			dup = strcmp(*n, p->name) == 0;
		for (struct pending *q = pending_list; q != p && !dup; q = q->next)
			dup = q->listed > 0 && strcmp(q->name, p->name) == 0;
		if (!dup)
			filler(buf, p->name, NULL, 0, 0);
	}
	pthread_mutex_unlock(&pending_lock);
	strv_free(names);
	return 0;
}

/* Set up a handle for writing: starts empty, the value is replaced on apply. */
static void open_for_writing(enum cfg_file f, const char *rest, int flags, bool created,
			     struct fs_handle *h)
{
	h->writable = true;
	h->tag = (int)f | ((flags & O_APPEND) ? CF_APPEND : 0);
	if (flags & O_TRUNC)
		h->dirty = true;
	if (f == CF_DEFAULT) {
		struct cfg_priv *cp = xcalloc(1, sizeof *cp);
		cp->created = created;
		cp->pending = pending_get(default_name(rest), created);
		h->priv = cp;
	}
}

static int cfg_open(const char *rest, struct fuse_file_info *fi, struct fs_handle *h)
{
	if (!*rest || strcmp(rest, defaults_dir) == 0)
		return -EISDIR;
	enum cfg_file f = file_of(rest);
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	bool created = false;
	if (!exists(f, rest)) {
		/* The kernel still believes in a defaults file that went away (a
		 * created file whose value was refused, a removed default): it sends
		 * open, not create, and without O_CREAT. Writing it creates it again. */
		if (f != CF_DEFAULT || !writing || !param_name_ok(default_name(rest)))
			return -ENOENT;
		created = true;
	}
	fi->direct_io = 1;
	if (writing) {
		open_for_writing(f, rest, fi->flags, created, h);
		return 0;
	}
	h->tag = (int)f;
	int r = content_of(f, rest, &h->data);
	if (r == -ENOENT)
		r = 0; /* a created file without a value: empty */
	return r;
}

static int cfg_create(const char *rest, mode_t mode, struct fuse_file_info *fi,
		      struct fs_handle *h)
{
	enum cfg_file f = file_of(rest);
	if (f == CF_NONE)
		return -EACCES;
	if (f != CF_DEFAULT)
		return cfg_open(rest, fi, h); /* the file exists: a stale negative entry */
	if (!param_name_ok(default_name(rest))) {
		/* a typo ("durations"), or an editor's probe (4913, .x.swp) */
		if (!name_is_scratch(default_name(rest)))
			log_warn("config/%s: \"%s\" is not a request parameter (defaults: "
				 "duration, aspectRatio, size, model, url); not created", rest,
				 default_name(rest));
		return -EINVAL;
	}
	fi->direct_io = 1;
	open_for_writing(f, rest, fi->flags, true, h);
	return 0;
}

/* Refuse what a handle collected: nothing will be applied. */
static int refuse(struct fs_handle *h, int r, const char *why)
{
	if (!(h->tag & CF_REFUSED))
		log_warn("config/%s: %s; not changed", h->rest, why);
	h->tag |= CF_REFUSED;
	h->dirty = false;
	h->data.len = 0;
	return r;
}

static int cfg_write(struct fs_handle *h, const char *buf, size_t size, off_t off)
{
	if (h->tag & CF_REFUSED) /* the value was refused: nothing of it is kept */
		return (h->tag & CF_TOO_BIG) ? -EFBIG : -EINVAL;
	if (h->tag & CF_APPEND)
		off = (off_t)h->data.len;
	if (off < 0 || (size_t)off > CF_MAX_SIZE || size > CF_MAX_SIZE - (size_t)off) {
		h->tag |= (h->tag & CF_REFUSED) ? 0 : CF_TOO_BIG;
		refuse(h, -EFBIG, "more than 1 MiB written");
		return (h->tag & CF_TOO_BIG) ? -EFBIG : -EINVAL;
	}
	int r = fs_write_mem(h, buf, size, off);
	if (r < 0)
		return r;
	h->dirty = true;
	/* The whole value so far must be valid: the shell hears it from write(). */
	enum cfg_file f = (enum cfg_file)(h->tag & CF_KIND_MASK);
	struct cfg_priv *cp = h->priv;
	char *name = f == CF_DEFAULT ? (cp && cp->pending ? pending_name(cp->pending)
							    : xstrdup(default_name(h->rest)))
				     : NULL;
	char *err = NULL;
	if (check_value(f, name, h->data.data, h->data.len, &err) < 0) {
		refuse(h, -EINVAL, err);
		r = -EINVAL;
	}
	free(err);
	free(name);
	return r;
}

static int cfg_flush(struct fs_handle *h)
{
	if (h->tag & CF_REFUSED)
		return (h->tag & CF_TOO_BIG) ? -EFBIG : -EINVAL;
	if (!h->dirty || h->data.len == 0)
		return 0; /* nothing written yet: an empty value waits for release */
	h->dirty = false;
	return apply(h);
}

static void cfg_release(struct fs_handle *h)
{
	/* Dirty here: opened with O_TRUNC (or truncated) and nothing written, or
	 * written after the last flush (mmap). Nobody can hear an error now. */
	if (h->dirty) {
		h->dirty = false;
		apply(h);
	}
	struct cfg_priv *cp = h->priv;
	if (cp) {
		if (cp->pending)
			pending_put(cp->pending, cp->created);
		free(cp);
		h->priv = NULL;
	}
}

static int cfg_truncate(const char *rest, off_t size, struct fs_handle *h)
{
	if (size < 0)
		return -EINVAL;
	if (h) {
		if (!h->writable)
			return -EBADF;
		if ((size_t)size > CF_MAX_SIZE) {
			h->tag |= (h->tag & CF_REFUSED) ? 0 : CF_TOO_BIG;
			return refuse(h, -EFBIG, "truncated to more than 1 MiB");
		}
		if (h->tag & CF_REFUSED)
			return -EINVAL;
		return fs_truncate_mem(h, (size_t)size);
	}
	/* Without a handle nothing changes: the value changes when it is written. */
	if (!*rest || strcmp(rest, defaults_dir) == 0)
		return -EISDIR;
	if ((size_t)size > CF_MAX_SIZE)
		return -EFBIG;
	return exists(file_of(rest), rest) ? 0 : -ENOENT;
}

static int cfg_unlink(const char *rest)
{
	enum cfg_file f = file_of(rest);
	if (f == CF_NONE)
		return -ENOENT;
	if (f != CF_DEFAULT)
		return -EACCES;
	const char *name = default_name(rest);
	int r = model_default_remove(name);
	if (r == 0)
		log_info("config: default %s removed", name);
	if (pending_listed(name)) {
		pending_unlist(name);
		r = 0;
	}
	return r;
}

static int cfg_rename(const char *from, const char *to, unsigned int flags)
{
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE, RENAME_WHITEOUT */
	enum cfg_file ff = file_of(from), ft = file_of(to);
	if (ff != CF_DEFAULT)
		return (ff == CF_NONE && *from && strcmp(from, defaults_dir) != 0) ? -ENOENT : -EACCES;
	if (!str_has_prefix(to, defaults_prefix) || strchr(default_name(to), '/'))
		return -EACCES;
	if (ft != CF_DEFAULT || !param_name_ok(default_name(to)))
		return -EINVAL;

	const char *a = default_name(from), *b = default_name(to);
	char *text = NULL;
	bool has_value = model_default_get(a, &text) == 0;
	if (!has_value && !pending_listed(a)) {
		free(text);
		return -ENOENT;
	}
	if (strcmp(a, b) == 0) {
		free(text);
		return 0;
	}
	if ((flags & RENAME_NOREPLACE) && exists(CF_DEFAULT, to)) {
		free(text);
		return -EEXIST;
	}
	int r = 0;
	if (has_value) {
		char *err = NULL;
		r = model_default_set(b, text, &err);
		if (r < 0) {
			log_warn("config/defaults/%s: %s; not renamed", b, err ? err : strerror(-r));
			free(err);
			free(text);
			return -EINVAL;
		}
		free(err);
		model_default_remove(a);
		log_info("config: default %s renamed to %s", a, b);
	} else {
		/* An empty created file replaces b. */
		model_default_remove(b);
	}
	free(text);
	pending_unlist(b);
	pending_rename(a, b);
	return r;
}

const struct fs_subtree fs_config_tree = {
	.getattr = cfg_getattr,
	.readdir = cfg_readdir,
	.open = cfg_open,
	.create = cfg_create,
	.write = cfg_write,
	.flush = cfg_flush,
	.release = cfg_release,
	.truncate = cfg_truncate,
	.unlink = cfg_unlink,
	.rename = cfg_rename,
};
