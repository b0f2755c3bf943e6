/* engine.c - the worker thread: submit, poll, download; account calls.
 *
 *   queued ──submit──▶ running ──poll…poll──▶ downloading ──check──▶ succeeded
 *      │  (sent once;       │ (every poll_interval)     │ (temp file, MP4 check,
 *      │   id persisted)    ▼                           ▼  rename)
 *      └──────────────▶ failed / cancelled ◀────────────┘
 *
 * With -o updates=stream the submit goes without webHook and its answer, a
 * stream of task objects, stays open: the first object with an id accepts the
 * task, later ones are applied as poll answers would be (see "streams").
 *
 * One thread runs every transfer on a libcurl multi handle, so no filesystem
 * call ever waits for the network. The model is the only shared state; the
 * engine takes its lock briefly to pick work and to write results, and sends
 * kernel cache invalidations afterwards, outside every lock.
 */
#include "engine.h"
#include "notify.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fuse.h>

#include "api.h"
#include "download.h"
#include "failpoint.h"
#include "http.h"
#include "log.h"
#include "model.h"
#include "util.h"
#include "writer.h"

#define MAX_REJECTED_SUBMITS 5
#define MAX_DOWNLOAD_ATTEMPTS 5

struct acct_req {
	enum account_op op;
	char *body;
	double timeout;
	int refs;           /* caller + engine */
	bool done;
	int result;
	char *data;
	char *err;
	pthread_cond_t cond;
	struct acct_req *next;
};

enum xfer_type { X_SUBMIT, X_POLL, X_DOWNLOAD, X_ACCOUNT };

struct xfer {
	enum xfer_type type;
	unsigned serial;
	int host_idx;
	struct download dl;
	struct acct_req *acct;
	/* a streamed submit (updates=stream), linked in e.streams while open */
	bool stream;
	bool linked;
	bool stream_done;     /* we ended it from its data callback: read no further */
	char *task_id;        /* from its first task object: the submit was accepted */
	size_t scanned;       /* bytes of the body already split into lines */
	double opened;        /* monotonic time it was sent */
	struct xfer *snext, *sprev;
};

/* A stream may stay open this long (a generation takes 2-6 minutes, one
 * public log 8); then it ends and the task is polled like any other. */
#define STREAM_MAX_SECONDS 1800.0

static struct {
	pthread_t thread;
	bool running;
	atomic_bool stop;
	http_t *http;
	struct fuse *fuse;
	pthread_mutex_t qlock;     /* the two queues below and fuse */
	char **inval;
	size_t n_inval, cap_inval;
	char **flushing;           /* the batch flush_invalidations is sending */
	size_t n_flushing, flushed;
	struct acct_req *acct;
	struct xfer *streams;      /* open streamed submits (engine thread only) */
	struct accepted *accepted; /* accepted submits whose record landed */
	struct done_dl *done;      /* downloads of this turn, newest first (engine thread) */
} e = { .qlock = PTHREAD_MUTEX_INITIALIZER };

/* --- hosts ---------------------------------------------------------------- */

/* The base URLs to try, in order, for host_mode (lock held). */
static int host_list(const char *hosts[2])
{
	const struct options *o = model_options();
	if (o->api_url) {
		hosts[0] = o->api_url;
		return 1;
	}
	const char *dom = o->domestic_url ? o->domestic_url : API_HOST_DOMESTIC;
	const char *ovs = o->overseas_url ? o->overseas_url : API_HOST_OVERSEAS;
	const char *mode = config_peek("host_mode");
	if (strcmp(mode, "domestic") == 0) {
		hosts[0] = dom;
		return 1;
	}
	if (strcmp(mode, "overseas") == 0) {
		hosts[0] = ovs;
		return 1;
	}
	hosts[0] = dom;
	hosts[1] = ovs;
	return 2;
}

static char *join_url(const char *base, const char *path)
{
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, base, path);
}

static double backoff(int attempts)
{
	double d = model_options()->poll_interval * pow(2, attempts < 10 ? attempts : 10);
	return d < 60 ? d : 60;
}

/* The wait before the next poll of a running task (poll_plan.c). A task that
 * was running before a restart has no plan yet: it starts from the wall-clock
 * time the job started. */
static double poll_cap(void)
{
	const struct options *o = model_options();
	return o->poll_cap > 0 ? o->poll_cap : o->poll_interval;
}

static double next_poll(struct job *j, int progress)
{
	double now = now_mono();
	if (j->poll.t0 <= 0) {
		double ran = j->started > 0 ? now_wall() - j->started : 0;
		poll_plan_start(&j->poll, now - (ran > 0 ? ran : 0));
	}
	return poll_plan_next(&j->poll, now, progress, poll_cap());
}

static struct http_opts api_opts(bool fresh)
{
	const struct options *o = model_options();
	return (struct http_opts){ .timeout = o->timeout, .connect_timeout = o->connect_timeout,
				   .fresh_connection = fresh };
}

/* --- change notification -------------------------------------------------- */

static void on_change(const char *path)
{
	notify_changed(path); /* inotify watchers; poll(2) once invalidated */
	pthread_mutex_lock(&e.qlock);
	if (e.n_inval == e.cap_inval) {
		e.cap_inval = e.cap_inval ? e.cap_inval * 2 : 64;
		e.inval = xrealloc(e.inval, e.cap_inval * sizeof *e.inval);
	}
	e.inval[e.n_inval++] = xstrdup(path);
	pthread_mutex_unlock(&e.qlock);
	http_wakeup(e.http);
}

static void on_wake(void)
{
	http_wakeup(e.http);
}

/* Tell the kernel, from this thread and outside every lock (a handler waiting
 * for our lock while the kernel waits for the handler would deadlock). Then
 * wake the path's poll(2) waiters: a reader the page cache serves (fs_jobs.c,
 * settled job files) reads the new value only from here on. */
