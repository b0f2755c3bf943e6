/* test_job_fsm.c - every state x event pair of the job state machine.
 *
 *   $ meson test -C build unit-job_fsm
 *
 * The grid below is written independently of the rules in src/job_fsm.c: one
 * row per (status, submit) pair, one column per event, with the facts a job in
 * that state normally has (an id once accepted, a video link once downloading or
 * succeeded, a transfer in flight while sending). Cells:
 *   "."  refused with EINVAL        "B"  refused with EBUSY
 *   "="  accepted, nothing changes  "x/y" accepted, new status x, submit y
 * with statuses q r d s f c n(ew) and submit states n(one) s(ending) a(ccepted).
 */
#include "check.h"
#include "job_fsm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* columns: drop  inval keyM  keyA  slot  unsnt accpt later refus unkn  pRun  pSucc pFail dDone dFail cancl retry refr  redl  forgt resum */
static const char *const grid[ST__COUNT * SUBMIT__COUNT][EV__COUNT] = {
/* q/n */ { ".",  ".",  "=",  "=",  "q/s",".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "c/n","B",  ".",  ".",  "n/n","="  },
/* q/s */ { ".",  ".",  ".",  ".",  ".",  "q/n","r/a","q/n","f/n","f/n",".",  ".",  ".",  ".",  ".",  "c/s","B",  ".",  ".",  "n/n","f/n"},
/* q/a */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "B",  "=",  ".",  "n/n","="  },
/* r/n */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "c/n","B",  ".",  ".",  "n/n","f/n"},
/* r/s */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "c/s","B",  ".",  ".",  "n/n","f/s"},
/* r/a */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "=",  "d/a","f/a",".",  ".",  "c/a","B",  "=",  ".",  "n/n","="  },
/* d/n */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "s/n","f/n","c/n","B",  ".",  "B",  "n/n","f/n"},
/* d/s */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "s/s","f/s","c/s","B",  ".",  "B",  "n/n","f/s"},
/* d/a */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "=",  "=",  "=",  "s/a","f/a","c/a","B",  "=",  "B",  "n/n","="  },
/* s/n */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "d/n","n/n","="  },
/* s/s */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "B",  "n/n","="  },
/* s/a */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "=",  "=",  "=",  ".",  ".",  ".",  ".",  "=",  "d/a","n/n","="  },
/* f/n */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "q/n",".",  ".",  "n/n","="  },
/* f/s */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "n/n","="  },
/* f/a */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "=",  "=",  "=",  ".",  ".",  ".",  "q/n","=",  ".",  "n/n","="  },
/* c/n */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "q/n",".",  ".",  "n/n","="  },
/* c/s */ { ".",  ".",  ".",  ".",  ".",  "c/n","c/a","c/n","c/n","c/n",".",  ".",  ".",  ".",  ".",  ".",  "B",  ".",  ".",  "n/n","c/n"},
/* c/a */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "=",  "=",  "=",  ".",  ".",  ".",  "r/a","=",  ".",  "n/n","="  },
/* n/n */ { "q/n","f/n",".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "."  },
/* n/s */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "."  },
/* n/a */ { ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  ".",  "."  },
};

static const char status_letter[ST__COUNT] = { 'q', 'r', 'd', 's', 'f', 'c', 'n' };
static const char submit_letter[SUBMIT__COUNT] = { 'n', 's', 'a' };

/* The facts a job in this state normally has. */
static struct fsm_in typical(enum job_status st, enum submit_state sub)
{
	return (struct fsm_in){
		.status = st, .submit = sub, .kind = JOB_VIDEO, .has_request = true,
		.has_id = sub == SUBMIT_ACCEPTED,
		.has_video_url = st == ST_DOWNLOADING || st == ST_SUCCEEDED,
		.busy = sub == SUBMIT_SENDING,
	};
}

static void describe(char *buf, size_t n, const struct fsm_in *in, const struct fsm_out *o)
{
	if (!o->ok)
		snprintf(buf, n, "%s", o->err == -EBUSY ? "B" : o->err == -EINVAL ? "." : "?");
	else if (o->status == in->status && o->submit == in->submit)
		snprintf(buf, n, "=");
	else
		snprintf(buf, n, "%c/%c", status_letter[o->status], submit_letter[o->submit]);
}

