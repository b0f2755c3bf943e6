/*
 * sim.h - declarations shared by the parts of sora2-sim, the local stand-in
 * for the upstream Sora2 video API (see tests/sim/README.md).
 *
 * Parts, one concern each:
 *   sim.c      command line, start-up, signals, shutdown
 *   util.c     the one mutex, clocks, interruptible sleep, random ids, logging
 *   state.c    configuration, tasks, API keys, credits, statistics
 *   faults.c   the fault-injection table
 *   mp4.c      the served video bytes (tiny.mp4, padded with a `free` box)
 *   http.c     the libmicrohttpd server: request bodies, routing, faults, logs
 *   api.c      the upstream endpoints (/v1/..., /client/...) and /files/
 *   control.c  the test-control endpoints (/_sim/...)
 *   notify.c   streamed answers and webhook deliveries
 *
 *   $ sora2-sim --port 0 --port-file /tmp/port --gen-time 1 &
 *   $ curl -s -XPOST localhost:$(cat /tmp/port)/v1/draw/result -d '{"id":"x"}'
 *   {"code":-22,"msg":"task not found","data":null}
 *
 * Locking rule: every piece of mutable shared state lives behind the single
 * mutex taken with sim_lock(); functions named *_locked expect it held.
 */
#ifndef SORA2_SIM_H
#define SORA2_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define SIM_MAX_BODY ((size_t)64 * 1024 * 1024)
#define SIM_VIDEO_COST 1600
#define SIM_CHARACTER_COST 200

/* ---- util.c ---------------------------------------------------------- */

void sim_lock(void);
void sim_unlock(void);
double sim_now(void);      /* monotonic seconds */
double sim_wall(void);     /* unix time, seconds */
/* Sleep up to `seconds`; returns early (false) when shutting down. */
bool sim_sleep(double seconds);
/* Like sim_sleep, with the lock held (it is released while waiting). */
bool sim_sleep_locked(double seconds);
void sim_begin_shutdown(void);
bool sim_shutting_down(void);
void sim_random(void *buf, size_t n);
void sim_random_hex(char *out, size_t nchars);   /* writes nchars + NUL */
void sim_random_alnum(char *out, size_t nchars); /* writes nchars + NUL */
void sim_random_uuid(char out[37]);
/* "sk-abc…wxyz"; the result is malloc'ed. */
char *sim_mask_key(const char *key);
void sim_set_quiet(bool quiet);
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *sim_strdup(const char *s); /* aborts on out-of-memory */
void *sim_xmalloc(size_t n);

/* ---- faults.c -------------------------------------------------------- */

enum fault_kind {
	FK_SUBMIT,
	FK_POLL,
	FK_DOWNLOAD,
	FK_ACCOUNT,
	FK_COUNT,
	FK_NONE = -1,
};

enum fault_mode {
	FM_NONE,
	FM_HTTP500,
	FM_HTTP503,
	FM_HTTP429,
	FM_HTTP401,
	FM_RESET,
	FM_RESET_AFTER_CREATE,
	FM_STALL,
	FM_SLOW,
	FM_MALFORMED,
	FM_CODE,
	FM_TRUNCATE,
	FM_EXPIRED,
	FM_RAW,
	FM_ECHO_KEY,
	FM_STREAM_CUT,
	FM_STREAM_STALL,
};

struct fault {
	enum fault_mode mode;
	long count;  /* requests left; -1 = until cleared */
	double delay;
	int code;
	char msg[256];
};

const char *fault_kind_name(enum fault_kind k);
const char *fault_mode_name(enum fault_mode m);
/* Set a fault; kind may be "all". On error returns false with a reason. */
bool fault_set_locked(const char *kind, const char *mode, long count, double delay,
		      bool has_delay, int code, const char *msg, char *err, size_t errlen);
/* "submit=http503:2" */
bool fault_parse_cli_locked(const char *arg, char *err, size_t errlen);
/* Takes one use of the fault for `kind`, copying it to *out (mode FM_NONE if none). */
void fault_take_locked(enum fault_kind kind, struct fault *out);
void fault_clear_all_locked(void);
cJSON *fault_json_locked(void);

/* ---- hang.c ---------------------------------------------------------- */

/* A 127.0.0.1 port where connect() never completes. The port, or -1 with err. */
int hang_start(char *err, size_t errlen);
void hang_stop(void);

/* ---- mp4.c ----------------------------------------------------------- */

bool mp4_load(const char *path, char *err, size_t errlen);
void mp4_free(void);
size_t mp4_base_size(void);
/* The size actually served when `wanted` bytes are asked for (0 = as is). */
uint64_t mp4_served_size(uint64_t wanted);
/* Copies bytes [off, off+n) of a video of `total` bytes into buf. */
void mp4_fill(uint64_t total, uint64_t off, char *buf, size_t n);

/* ---- state.c --------------------------------------------------------- */

enum progress_style { PROGRESS_NORMAL, PROGRESS_MISSING, PROGRESS_JUMP };
enum id_style { ID_UUID, ID_OPAQUE };

struct sim_config {
	double gen_time;
	double expire;
	long long credits;
	uint64_t video_size;
	enum progress_style progress_style;
	enum id_style id_style;
	bool stream_bare;
	bool bad_key_http401;
	char *model_down; /* NULL: the model is up */
};

enum task_kind { TK_VIDEO, TK_UPLOAD_CHARACTER, TK_CREATE_CHARACTER };

