/*
 * notify.c - how sora2-sim pushes task updates instead of being polled:
 *
 *  - streamed answers (submit without webHook): a text/event-stream body with
 *    one `data: {task}` line plus a blank line per update, final object last
 *    (bare JSON lines when stream_bare is on);
 *  - webhooks (webHook is a URL): a background thread POSTs the bare task
 *    object to it on each update, with a minimal HTTP/1.1 client (plain http
 *    only). The same thread settles finished tasks (refunds) promptly.
 *
 * An "update" is a change of the task view's notify_key: about five progress
 * steps while running, then the final state; shutProgress keeps only the last.
 *
 *   $ curl -sN -XPOST localhost:PORT/v1/video/sora-video -H 'Authorization: Bearer sk-x' \
 *         -d '{"model":"sora-2","prompt":"a cat"}'
 *   data: {"id":"…","status":"running","progress":0,"results":[],…}
 *
 *   data: {"id":"…","status":"succeeded","progress":100,"results":[…],…}
 */
#include "sim.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TICK 0.05

/* ---- streamed answers ------------------------------------------------- */

struct stream_ctx {
	char id[48];
	bool bare, shut;
	int last_key;
	bool done;
	bool cut;          /* stream_cut fault */
	double stall;      /* stream_stall fault: seconds */
	int sent;          /* task objects formatted so far */
	char *pending;
	size_t plen, poff;
};

static void stream_free(void *cls)
{
	struct stream_ctx *s = cls;
	free(s->pending);
	free(s);
}