/* Every state x event pair against the grid. */
static void test_grid(void)
{
	for (int st = 0; st < ST__COUNT; st++) {
		for (int sub = 0; sub < SUBMIT__COUNT; sub++) {
			struct fsm_in in = typical((enum job_status)st, (enum submit_state)sub);
			for (int ev = 0; ev < EV__COUNT; ev++) {
				struct fsm_out o = fsm_step(&in, (enum fsm_event)ev);
				char got[8];
				describe(got, sizeof got, &in, &o);
				const char *want = grid[st * SUBMIT__COUNT + sub][ev];
				if (strcmp(got, want) != 0)
					fprintf(stderr, "    %s/%s + %s: got %s, want %s\n",
						fsm_status_name((enum job_status)st),
						fsm_submit_name((enum submit_state)sub),
						fsm_event_name((enum fsm_event)ev), got, want);
				CHECK_STR_EQ(got, want);
			}
		}
	}
}

/* Whatever the facts: a refusal changes nothing; only slot-free on a queued job
 * sends; nothing ever leads from cancelled or new to a send. */
static void test_invariants(void)
{
	for (int st = 0; st < ST__COUNT; st++)
	for (int sub = 0; sub < SUBMIT__COUNT; sub++)
	for (int flags = 0; flags < 64; flags++)
	for (int ev = 0; ev < EV__COUNT; ev++) {
		struct fsm_in in = {
			.status = (enum job_status)st, .submit = (enum submit_state)sub,
			.kind = (flags & 1) ? JOB_CHARACTER : JOB_VIDEO,
			.has_request = flags & 2, .has_id = flags & 4,
			.has_video_url = flags & 8, .busy = flags & 16,
		};
		struct fsm_out o = fsm_step(&in, (enum fsm_event)ev);
		if (!o.ok) {
			CHECK(o.err == -EINVAL || o.err == -EBUSY);
			CHECK(o.status == in.status && o.submit == in.submit && o.actions == 0);
			continue;
		}
		CHECK(o.err == 0);
		CHECK((unsigned)o.status < ST__COUNT && (unsigned)o.submit < SUBMIT__COUNT);
		if (o.actions & ACT_SEND) {
			CHECK(ev == EV_SLOT_FREE && st == ST_QUEUED && sub == SUBMIT_NONE);
			CHECK(in.has_request);
			CHECK(o.submit == SUBMIT_SENDING && (o.actions & ACT_SAVE));
		}
		/* a job never leaves cancelled on its own: only by the user's retry, redownload, forget */
		if (st == ST_CANCELLED && o.status != ST_CANCELLED)
			CHECK(ev == EV_RETRY || ev == EV_REDOWNLOAD || ev == EV_FORGET);
		/* a submit in flight is never forgotten by a state change other than its answer */
		if (sub == SUBMIT_SENDING && o.submit != SUBMIT_SENDING)
			CHECK(ev == EV_SUBMIT_UNSENT || ev == EV_SUBMIT_ACCEPTED ||
			      ev == EV_SUBMIT_LATER || ev == EV_SUBMIT_REFUSED ||
			      ev == EV_SUBMIT_UNKNOWN || ev == EV_FORGET || ev == EV_RESUME);
		/* a new job only comes from a drop */
		if (st == ST_NEW)
			CHECK(ev == EV_DROP || ev == EV_DROP_INVALID);
	}
}

/* A cancel while the first host's connect times out: failover is refused. */
static void test_cancel_during_submit(void)
{
	struct fsm_in in = typical(ST_QUEUED, SUBMIT_NONE);
	struct fsm_out o = fsm_step(&in, EV_SLOT_FREE);
	CHECK(o.ok && (o.actions & ACT_SEND));
	in.submit = o.submit;
	in.busy = true;
	o = fsm_step(&in, EV_CANCEL);
	CHECK(o.ok && o.status == ST_CANCELLED && o.submit == SUBMIT_SENDING);
	CHECK(o.actions & ACT_NOTE_MAYBE);
	in.status = o.status;
	/* retry before the answer: not now */
	CHECK_INT_EQ(fsm_step(&in, EV_RETRY).err, -EBUSY);
	o = fsm_step(&in, EV_SUBMIT_UNSENT);
	CHECK(o.ok && o.status == ST_CANCELLED && o.submit == SUBMIT_NONE);
	in.submit = o.submit;
	in.busy = false;
	o = fsm_step(&in, EV_SLOT_FREE);
	CHECK(!o.ok && o.actions == 0);
	/* the answer came late and was accepted: recorded, noted, never resent */
	in = typical(ST_CANCELLED, SUBMIT_SENDING);
	o = fsm_step(&in, EV_SUBMIT_ACCEPTED);
	CHECK(o.ok && o.status == ST_CANCELLED && o.submit == SUBMIT_ACCEPTED);
	CHECK(o.actions & ACT_NOTE_TASK);
	CHECK(!(o.actions & (ACT_SEND | ACT_ACTIVE_ADD)));
}

