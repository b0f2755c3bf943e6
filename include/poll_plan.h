/* poll_plan.h - when to poll a running task next, from the progress it reports.
 *
 * The Web Studio sleeps a fixed 10 s before every poll. A generation takes 2-6
 * minutes and the API reports its progress, so most of those polls only say
 * "still running". The plan estimates the finish from the progress rate, waits
 * 0.7 of the estimated remaining time (re-estimating at every answer, so an
 * estimate that is off by less than 1.4x never overshoots; progress that slows
 * near the end makes estimates short, not long), polls densely near and after
 * the estimate (the first answer that finds the task near its finish polls
 * next just after the estimated finish, POLL_PLAN_MARGIN, when that comes
 * before POLL_PLAN_DENSE), and backs off with the elapsed time when the API gives no
 * progress (missing, or stuck at 0 until a jump to 100).
 *
 *   struct poll_plan pp;
 *   poll_plan_start(&pp, now);                  task accepted
 *   double d = poll_plan_first(&pp, cap);       first poll after d seconds
 *   d = poll_plan_next(&pp, now, progress, cap) after each "running" answer
 *                                               (progress -1: the answer had none)
 *
 * cap is the longest wait allowed (the user's poll_interval when set); every
 * wait is within [POLL_PLAN_MIN, cap] (cap wins when smaller).
 */
#ifndef SORA2FS_POLL_PLAN_H
#define SORA2FS_POLL_PLAN_H

#define POLL_PLAN_MIN 1.0      /* never poll one task more often */
#define POLL_PLAN_DENSE 3.0    /* near and after the estimated finish */
#define POLL_PLAN_MARGIN 0.5   /* first answer near the finish: poll this long after the estimate */
#define POLL_PLAN_FIRST 8.0    /* first poll after the submit */
#define POLL_PLAN_FAR 0.7      /* far from the finish: wait this share of the estimate */
#define POLL_PLAN_CAP 60.0     /* longest wait when poll_interval is not set */
#define POLL_PLAN_BLIND_CAP 20.0 /* longest wait while the API reports no progress */
#define POLL_PLAN_LATE_CAP 8.0 /* longest wait once the estimated finish has passed */
#define POLL_PLAN_WIDEN 0.3    /* near the finish: the wait grows by this per second spent there */

struct poll_plan {
	double t0;        /* task accepted (monotonic seconds) */
	double zero_t;    /* the last answer at 0 % (or t0): progress counts from here */
	double est_end;   /* estimated finish (0: none) */
	double near_since; /* first answer within a few seconds of the finish (0: none) */
};

void poll_plan_start(struct poll_plan *pp, double now);
double poll_plan_first(const struct poll_plan *pp, double cap);
double poll_plan_next(struct poll_plan *pp, double now, int progress, double cap);

#endif
