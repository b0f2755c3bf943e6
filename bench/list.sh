#!/usr/bin/env bash
# bench/list.sh - listing through the mount vs. listing a native directory.
#
#   $ bench/list.sh                 # 2000 videos, 200 jobs, 5 runs of each
#   $ bench/list.sh -n 5000 -j 500 -r 10
#
# Sets up its own simulator and mount in a temporary directory.
#  * N small .mp4 files are put straight into STUDIO/downloads before mounting;
#    `ls -l MNT/videos` and `stat` of every video are timed against the same on
#    STUDIO/downloads.
#  * J prompt files are dropped into jobs/ and run to the end against the
#    simulator; `ls -l jobs/`, `ls -lR jobs/` and `cat jobs/*/status` are timed
#    against a native copy of the same tree.
# The first run after mounting (kernel caches empty) is shown apart from the
# median of the runs that follow it.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NVIDEOS=2000
NJOBS=200
RUNS=5
while getopts n:j:r:h opt; do
	case $opt in
	n) NVIDEOS=$OPTARG ;;
	j) NJOBS=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done

bench_build

# The videos: copies of the simulator's tiny MP4 (or 4 KiB of zeros).
mkdir -p "$BENCH_STUDIO/downloads"
sample=$BENCH_ROOT/tests/sim/tiny.mp4
[[ -f $sample ]] || {
	sample=$BENCH_DIR/sample.mp4
	head -c 4096 /dev/zero >"$sample"
}
bench_note "creating $NVIDEOS videos in downloads/..."
for ((i = 0; i < NVIDEOS; i++)); do
	cp "$sample" "$BENCH_STUDIO/downloads/sora_$((1700000000 + i)).mp4"
done

bench_start_sim --gen-time 0.5
bench_mount -o max_active=32

ls_l() { ls -l "$1"; }
ls_lr() { ls -lR "$1"; }
stat_all() { stat -- "$1"/*.mp4; }
cat_status() { cat "$1"/*/status; }

# measure FUNC DIR -> "first median" (microseconds)
measure() {
	local func=$1 dir=$2 first i times=()
	first=$(bench_time "$func" "$dir")
	for ((i = 0; i < RUNS; i++)); do
		times+=("$(bench_time "$func" "$dir")")
	done
	echo "$first $(bench_median "${times[@]}")"
}

rows=("operation|sora2fs ms|native ms|sora2fs/native")
add_row() { # add_row LABEL FUNC MOUNTDIR NATIVEDIR
	local via nat
	read -r -a via <<<"$(measure "$2" "$3")"
	read -r -a nat <<<"$(measure "$2" "$4")"
	rows+=("$1, first run|$(bench_ms "${via[0]}")|$(bench_ms "${nat[0]}")|$(bench_ratio "${via[0]}" "${nat[0]}")")
	rows+=("$1, median|$(bench_ms "${via[1]}")|$(bench_ms "${nat[1]}")|$(bench_ratio "${via[1]}" "${nat[1]}")")
}

add_row "ls -l videos/ ($NVIDEOS)" ls_l "$BENCH_MNT/videos" "$BENCH_STUDIO/downloads"
add_row "stat videos/*.mp4 ($NVIDEOS)" stat_all "$BENCH_MNT/videos" "$BENCH_STUDIO/downloads"

# The jobs.
bench_note "dropping $NJOBS prompts into jobs/ and waiting for them..."
for ((i = 0; i < NJOBS; i++)); do
	echo "bench clip number $i" >"$BENCH_MNT/jobs/clip$i.txt"
done
end=$((SECONDS + 300))
while :; do
	pending=$(cat "$BENCH_MNT"/jobs/*/status 2>/dev/null | grep -cvxE 'succeeded|failed|cancelled' || true)
	((pending == 0)) && break
	if ((SECONDS >= end)); then
		bench_note "warning: $pending jobs still unfinished after 300 s; measuring anyway"
		break
	fi
	sleep 1
done
njobs=$(find "$BENCH_MNT/jobs" -mindepth 1 -maxdepth 1 -type d | wc -l)

# A native tree with the same shape: same names, same contents, same symlinks.
NATIVE_JOBS=$BENCH_DIR/native-jobs
mkdir -p "$NATIVE_JOBS"
for d in "$BENCH_MNT"/jobs/*/; do
	name=$(basename "$d")
	mkdir -p "$NATIVE_JOBS/$name"
	for f in "$d"*; do
		base=$(basename "$f")
		if [[ -L $f ]]; then
			ln -s "$(readlink "$f")" "$NATIVE_JOBS/$name/$base"
		else
			cat "$f" >"$NATIVE_JOBS/$name/$base" 2>/dev/null || : >"$NATIVE_JOBS/$name/$base"
		fi
	done
done

add_row "ls -l jobs/ ($njobs)" ls_l "$BENCH_MNT/jobs" "$NATIVE_JOBS"
add_row "ls -lR jobs/ ($njobs)" ls_lr "$BENCH_MNT/jobs" "$NATIVE_JOBS"
add_row "cat jobs/*/status ($njobs)" cat_status "$BENCH_MNT/jobs" "$NATIVE_JOBS"

echo
echo "sora2fs listing: first run and median of $RUNS more, $(nproc) CPUs, $(uname -r)"
printf '%s\n' "${rows[@]}" | bench_table