static void test_guards(void)
{
	struct fsm_in in = typical(ST_QUEUED, SUBMIT_NONE);
	in.has_request = false;
	CHECK(!fsm_step(&in, EV_SLOT_FREE).ok);

	in = typical(ST_RUNNING, SUBMIT_ACCEPTED);
	in.kind = JOB_CHARACTER;
	struct fsm_out o = fsm_step(&in, EV_POLL_SUCCEEDED);
	CHECK(o.ok && o.status == ST_SUCCEEDED && (o.actions & ACT_FINISHED));

	/* retry: the video was made upstream, only the download failed */
	in = typical(ST_FAILED, SUBMIT_ACCEPTED);
	in.has_video_url = true;
	o = fsm_step(&in, EV_RETRY);
	CHECK(o.ok && o.status == ST_DOWNLOADING && (o.actions & ACT_DOWNLOAD));
	CHECK(o.actions & ACT_RESET_BUDGET);
	CHECK(!(o.actions & ACT_RESET_TASK));

	/* retry of an invalid drop */
	in = typical(ST_FAILED, SUBMIT_NONE);
	in.has_request = false;
	CHECK_INT_EQ(fsm_step(&in, EV_RETRY).err, -EINVAL);

	/* retry after "the API kept refusing": a fresh budget and a new task */
	in = typical(ST_FAILED, SUBMIT_NONE);
	o = fsm_step(&in, EV_RETRY);
	CHECK(o.ok && o.status == ST_QUEUED && o.submit == SUBMIT_NONE);
	CHECK((o.actions & ACT_RESET_BUDGET) && (o.actions & ACT_RESET_TASK) &&
	      (o.actions & ACT_WAKE) && (o.actions & ACT_CLEAR_ERROR));

	/* cancelled without a task id: resubmit */
	in = typical(ST_CANCELLED, SUBMIT_ACCEPTED);
	in.has_id = false;
	o = fsm_step(&in, EV_RETRY);
	CHECK(o.ok && o.status == ST_QUEUED);

	/* redownload while a download runs */
	in = typical(ST_SUCCEEDED, SUBMIT_ACCEPTED);
	in.busy = true;
	CHECK_INT_EQ(fsm_step(&in, EV_REDOWNLOAD).err, -EBUSY);
	in = typical(ST_FAILED, SUBMIT_ACCEPTED);
	in.has_video_url = true;
	o = fsm_step(&in, EV_REDOWNLOAD);
	CHECK(o.ok && o.status == ST_DOWNLOADING);

	/* refresh needs an id */
	in = typical(ST_FAILED, SUBMIT_NONE);
	CHECK_INT_EQ(fsm_step(&in, EV_REFRESH).err, -EINVAL);
	in.has_id = true;
	CHECK(fsm_step(&in, EV_REFRESH).actions & ACT_POLL_NOW);

	/* forget is always possible and deletes */
	in = typical(ST_QUEUED, SUBMIT_SENDING);
	o = fsm_step(&in, EV_FORGET);
	CHECK(o.ok && o.status == ST_NEW && (o.actions & ACT_DELETE));

	/* a job that was running without a task id cannot be followed after a restart */
	in = typical(ST_RUNNING, SUBMIT_ACCEPTED);
	in.has_id = false;
	CHECK(fsm_step(&in, EV_RESUME).status == ST_FAILED);

	/* out of range input is refused */
	in = typical(ST_QUEUED, SUBMIT_NONE);
	in.status = (enum job_status)42;
	CHECK(!fsm_step(&in, EV_CANCEL).ok);
	CHECK_STR_EQ(fsm_event_name((enum fsm_event)99), "?");
	CHECK_STR_EQ(fsm_status_name(ST_CANCELLED), "cancelled");
	CHECK_STR_EQ(fsm_submit_name(SUBMIT_SENDING), "sending");
}

int main(void)
{
	RUN(test_grid);
	RUN(test_invariants);
	RUN(test_cancel_during_submit);
	RUN(test_guards);
	return check_report("unit-job_fsm");
}
