/* model.h - what the filesystem shows, in memory, behind one lock.
 *
 * Jobs (video and character), the configuration, the history and the account
 * scratch state live here. FUSE handlers read and change it through the functions
 * below (each takes the lock itself); the engine takes the lock with model_lock()
 * and uses the job_* functions, which expect the lock held. Every change that must
 * survive a crash is written to STUDIO_DIR/data/ before the function returns.
 *
 *   echo "a cat" > jobs/cat.txt   -> model_job_create()   -> jobs/cat/status: queued
 *   engine submits                -> job_set_submitted()  -> jobs/cat/id, running
 */
#ifndef SORA2FS_MODEL_H
#define SORA2FS_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "job_fsm.h"
#include "options.h"
#include "poll_plan.h"
#include "writer.h"


const char *job_status_name(enum job_status s);

struct job {
	unsigned serial;         /* record: data/sora2fs/jobs/<serial>.json */
	enum job_kind kind;
	char *name;
	char *source;            /* the dropped file's bytes (prompt) */
	size_t source_len;
	char *source_file;       /* the dropped file's name */
	cJSON *request;          /* the request as it will be sent (url may be base64) */
	char *request_shown;     /* request.json: the body with secrets and base64 replaced */
	char *id;                /* upstream task id */
	char *host;              /* base URL the task was submitted to */
	enum job_status status;
	enum submit_state submit;
	int progress;
	char *error;
	char *result;            /* result.json text: last task object */
	char *url, *pid, *character_id;
	char *video;             /* file name in downloads (reserved when downloading) */
	double created, started, finished; /* wall clock */
	bool upstream_succeeded; /* the task succeeded upstream (url known) */
	double mtime;            /* last change, for stat */

	/* engine scratch, not persisted */
	bool busy;               /* a transfer for this job is in flight */
	bool streaming;          /* updates=stream: the submit's streamed answer is open and
				  * delivers the task's state (engine.c); not persisted */
	double next_at;          /* monotonic time of the next step */
	int attempts;            /* retries of the current step */
	bool url_refreshed;      /* an expired download link was re-polled once */
	bool replace_video;      /* redownload: replace the existing file */
	bool refresh;            /* ctl refresh: poll once now, even when finished */
	bool sending_wait;       /* the "sending" record is on its way to the disk */
	bool sending_durable;    /* ... and is there: the submit may go out */
	unsigned sending_seq;    /* which save of the "sending" record that was */
	int sending_host;        /* the host index it goes to */
	char *accepted_text;     /* the accepted record job_save_accepted wrote, once it
				    is on disk: job_set_submitted does not write it again */
	double accepted_started; /* the start time that record holds */
	char *pending_accepted;  /* that record while it is being written */
	bool request_durable;    /* N.request.json is on disk */
	bool request_queued;     /* ... or on its way */
	char *body;              /* the submit body as text, built at the drop outside the
				    lock (cJSON_free); NULL: built when sent; freed once accepted */
	const char *body_path;   /* its API path (a constant) */
	struct poll_plan poll;   /* when to poll next (poll_plan.c); t0 0 = not started */
	struct job *next;
};

/* --- start and stop ------------------------------------------------------- */
/* Load everything from STUDIO_DIR (creating it). On failure returns -errno and
 * *err says why in words ("…/data/config.json: not valid JSON near byte 12; fix
 * it or move it away"); nothing on disk is changed. */
int model_init(const struct options *opt, char **err);
void model_shutdown(void);
const struct options *model_options(void);
const char *model_downloads_dir(void);
const char *model_scratch_dir(enum job_kind kind); /* real folder behind jobs/ or characters/ */

void model_lock(void);
void model_unlock(void);
/* Lock held: queue active_tasks.json / task_times.json if they changed since
 * the last call (the engine calls it once per turn); not force: at most one
 * rewrite per 0.2 s. Returns the seconds until the next call is due. */
double model_save_lists_locked(bool force);

/* --- change notification: who to tell when something changed ------------- */
/* Called (without the lock) with a mount path whose content changed; set by the
 * engine to queue kernel cache invalidations. */
void model_set_change_hook(void (*hook)(const char *path));
/* Wake the engine (new work). Set by the engine. */
void model_set_wake_hook(void (*hook)(void));

/* --- configuration (each takes the lock) ---------------------------------- */
/* field: "api_key", "token", "host_mode". Returns malloc'd value ("" if unset). */
char *model_config_get(const char *field);
/* Validates (host_mode: auto|domestic|overseas), persists data/config.json.
 * Returns 0 or -EINVAL with *err. value is trimmed by the caller. */
int model_config_set(const char *field, const char *value, char **err);
/* Default request parameters (query_defaults). list: NULL-terminated, malloc'd. */
char **model_defaults_list(void);
int model_default_get(const char *name, char **text);    /* -ENOENT */
int model_default_set(const char *name, const char *text, char **err); /* -EINVAL */
int model_default_remove(const char *name);               /* -ENOENT */
void strv_free(char **v);

/* --- jobs (each takes the lock) ------------------------------------------- */
/* Start a job from a dropped file. Parses, merges defaults, validates, resolves a
 * local url. On success returns 0, *name (malloc'd) = the job's name.
 * Bad content: the job is still created, as failed with the reason in error, and
 * -EINVAL is returned (with *name set). Other failures: -errno, no job. */
