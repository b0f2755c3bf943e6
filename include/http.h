/* http.h - every HTTP transfer, on one libcurl multi handle, with timeouts.
 *
 * Only the engine thread calls these (http_wakeup excepted). A finished
 * transfer calls its callback from http_run(); the request is freed after.
 */
#ifndef SORA2FS_HTTP_H
#define SORA2FS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

typedef struct http http_t;

/* Streamed answers: called on the engine thread after each piece of a memory
 * transfer's body arrived (body: everything so far; status: the HTTP status).
 * Return false to end the transfer (its callback then sees a write error). */
typedef bool (*http_data_cb)(void *ctx, const buf_t *body, long status);

struct http_opts {
	double timeout;          /* total seconds; 0 = none (downloads) */
	double connect_timeout;  /* seconds */
	double stall_timeout;    /* abort below 1 KiB/s for this long; 0 = off */
	bool fresh_connection;   /* never reuse or keep the connection (submits:
				  * curl must not silently resend a POST) */
	off_t max_size;          /* file transfers: refuse a body larger than this
				  * (announced or received); 0 = no limit */
	bool keepalive;          /* TCP keepalive probes (long-open streams) */
	http_data_cb on_data;    /* see http_data_cb; NULL = only the final callback */
};

struct http_result {
	int curl_code;           /* CURLcode; 0 = a complete answer */
	long status;             /* HTTP status, 0 if none */
	bool sent;               /* the request may have reached the server */
	char error[256];         /* curl's words for a failure */
	buf_t body;              /* the answer (memory transfers) */
	off_t bytes;             /* bytes written to fd (file transfers) */
	off_t content_length;    /* announced length, -1 unknown */
	bool too_big;            /* aborted: the body is larger than max_size */
};

typedef void (*http_cb)(const struct http_result *res, void *ctx);

http_t *http_new(void);
/* Connections kept and used at once per host (default HTTP_DEFAULT_HOST_CONNECTIONS);
 * requests beyond it wait for a free connection. */
#define HTTP_DEFAULT_HOST_CONNECTIONS 16L
#define HTTP_DOWNLOAD_BUFFER (512L * 1024)
/* Downloads reach the file in pieces of this size, at offsets that are
 * multiples of it. 64-192 KiB measured best; from 256 KiB on, writes here took
 * 1.5-3x the CPU (the kernel's copies into the page cache slow down). */
#define HTTP_WRITE_CHUNK (128u * 1024)
#define HTTP_WRITEBACK_CHUNK (16u * 1024 * 1024) /* start writeback every this many bytes */
void http_set_max_connections(http_t *h, long per_host);
void http_free(http_t *h);
/* POST JSON (bearer may be NULL). */
int http_post(http_t *h, const char *url, const char *bearer, const char *json,
	      const struct http_opts *o, http_cb cb, void *ctx);
/* GET into memory (fd < 0) or append to fd. */
int http_get(http_t *h, const char *url, int fd, const struct http_opts *o,
	     http_cb cb, void *ctx);
/* End the transfer whose callback context is ctx, at once and without calling
 * its callback (the caller owns ctx). Never from that transfer's own callbacks. */
void http_cancel(http_t *h, void *ctx);
/* Run transfers for at most timeout_ms (returns early when woken or done). */
void http_run(http_t *h, int timeout_ms);
void http_wakeup(http_t *h);
/* A short description of a failed result for users ("HTTP 503", "timed out after
 * 30 s", "connection refused"). malloc'd. */
char *http_describe(const struct http_result *r);

#endif
