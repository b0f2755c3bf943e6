/* job_fsm.c - the one job state machine (pure: no I/O, no globals, no lock).
 *
 *   fsm_step(&(struct fsm_in){ .status = ST_CANCELLED, .submit = SUBMIT_NONE,
 *                              .has_request = true }, EV_SLOT_FREE)
 *   // refused: a cancelled job is never sent anywhere
 *
 * The rules below are the whole machine. The first rule whose event, current
 * status, current submit state and guard match decides; an event no rule
 * matches is refused with -EINVAL. A rule with REFUSE refuses with its errno
 * (ctl commands that are valid later, like retry on a running job: -EBUSY).
 * docs/DESIGN.md shows the same table as a grid.
 */
#include "job_fsm.h"

#include <errno.h>
#include <stddef.h>

/* from-status sets */
#define Q   (1u << ST_QUEUED)
#define R   (1u << ST_RUNNING)
#define D   (1u << ST_DOWNLOADING)
#define OK  (1u << ST_SUCCEEDED)
#define F   (1u << ST_FAILED)
#define C   (1u << ST_CANCELLED)
#define NEW (1u << ST_NEW)
#define LIVE (Q | R | D | OK | F | C)  /* every status of an existing job */
/* from-submit sets */
#define sN  (1u << SUBMIT_NONE)
#define sS  (1u << SUBMIT_SENDING)
#define sA  (1u << SUBMIT_ACCEPTED)
#define sANY (sN | sS | sA)
/* targets */
#define SAME (-1)
#define REFUSE (-2)

enum guard {
	G_ANY,
	G_REQUEST,      /* has_request */
	G_NO_REQUEST,   /* !has_request */
	G_ID,           /* has_id */
	G_NO_ID,        /* !has_id */
	G_VIDEO,        /* kind == JOB_VIDEO */
	G_VIDEO_URL,    /* has_video_url */
	G_NO_VIDEO_URL, /* !has_video_url */
	G_BUSY,         /* busy */
};

struct rule {
	enum fsm_event ev;
	unsigned from, sub;  /* sets of statuses and submit states */
	enum guard guard;
	int to, to_sub;      /* SAME, REFUSE, or a status / submit state */
	unsigned actions;    /* for REFUSE: the errno (positive) */
};

#define SAVE ACT_SAVE
#define FIN ACT_FINISHED
#define CLR ACT_CLEAR_ERROR
#define BUDGET ACT_RESET_BUDGET
#define WAKE ACT_WAKE