int model_job_create(enum job_kind kind, const char *file_name, const char *data,
		     size_t len, char **name);
/* Names of all jobs of a kind (NULL-terminated, malloc'd). */
char **model_job_names(enum job_kind kind);
/* The same with each job's mtime (*mtimes malloc'd, one per name), in one
 * pass under the lock: ls -l jobs/ asks for both. */
char **model_job_names_mtimes(enum job_kind kind, double **mtimes);
bool model_job_exists(enum job_kind kind, const char *name);
/* The content of one file of a job directory ("status", "progress", …).
 * Returns 0 with *data (malloc'd) and *len, -ENOENT if the job or file does not exist. */
int model_job_file(enum job_kind kind, const char *name, const char *file,
		   char **data, size_t *len);
/* The files a job directory lists now (NULL-terminated, malloc'd). */
char **model_job_files(enum job_kind kind, const char *name);
double model_job_mtime(enum job_kind kind, const char *name);
double model_job_created(enum job_kind kind, const char *name); /* wall clock */
/* ctl command: cancel | retry | refresh | redownload. 0, -EINVAL, -EBUSY, -ENOENT. */
int model_job_ctl(enum job_kind kind, const char *name, const char *cmd);
int model_job_forget(enum job_kind kind, const char *name);
int model_job_rename(enum job_kind kind, const char *from, const char *to);

/* --- videos and history (each takes the lock) ----------------------------- */
struct video_info { char *prompt, *url, *task_id, *pid; };
/* What is known about a file in downloads (from history and jobs). 0 / -ENOENT. */
int model_video_info(const char *file, struct video_info *vi);
void video_info_free(struct video_info *vi);
/* A video file was renamed / deleted through videos/: keep history and jobs in step. */
void model_video_renamed(const char *from, const char *to);
void model_video_deleted(const char *file);
/* A video went to the trash: its history entry leaves history.json (returned,
 * JSON text, malloc'd, or NULL) and jobs forget the file. */
char *model_video_trashed(const char *file);
/* A video came back from the trash as file, with its entry (NULL: none). */
void model_video_restored(const char *file, const char *entry);
/* history.json as the mount shows it (malloc'd). */
char *model_history_text(size_t *len);

/* --- outside edits -------------------------------------------------------- */
/* Another program rewrote data/config.json / data/history.json: the mount shows
 * it from now on (takes json; a later write through the mount starts from it).
 * true if it differed from what the mount showed. */
bool model_outside_config(cJSON *config);
bool model_outside_history(cJSON *history);

/* --- account -------------------------------------------------------------- */
/* The last account error ("credits: no token: write one to config/token"), or "". */
char *model_account_error(void);
void model_account_error_set(const char *text); /* NULL or "" clears */

/* --- for the engine (lock held) ------------------------------------------- */
/* A config value ("api_key", "token", "host_mode"), valid until the lock is released. */
const char *config_peek(const char *field);
struct job *model_jobs(void);              /* list head */
struct job *job_by_serial(unsigned serial);
/* Persist the job record (atomically; durable when sync): serialised now, written
 * by the writer thread after the lock is released. */
void job_save(struct job *j, bool sync);
/* State changes. Every change of status or submit state is an event of the job
 * state machine (job_fsm.h): refused events (-EINVAL, -EBUSY) are logged and
 * change nothing. Each persists and reports the change; every text stored is
 * passed through the secret filter. error: the new error text or NULL. */
int job_event(struct job *j, enum fsm_event ev, const char *error);
int job_eventf(struct job *j, enum fsm_event ev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int job_set_submitting(struct job *j, const char *host);  /* EV_SLOT_FREE: SENDING, durable */
/* Write the record as accepted with task id (running) before the answer is
 * applied: done(rc, ctx) runs on the writer thread once it is on disk; then
 * job_accepted_landed (rc) and job_set_submitted, with the lock. 0, or
 * -EINVAL if the job is not sending (nothing queued). */
int job_save_accepted(struct job *j, const char *id, writer_done_fn done, void *ctx);
void job_accepted_landed(struct job *j, int rc);
int job_set_submitted(struct job *j, const char *id);     /* EV_SUBMIT_ACCEPTED */
/* EV_POLL_SUCCEEDED with these results. Videos go to downloading. */
int job_set_upstream_success(struct job *j, const char *url, const char *pid,
			     const char *character_id);
/* Changes that are not state changes. */
void job_set_error(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void job_clear_error(struct job *j);
void job_set_progress(struct job *j, int progress);
void job_set_result(struct job *j, const char *result_json);
void job_set_url(struct job *j, const char *url);         /* a fresh link for the same video */
/* Reserve a unique file name in downloads for this job's video (sets j->video). */
const char *job_reserve_video(struct job *j);
/* The reserved name was taken meanwhile: reserve another. */
const char *job_reserve_video_again(struct job *j);
/* Poll this host from now on (the other one of host_mode auto). */
void job_set_host(struct job *j, const char *host);
/* EV_DOWNLOAD_DONE: the video is in place (downloads/<j->video>): history, succeeded. */
int job_set_video_done(struct job *j);
/* The same for n jobs whose videos are in place (one history save); a job
 * the machine refuses is left as it is. */
void job_set_videos_done(struct job **js, size_t n, double when);
/* Report a change of the job's directory to the change hook (after unlock). */
void job_changed(struct job *j);
/* Changes are collected while the lock is held and delivered by model_unlock(). */

#endif
