#!/usr/bin/env bash
# bench/latency.sh - do ls and cat wait on the network? (They must not.)
#
#   $ bench/latency.sh              # 20 running jobs, 100 runs of each command
#   $ bench/latency.sh -j 50 -r 200
#
# Sets up its own simulator and mount, starts J jobs that keep running upstream,
# and times `ls -l jobs/`, `cat jobs/NAME/status` and friends R times while the
# API answers normally, then again while every API call hangs (sora2-sim fault
# all=stall: polls, submits and downloads are accepted and never answered).
# Prints the median and the worst time of each; the stalled numbers should match
# the normal ones, far below the API timeouts.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NJOBS=20
RUNS=100
while getopts j:r:h opt; do
	case $opt in
	j) NJOBS=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done

bench_build
# Tasks take an hour upstream, so every job stays running and keeps being polled.
bench_start_sim --gen-time 3600
bench_mount -o max_active="$NJOBS" -o timeout=30

bench_note "starting $NJOBS jobs..."
for ((i = 0; i < NJOBS; i++)); do
	echo "a long take number $i" >"$BENCH_MNT/jobs/take$i.txt"
done
for ((i = 0; i < NJOBS; i++)); do
	bench_wait_status "take$i" 30 running >/dev/null ||
		bench_note "warning: take$i is not running yet"
done

J=$BENCH_MNT/jobs
ls_jobs() { ls -l "$J"; }
cat_status() { cat "$J/take0/status"; }
cat_all() { cat "$J"/take*/status "$J"/take*/progress; }
stat_job() { stat "$J/take0/result.json"; }
ls_top() { ls -l "$BENCH_MNT" "$BENCH_MNT/videos"; }
drop() { # a new job each time (it queues: every max_active slot is taken)
	local n=${EPOCHREALTIME/./}
	echo "one more take $n" >"$J/extra$n.txt"
}

# measure FUNC -> "median max" microseconds over RUNS runs
measure() {
	local i times=()
	for ((i = 0; i < RUNS; i++)); do
		times+=("$(bench_time "$1")")
	done
	echo "$(bench_median "${times[@]}") $(bench_max "${times[@]}")"
}

ops=(ls_jobs cat_status cat_all stat_job ls_top drop)
declare -A label=(
	[ls_jobs]="ls -l jobs/"
	[cat_status]="cat jobs/take0/status"
	[cat_all]="cat jobs/*/status jobs/*/progress"
	[stat_job]="stat jobs/take0/result.json"
	[ls_top]="ls -l MNT MNT/videos"
	[drop]="echo PROMPT > jobs/NEW.txt"
)
declare -A normal stalled

bench_note "measuring with the API answering..."
for op in "${ops[@]}"; do
	normal[$op]=$(measure "$op")
done
rm -rf "$J"/extra* # the same jobs/ for both phases

bench_note "stalling every API call..."
bench_sim_post /_sim/fault '{"kind": "all", "mode": "stall", "delay": 3600}' >/dev/null
sleep 2 # let polls pile up on the stalled server
bench_note "measuring with the API stalled..."
for op in "${ops[@]}"; do
	stalled[$op]=$(measure "$op")
done
bench_sim_post /_sim/fault '{"kind": "all", "mode": "none"}' >/dev/null

rows=("operation|normal median ms|normal max ms|stalled median ms|stalled max ms|max stalled/normal")
for op in "${ops[@]}"; do
	read -r nm nx <<<"${normal[$op]}"
	read -r sm sx <<<"${stalled[$op]}"
	rows+=("${label[$op]}|$(bench_ms "$nm")|$(bench_ms "$nx")|$(bench_ms "$sm")|$(bench_ms "$sx")|$(bench_ratio "$sx" "$nx")")
done

echo
echo "sora2fs latency while the API stalls: $RUNS runs each, $NJOBS running jobs, poll every 0.2 s"
printf '%s\n' "${rows[@]}" | bench_table
