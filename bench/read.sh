#!/usr/bin/env bash
# bench/read.sh - reading a big video: native file vs the FUSE floor
# (bench/floorfs.c) vs sora2fs.
#
#   $ bench/read.sh                 # a 1 GiB video, 3 rounds
#   $ bench/read.sh -s 268435456 -r 5
#
# The video is written straight into STUDIO/downloads before mounting. Each
# round times `cat` and `dd bs=1M` of STUDIO/downloads/big.mp4, FLOOR/big.mp4
# and MNT/videos/big.mp4 in turn, with a cold page cache (echo 3 >
# /proc/sys/vm/drop_caches before each read: needs root and a writable
# /proc/sys, skipped otherwise) and a warm one. Prints median MB/s (10^6 bytes
# per second) and the ratios.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZE=1073741824
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
bench_note "writing a $((SIZE / 1048576)) MiB video..."
mkdir -p "$BENCH_STUDIO/downloads"
python3 - "$BENCH_STUDIO/downloads/big.mp4" "$SIZE" <<'EOF'
import os, sys
block = os.urandom(1 << 20)
left = int(sys.argv[2])
with open(sys.argv[1], "wb") as f:
    while left > 0:
        n = min(left, len(block))
        f.write(block[:n])
        left -= n
EOF
bench_start_sim --gen-time 1
bench_mount -o max_active=4
bench_floor_mount "$BENCH_STUDIO/downloads"
NATIVE=$BENCH_STUDIO/downloads/big.mp4
FLOOR=$BENCH_FLOOR_MNT/big.mp4
VIA=$BENCH_MNT/videos/big.mp4
BYTES=$(stat -c %s "$NATIVE")
[[ $(stat -c %s "$VIA") == "$BYTES" ]] || bench_die "videos/big.mp4 and downloads/big.mp4 differ in size"

COLD=1
bench_can_drop_caches || {
	COLD=0
	bench_note "cannot drop the page cache here (not root, or /proc/sys is read-only): cold runs skipped"
}

read_cat() { cat "$1" >/dev/null; }
read_dd() { dd if="$1" of=/dev/null bs=1M status=none; }

rows=("read $((BYTES / 1048576)) MiB|cache|native MB/s|floor MB/s|sora2fs MB/s|sora2fs/native|sora2fs/floor")
caches=(warm)
((COLD)) && caches=(cold warm)
for method in cat dd; do
	for cache in "${caches[@]}"; do
		tn=() tf=() tv=()
		if [[ $cache == warm ]]; then
			read_$method "$NATIVE"
			read_$method "$FLOOR"
			read_$method "$VIA"
		fi
		for ((i = 0; i < RUNS; i++)); do
			[[ $cache == cold ]] && bench_drop_caches
			tn+=("$(bench_time "read_$method" "$NATIVE")")
			[[ $cache == cold ]] && bench_drop_caches
			tf+=("$(bench_time "read_$method" "$FLOOR")")
			[[ $cache == cold ]] && bench_drop_caches
			tv+=("$(bench_time "read_$method" "$VIA")")
		done
		nat=$(bench_mbps "$BYTES" "$(bench_median "${tn[@]}")")
		flo=$(bench_mbps "$BYTES" "$(bench_median "${tf[@]}")")
		via=$(bench_mbps "$BYTES" "$(bench_median "${tv[@]}")")
		label=$method
		[[ $method == dd ]] && label="dd bs=1M"
		rn=$(bench_ratio "$via" "$nat") rf=$(bench_ratio "$via" "$flo")
		rows+=("$label|$cache|$nat|$flo|$via|$rn|$rf")
		if [[ $method == cat ]]; then
			want=0.8
			[[ $cache == warm ]] && want=0.9
			bench_result "$cache read of a $((BYTES / 1048576)) MiB video (cat)|$rn x native, $rf x floor|>= ${want}x native or >= 0.95x floor|$(bench_ok "$rn >= $want || $rf >= 0.95")"
		fi
	done
done

echo
echo "reading a video: median of $RUNS rounds, $(nproc) CPUs, $(uname -r)"
printf '%s\n' "${rows[@]}" | bench_table