static const struct rule rules[] = {
/* event               from        submit guard            -> status        submit           actions */
{ EV_DROP,            NEW,        sN,   G_ANY,          ST_QUEUED,      SUBMIT_NONE,     SAVE | WAKE },
{ EV_DROP_INVALID,    NEW,        sN,   G_ANY,          ST_FAILED,      SUBMIT_NONE,     SAVE | FIN },

{ EV_KEY_MISSING,     Q,          sN,   G_ANY,          SAME,           SAME,            0 },
{ EV_KEY_APPEARS,     Q,          sN,   G_ANY,          SAME,           SAME,            CLR | WAKE },
{ EV_SLOT_FREE,       Q,          sN,   G_REQUEST,      SAME,           SUBMIT_SENDING,  SAVE | ACT_SEND },

{ EV_SUBMIT_UNSENT,   Q,          sS,   G_ANY,          SAME,           SUBMIT_NONE,     SAVE },
{ EV_SUBMIT_UNSENT,   C,          sS,   G_ANY,          SAME,           SUBMIT_NONE,     SAVE },
{ EV_SUBMIT_ACCEPTED, Q,          sS,   G_ANY,          ST_RUNNING,     SUBMIT_ACCEPTED, SAVE | CLR | BUDGET | ACT_ACTIVE_ADD },
{ EV_SUBMIT_ACCEPTED, C,          sS,   G_ANY,          SAME,           SUBMIT_ACCEPTED, SAVE | ACT_NOTE_TASK },
{ EV_SUBMIT_LATER,    Q,          sS,   G_ANY,          SAME,           SUBMIT_NONE,     SAVE },
{ EV_SUBMIT_LATER,    C,          sS,   G_ANY,          SAME,           SUBMIT_NONE,     SAVE },
{ EV_SUBMIT_REFUSED,  Q,          sS,   G_ANY,          ST_FAILED,      SUBMIT_NONE,     SAVE | FIN },
{ EV_SUBMIT_REFUSED,  C,          sS,   G_ANY,          SAME,           SUBMIT_NONE,     SAVE },
{ EV_SUBMIT_UNKNOWN,  Q,          sS,   G_ANY,          ST_FAILED,      SUBMIT_NONE,     SAVE | FIN },
{ EV_SUBMIT_UNKNOWN,  C,          sS,   G_ANY,          SAME,           SUBMIT_NONE,     SAVE | ACT_NOTE_MAYBE },

{ EV_POLL_RUNNING,    R,          sA,   G_ANY,          SAME,           SAME,            0 },
{ EV_POLL_RUNNING,    D|OK|F|C,   sANY, G_ID,           SAME,           SAME,            0 },
{ EV_POLL_SUCCEEDED,  R,          sA,   G_VIDEO,        ST_DOWNLOADING, SAME,            SAVE | CLR | BUDGET | ACT_DOWNLOAD },
{ EV_POLL_SUCCEEDED,  R,          sA,   G_ANY,          ST_SUCCEEDED,   SAME,            SAVE | CLR | FIN | ACT_ACTIVE_DEL },
{ EV_POLL_SUCCEEDED,  D|OK|F|C,   sANY, G_ID,           SAME,           SAME,            0 },
{ EV_POLL_FAILED,     R,          sA,   G_ANY,          ST_FAILED,      SAME,            SAVE | FIN | ACT_ACTIVE_DEL },
{ EV_POLL_FAILED,     D|OK|F|C,   sANY, G_ID,           SAME,           SAME,            0 },

{ EV_DOWNLOAD_DONE,   D,          sANY, G_ANY,          ST_SUCCEEDED,   SAME,            SAVE | CLR | FIN | ACT_ACTIVE_DEL },
{ EV_DOWNLOAD_FAILED, D,          sANY, G_ANY,          ST_FAILED,      SAME,            SAVE | FIN | ACT_ACTIVE_DEL },

{ EV_CANCEL,          Q,          sN,   G_ANY,          ST_CANCELLED,   SAME,            SAVE | FIN },
{ EV_CANCEL,          Q,          sS,   G_ANY,          ST_CANCELLED,   SAME,            SAVE | FIN | ACT_NOTE_MAYBE },
{ EV_CANCEL,          R,          sANY, G_ANY,          ST_CANCELLED,   SAME,            SAVE | FIN | ACT_ACTIVE_DEL | ACT_NOTE_TASK },
{ EV_CANCEL,          D,          sANY, G_ANY,          ST_CANCELLED,   SAME,            SAVE | FIN | ACT_ACTIVE_DEL },

{ EV_RETRY,           Q|R|D,      sANY, G_ANY,          REFUSE,         REFUSE,          EBUSY },
{ EV_RETRY,           C,          sS,   G_ANY,          REFUSE,         REFUSE,          EBUSY },
{ EV_RETRY,           F|C,        sANY, G_NO_REQUEST,   REFUSE,         REFUSE,          EINVAL },
{ EV_RETRY,           F|C,        sANY, G_VIDEO_URL,    ST_DOWNLOADING, SAME,            SAVE | CLR | BUDGET | ACT_DOWNLOAD | WAKE },
{ EV_RETRY,           C,          sA,   G_ID,           ST_RUNNING,     SAME,            SAVE | CLR | BUDGET | ACT_POLL_NOW | ACT_ACTIVE_ADD | WAKE },
{ EV_RETRY,           F|C,        sN|sA, G_ANY,         ST_QUEUED,      SUBMIT_NONE,     SAVE | CLR | BUDGET | ACT_RESET_TASK | ACT_ACTIVE_DEL | WAKE },

{ EV_REFRESH,         LIVE,       sANY, G_ID,           SAME,           SAME,            ACT_POLL_NOW | WAKE },

{ EV_REDOWNLOAD,      LIVE,       sANY, G_NO_VIDEO_URL, REFUSE,         REFUSE,          EINVAL },
{ EV_REDOWNLOAD,      Q|R|D,      sANY, G_ANY,          REFUSE,         REFUSE,          EBUSY },
{ EV_REDOWNLOAD,      LIVE,       sANY, G_BUSY,         REFUSE,         REFUSE,          EBUSY },
{ EV_REDOWNLOAD,      OK|F|C,     sN|sA, G_ANY,         ST_DOWNLOADING, SAME,            SAVE | CLR | BUDGET | ACT_DOWNLOAD | WAKE },

{ EV_FORGET,          LIVE,       sANY, G_ANY,          ST_NEW,         SUBMIT_NONE,     ACT_ACTIVE_DEL | ACT_DELETE },

{ EV_RESUME,          Q,          sS,   G_ANY,          ST_FAILED,      SUBMIT_NONE,     SAVE | FIN },
{ EV_RESUME,          C,          sS,   G_ANY,          SAME,           SUBMIT_NONE,     SAVE | ACT_NOTE_MAYBE },
{ EV_RESUME,          R|D,        sANY, G_NO_ID,        ST_FAILED,      SAME,            SAVE | FIN },
{ EV_RESUME,          LIVE,       sANY, G_ANY,          SAME,           SAME,            0 },
};

