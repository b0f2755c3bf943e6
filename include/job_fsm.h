/* job_fsm.h - the one job state machine: (state, event) -> (new state, actions).
 *
 * A job's state is its status and its submit state. Every change of either, in
 * model.c and engine.c, is an event given to fsm_step(), a pure function; the
 * caller then applies the new state and performs the actions. An event that
 * makes no sense in the current state is refused (ok = false, state unchanged,
 * err = -EINVAL or -EBUSY for the user's ctl commands) and nothing is applied.
 *
 *   struct fsm_in in = { .status = ST_QUEUED, .submit = SUBMIT_NONE, ... };
 *   struct fsm_out o = fsm_step(&in, EV_SLOT_FREE);
 *   // o.ok, o.status == ST_QUEUED, o.submit == SUBMIT_SENDING, o.actions & ACT_SEND
 *
 * The table is in job_fsm.c and in docs/DESIGN.md ("The job state machine").
 */
#ifndef SORA2FS_JOB_FSM_H
#define SORA2FS_JOB_FSM_H

#include <stdbool.h>

enum job_kind { JOB_VIDEO, JOB_CHARACTER };
/* ST_NEW: a job object not yet created (before EV_DROP) or forgotten (after
 * EV_FORGET); never listed, never shown. */
enum job_status { ST_QUEUED, ST_RUNNING, ST_DOWNLOADING, ST_SUCCEEDED, ST_FAILED, ST_CANCELLED,
		  ST_NEW };
#define ST__COUNT 7
/* Where the submit stands; SENDING is persisted before the request leaves, so a
 * crash mid-submit is known afterwards as an unknown outcome, never resent. */
enum submit_state { SUBMIT_NONE, SUBMIT_SENDING, SUBMIT_ACCEPTED };
#define SUBMIT__COUNT 3

enum fsm_event {
	EV_DROP,            /* a valid file was dropped */
	EV_DROP_INVALID,    /* a dropped file that cannot be sent (bad content) */
	EV_KEY_MISSING,     /* due to submit, but there is no API key */
	EV_KEY_APPEARS,     /* an API key was written */
	EV_SLOT_FREE,       /* due to submit and a slot is free: send it (to the next host) */
	EV_SUBMIT_UNSENT,   /* the submit never left (connect failed): nothing billed */
	EV_SUBMIT_ACCEPTED, /* the API answered with a task id */
	EV_SUBMIT_LATER,    /* the API said "not now" (429/503): nothing billed, try later */
	EV_SUBMIT_REFUSED,  /* the API said no (4xx, code != 0, or kept saying later) */
	EV_SUBMIT_UNKNOWN,  /* sent, but no usable answer: a task may exist */
	EV_POLL_RUNNING,    /* a poll says the task runs */
	EV_POLL_SUCCEEDED,  /* a poll says the task succeeded (with its results) */
	EV_POLL_FAILED,     /* a poll says the task failed / is unknown upstream */
	EV_DOWNLOAD_DONE,   /* the video is in place */
	EV_DOWNLOAD_FAILED, /* the video could not be downloaded (gave up) */
	EV_CANCEL,          /* ctl cancel */
	EV_RETRY,           /* ctl retry */
	EV_REFRESH,         /* ctl refresh */
	EV_REDOWNLOAD,      /* ctl redownload */
	EV_FORGET,          /* rmdir of the job directory */
	EV_RESUME,          /* the mount starts again with this record */
};
#define EV__COUNT 21

/* What the callers do, in this order, after storing the new state. */
enum fsm_action {
	ACT_RESET_TASK   = 1 << 0,  /* forget id, host, result, url, pid, progress: a new task */
	ACT_RESET_BUDGET = 1 << 1,  /* attempts = 0, url_refreshed = false: a fresh budget */
	ACT_CLEAR_ERROR  = 1 << 2,  /* error = "" (unless the event gives a new text) */
	ACT_FINISHED     = 1 << 3,  /* finished = now */
	ACT_ACTIVE_ADD   = 1 << 4,  /* record the task in active_tasks.json */
	ACT_ACTIVE_DEL   = 1 << 5,  /* remove the task from active_tasks.json */
	ACT_SEND         = 1 << 6,  /* persist "sending" durably, then send the submit */
	ACT_POLL_NOW     = 1 << 7,  /* poll the task at once */
	ACT_DOWNLOAD     = 1 << 8,  /* (re)start the download now */
	ACT_WAKE         = 1 << 9,  /* the engine has new work */
	ACT_NOTE_TASK    = 1 << 10, /* say in error that a task exists upstream after a cancel */
	ACT_NOTE_MAYBE   = 1 << 11, /* say in error that a task may exist upstream after a cancel */
	ACT_DELETE       = 1 << 12, /* forget the job and its record */
	ACT_SAVE         = 1 << 13, /* persist the record durably */
};

/* The state the machine looks at: status and submit, plus the facts that decide
 * between outcomes (guards). */
struct fsm_in {
	enum job_status status;
	enum submit_state submit;
	enum job_kind kind;
	bool has_request;   /* the drop was valid: there is something to send */
	bool has_id;        /* the upstream task id is known */
	bool has_video_url; /* a video task succeeded upstream and its link is known */
	bool busy;          /* a transfer for this job is in flight */
};

struct fsm_out {
	bool ok;            /* false: refused, nothing changes */
	int err;            /* when refused: -EINVAL (makes no sense) or -EBUSY (not now) */
	enum job_status status;
	enum submit_state submit;
	unsigned actions;   /* enum fsm_action bits */
};

struct fsm_out fsm_step(const struct fsm_in *in, enum fsm_event ev);

const char *fsm_event_name(enum fsm_event ev);
const char *fsm_status_name(enum job_status s);   /* "queued" … "cancelled", "new" */
const char *fsm_submit_name(enum submit_state s); /* "none", "sending", "accepted" */

#endif