static void flush_invalidations(void)
{
	pthread_mutex_lock(&e.qlock);
	char **paths = e.inval;
	size_t n = e.n_inval;
	struct fuse *f = e.fuse;
	e.inval = NULL;
	e.n_inval = e.cap_inval = 0;
	e.flushing = paths;
	e.n_flushing = n;
	e.flushed = 0;
	pthread_mutex_unlock(&e.qlock);
	for (size_t i = 0; i < n; i++) {
		if (f)
			fuse_invalidate_path(f, paths[i]);
		pthread_mutex_lock(&e.qlock);
		e.flushed = i + 1;
		pthread_mutex_unlock(&e.qlock);
		notify_invalidated(paths[i]);
	}
	pthread_mutex_lock(&e.qlock);
	e.flushing = NULL;
	e.n_flushing = e.flushed = 0;
	pthread_mutex_unlock(&e.qlock);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* Is a change of path waiting for its invalidation? (notify_poll: not
 * "changed" yet, the wake comes after it.) */
static bool inval_pending(const char *path)
{
	bool r = false;
	pthread_mutex_lock(&e.qlock);
	for (size_t i = 0; !r && i < e.n_inval; i++)
		r = strcmp(e.inval[i], path) == 0;
	for (size_t i = e.flushed; !r && i < e.n_flushing; i++)
		r = strcmp(e.flushing[i], path) == 0;
	pthread_mutex_unlock(&e.qlock);
	return r;
}

/* --- submit --------------------------------------------------------------- */

static void on_submit(const struct http_result *res, void *ctx);

static struct xfer *xfer_new(enum xfer_type t, unsigned serial, int host_idx)
{
	struct xfer *x = xcalloc(1, sizeof *x);
	x->type = t;
	x->serial = serial;
	x->host_idx = host_idx;
	x->dl.fd = -1;
	x->dl.replaced_fd = -1;
	return x;
}

/* --- streams (updates=stream) ---------------------------------------------- */

/* The one submit POST goes out exactly as in poll mode (after its durable
 * "sending" record, never resent), only without webHook, so its answer is a
 * stream of task objects. The first object with an id is the acceptance: the
 * record (id, running) is written and waited for, then EV_SUBMIT_ACCEPTED is
 * applied, all while the transfer goes on. The job is not busy from then on
 * (cancel, forget, refresh and polls work as for any running job); later
 * objects go through apply_task like poll answers. A stream that ends without
 * the final state leaves a running task with a known id: it is polled. One
 * that never gave an id is a submit of unknown outcome, as in poll mode.
 * Streams are checked every turn (streams_check): one whose job no longer
 * follows its task is ended, one without an id after `timeout` seconds too. */

static bool on_stream_data(void *ctx, const buf_t *body, long status);
static void submit_after_cancel(struct job *j, enum fsm_event ev, const char *id,
				const char *why);
static void apply_task(struct job *j, const cJSON *data);

static void stream_opts(struct http_opts *o)
{
	o->timeout = STREAM_MAX_SECONDS;
	o->keepalive = true;
	o->on_data = on_stream_data;
}

static void stream_link(struct xfer *x)
{
	x->sprev = NULL;
	x->snext = e.streams;
	if (e.streams)
		e.streams->sprev = x;
	e.streams = x;
	x->linked = true;
	x->opened = now_mono();
}

static void stream_unlink(struct xfer *x)
{
	if (!x->linked)
		return;
	if (x->sprev)
		x->sprev->snext = x->snext;
	else
		e.streams = x->snext;
	if (x->snext)
		x->snext->sprev = x->sprev;
	x->linked = false;
}

static void xfer_free(struct xfer *x)
{
	stream_unlink(x);
	free(x->task_id);
	free(x);
}

/* The longest wait between safety polls of a task whose stream is open. */
static double stream_safety_wait(void)
{
	return poll_cap();
}

/* Does job j (lock held) still follow the task this stream reports on? */
static bool stream_wanted(const struct job *j, const struct xfer *x)
{
	return j && j->status == ST_RUNNING && j->id && x->task_id &&
	       strcmp(j->id, x->task_id) == 0;
}

/* The first task object with an id: the submit was accepted. Written to disk
 * before it is applied, as on_submit does (here waited for: the stream goes
 * on only once the task is on record). Returns whether to keep reading. */
static bool stream_accept(struct xfer *x, const char *id)
{
	struct writer_wait saved;
	writer_wait_init(&saved);
	model_lock();
	struct job *aj = job_by_serial(x->serial);
	bool queued = aj && job_save_accepted(aj, id, writer_wait_done, &saved) == 0;
	model_unlock();
	if (!queued)
		writer_wait_done(0, &saved);
	int rc = writer_wait(&saved);

	bool keep = false;
	model_lock();
	struct job *j = job_by_serial(x->serial);
	if (j && queued)
		job_accepted_landed(j, rc);
	if (!j) {
		log_warn("a job was forgotten while its submit was on the way, and the API "
			 "created task %s for it; it is not followed", id);
	} else {
		j->busy = false;
		failpoint("submit-answered");
		if (j->status == ST_CANCELLED) {
			submit_after_cancel(j, EV_SUBMIT_ACCEPTED, id, NULL);
		} else if (job_set_submitted(j, id) == 0) {
			poll_plan_start(&j->poll, now_mono());
			j->streaming = true;
			j->next_at = now_mono() + stream_safety_wait();
			log_info("%s: submitted, task %s (streamed answer)", j->name, id);
			keep = true;
		}
	}
	model_unlock();
	return keep;
}

/* One task object from the stream. Returns whether to keep reading. */
static bool stream_task(struct xfer *x, const cJSON *task)
{
	if (!x->task_id) {
		char *id = api_submit_id(task);
		if (!id)
			return true; /* nothing to go by yet */
		x->task_id = id;
		if (!stream_accept(x, id))
			return false;
	}
	/* an object with only an id (an envelope {"id"}) says nothing of the state */
	if (!cJSON_HasObjectItem(task, "status"))
		return true;
	model_lock();
	struct job *j = job_by_serial(x->serial);
	bool keep = stream_wanted(j, x);
	if (keep) {
		apply_task(j, task);
		keep = j->status == ST_RUNNING; /* final: nothing more to hear */
		if (!keep)
			j->streaming = false;
	}
	model_unlock();
	return keep;
}

/* Split the body's complete lines from where the last call stopped (and the
 * unterminated rest when the transfer is over) into task objects. */
static bool stream_scan(struct xfer *x, const buf_t *body, bool at_end)
{
	while (!x->stream_done && x->scanned < body->len) {
		const char *p = body->data + x->scanned;
		size_t left = body->len - x->scanned;
		const char *nl = memchr(p, '\n', left);
		if (!nl && !at_end)
			break;
		size_t n = nl ? (size_t)(nl - p) : left;
		x->scanned += nl ? n + 1 : n;
		cJSON *task = api_stream_line_task(p, n);
		if (task && !stream_task(x, task))
			x->stream_done = true;
		cJSON_Delete(task);
	}
	return !x->stream_done;
}

static bool on_stream_data(void *ctx, const buf_t *body, long status)
{
	struct xfer *x = ctx;
	/* error answers are classified whole at the end, as in poll mode */
	if (status != 200 || atomic_load(&e.stop))
		return true;
	return stream_scan(x, body, false);
}

/* The stream of an accepted task is over (closed, broken or ended by us). */
static void stream_closed(struct xfer *x, const struct http_result *res)
{
	model_lock();
	struct job *j = job_by_serial(x->serial);
	if (stream_wanted(j, x) && j->streaming) {
		j->streaming = false;
		char *desc = res ? http_describe(res) : xstrdup("ended");
		log_info("%s: the stream of task %s ended before the final state (%s); "
			 "polling it", j->name, x->task_id, res && res->curl_code == 0 ? "closed" : desc);
		free(desc);
		j->next_at = now_mono() + POLL_PLAN_MIN;
	} else if (j && j->id && x->task_id && strcmp(j->id, x->task_id) == 0) {
		j->streaming = false;
	}
	model_unlock();
}

/* End streams nobody listens to any more, and those that gave no id within
 * the timeout of a submit (outcome unknown, never resent). Locks not held. */
static void streams_check(void)
{
	double now = now_mono();
	double limit = model_options()->timeout;
	struct xfer *next;
	for (struct xfer *x = e.streams; x; x = next) {
		next = x->snext;
		if (!x->task_id) {
			if (now - x->opened <= limit)
				continue;
			stream_unlink(x);
			http_cancel(e.http, x);
			struct http_result res;
			memset(&res, 0, sizeof res);
			buf_init(&res.body);
			res.curl_code = 28; /* CURLE_OPERATION_TIMEDOUT */
			res.sent = true;
			res.status = 200;
			res.content_length = -1;
			snprintf(res.error, sizeof res.error, "the streamed answer gave no task id "
				 "within %.0f s", limit);
			on_submit(&res, x); /* frees x */
			continue;
		}
		model_lock();
		struct job *j = job_by_serial(x->serial);
		bool keep = stream_wanted(j, x);
		if (!keep && j && j->id && strcmp(j->id, x->task_id) == 0)
			j->streaming = false;
		model_unlock();
		if (!keep) {
			log_debug("ending the stream of task %s: its job no longer follows it",
				  x->task_id);
			stream_unlink(x);
			http_cancel(e.http, x);
			xfer_free(x);
		}
	}
}

/* Make the job's submit to hosts[host_idx] due. The state machine decides
 * whether it may go at all: a cancelled or forgotten job is never sent. It is
 * persisted as "sending" first, and sent (send_submit, from schedule) only once
 * that record is on disk: after a crash we know the outcome is unknown instead
 * of sending it again. Lock held. */
static void start_submit(struct job *j, int host_idx)
{
	const char *hosts[2];
	int n = host_list(hosts);
	if (host_idx >= n)
		return;
	if (job_set_submitting(j, hosts[host_idx]) < 0)
		return;
	j->sending_host = host_idx;
}

/* The "sending" record is on disk: send. Lock held. */
static void send_submit(struct job *j)
{
	const char *hosts[2];
	int n = host_list(hosts);
	int host_idx = j->sending_host;
	j->sending_durable = false;
	if (host_idx >= n)
		host_idx = 0;
	/* the body was built at the drop, outside the lock; after a restart or a
	 * retry it is built here */
	const char *path = j->body ? j->body_path : API_PATH_VIDEO;
	char *built = NULL;
	if (!j->body) {
		cJSON *body = j->kind == JOB_VIDEO ? api_video_body(j->request)
						   : api_character_body(j->request, &path);
		if (model_options()->stream)
			api_body_stream(body);
		built = cJSON_PrintUnformatted(body);
		cJSON_Delete(body);
	}
	const char *json = j->body ? j->body : built;
	char *url = join_url(hosts[host_idx], path);
	struct http_opts o = api_opts(true);
	struct xfer *x = xfer_new(X_SUBMIT, j->serial, host_idx);
	/* the body was made for this mode (no webHook: a streamed answer) */
	if (model_options()->stream) {
		stream_opts(&o);
		x->stream = true;
	}
	if (http_post(e.http, url, config_peek("api_key"), json, &o, on_submit, x) < 0) {
		free(x);
		job_event(j, EV_SUBMIT_UNSENT, "cannot start the request; retrying");
		j->next_at = now_mono() + backoff(j->attempts++);
	} else {
		j->busy = true;
		if (x->stream)
			stream_link(x);
		log_debug("%s: submitting to %s%s", j->name, hosts[host_idx],
			  x->stream ? " (streamed answer)" : "");
	}
	free(url);
	cJSON_free(built);
}

/* What the answer to a submit means: one of the EV_SUBMIT_* events. *id: the
 * task id (accepted); *why: the reason in words (malloc'd). */
static enum fsm_event classify_submit(const struct http_result *res, char **id, char **why)
{
	*id = NULL;
	*why = NULL;
	char *desc = http_describe(res);
	enum fsm_event ev;
	if (!res->sent) {
		ev = EV_SUBMIT_UNSENT;
	} else if (res->curl_code != 0) {
		ev = EV_SUBMIT_UNKNOWN;
	} else if (res->status == 429 || res->status == 503) {
		ev = EV_SUBMIT_LATER;
	} else if (res->status >= 500) {
		ev = EV_SUBMIT_UNKNOWN;
	} else if (res->status == 401 || res->status == 403) {
		ev = EV_SUBMIT_REFUSED;
		*why = xstrdup("the API key was not accepted (check config/api_key)");
	} else if (res->status != 200) {
		ev = EV_SUBMIT_REFUSED;
	} else {
		cJSON *data = NULL;
		long code = 0;
		char *msg = NULL;
		enum api_outcome out = api_parse_envelope(res->body.data, res->body.len, &data,
							  &code, &msg);
		if (out == API_OK) {
			*id = api_submit_id(data);
		} else if (out == API_ERR_SYNTAX) {
			/* A streaming answer carries task objects with the id. */
			cJSON *t = api_stream_last_task(res->body.data, res->body.len);
			if (t)
				*id = api_submit_id(t);
			cJSON_Delete(t);
		}
		if (*id) {
			ev = EV_SUBMIT_ACCEPTED;
		} else if (out == API_ERR_CODE) {
			ev = EV_SUBMIT_REFUSED;
			*why = xstrdup(msg ? msg : "unknown error");
		} else {
			ev = EV_SUBMIT_UNKNOWN;
			*why = xstrdup(out == API_OK ? "the answer had no task id"
						     : "the answer was not valid JSON");
		}
		free(msg);
		cJSON_Delete(data);
	}
	if (!*why)
		*why = desc;
	else
		free(desc);
	return ev;
}

/* The answer to a submit of a job cancelled meanwhile: recorded as it is, never
 * sent again (job_fsm refuses every send of a cancelled job). */
static void submit_after_cancel(struct job *j, enum fsm_event ev, const char *id,
				const char *why)
{
	switch (ev) {
	case EV_SUBMIT_ACCEPTED:
		job_set_submitted(j, id);
		log_warn("%s: cancelled, but the submit on its way was accepted as task %s; "
			 "not following it", j->name, id);
		break;
	case EV_SUBMIT_UNSENT:
		job_event(j, ev, "cancelled; the submit never reached the API: nothing was billed");
		break;
	case EV_SUBMIT_LATER:
	case EV_SUBMIT_REFUSED:
		job_eventf(j, ev, "cancelled; the API did not take the submit (%s): nothing was "
			   "billed", why);
		break;
	default:
		job_eventf(j, ev, "cancelled while its submit was on the way, and the submit's "
			   "outcome is unknown (%s): a task may have been created and billed. "
			   "Check your account. Nothing will be sent again.", why);
		break;
	}
}

static void handle_submit_answer(struct job *j, int host_idx, enum fsm_event ev,
				 const char *id, const char *why)
{
	const char *hosts[2];
	int n = host_list(hosts);
	if (j->status == ST_CANCELLED) {
		submit_after_cancel(j, ev, id, why);
	} else if (ev == EV_SUBMIT_UNSENT && host_idx + 1 < n) {
		/* nothing went out: the next host is safe to try, if the job still may go */
		log_info("%s: %s unreachable (%s), trying %s", j->name, hosts[host_idx], why,
			 hosts[host_idx + 1]);
		if (job_event(j, EV_SUBMIT_UNSENT, NULL) == 0)
			start_submit(j, host_idx + 1);
	} else if (ev == EV_SUBMIT_UNSENT) {
		double d = backoff(j->attempts++);
		job_eventf(j, ev, "cannot reach the API: %s; nothing was sent, trying again in %.0f s",
			   why, ceil(d));
		j->next_at = now_mono() + d;
	} else if (ev == EV_SUBMIT_ACCEPTED) {
		if (job_set_submitted(j, id) == 0) {
			poll_plan_start(&j->poll, now_mono());
			j->next_at = now_mono() + poll_plan_first(&j->poll, poll_cap());
			log_info("%s: submitted, task %s", j->name, id);
		}
	} else if (ev == EV_SUBMIT_LATER && ++j->attempts > MAX_REJECTED_SUBMITS) {
		job_eventf(j, EV_SUBMIT_REFUSED, "the API kept refusing the request (%s); nothing "
			   "was billed. Write retry to ctl to try again.", why);
	} else if (ev == EV_SUBMIT_LATER) {
		double d = backoff(j->attempts);
		job_eventf(j, ev, "%s; nothing was billed, trying again in %.0f s", why, ceil(d));
		j->next_at = now_mono() + d;
	} else if (ev == EV_SUBMIT_REFUSED) {
		job_eventf(j, ev, "the API refused the request: %s; nothing was billed. Fix it, "
			   "then write retry to ctl.", why);
	} else {
		job_eventf(j, ev, "the submit's outcome is unknown (%s): a task may have been "
			   "created and billed. Check your account, then write retry to ctl to "
			   "submit again.", why);
	}
}

/* The submit's answer, classified, with the job still busy. Lock held. */
static void finish_submit(unsigned serial, int host_idx, bool sent, enum fsm_event ev,
			  const char *id, const char *why)
{
	struct job *j = job_by_serial(serial);
	if (!j) {
		if (ev == EV_SUBMIT_ACCEPTED)
			log_warn("a job was forgotten while its submit was on the way, and the API "
				 "created task %s for it; it is not followed", id);
		else
			log_info("a job was forgotten while its submit was on the way (%s); "
				 "nothing is sent again", why);
		return;
	}
	j->busy = false;
	if (sent)
		failpoint("submit-answered");
	handle_submit_answer(j, host_idx, ev, id, why);
}

/* An accepted submit whose record (id, running) is being written: the engine
 * goes on meanwhile, and finishes it (finish_accepted) once it is on disk. */
struct accepted {
	unsigned serial;
	int host_idx;
	char *id, *why;
	int rc;
	struct accepted *next;
};

static void accepted_free(struct accepted *a)
{
	free(a->id);
	free(a->why);
	free(a);
}

/* Writer thread: the accepted record landed (or could not be written: the
 * job goes on as before, and its next save tries again). */
static void accepted_saved(int rc, void *ctx)
{
	struct accepted *a = ctx;
	a->rc = rc;
	if (rc < 0)
		log_error("the record of task %s could not be saved: %s", a->id, strerror(-rc));
	pthread_mutex_lock(&e.qlock);
	bool stopped = !e.http; /* the engine stopped meanwhile: the record says it */
	if (!stopped) {
		a->next = e.accepted;
		e.accepted = a;
		http_wakeup(e.http);
	}
	pthread_mutex_unlock(&e.qlock);
	if (stopped)
		accepted_free(a);
}

/* Engine thread, lock not held: the accepted submits now on disk. */
static void finish_accepted(void)
{
	pthread_mutex_lock(&e.qlock);
	struct accepted *list = e.accepted;
	e.accepted = NULL;
	pthread_mutex_unlock(&e.qlock);
	if (!list)
		return;
	model_lock();
	while (list) {
		struct accepted *a = list;
		list = a->next;
		struct job *j = job_by_serial(a->serial);
		if (j)
			job_accepted_landed(j, a->rc);
		if (!atomic_load(&e.stop))
			finish_submit(a->serial, a->host_idx, true, EV_SUBMIT_ACCEPTED, a->id, a->why);
		accepted_free(a);
	}
	model_unlock();
}

static void on_submit(const struct http_result *res, void *ctx)
{
	struct xfer *x = ctx;
	stream_unlink(x);
	if (atomic_load(&e.stop)) {
		xfer_free(x);
		return; /* state stays "sending": unknown after restart, by design */
	}
	if (x->stream && res->status == 200)
		stream_scan(x, &res->body, true); /* the last line may lack its newline */
	if (x->task_id) {
		/* accepted from the stream already: only its end is news */
		stream_closed(x, res);
		xfer_free(x);
		return;
	}
	char *id = NULL, *why = NULL;
	enum fsm_event ev = classify_submit(res, &id, &why);
	model_lock();
	/* An accepted task is on disk (id, running) before anyone can see it: a
	 * crash right after must not lose track of a billed task. The job stays
	 * busy until then; the engine does not wait (a burst's 1,000 answers
	 * share the writer's groups). */
	struct job *j = ev == EV_SUBMIT_ACCEPTED ? job_by_serial(x->serial) : NULL;
	if (j) {
		struct accepted *a = xcalloc(1, sizeof *a);
		a->serial = x->serial;
		a->host_idx = x->host_idx;
		a->id = id;
		a->why = why;
		if (job_save_accepted(j, id, accepted_saved, a) == 0) {
			model_unlock();
			xfer_free(x);
			return;
		}
		free(a);
	}
	finish_submit(x->serial, x->host_idx, res->sent, ev, id, why);
	model_unlock();
	free(id);
	free(why);
	xfer_free(x);
}

/* --- poll ----------------------------------------------------------------- */

static void on_poll(const struct http_result *res, void *ctx);

static void start_poll(struct job *j)
{
	const char *hosts[2];
	int n = host_list(hosts);
	const char *host = j->host;
	if (!host || model_options()->api_url) {
		host = hosts[0];
	} else {
		bool known = false;
		for (int i = 0; i < n; i++)
			known |= strcmp(hosts[i], host) == 0;
		if (!known)
			host = hosts[0];
	}
	cJSON *body = api_result_body(j->id);
	char *json = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	char *url = join_url(host, API_PATH_RESULT);
	struct http_opts o = api_opts(false);
	struct xfer *x = xfer_new(X_POLL, j->serial, 0);
	if (http_post(e.http, url, config_peek("api_key"), json, &o, on_poll, x) < 0) {
		free(x);
		j->next_at = now_mono() + backoff(j->attempts++);
	} else {
		j->busy = true;
	}
	free(url);
	cJSON_free(json);
}

/* A poll failed: keep polling, with the reason visible in the error file. */
static void poll_trouble(struct job *j, const char *why, bool unreachable)
{
	if (j->status != ST_RUNNING && j->status != ST_DOWNLOADING) {
		j->refresh = false;
		return;
	}
	double d = backoff(j->attempts < 4 ? j->attempts : 4);
	j->attempts++;
	job_set_error(j, "polling failed: %s; trying again in %.1f s", why, d);
	j->next_at = now_mono() + d;
	if (unreachable) {
		/* try the other host next time (host_mode auto) */
		const char *hosts[2];
		int n = host_list(hosts);
		if (n == 2) {
			const char *other = (j->host && strcmp(j->host, hosts[0]) == 0) ? hosts[1] : hosts[0];
			job_set_host(j, other);
		}
	}
}

static void apply_task(struct job *j, const cJSON *data)
{
	api_task t;
	if (api_task_parse(data, &t) < 0) {
		poll_trouble(j, "the answer held no task", false);
		return;
	}
	char *text = cJSON_Print(data);
	job_set_result(j, text);
	cJSON_free(text);
	bool refresh_only = j->status != ST_RUNNING && j->status != ST_DOWNLOADING;
	bool url_refresh = j->status == ST_DOWNLOADING;
	j->refresh = false;
	j->attempts = 0;
	enum api_task_state st = api_task_state(&t);
	if (refresh_only || url_refresh) {
		if (st == TASK_SUCCEEDED && t.url)
			job_set_url(j, t.url);
		if (url_refresh)
			j->next_at = 0;
		api_task_free(&t);
		return;
	}
	job_clear_error(j);
	switch (st) {
	case TASK_RUNNING: {
		job_set_progress(j, t.progress);
		/* the plan follows the progress also while a stream reports it, so
		 * it is ready if the stream drops; meanwhile only safety polls */
		double d = next_poll(j, t.progress);
		j->next_at = now_mono() + (j->streaming ? stream_safety_wait() : d);
		break;
	}
	case TASK_SUCCEEDED:
		if (j->kind == JOB_VIDEO && !t.url) {
			job_eventf(j, EV_POLL_FAILED, "the task succeeded but the API gave no video link");
		} else if (j->kind == JOB_CHARACTER && !t.character_id) {
			job_eventf(j, EV_POLL_FAILED, "the task succeeded but the API gave no character_id");
		} else {
			job_set_upstream_success(j, t.url, t.pid, t.character_id);
		}
		break;
	case TASK_FAILED:
	case TASK_UNKNOWN_FINAL: {
		char *why = api_task_failure_text(&t);
		job_eventf(j, EV_POLL_FAILED, "%s", why);
		free(why);
		break;
	}
	}
	api_task_free(&t);
}

static void on_poll(const struct http_result *res, void *ctx)
{
	struct xfer *x = ctx;
	if (atomic_load(&e.stop)) {
		free(x);
		return;
	}
	model_lock();
	struct job *j = job_by_serial(x->serial);
	if (j) {
		j->busy = false;
		if (j->status == ST_CANCELLED) {
			j->refresh = false;
		} else if (res->curl_code != 0 || res->status != 200) {
			char *desc = http_describe(res);
			poll_trouble(j, desc, !res->sent);
			free(desc);
		} else {
			cJSON *data = NULL;
			long code = 0;
			char *msg = NULL;
			enum api_outcome out = api_parse_envelope(res->body.data, res->body.len,
								  &data, &code, &msg);
			if (out == API_OK) {
				apply_task(j, data);
			} else if (out == API_ERR_CODE && code == -22 &&
				   (j->status == ST_RUNNING)) {
				/* msg already reads "code -22: …" (api.c): not twice */
				job_eventf(j, EV_POLL_FAILED, "the API no longer knows task %s (%s)",
					       j->id, msg ? msg : "code -22");
			} else if (out == API_ERR_CODE) {
				poll_trouble(j, msg ? msg : "API error", false);
			} else {
				poll_trouble(j, "the answer was not valid JSON", false);
			}
			free(msg);
			cJSON_Delete(data);
		}
	}
	model_unlock();
	free(x);
}

/* --- download ------------------------------------------------------------- */

static void on_download(const struct http_result *res, void *ctx);

static void download_trouble(struct job *j, const char *why)
{
	if (++j->attempts >= MAX_DOWNLOAD_ATTEMPTS) {
		job_eventf(j, EV_DOWNLOAD_FAILED, "the video could not be downloaded (%s, %d tries); write "
			       "redownload to ctl to try again", why, j->attempts);
		return;
	}
	double d = backoff(j->attempts - 1);
	job_set_error(j, "download failed: %s; trying again in %.1f s", why, d);
	j->next_at = now_mono() + d;
}

static void start_download(struct job *j)
{
	const char *name = job_reserve_video(j);
	struct xfer *x = xfer_new(X_DOWNLOAD, j->serial, 0);
	int r = download_open(model_downloads_dir(), name, &x->dl);
	if (r < 0) {
		free(x);
		char *why = xasprintf("cannot create a file in %s: %s", model_downloads_dir(),
				      strerror(-r));
		download_trouble(j, why);
		free(why);
		return;
	}
	const struct options *o = model_options();
	struct http_opts ho = { .connect_timeout = o->connect_timeout,
				.stall_timeout = o->stall_timeout,
				.max_size = o->max_video_size };
	if (http_get(e.http, j->url, x->dl.fd, &ho, on_download, x) < 0) {
		download_abort(&x->dl);
		free(x);
		download_trouble(j, "cannot start the transfer");
		return;
	}
	j->busy = true;
	log_debug("%s: downloading to %s", j->name, name);
}

/* Downloads that arrived in one engine turn, placed together after it
 * (finish_downloads). */
struct done_dl {
	unsigned serial;
	struct xfer *x;
	off_t length;
	bool replace;
	int r;
	char *err;
	struct done_dl *next;
};

/* The job's video failed or was placed (r), its busy flag released. Lock held. */
static void download_outcome(struct job *j, int r, const char *err)
{
	j->busy = false;
	if (r == 0 && j->status != ST_DOWNLOADING)
		log_warn("jobs/%s: the video was saved as %s while the job became %s",
			 j->name, j->video, job_status_name(j->status));
	else if (r < 0)
		download_trouble(j, err ? err : "cannot move the video into place");
}

/* Check, fsync and rename the videos of one turn without the model's lock (a
 * 1 GiB video takes a while); their jobs stay busy meanwhile. In steps over
 * all of them, so a burst of small videos costs a few journal commits, not
 * three per video: the records naming the reserved files are on disk first
 * (one writer_flush), then every video is checked and its writeback started,
 * fsynced, renamed, and the folder fsynced once; then, with the lock, one
 * history save for all and each job's record (job_set_videos_done).
 * Lock not held on entry or exit. */
static void finish_downloads(void)
{
	struct done_dl *list = NULL;
	while (e.done) { /* back into arrival order */
		struct done_dl *d = e.done;
		e.done = d->next;
		d->next = list;
		list = d;
	}
	if (!list)
		return;
	writer_flush();
	for (struct done_dl *d = list; d; d = d->next)
		d->r = download_check(&d->x->dl, d->length, &d->err);
	for (struct done_dl *d = list; d; d = d->next)
		if (d->r == 0)
			d->r = download_sync(&d->x->dl, &d->err);
	bool placed = false;
	for (struct done_dl *d = list; d; d = d->next) {
		if (d->r < 0)
			continue;
		d->r = download_place(&d->x->dl, d->replace, &d->err);
		for (int tries = 0; d->r == -EEXIST && tries < 3; tries++) {
			/* someone put a file of that name there meanwhile: pick another */
			model_lock();
			struct job *j = job_by_serial(d->serial);
			char *name = j ? xstrdup(job_reserve_video_again(j)) : NULL;
			model_unlock();
			if (!name)
				break;
			writer_flush();
			d->r = download_rename_to(&d->x->dl, name);
			free(name);
		}
		if (d->r == -EEXIST)
			download_abort(&d->x->dl);
		if (d->r == 0) {
			placed = true;
			failpoint("video-renamed");
		}
	}
	if (placed)
		download_sync_dir(model_downloads_dir());

	model_lock();
	size_t n = 0, cap = 0;
	struct job **ready = NULL;
	for (struct done_dl *d = list; d; d = d->next) {
		struct job *j = job_by_serial(d->serial);
		if (!j) {
			if (d->r == 0)
				log_warn("a job was forgotten while its video was saved; the video "
					 "stays in %s", model_downloads_dir());
			continue;
		}
		if (d->r == 0 && j->status == ST_DOWNLOADING) {
			j->busy = false;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				ready = xrealloc(ready, cap * sizeof *ready);
			}
			ready[n++] = j;
		} else {
			download_outcome(j, d->r, d->err);
		}
	}
	job_set_videos_done(ready, n, now_wall());
	model_unlock();
	free(ready);
	while (list) {
		struct done_dl *d = list;
		list = d->next;
		/* the new video is shown: now free the one it replaced */
		download_drop_replaced(&d->x->dl);
		free(d->err);
		xfer_free(d->x);
		free(d);
	}
}

