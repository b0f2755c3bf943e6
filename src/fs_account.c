/* fs_account.c - account/: credits, the model's status, and new API keys.
 *
 *   $ echo tok-… > config/token
 *   $ cat account/credits
 *   123456
 *   $ cat account/model_status
 *   up
 *   $ echo '{"name": "ci", "type": 1, "credits": 5000}' > account/new_api_key
 *   $ cat account/new_api_key
 *   {
 *           "id":   "…",
 *           "key":  "sk-…",
 *           …
 *   }
 *   $ rm config/token; cat account/credits
 *   cat: account/credits: Required key not available
 *   $ cat account/error
 *   credits: no token: write one to config/token
 *
 * These are the only files whose open waits on the network: the API is asked when
 * credits, api_key_credits or model_status is opened (at most 10 seconds), and a
 * key request is sent when the writer closes new_api_key. stat never calls the
 * API, so the dynamic files show size 0 and are read with direct_io.
 */
#include "engine.h"
#include "fs.h"
#include "log.h"
#include "model.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum acct_file { AF_NONE, AF_CREDITS, AF_KEY_CREDITS, AF_MODEL_STATUS, AF_NEW_KEY, AF_ERROR };
#define AF_KIND_MASK 0xff
#define AF_APPEND    0x100

/* A key request is a few fields; anything bigger is a mistake. */
#define AF_MAX_REQUEST (64 * 1024)
/* Reads wait at most this long, even with a longer -o timeout=. */
#define AF_READ_TIMEOUT 10.0

static const struct {
	const char *name;
	enum acct_file file;
	mode_t perm;
} acct_files[] = {
	{ "credits", AF_CREDITS, 0444 },
	{ "api_key_credits", AF_KEY_CREDITS, 0444 },
	{ "model_status", AF_MODEL_STATUS, 0444 },
	{ "new_api_key", AF_NEW_KEY, 0600 },
	{ "error", AF_ERROR, 0444 },
};
#define N_ACCT_FILES (sizeof acct_files / sizeof acct_files[0])

/* The last key created through new_api_key (pretty JSON + "\n"). Kept in memory
 * only: it is a secret, shown once to whoever asked for it. */
static pthread_mutex_t last_key_lock = PTHREAD_MUTEX_INITIALIZER;
static char *last_key;

static int file_index(const char *rest)
{
	for (size_t i = 0; i < N_ACCT_FILES; i++)
		if (strcmp(rest, acct_files[i].name) == 0)
			return (int)i;
	return -1;
}

/* --- account errors ------------------------------------------------------------ */

/* Record and log why an account operation failed; returns -errnum. */
static int fail(int errnum, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(int errnum, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *why = xvasprintf(fmt, ap);
	va_end(ap);
	char *text = xasprintf("%s: %s", what, why);
	model_account_error_set(text);
	log_warn("%s", text);
	free(text);
	free(why);
	return -errnum;
}

static double read_timeout(void)
{
	const struct options *opt = model_options();
	double t = opt && opt->timeout > 0 ? opt->timeout : AF_READ_TIMEOUT;
	return t < AF_READ_TIMEOUT ? t : AF_READ_TIMEOUT;
}

static double write_timeout(void)
{
	const struct options *opt = model_options();
	return opt && opt->timeout > 0 ? opt->timeout : 30.0;
}

/* One call; on failure records "<what>: <reason>" and returns -errno. */
static int call(enum account_op op, const char *what, const cJSON *body, double timeout,
		cJSON **data)
{
	char *text = NULL, *err = NULL;
	int r = engine_account_call(op, body, timeout, &text, &err);
	if (r < 0) {
		r = fail(-r, what, "%s", err ? err : strerror(-r));
		free(err);
		free(text);
		return r;
	}
	free(err);
	*data = cJSON_Parse(text ? text : "");
	free(text);
	if (!*data)
		return fail(EIO, what, "the API's answer is not valid JSON");
	return 0;
}

/* A whole number that prints exactly (no libm needed). */
static bool is_whole(double d)
{
	return d > -1e15 && d < 1e15 && d == (double)(long long)d;
}

/* A JSON number or numeric string as a line: 123456 -> "123456\n". */
static bool number_line(const cJSON *v, buf_t *out)
{
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (is_whole(d))
			buf_printf(out, "%.0f\n", d);
		else
			buf_printf(out, "%g\n", d);
		return true;
	}
	if (cJSON_IsString(v) && *v->valuestring) {
		buf_printf(out, "%s\n", v->valuestring);
		return true;
	}
	return false;
}