enum task_outcome {
	OUT_SUCCEED,
	OUT_FAIL,
	OUT_INPUT_MODERATION,
	OUT_OUTPUT_MODERATION,
	OUT_VIOLATION,
	OUT_MYSTERY,
};

struct task {
	char id[48];
	enum task_kind kind;
	const char *endpoint;
	cJSON *body;      /* request body as kept for /_sim/stats */
	char *key;        /* the API key that paid, for refunds */
	char *key_masked;
	long long cost;
	bool refunded;
	bool settled;     /* final state reached and accounted for */
	double created_wall;
	double created;   /* monotonic */
	double duration;  /* seconds from creation to the final state */
	enum task_outcome outcome;
	bool forced;      /* finished early through /_sim/finish */
	double forced_at;
	bool url_expired; /* through /_sim/expire */
	uint64_t video_bytes;
	char pid[40];
	char character_id[40];
	char *webhook;    /* NULL unless an http(s) URL was given */
	bool shut_progress;
	int hook_last_key;
	bool hook_done;
};

/* Current state of a task, as the API shows it. */
struct task_view {
	const char *status;
	int progress;
	bool has_progress;
	bool final;
	int notify_key; /* changes whenever a streamed/posted update is due */
};

enum key_state { KEY_OK, KEY_INVALID };

bool state_init(const struct sim_config *start, char *err, size_t errlen);
void state_free(void);
void state_set_port(int port);
int state_port(void);
struct sim_config *state_config_locked(void);
bool state_apply_config_locked(const cJSON *obj, char *err, size_t errlen);
cJSON *state_config_json_locked(void);
void state_reset_locked(void);

struct task *task_find_locked(const char *id);
struct task *task_find_pid_locked(const char *pid);
struct task *task_create_locked(enum task_kind kind, const char *endpoint, const cJSON *body,
				const char *key, long long cost, const char *trigger_text,
				const char *webhook, bool shut_progress);
void task_view_locked(struct task *t, double now, struct task_view *v);
cJSON *task_json_locked(struct task *t, double now, struct task_view *v);
bool task_url_expired_locked(struct task *t, double now);
void task_forget_locked(struct task *t);
size_t task_count_locked(void);
struct task *task_at_locked(size_t i);
void tasks_settle_all_locked(double now);

enum key_state key_check_locked(const char *key);
/* Charges `cost` to the key and the account; false if either is short. */
bool credits_charge_locked(const char *key, long long cost);
long long key_credits_locked(const char *key);
long long account_credits_locked(void);
cJSON *key_create_locked(const char *name, int type, long long credits, double expire_time);
bool token_valid(const char *token);

void stats_request_locked(const char *group);
void stats_connection_locked(void);
void stats_download_done_locked(void);
void stats_webhook_locked(bool ok);
cJSON *stats_json_locked(void);

/* ---- http.c ---------------------------------------------------------- */

/* Per-request context, kept from the first callback to completion. */
struct req {
	char method[16];
	char *path;
	char *body;
	size_t len, cap;
	bool too_big;
	int route;
	enum fault_kind fault_kind;
	struct fault fault;
	unsigned status;       /* HTTP status queued, 0 if none */
	const char *outcome;   /* for the log when no status was sent */
};

struct MHD_Daemon *http_start(int port, char *err, size_t errlen);
int http_bound_port(struct MHD_Daemon *d);

enum MHD_Result http_send(struct MHD_Connection *c, struct req *r, unsigned status,
			  struct MHD_Response *resp);
enum MHD_Result http_send_text(struct MHD_Connection *c, struct req *r, unsigned status,
			       const char *ctype, const char *text);
/* Sends and frees the JSON value. */
enum MHD_Result http_send_json(struct MHD_Connection *c, struct req *r, unsigned status,
			       cJSON *obj);
/* The upstream envelope {"code","msg","data"}; data (may be NULL = null) is consumed. */
enum MHD_Result http_send_envelope(struct MHD_Connection *c, struct req *r, int code,
				   const char *msg, cJSON *data);
/* Parses the body as a JSON object; NULL if it is not one. */
cJSON *http_body_json(const struct req *r);

/* ---- api.c ----------------------------------------------------------- */

enum MHD_Result api_submit(struct MHD_Connection *c, struct req *r, enum task_kind kind);
enum MHD_Result api_poll(struct MHD_Connection *c, struct req *r);
enum MHD_Result api_file(struct MHD_Connection *c, struct req *r);
enum MHD_Result api_create_key(struct MHD_Connection *c, struct req *r);
enum MHD_Result api_key_credits(struct MHD_Connection *c, struct req *r);
enum MHD_Result api_credits(struct MHD_Connection *c, struct req *r);
enum MHD_Result api_model_status(struct MHD_Connection *c, struct req *r);

/* ---- control.c ------------------------------------------------------- */

enum MHD_Result control_handle(struct MHD_Connection *c, struct req *r);

/* ---- notify.c -------------------------------------------------------- */

/* cut: after the first task object, close the connection mid-body (stream_cut);
 * stall > 0: after it, send nothing for stall seconds, then close (stream_stall). */
struct MHD_Response *notify_stream_response(const char *task_id, bool bare, bool shut_progress,
					    bool cut, double stall);
bool notify_start(char *err, size_t errlen);
void notify_stop(void);

#endif