static bool guard_holds(enum guard g, const struct fsm_in *in)
{
	switch (g) {
	case G_ANY: return true;
	case G_REQUEST: return in->has_request;
	case G_NO_REQUEST: return !in->has_request;
	case G_ID: return in->has_id;
	case G_NO_ID: return !in->has_id;
	case G_VIDEO: return in->kind == JOB_VIDEO;
	case G_VIDEO_URL: return in->has_video_url;
	case G_NO_VIDEO_URL: return !in->has_video_url;
	case G_BUSY: return in->busy;
	}
	return false;
}

struct fsm_out fsm_step(const struct fsm_in *in, enum fsm_event ev)
{
	struct fsm_out o = { .ok = false, .err = -EINVAL, .status = in->status,
			     .submit = in->submit, .actions = 0 };
	if ((unsigned)in->status >= ST__COUNT || (unsigned)in->submit >= SUBMIT__COUNT)
		return o;
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const struct rule *r = &rules[i];
		if (r->ev != ev || !(r->from & (1u << in->status)) ||
		    !(r->sub & (1u << in->submit)) || !guard_holds(r->guard, in))
			continue;
		if (r->to == REFUSE) {
			o.err = -(int)r->actions;
			return o;
		}
		o.ok = true;
		o.err = 0;
		if (r->to != SAME)
			o.status = (enum job_status)r->to;
		if (r->to_sub != SAME)
			o.submit = (enum submit_state)r->to_sub;
		o.actions = r->actions;
		return o;
	}
	return o;
}

const char *fsm_event_name(enum fsm_event ev)
{
	static const char *const names[EV__COUNT] = {
		"drop", "drop-invalid", "key-missing", "key-appears", "slot-free",
		"submit-unsent", "submit-accepted", "submit-later", "submit-refused",
		"submit-unknown", "poll-running", "poll-succeeded", "poll-failed",
		"download-done", "download-failed", "cancel", "retry", "refresh",
		"redownload", "forget", "resume",
	};
	return (unsigned)ev < EV__COUNT ? names[ev] : "?";
}

const char *fsm_status_name(enum job_status s)
{
	static const char *const names[ST__COUNT] = {
		"queued", "running", "downloading", "succeeded", "failed", "cancelled", "new",
	};
	return (unsigned)s < ST__COUNT ? names[s] : "?";
}

const char *fsm_submit_name(enum submit_state s)
{
	static const char *const names[SUBMIT__COUNT] = { "none", "sending", "accepted" };
	return (unsigned)s < SUBMIT__COUNT ? names[s] : "?";
}