/* credits / api_key_credits: {"credits": N} -> "N\n". */
static int read_credits(enum acct_file f, buf_t *out)
{
	bool by_token = f == AF_CREDITS;
	const char *what = by_token ? "credits" : "api_key_credits";
	const char *field = by_token ? "token" : "api_key";
	char *cred = model_config_get(field);
	if (!*cred) {
		free(cred);
		return fail(ENOKEY, what, by_token ? "no token: write one to config/token"
					      : "no API key: write one to config/api_key");
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, by_token ? "token" : "apiKey", cred);
	free(cred);
	cJSON *data = NULL;
	int r = call(by_token ? ACCT_CREDITS : ACCT_KEY_CREDITS, what, body, read_timeout(), &data);
	cJSON_Delete(body);
	if (r < 0)
		return r;
	const cJSON *credits = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "credits")
						    : data;
	if (number_line(credits, out)) {
		model_account_error_set(NULL);
	} else {
		r = fail(EIO, what, "the API's answer has no credits");
	}
	cJSON_Delete(data);
	return r;
}

/* model_status: {"status": true} -> "up\n"; {"status": false, "error": E} -> "down: E\n". */
static int read_model_status(buf_t *out)
{
	cJSON *data = NULL;
	int r = call(ACCT_MODEL_STATUS, "model_status", NULL, read_timeout(), &data);
	if (r < 0)
		return r;
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(data, "status");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(data, "error");
	if (!cJSON_IsBool(status) && !cJSON_IsNumber(status)) {
		cJSON_Delete(data);
		return fail(EIO, "model_status", "the API's answer has no status");
	}
	bool up = cJSON_IsBool(status) ? cJSON_IsTrue(status) : status->valuedouble != 0;
	if (up)
		buf_adds(out, "up\n");
	else if (cJSON_IsString(error) && *error->valuestring)
		buf_printf(out, "down: %s\n", error->valuestring);
	else
		buf_adds(out, "down\n");
	model_account_error_set(NULL);
	cJSON_Delete(data);
	return 0;
}

/* --- new API keys ---------------------------------------------------------------- */

/* A numeric field of a key request: absent -> 0; a whole number >= 0 otherwise. */
static int request_number(const cJSON *req, const char *name, double *value)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
	*value = 0;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || !is_whole(v->valuedouble))
		return fail(EINVAL, "new_api_key", "\"%s\" must be a whole number >= 0", name);
	*value = v->valuedouble;
	return 0;
}

/* Send the request a handle collected; keep the answer for reading. */
static int create_key(const char *text, size_t len)
{
	static const char *const known[] = { "name", "type", "credits", "expireTime" };
	/* A new request: the previous answer goes, so a failed one never shows
	 * the previous key as if it were its answer. */
	pthread_mutex_lock(&last_key_lock);
	free(last_key);
	last_key = NULL;
	pthread_mutex_unlock(&last_key_lock);
	cJSON *req = cJSON_ParseWithLength(text, len);
	if (!req)
		return fail(EINVAL, "new_api_key", "not valid JSON; write e.g. "
			    "{\"name\": \"ci\", \"type\": 1, \"credits\": 5000}");
	int r = 0;
	double type, credits, expire;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(req, "name");
	if (!cJSON_IsObject(req)) {
		r = fail(EINVAL, "new_api_key", "the request must be a JSON object");
		goto out;
	}
	/* A misspelt field would silently create a key the user did not ask for. */
	for (const cJSON *it = req->child; it; it = it->next) {
		bool ok = false;
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			ok = ok || strcmp(it->string, known[i]) == 0;
		if (!ok) {
			r = fail(EINVAL, "new_api_key", "unknown field '%s'; known: name, type, "
				 "credits, expireTime", it->string);
			goto out;
		}
	}
	if (!cJSON_IsString(name) || !*name->valuestring) {
		r = fail(EINVAL, "new_api_key", "\"name\" (a non-empty string) is required");
		goto out;
	}
	if ((r = request_number(req, "type", &type)) < 0 ||
	    (r = request_number(req, "credits", &credits)) < 0 ||
	    (r = request_number(req, "expireTime", &expire)) < 0)
		goto out;

	char *token = model_config_get("token");
	if (!*token) {
		free(token);
		r = fail(ENOKEY, "new_api_key", "no token: write one to config/token");
		goto out;
	}
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "token", token);
	cJSON_AddNumberToObject(body, "type", type);
	cJSON_AddStringToObject(body, "name", name->valuestring);
	cJSON_AddNumberToObject(body, "credits", credits);
	cJSON_AddNumberToObject(body, "expireTime", expire);
	free(token);
	cJSON *data = NULL;
	r = call(ACCT_CREATE_KEY, "new_api_key", body, write_timeout(), &data);
	cJSON_Delete(body);
	if (r < 0)
		goto out;
	if (!cJSON_IsObject(data)) {
		cJSON_Delete(data);
		r = fail(EIO, "new_api_key", "the API's answer is not a key object");
		goto out;
	}
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(data, "key");
	if (cJSON_IsString(key))
		log_add_secret(key->valuestring);
	char *pretty = cJSON_Print(data);
	cJSON_Delete(data);
	pthread_mutex_lock(&last_key_lock);
	free(last_key);
	last_key = xasprintf("%s\n", pretty ? pretty : "{}");
	pthread_mutex_unlock(&last_key_lock);
	cJSON_free(pretty);
	model_account_error_set(NULL);
	log_info("account: created API key %s", name->valuestring);
