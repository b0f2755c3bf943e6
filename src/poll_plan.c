/* poll_plan.c - when to poll a running task next (see poll_plan.h).
 *
 *   240 s generation, progress linear:  polls at 8, 68, 128, 188, 227, 239,
 *   242 s -> 7 calls (the Web Studio: 24), the video seen 2 s after it was
 *   done.
 */
#include "poll_plan.h"

#include <math.h>
#include <stdbool.h>

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void poll_plan_start(struct poll_plan *pp, double now)
{
	pp->t0 = now;
	pp->zero_t = now;
	pp->est_end = 0;
	pp->near_since = 0;
}

double poll_plan_first(const struct poll_plan *pp, double cap)
{
	(void)pp;
	return clamp(POLL_PLAN_FIRST, POLL_PLAN_MIN < cap ? POLL_PLAN_MIN : cap, cap);
}

/* Seconds left, from the progress and the time it took: progress counts from
 * the last answer that still said 0 % (a queue before the generation starts
 * would otherwise make the estimate too long and the plan sleep past the
 * finish). -1: no estimate. */
static double remaining(struct poll_plan *pp, double now, int p)
{
	if (p == 0)
		pp->zero_t = now;
	double el = now - pp->zero_t;
	if (p <= 0 || p >= 100 || el <= 0)
		return -1;
	return (100.0 - p) * el / p;
}

double poll_plan_next(struct poll_plan *pp, double now, int progress, double cap)
{
	double lo = POLL_PLAN_MIN < cap ? POLL_PLAN_MIN : cap;
	double el = now - pp->t0;
	double r = remaining(pp, now, progress);
	double wait;
	if (r < 0) {
		/* No progress: a generation takes minutes, so wait a third of the time
		 * it has run so far, within bounds. */
		wait = clamp(el / 3, POLL_PLAN_DENSE, POLL_PLAN_BLIND_CAP);
		if (pp->est_end > 0 && now >= pp->est_end)
			wait = clamp(wait, POLL_PLAN_DENSE, POLL_PLAN_LATE_CAP);
	} else if (r <= 2 * POLL_PLAN_DENSE || pp->near_since > 0) {
		/* near (or past) the finish: densely, widening slowly while the task
		 * lingers (progress often sits at 99 % for a while) */
		bool first = pp->near_since <= 0;
		if (first)
			pp->near_since = now;
		pp->est_end = now + r;
		wait = clamp(POLL_PLAN_DENSE + POLL_PLAN_WIDEN * (now - pp->near_since), POLL_PLAN_DENSE,
			     POLL_PLAN_LATE_CAP);
		/* the first answer near the finish: poll just after the estimate, not
		 * up to POLL_PLAN_DENSE later (a 10 s generation first polled at 8 s,
		 * 80 %, was seen at 11 s, now at 10.5 s); one call either way */
		if (first && r >= 0 && r + POLL_PLAN_MARGIN < wait)
			wait = r + POLL_PLAN_MARGIN;
		if (r > 4 * POLL_PLAN_LATE_CAP) {
			/* the estimate moved far out again (progress fell back): start over */
			pp->near_since = 0;
			wait = r * POLL_PLAN_FAR;
		}
	} else {
		pp->est_end = now + r;
		wait = r * POLL_PLAN_FAR;
	}
	return clamp(wait, lo, cap);
}
