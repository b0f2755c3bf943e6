#!/usr/bin/env bash
# bench/read.sh - reading a video through the mount vs. reading the file directly.
#
#   $ bench/read.sh                 # a 256 MiB video, 3 runs of each
#   $ bench/read.sh -s 67108864 -r 5
#
# Sets up its own simulator and mount in a temporary directory, makes one big
# video (sora2-sim --video-size), then times `cat` and `dd bs=1M` of
# MNT/videos/big.mp4 and of STUDIO/downloads/big.mp4, with a cold page cache
# (echo 3 > /proc/sys/vm/drop_caches: needs root, and is skipped where /proc/sys
# is read-only, as in most containers) and a warm one. Prints the median MB/s
# (10^6 bytes per second) of each, and sora2fs / native.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZE=268435456
RUNS=3
while getopts s:r:h opt; do
	case $opt in
	s) SIZE=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	*)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done

bench_build
bench_start_sim --gen-time 0.5 --video-size "$SIZE"
bench_mount -o max_active=4

bench_note "making a $((SIZE / 1048576)) MiB video..."
echo "a very long take of the sea [size=$SIZE]" >"$BENCH_MNT/jobs/big.txt"
st=$(bench_wait_status big 300 succeeded failed cancelled) ||
	bench_die "the video did not finish in 300 s (status: $st)"
[[ $st == succeeded ]] || bench_die "the job $st: $(cat "$BENCH_MNT/jobs/big/error")"
VIA=$BENCH_MNT/videos/big.mp4
NATIVE=$BENCH_STUDIO/downloads/big.mp4
[[ -f $VIA && -f $NATIVE ]] || bench_die "big.mp4 is missing from videos/ or downloads/"
BYTES=$(stat -c %s "$NATIVE")
[[ $(stat -c %s "$VIA") == "$BYTES" ]] || bench_die "videos/big.mp4 and downloads/big.mp4 differ in size"

COLD=1
bench_can_drop_caches || {
	COLD=0
	bench_note "cannot drop the page cache here (not root, or /proc/sys is read-only): cold runs skipped"
}

read_cat() { cat "$1" >/dev/null; }
read_dd() { dd if="$1" of=/dev/null bs=1M status=none; }

# measure METHOD cold|warm FILE -> median microseconds of RUNS runs
measure() {
	local method=$1 cache=$2 file=$3 i times=()
	[[ $cache == warm ]] && "read_$method" "$file"
	for ((i = 0; i < RUNS; i++)); do
		[[ $cache == cold ]] && bench_drop_caches
		times+=("$(bench_time "read_$method" "$file")")
	done
	bench_median "${times[@]}"
}

rows=("read $((BYTES / 1048576)) MiB|cache|sora2fs MB/s|native MB/s|sora2fs/native")
caches=(warm)
((COLD)) && caches=(cold warm)
for method in cat dd; do
	for cache in "${caches[@]}"; do
		via=$(bench_mbps "$BYTES" "$(measure "$method" "$cache" "$VIA")")
		nat=$(bench_mbps "$BYTES" "$(measure "$method" "$cache" "$NATIVE")")
		label=$method
		[[ $method == dd ]] && label="dd bs=1M"
		rows+=("$label|$cache|$via|$nat|$(bench_ratio "$via" "$nat")")
	done
done

echo
echo "sora2fs read throughput: median of $RUNS runs, $(nproc) CPUs, $(uname -r)"
printf '%s\n' "${rows[@]}" | bench_table