static void on_download(const struct http_result *res, void *ctx)
{
	struct xfer *x = ctx;
	if (atomic_load(&e.stop)) {
		download_abort(&x->dl);
		free(x);
		return;
	}
	model_lock();
	struct job *j = job_by_serial(x->serial);
	if (!j || j->status != ST_DOWNLOADING) {
		download_abort(&x->dl);
		if (j)
			j->busy = false;
	} else if (res->curl_code == 0 && (res->status == 200 || res->status == 206)) {
		/* busy stays true until finish_downloads has placed the file */
		struct done_dl *d = xcalloc(1, sizeof *d);
		d->serial = j->serial;
		d->x = x;
		d->length = res->content_length;
		d->replace = j->replace_video;
		d->next = e.done;
		e.done = d;
		model_unlock();
		return;
	} else {
		j->busy = false;
		download_abort(&x->dl);
		char *desc = http_describe(res);
		bool gone = res->status == 403 || res->status == 404 || res->status == 410;
		if (res->too_big) {
			/* the same file again would be as big: no retries */
			job_eventf(j, EV_DOWNLOAD_FAILED, "the video is larger than max_video_size "
				   "(%lld MiB): not downloaded", (long long)(model_options()
				   ->max_video_size >> 20));
		} else if (gone && !j->url_refreshed) {
			/* links expire: ask the API once for a fresh one */
			j->url_refreshed = true;
			j->refresh = true;
			job_set_error(j, "the video link answered %s; asking the API for a new link", desc);
		} else if (gone) {
			job_eventf(j, EV_DOWNLOAD_FAILED, "the video link has expired (%s); the API gives links "
				   "for about 2 hours after a task succeeds. Write "
				   "redownload to ctl to try again.", desc);
		} else {
			download_trouble(j, desc);
		}
		free(desc);
	}
	model_unlock();
	free(x);
}