/* Formats the next line into s->pending if an update is due. Lock held. */
static void stream_poll_locked(struct stream_ctx *s)
{
	struct task *t = task_find_locked(s->id);
	if (!t) { /* forgotten (reset): nothing more to say */
		s->done = true;
		return;
	}
	struct task_view v;
	cJSON *obj = task_json_locked(t, sim_now(), &v);
	if (v.notify_key != s->last_key && (!s->shut || v.final)) {
		char *json = cJSON_PrintUnformatted(obj);
		if (json) {
			size_t n = strlen(json);
			free(s->pending);
			s->pending = sim_xmalloc(n + 16);
			s->plen = (size_t)snprintf(s->pending, n + 16, "%s%s\n\n",
						   s->bare ? "" : "data: ", json);
			s->poff = 0;
			s->sent++;
			free(json);
		}
		s->last_key = v.notify_key;
	}
	if (v.final)
		s->done = true;
	cJSON_Delete(obj);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct stream_ctx *s = cls;
	for (;;) {
		if (s->poff < s->plen) {
			size_t n = s->plen - s->poff;
			if (n > max)
				n = max;
			memcpy(buf, s->pending + s->poff, n);
			s->poff += n;
			return (ssize_t)n;
		}
		if (s->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (s->sent >= 1 && s->cut)
			return MHD_CONTENT_READER_END_WITH_ERROR; /* the stream_cut fault */
		if (s->sent >= 1 && s->stall > 0) {
			/* the stream_stall fault: silence, then the connection closes */
			sim_sleep(s->stall);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		sim_lock();
		stream_poll_locked(s);
		bool have = s->poff < s->plen;
		bool alive = have || s->done || sim_sleep_locked(TICK);
		sim_unlock();
		if (!alive)
			return MHD_CONTENT_READER_END_WITH_ERROR; /* shutting down */
	}
}

struct MHD_Response *notify_stream_response(const char *task_id, bool bare, bool shut_progress,
					    bool cut, double stall)
{
	struct stream_ctx *s = sim_xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	snprintf(s->id, sizeof s->id, "%s", task_id);
	s->bare = bare;
	s->shut = shut_progress;
	s->cut = cut;
	s->stall = stall;
	s->last_key = -1;
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, s,
						  stream_free);
	if (!resp)
		stream_free(s);
	return resp;
}

/* ---- webhooks --------------------------------------------------------- */

struct post {
	char *url;
	char *json;
};

static pthread_t g_thread;
static bool g_running;

/* POSTs body to an http:// URL; returns the HTTP status, or -1 with *why set. */
static int http_post(const char *url, const char *body, const char **why)
{
	if (strncmp(url, "http://", 7) != 0) {
		*why = "only http:// webhooks are supported";
		return -1;
	}
	const char *hp = url + 7;
	const char *slash = strchr(hp, '/');
	size_t hplen = slash ? (size_t)(slash - hp) : strlen(hp);
	const char *path = slash ? slash : "/";
	char host[256], port[16] = "80";
	if (hplen == 0 || hplen >= sizeof host) {
		*why = "bad host";
		return -1;
	}
	memcpy(host, hp, hplen);
	host[hplen] = '\0';
	char hostport[256];
	memcpy(hostport, host, hplen + 1);
	char *colon = strrchr(host, ':');
	if (colon && !strchr(host, ']')) {
		snprintf(port, sizeof port, "%s", colon + 1);
		*colon = '\0';
	}

	struct addrinfo hints, *ai = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
		*why = "cannot resolve host";
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = {2, 0};
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		*why = "cannot connect";
		return -1;
	}
	size_t blen = strlen(body);
	char head[600];
	int hl = snprintf(head, sizeof head,
			  "POST %.300s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sora2-sim\r\n"
			  "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n",
			  path, hostport, blen);
	int status = -1;
	*why = "send failed";
	if (hl > 0 && (size_t)hl < sizeof head &&
	    send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl) {
		size_t off = 0;
		while (off < blen) {
			ssize_t w = send(fd, body + off, blen - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		if (off == blen) {
			char resp[256];
			size_t got = 0;
			while (got < sizeof resp - 1) {
				ssize_t n = recv(fd, resp + got, sizeof resp - 1 - got, 0);
				if (n <= 0)
					break;
				got += (size_t)n;
				resp[got] = '\0';
				if (strstr(resp, "\r\n"))
					break;
			}
			resp[got] = '\0';
			int code;
			if (sscanf(resp, "HTTP/%*d.%*d %d", &code) == 1) {
				status = code;
			} else {
				*why = "no HTTP answer";
			}
		}
	}
	close(fd);
	return status;
}

static void *hook_main(void *arg)
{
	(void)arg;
	struct post *posts = NULL;
	size_t cap = 0;
	for (;;) {
		size_t n = 0;
		sim_lock();
		double now = sim_now();
		tasks_settle_all_locked(now);
		for (size_t i = 0; i < task_count_locked(); i++) {
			struct task *t = task_at_locked(i);
			if (t->hook_done || !t->webhook)
				continue;
			struct task_view v;
			cJSON *obj = task_json_locked(t, now, &v);
			if (v.notify_key != t->hook_last_key && (!t->shut_progress || v.final)) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					struct post *np = realloc(posts, cap * sizeof *np);
					if (!np)
						abort();
					posts = np;
				}
				posts[n].url = sim_strdup(t->webhook);
				posts[n].json = cJSON_PrintUnformatted(obj);
				n++;
				t->hook_last_key = v.notify_key;
			}
			if (v.final)
				t->hook_done = true;
			cJSON_Delete(obj);
		}
		sim_unlock();

		for (size_t i = 0; i < n; i++) {
			const char *why = "";
			int status = posts[i].json ? http_post(posts[i].url, posts[i].json, &why) : -1;
			bool good = status >= 200 && status < 300;
			sim_lock();
			stats_webhook_locked(good);
			sim_unlock();
			if (status > 0)
				sim_log("webhook POST %s -> %d", posts[i].url, status);
			else
				sim_log("webhook POST %s failed: %s", posts[i].url, why);
			free(posts[i].url);
			free(posts[i].json);
		}
		if (!sim_sleep(TICK))
			break;
	}
	free(posts);
	return NULL;
}

bool notify_start(char *err, size_t errlen)
{
	int rc = pthread_create(&g_thread, NULL, hook_main, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the webhook thread: %s", strerror(rc));
		return false;
	}
	g_running = true;
	return true;
}

void notify_stop(void)
{
	if (g_running)
		pthread_join(g_thread, NULL);
	g_running = false;
}
