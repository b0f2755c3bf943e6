/* http.c - libcurl multi: all transfers of the engine on one thread.
 *
 *   http_post(h, "http://127.0.0.1:8080/v1/draw/result", key, "{\"id\":\"…\"}", &o, cb, job)
 *   http_run(h, 100)   -> cb(result, job) when the answer is complete or failed
 *
 * Every transfer has a connect timeout and either a total timeout or a stall
 * timeout (downloads), so one silent server never holds anything forever.
 */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct req;

struct http {
	CURLM *multi;
	int running;
	struct req *reqs; /* in flight, so http_free can end them */
};

struct req {
	struct req *next, *prev;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	int fd;
	char *wbuf;      /* file transfers: the body, gathered into whole pieces */
	size_t wlen, wcap;
	off_t written;   /* bytes written to fd */
	off_t synced;    /* writeback started up to here */
	off_t max_size;
	http_cb cb;
	http_data_cb on_data;
	void *ctx;
	struct http_result res;
	char errbuf[CURL_ERROR_SIZE];
};

http_t *http_new(void)
{
	static bool global_done;
	if (!global_done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global_done = true;
	}
	http_t *h = xcalloc(1, sizeof *h);
	h->multi = curl_multi_init();
	http_set_max_connections(h, HTTP_DEFAULT_HOST_CONNECTIONS);
	return h;
}

/* Polls and downloads queue for a few kept-alive connections per host instead
 * of each opening its own: a burst of 1,000 tasks then costs one connection per
 * submit (submits always take a fresh one) and a handful shared by everything
 * else. The cache keeps that many per host, for both hosts. */
void http_set_max_connections(http_t *h, long per_host)
{
	if (per_host < 1)
		per_host = 1;
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 2 * per_host);
}

static void req_free(struct req *r)
{
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->wbuf);
	buf_free(&r->res.body);
	free(r);
}

void http_free(http_t *h)
{
	if (!h)
		return;
	/* End what is still in flight; owners get an aborted result so they can
	 * free their context (the job's state is on disk and resumes later). */
	while (h->reqs) {
		struct req *r = h->reqs;
		h->reqs = r->next;
		curl_multi_remove_handle(h->multi, r->easy);
		r->res.curl_code = CURLE_ABORTED_BY_CALLBACK;
		r->res.sent = true;
		snprintf(r->res.error, sizeof r->res.error, "sora2fs is stopping");
		r->cb(&r->res, r->ctx);
		req_free(r);
	}
	curl_multi_cleanup(h->multi);
	free(h);
}

static size_t to_mem(char *p, size_t size, size_t n, void *ud)
{
	struct req *r = ud;
	/* Answers of the API are small; refuse to buffer a runaway body. */
	if (r->res.body.len + size * n > 64u * 1024 * 1024)
		return 0;
	buf_add(&r->res.body, p, size * n);
	if (r->on_data) {
		long status = 0;
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (!r->on_data(r->ctx, &r->res.body, status))
			return 0;
	}
	return size * n;
}

/* Downloads: libcurl hands the body over in pieces of at most 16 KiB
 * (CURL_MAX_WRITE_SIZE, whatever CURLOPT_BUFFERSIZE is), the first one cut short
 * by the headers. Written as they came, that was 65,000 write() calls per GiB,
 * each straddling pages at an odd offset, and ext4 zeroed the new part-covered
 * blocks before copying into them (19 % of the daemon's CPU in a 1 GiB
 * download). They are gathered into HTTP_WRITE_CHUNK pieces and reach the file
 * at offsets that are multiples of it. */
static bool write_out(struct req *r, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(r->fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(r->res.error, sizeof r->res.error, "cannot write the download: %s",
				 strerror(errno));
			return false;
		}
		p += w;
		len -= (size_t)w;
		r->written += w;
	}
	/* Start the disk writes as the data comes (without waiting for them), so
	 * the fsync before the video is put in place has little left to do. */
	if (r->written - r->synced >= HTTP_WRITEBACK_CHUNK) {
		sync_file_range(r->fd, r->synced, r->written - r->synced, SYNC_FILE_RANGE_WRITE);
		r->synced = r->written;
	}
	return true;
}

/* Write what is gathered (at the end of a transfer: whatever is left). */
static bool flush_wbuf(struct req *r)
{
	bool ok = write_out(r, r->wbuf, r->wlen);
	r->wlen = 0;
	return ok;
}

static size_t to_fd(char *p, size_t size, size_t n, void *ud)
{
	struct req *r = ud;
	size_t len = size * n;
	/* Also without a Content-Length (chunked), the limit holds. */
	if (r->max_size > 0 && r->res.bytes + (off_t)len > r->max_size) {
		r->res.too_big = true;
		snprintf(r->res.error, sizeof r->res.error, "larger than %lld bytes",
			 (long long)r->max_size);
		return 0;
	}
	r->res.bytes += (off_t)len;
	while (len > 0) {
		size_t k = r->wcap - r->wlen < len ? r->wcap - r->wlen : len;
		memcpy(r->wbuf + r->wlen, p, k);
		r->wlen += k;
		p += k;
		len -= k;
		if (r->wlen == r->wcap && !flush_wbuf(r))
			return 0;
	}
	return size * n;
}

static struct req *req_new(const char *url, const struct http_opts *o, http_cb cb, void *ctx)
{
	struct req *r = xcalloc(1, sizeof *r);
	r->fd = -1;
	r->cb = cb;
	r->ctx = ctx;
	r->res.content_length = -1;
	buf_init(&r->res.body);
	r->easy = curl_easy_init();
	CURL *e = r->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sora2fs/" SORA2FS_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout * 1000));
	if (o->timeout > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->timeout * 1000));
	if (o->stall_timeout > 0) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(o->stall_timeout + 0.999));
	}
	if (o->keepalive) {
		/* a stream is quiet for minutes between task objects: keepalive
		 * probes find a dead peer that would otherwise never say so */
		curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
		curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
	}
	r->on_data = o->on_data;
	if (o->fresh_connection) {
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	}
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, to_mem);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	return r;
}