/* --- account -------------------------------------------------------------- */

static void acct_release(struct acct_req *a)
{
	pthread_mutex_lock(&e.qlock);
	bool last = --a->refs == 0;
	pthread_mutex_unlock(&e.qlock);
	if (last) {
		free(a->body);
		free(a->data);
		free(a->err);
		pthread_cond_destroy(&a->cond);
		free(a);
	}
}

static void acct_done(struct acct_req *a, int result, char *data, char *err)
{
	pthread_mutex_lock(&e.qlock);
	a->result = result;
	a->data = data;
	a->err = err;
	a->done = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&e.qlock);
	acct_release(a);
}

static const char *acct_path(enum account_op op)
{
	switch (op) {
	case ACCT_CREDITS: return API_PATH_CREDITS;
	case ACCT_KEY_CREDITS: return API_PATH_KEY_CREDITS;
	case ACCT_MODEL_STATUS: return API_PATH_MODEL_STATUS;
	case ACCT_CREATE_KEY: return API_PATH_CREATE_KEY;
	}
	return "";
}

static void on_account(const struct http_result *res, void *ctx);

static void start_account(struct acct_req *a, int host_idx)
{
	model_lock();
	const char *hosts[2];
	int n = host_list(hosts);
	char *url = join_url(hosts[host_idx < n ? host_idx : 0], acct_path(a->op));
	model_unlock();
	struct http_opts o = api_opts(a->op == ACCT_CREATE_KEY);
	o.timeout = a->timeout;
	struct xfer *x = xfer_new(X_ACCOUNT, 0, host_idx);
	x->acct = a;
	int r = a->op == ACCT_MODEL_STATUS ? http_get(e.http, url, -1, &o, on_account, x)
					   : http_post(e.http, url, NULL, a->body, &o, on_account, x);
	if (r < 0) {
		free(x);
		acct_done(a, -EIO, NULL, xstrdup("cannot start the request"));
	}
	free(url);
}

