#!/usr/bin/env bash
# bench/poll.sh - API polls per task against the Web Studio's (a fixed 10 s
# sleep before each poll), and the delay from the upstream success to the
# video being visible.
#
#   $ bench/poll.sh                 # the model table, then 20 tasks of 120 s on sora2-sim
#   $ bench/poll.sh -n 10 -g 60     # fewer/shorter real tasks
#   $ bench/poll.sh -g 0            # the model table only
#   $ bench/poll.sh -u stream -p missing -g 60 -G 120
#                                   # streamed answers (-o updates=stream), no
#                                   # progress reported, generations spread 60-120 s
#
# 1. (-u poll only) The poll plan (src/poll_plan.c) in virtual time over 400 generations of
#    2-6 minutes with linear, realistic, missing and jumping progress (the unit
#    test's table: build/tests/unit/unit-poll_plan --table).
# 2. Real time, real daemon: N prompts dropped at once with the default
#    (adaptive) polling against sora2-sim --gen-time G; polls counted by the
#    simulator, each video's delay measured from drop + G to its appearance in
#    STUDIO/downloads. -u stream mounts with -o updates=stream; -p sets the
#    simulator's progress style (normal, missing, jump); -G MAX spreads the
#    generation times evenly over G..MAX (the simulator's gen_time is set
#    before each drop, and the next drop waits for the task to exist).
#    API calls per task count the submit and the polls; the Web Studio makes
#    one submit and one poll per started 10 s of generation.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N=20
GEN=120
GMAX=
UPDATES=poll
PROGRESS=normal
while getopts n:g:G:u:p:h opt; do
	case $opt in
	n) N=$OPTARG ;;
	g) GEN=$OPTARG ;;
	G) GMAX=$OPTARG ;;
	u) UPDATES=$OPTARG ;;
	p) PROGRESS=$OPTARG ;;
	*)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done

bench_build
if [[ $UPDATES == poll ]]; then
	UNIT=$BENCH_ROOT/build/tests/unit/unit-poll_plan
	[[ -f $BENCH_ROOT/build/build.ninja ]] && ninja -C "$BENCH_ROOT/build" tests/unit/unit-poll_plan >/dev/null
	echo
	echo "poll plan in virtual time: 400 generations of 2-6 min (src/poll_plan.c)"
	"$UNIT" --table 2>/dev/null | grep '|' | bench_table
	# missing and jumping progress give the plan nothing to go by: polling
	# alone cannot meet the target there (README, Performance), the streamed
	# answer (-u stream) does; the summary says so rather than hiding the rows
	"$UNIT" --table 2>/dev/null | awk -F '|' '$1 == "realistic" || $1 == "linear" || $1 == "missing" || $1 == "jump" {
		ok = ($4 <= 0.5 && $5 <= 3 && $6 <= 10)
		printf "polling, %s progress (model)|%s x Web Studio calls, median delay %s s, max %s s|<= 0.5x, median <= 3 s, max <= 10 s|%s\n", $1, $4, $5, $6,
			ok ? "met" : ($1 == "missing" || $1 == "jump") ? "MISSED by polling; met by updates=stream" : "MISSED" }' >>"${BENCH_RESULTS:-/dev/null}"
fi

((GEN > 0)) || exit 0
GMAX=${GMAX:-$GEN}
case $UPDATES in poll | stream) ;; *) bench_die "-u must be poll or stream" ;; esac
bench_start_sim --gen-time "$GEN" --credits 1000000000 --progress-style "$PROGRESS"
BENCH_POLL='' bench_mount -o "max_active=$N" -o "updates=$UPDATES"
if [[ $GMAX == "$GEN" ]]; then span="$GEN s"; else span="$GEN-$GMAX s"; fi
bench_note "$N tasks of $span on sora2-sim, updates=$UPDATES, progress $PROGRESS..."
read -r ws med max < <(python3 - "$BENCH_MNT/jobs" "$BENCH_STUDIO/downloads" "$N" "$GEN" "$GMAX" "$BENCH_SIM_URL" <<'EOF'
import json, os, statistics, sys, time, urllib.request
jobs, downloads, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
g0, g1, sim = float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
def ctl(path, body=None):
    req = urllib.request.Request(sim + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=10))
dropped, gen = {}, {}
for i in range(n):
    g = g0 + (g1 - g0) * i / (n - 1) if n > 1 else g0
    if g1 != g0:
        ctl("/_sim/config", {"gen_time": g})
    name = "poll%d" % i
    with open(os.path.join(jobs, name + ".txt"), "w") as f:
        f.write("poll bench clip %d\n" % i)
    # drop time + gen time: the upstream success at the latest (the task is
    # created a few ms after the drop), so delays are never understated
    dropped[name + ".mp4"], gen[name + ".mp4"] = time.time(), g
    if g1 != g0:
        end = time.time() + 10
        while ctl("/_sim/stats")["tasks_created"] < i + 1 and time.time() < end:
            time.sleep(0.005)
seen = {}
end = time.time() + g1 + 60
while time.time() < end and len(seen) < n:
    for e in os.scandir(downloads):
        if e.name in dropped and e.name not in seen:
            seen[e.name] = time.time()
    time.sleep(0.05)
delays = [seen[k] - dropped[k] - gen[k] for k in seen]
ws = sum(1 + int(g / 10) + 1 for g in gen.values()) / n   # submit + polls
print("%.1f" % ws, "%.1f" % statistics.median(delays) if delays else -1,
      "%.1f" % max(delays) if delays else -1)
if len(seen) < n:
    print("only %d of %d videos arrived" % (len(seen), n), file=sys.stderr)
EOF
)
polls=$(bench_sim_stat 's["requests"].get("/v1/draw/result", 0)')
submits=$(bench_sim_stat 's["requests"].get("/v1/video/sora-video", 0)')
per=$(awk -v p="$polls" -v n="$N" 'BEGIN {printf "%.2f", p / n}')
calls=$(awk -v p="$polls" -v s="$submits" -v n="$N" 'BEGIN {printf "%.2f", (p + s) / n}')
ratio=$(bench_ratio "$calls" "$ws")
label="updates=$UPDATES, progress $PROGRESS, sora2-sim $span tasks (real time)"
# the target is for generations of 2-6 minutes; shorter runs are only shown
awk -v g="$GEN" 'BEGIN {exit !(g >= 60)}' && bench_result "$label|$calls API calls/task ($per polls) = $ratio x Web Studio ($ws), delay median $med s, max $max s|<= 0.5x, median <= 3 s, max <= 10 s|$(bench_ok "$ratio <= 0.5 && $med <= 3 && $max <= 10")"
echo
echo "$N tasks of $span on sora2-sim, updates=$UPDATES, progress $PROGRESS, $(nproc) CPUs, $(uname -r)"
{
	echo "measure|sora2fs|Web Studio"
	echo "API calls per task (submit + polls)|$calls ($per polls)|$ws"
	echo "calls vs the Web Studio|$ratio x|1 x"
	echo "delay upstream success -> video visible, median / max|$med / $max s|about 5 / 10 s + download"
} | bench_table