static int start(http_t *h, struct req *r)
{
	CURLMcode mc = curl_multi_add_handle(h->multi, r->easy);
	if (mc != CURLM_OK) {
		req_free(r);
		return -EIO;
	}
	r->next = h->reqs;
	if (h->reqs)
		h->reqs->prev = r;
	h->reqs = r;
	return 0;
}

int http_post(http_t *h, const char *url, const char *bearer, const char *json,
	      const struct http_opts *o, http_cb cb, void *ctx)
{
	struct req *r = req_new(url, o, cb, ctx);
	r->body = xstrdup(json);
	r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
	r->headers = curl_slist_append(r->headers, "Accept: application/json, text/event-stream");
	/* An empty Expect: avoids a 1 s wait for "100 Continue" on large bodies. */
	r->headers = curl_slist_append(r->headers, "Expect:");
	if (bearer && *bearer) {
		char *auth = xasprintf("Authorization: Bearer %s", bearer);
		r->headers = curl_slist_append(r->headers, auth);
		free(auth);
	}
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
	return start(h, r);
}

int http_get(http_t *h, const char *url, int fd, const struct http_opts *o,
	     http_cb cb, void *ctx)
{
	struct req *r = req_new(url, o, cb, ctx);
	if (fd >= 0) {
		r->fd = fd;
		r->wcap = HTTP_WRITE_CHUNK;
		r->wbuf = xmalloc(r->wcap);
		curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, to_fd);
		curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(r->easy, CURLOPT_MAXREDIRS, 5L);
		/* 512 KiB per recv(): 2,000 engine turns per GiB, not 65,000. */
		curl_easy_setopt(r->easy, CURLOPT_BUFFERSIZE, HTTP_DOWNLOAD_BUFFER);
		if (o->max_size > 0) {
			r->max_size = o->max_size;
			curl_easy_setopt(r->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_size);
		}
	}
	return start(h, r);
}

/* Could the request have reached the server? Only failures to connect are
 * sure to have sent nothing; everything else may have. */
static bool maybe_sent(CURLcode c, CURL *e)
{
	if (c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
	    c == CURLE_COULDNT_RESOLVE_PROXY || c == CURLE_SSL_CONNECT_ERROR ||
	    c == CURLE_UNSUPPORTED_PROTOCOL || c == CURLE_URL_MALFORMAT)
		return false;
	long req_size = 0;
	curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &req_size);
	if (c == CURLE_OPERATION_TIMEDOUT && req_size == 0)
		return false; /* timed out while connecting */
	return true;
}

static void unlink_req(http_t *h, struct req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		h->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

void http_cancel(http_t *h, void *ctx)
{
	for (struct req *r = h->reqs; r; r = r->next) {
		if (r->ctx == ctx) {
			curl_multi_remove_handle(h->multi, r->easy);
			unlink_req(h, r);
			req_free(r);
			return;
		}
	}
}

static void finish(http_t *h, CURLMsg *msg)
{
	struct req *r = NULL;
	/* msg dies with remove_handle: take what we need first */
	CURLcode c = msg->data.result;
	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
	curl_multi_remove_handle(h->multi, msg->easy_handle);
	unlink_req(h, r);
	/* the last piece of a file transfer */
	if (c == CURLE_OK && r->wlen > 0 && !flush_wbuf(r))
		c = CURLE_WRITE_ERROR;
	r->res.curl_code = (int)c;
	if (c == CURLE_FILESIZE_EXCEEDED) {
		r->res.too_big = true;
		snprintf(r->res.error, sizeof r->res.error, "larger than %lld bytes",
			 (long long)r->max_size);
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->res.status);
	curl_off_t cl = -1;
	curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	r->res.content_length = cl;
	r->res.sent = c == CURLE_OK || maybe_sent(c, r->easy);
	if (c != CURLE_OK && !r->res.error[0])
		snprintf(r->res.error, sizeof r->res.error, "%s",
			 r->errbuf[0] ? r->errbuf : curl_easy_strerror(c));
	r->cb(&r->res, r->ctx);
	req_free(r);
}

void http_run(http_t *h, int timeout_ms)
{
	curl_multi_poll(h->multi, NULL, 0, timeout_ms, NULL);
	curl_multi_perform(h->multi, &h->running);
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(h->multi, &left)))
		if (msg->msg == CURLMSG_DONE)
			finish(h, msg);
}

void http_wakeup(http_t *h)
{
	if (h)
		curl_multi_wakeup(h->multi);
}

char *http_describe(const struct http_result *r)
{
	if (r->too_big)
		return xasprintf("the file is %s", r->error);
	if (r->curl_code == CURLE_OPERATION_TIMEDOUT)
		return xasprintf("no answer in time (%s)", r->error);
	if (r->curl_code == CURLE_COULDNT_CONNECT)
		return xasprintf("cannot connect (%s)", r->error);
	if (r->curl_code == CURLE_COULDNT_RESOLVE_HOST)
		return xasprintf("host not found (%s)", r->error);
	if (r->curl_code != 0)
		return xasprintf("connection failed (%s)", r->error);
	if (r->status == 401 || r->status == 403)
		return xasprintf("HTTP %ld: the API refused the credentials", r->status);
	if (r->status == 429)
		return xstrdup("HTTP 429: rate limited by the API");
	if (r->status >= 500)
		return xasprintf("HTTP %ld: server trouble at the API", r->status);
	return xasprintf("HTTP %ld", r->status);
}