static void on_account(const struct http_result *res, void *ctx)
{
	struct xfer *x = ctx;
	struct acct_req *a = x->acct;
	int host_idx = x->host_idx;
	free(x);
	if (!res->sent && !atomic_load(&e.stop)) {
		model_lock();
		const char *hosts[2];
		int n = host_list(hosts);
		model_unlock();
		if (host_idx + 1 < n) {
			start_account(a, host_idx + 1);
			return;
		}
	}
	if (res->curl_code != 0 || res->status != 200) {
		char *desc = http_describe(res);
		int err = res->curl_code == 28 /* CURLE_OPERATION_TIMEDOUT */ ? -ETIMEDOUT
			  : (res->status == 401 || res->status == 403) ? -EACCES : -EIO;
		acct_done(a, err, NULL, desc);
		return;
	}
	cJSON *data = NULL;
	long code = 0;
	char *msg = NULL;
	enum api_outcome out = api_parse_envelope(res->body.data, res->body.len, &data, &code, &msg);
	if (out == API_OK) {
		char *t = cJSON_PrintUnformatted(data);
		acct_done(a, 0, xstrdup(t), NULL);
		cJSON_free(t);
		free(msg);
	} else if (out == API_ERR_CODE) {
		char *why = xasprintf("the API refused: %s", msg ? msg : "unknown error");
		free(msg);
		acct_done(a, -EACCES, NULL, why);
	} else {
		free(msg);
		acct_done(a, -EIO, NULL, xstrdup("the API answered something that is not JSON"));
	}
	cJSON_Delete(data);
}