out:
	cJSON_Delete(req);
	return r;
}

/* --- handlers ---------------------------------------------------------------------- */

static int acct_getattr(const char *rest, struct stat *st)
{
	if (!*rest) {
		fs_stat_dir_private(st, 0);
		return 0;
	}
	int i = file_index(rest);
	if (i < 0)
		return -ENOENT;
	off_t size = 0;
	if (acct_files[i].file == AF_ERROR) {
		char *e = model_account_error();
		size = *e ? (off_t)strlen(e) + 1 : 0;
		free(e);
	}
	fs_stat_file(st, acct_files[i].perm, size, 0);
	return 0;
}

static int acct_readdir(const char *rest, void *buf, fuse_fill_dir_t filler)
{
	if (*rest)
		return file_index(rest) < 0 ? -ENOENT : -ENOTDIR;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	for (size_t i = 0; i < N_ACCT_FILES; i++)
		filler(buf, acct_files[i].name, NULL, 0, 0);
	return 0;
}

static int acct_open(const char *rest, struct fuse_file_info *fi, struct fs_handle *h)
{
	if (!*rest)
		return -EISDIR;
	int i = file_index(rest);
	if (i < 0)
		return -ENOENT;
	enum acct_file f = acct_files[i].file;
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	fi->direct_io = 1;
	h->tag = (int)f;
	if (writing) {
		if (f != AF_NEW_KEY)
			return -EACCES;
		/* Collect a request; an empty one is never sent. */
		h->writable = true;
		if (fi->flags & O_APPEND)
			h->tag |= AF_APPEND;
		return 0;
	}
	switch (f) {
	case AF_CREDITS:
	case AF_KEY_CREDITS:
		return read_credits(f, &h->data);
	case AF_MODEL_STATUS:
		return read_model_status(&h->data);
	case AF_NEW_KEY:
		pthread_mutex_lock(&last_key_lock);
		if (last_key)
			buf_adds(&h->data, last_key);
		pthread_mutex_unlock(&last_key_lock);
		return 0;
	case AF_ERROR: {
		char *e = model_account_error();
		if (*e)
			buf_printf(&h->data, "%s\n", e);
		free(e);
		return 0;
	}
	default:
		return -ENOENT;
	}
}

static int acct_create(const char *rest, mode_t mode, struct fuse_file_info *fi,
		       struct fs_handle *h)
{
	int i = file_index(rest);
	if (i >= 0 && acct_files[i].file == AF_NEW_KEY)
		return acct_open(rest, fi, h); /* it exists: a stale negative entry */
	return -EACCES;
}

static int acct_write(struct fs_handle *h, const char *buf, size_t size, off_t off)
{
	if ((h->tag & AF_KIND_MASK) != AF_NEW_KEY)
		return -EBADF;
	if (h->tag & AF_APPEND)
		off = (off_t)h->data.len;
	if (off < 0 || (size_t)off > AF_MAX_REQUEST || size > AF_MAX_REQUEST - (size_t)off)
		return -EFBIG;
	int r = fs_write_mem(h, buf, size, off);
	h->dirty = true;
	return r;
}

static int acct_flush(struct fs_handle *h)
{
	if ((h->tag & AF_KIND_MASK) != AF_NEW_KEY || !h->dirty || h->data.len == 0)
		return 0;
	h->dirty = false;
	/* White space only (echo > new_api_key) is an empty request: nothing to send. */
	char *trimmed = str_trim_dup(h->data.data, h->data.len);
	bool empty = !*trimmed && !memchr(h->data.data, '\0', h->data.len);
	free(trimmed);
	if (empty)
		return 0;
	return create_key(h->data.data, h->data.len);
}

static int acct_truncate(const char *rest, off_t size, struct fs_handle *h)
{
	int i = file_index(rest);
	if (h) {
		if ((h->tag & AF_KIND_MASK) != AF_NEW_KEY || !h->writable)
			return -EACCES;
		if (size < 0 || (size_t)size > AF_MAX_REQUEST)
			return -EFBIG;
		return fs_truncate_mem(h, (size_t)size);
	}
	if (!*rest)
		return -EISDIR;
	if (i < 0)
		return -ENOENT;
	/* "> new_api_key" without atomic O_TRUNC: nothing to truncate. */
	return acct_files[i].file == AF_NEW_KEY ? 0 : -EACCES;
}

static int acct_unlink(const char *rest)
{
	return file_index(rest) < 0 ? -ENOENT : -EACCES;
}

static int acct_rename(const char *from, const char *to, unsigned int flags)
{
	return file_index(from) < 0 && *from ? -ENOENT : -EACCES;
}

const struct fs_subtree fs_account_tree = {
	.getattr = acct_getattr,
	.readdir = acct_readdir,
	.open = acct_open,
	.create = acct_create,
	.write = acct_write,
	.flush = acct_flush,
	.truncate = acct_truncate,
	.unlink = acct_unlink,
	.rename = acct_rename,
};