int engine_account_call(enum account_op op, const cJSON *body, double timeout,
			char **data, char **err)
{
	*data = NULL;
	*err = NULL;
	if (!e.running) {
		*err = xstrdup("sora2fs is not connected to the API");
		return -EIO;
	}
	struct acct_req *a = xcalloc(1, sizeof *a);
	a->op = op;
	a->timeout = timeout;
	a->refs = 2;
	if (body) {
		char *t = cJSON_PrintUnformatted(body);
		a->body = xstrdup(t);
		cJSON_free(t);
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&e.qlock);
	a->next = e.acct;
	e.acct = a;
	pthread_mutex_unlock(&e.qlock);
	http_wakeup(e.http);

	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	/* a little more than the transfer's own timeout, so curl answers first */
	double wait = timeout + 1.0;
	until.tv_sec += (time_t)wait;
	until.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int r;
	pthread_mutex_lock(&e.qlock);
	while (!a->done) {
		if (pthread_cond_timedwait(&a->cond, &e.qlock, &until) == ETIMEDOUT)
			break;
	}
	if (a->done) {
		r = a->result;
		*data = a->data;
		*err = a->err;
		a->data = a->err = NULL;
	} else {
		r = -ETIMEDOUT;
		*err = xasprintf("no answer from the API within %.0f s", timeout);
	}
	pthread_mutex_unlock(&e.qlock);
	acct_release(a);
	return r;
}

/* Hand every queued account request to fn (start it, or fail it at stop). */
static void drain_account_requests(void (*fn)(struct acct_req *a))
{
	pthread_mutex_lock(&e.qlock);
	struct acct_req *list = e.acct;
	e.acct = NULL;
	pthread_mutex_unlock(&e.qlock);
	while (list) {
		struct acct_req *a = list;
		list = a->next;
		fn(a);
	}
}

static void start_account_first_host(struct acct_req *a)
{
	start_account(a, 0);
}

static void fail_account_stopping(struct acct_req *a)
{
	acct_done(a, -EIO, NULL, xstrdup("sora2fs is stopping"));
}

/* --- the loop ------------------------------------------------------------- */

static bool counts_as_active(const struct job *j)
{
	return (j->status == ST_RUNNING && j->submit == SUBMIT_ACCEPTED) ||
	       (j->status == ST_QUEUED && j->submit == SUBMIT_SENDING) || /* saving or sending */
	       (j->busy && j->submit == SUBMIT_SENDING);
}

/* Start what is due; returns seconds until the next thing is due. Lock held. */
static double schedule(void)
{
	double now = now_mono(), next = 1.0;
	const struct options *o = model_options();
	int active = 0;
	for (struct job *j = model_jobs(); j; j = j->next)
		active += counts_as_active(j);
	bool have_key = *config_peek("api_key") != '\0';

	for (struct job *j = model_jobs(); j; j = j->next) {
		if (j->busy)
			continue;
		if (j->next_at > now) {
			if (j->next_at - now < next)
				next = j->next_at - now;
			continue;
		}
		switch (j->status) {
		case ST_QUEUED:
			if (j->submit == SUBMIT_SENDING && j->sending_durable) {
				/* its "sending" record is on disk now: send it */
				send_submit(j);
				break;
			}
			if (j->submit != SUBMIT_NONE)
				break;
			if (!have_key) {
				if (!j->error || strcmp(j->error, "no API key: write one to config/api_key") != 0)
					job_event(j, EV_KEY_MISSING, "no API key: write one to config/api_key");
				break;
			}
			if (active >= o->max_active) {
				/* say why it waits (issue 8) */
				job_set_error(j, "waiting for a free slot: %d jobs are active "
					      "(max_active=%d); it starts when one finishes",
					      active, o->max_active);
				break;
			}
			if (j->error && str_has_prefix(j->error, "waiting for a free slot"))
				job_clear_error(j);
			start_submit(j, 0);
			active++;
			break;
		case ST_RUNNING:
			if (j->id)
				start_poll(j);
			break;
		case ST_DOWNLOADING:
			if (j->refresh && j->id)
				start_poll(j);
			else if (j->url)
				start_download(j);
			else
				job_eventf(j, EV_DOWNLOAD_FAILED, "the task succeeded but no video link is known");
			break;
		default:
			if (j->refresh && j->id)
				start_poll(j);
			break;
		}
	}
	return next;
}

static void *engine_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&e.stop)) {
		finish_accepted();
		model_lock();
		double next = schedule();
		double lists = model_save_lists_locked(false);
		if (lists < next)
			next = lists;
		model_unlock();
		streams_check();
		drain_account_requests(start_account_first_host);
		flush_invalidations();
		int ms = (int)(next * 1000);
		http_run(e.http, ms < 5 ? 5 : ms > 1000 ? 1000 : ms);
		finish_downloads();
		flush_invalidations();
	}
	return NULL;
}

int engine_start(void)
{
	e.http = http_new();
	/* each open stream holds a connection to the API host for minutes: they
	 * get their own share (at most max_active, as only running tasks stream),
	 * so polls and downloads keep the usual connections and submits never
	 * wait for each other */
	if (model_options()->stream)
		http_set_max_connections(e.http, HTTP_DEFAULT_HOST_CONNECTIONS +
					 model_options()->max_active);
	atomic_store(&e.stop, false);
	model_set_change_hook(on_change);
	model_set_wake_hook(on_wake);
	notify_set_pending_check(inval_pending);
	int r = pthread_create(&e.thread, NULL, engine_main, NULL);
	if (r != 0) {
		http_free(e.http);
		e.http = NULL;
		return -r;
	}
	e.running = true;
	return 0;
}

void engine_set_fuse(struct fuse *f)
{
	pthread_mutex_lock(&e.qlock);
	e.fuse = f;
	pthread_mutex_unlock(&e.qlock);
}

void engine_stop(void)
{
	if (!e.running)
		return;
	engine_set_fuse(NULL);
	atomic_store(&e.stop, true);
	http_wakeup(e.http);
	pthread_join(e.thread, NULL);
	e.running = false;
	model_set_change_hook(NULL);
	model_set_wake_hook(NULL);
	notify_set_pending_check(NULL);
	/* account callers still waiting get an error from the aborted transfers */
	pthread_mutex_lock(&e.qlock);
	http_t *h = e.http;
	e.http = NULL;
	pthread_mutex_unlock(&e.qlock);
	http_free(h);
	pthread_mutex_lock(&e.qlock);
	struct accepted *left = e.accepted;
	e.accepted = NULL;
	pthread_mutex_unlock(&e.qlock);
	while (left) {
		struct accepted *a = left;
		left = a->next;
		accepted_free(a);
	}
	drain_account_requests(fail_account_stopping);
	flush_invalidations();
}
