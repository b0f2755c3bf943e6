#!/usr/bin/env bash
# bench/download.sh - sora2fs downloading a big video vs `curl -o` of the same
# link from the same server (sora2-sim), wall time and CPU time.
#
#   $ bench/download.sh                # 1 GiB, 3 rounds
#   $ bench/download.sh -s 268435456 -r 5
#
# One job runs to the end; then each round times `echo redownload >
# jobs/big/ctl` until the status is succeeded again (the daemon's CPU time
# from /proc/PID/stat) and `curl -s -o` of the video's link into the same
# folder (curl's CPU time from bash's times), in turn. Medians.

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

command -v curl >/dev/null || bench_die "curl is not installed"
bench_build
bench_start_sim --gen-time 1 --video-size "$SIZE"
bench_mount -o max_active=4
echo "a very long take of the sea" >"$BENCH_MNT/jobs/big.txt"
st=$(bench_wait_status big 300 succeeded failed cancelled) || bench_die "the video did not finish (status: $st)"
[[ $st == succeeded ]] || bench_die "the job $st: $(cat "$BENCH_MNT/jobs/big/error")"
url=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$BENCH_MNT/jobs/big/result.json" 2>/dev/null ||
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["url"])' "$BENCH_MNT/history.json")
BYTES=$(stat -c %s "$BENCH_STUDIO/downloads/big.mp4")

# wall microseconds and daemon CPU microseconds of one redownload
redownload() {
	local c0 c1 t0 t1
	c0=$(bench_cpu_us "$BENCH_FS_PID")
	t0=$(bench_now)
	echo redownload >"$BENCH_MNT/jobs/big/ctl"
	python3 - "$BENCH_MNT/jobs/big/status" <<'EOF'
import sys, time
end = time.monotonic() + 300
while time.monotonic() < end:
    if open(sys.argv[1]).read().strip() in ("succeeded", "failed"):
        break
    time.sleep(0.01)
EOF
	t1=$(bench_now)
	c1=$(bench_cpu_us "$BENCH_FS_PID")
	echo "$((t1 - t0)) $((c1 - c0))"
}
# wall and CPU microseconds of curl -o
curl_get() {
	local t0 t1 out=$BENCH_STUDIO/downloads/.curl.part
	t0=$(bench_now)
	local ct
	ct=$(python3 - "$url" "$out" <<'EOF'
import resource, subprocess, sys
subprocess.run(["curl", "-s", "-o", sys.argv[2], sys.argv[1]], check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(int((r.ru_utime + r.ru_stime) * 1e6))
EOF
)
	t1=$(bench_now)
	rm -f "$out"
	echo "$((t1 - t0)) $ct"
}

tw=() tc=() cw=() cc=()
for ((i = 0; i < RUNS; i++)); do
	read -r w c <<<"$(redownload)"
	tw+=("$w") tc+=("$c")
	read -r w c <<<"$(curl_get)"
	cw+=("$w") cc+=("$c")
done
sw=$(bench_median "${tw[@]}") sc=$(bench_median "${tc[@]}")
kw=$(bench_median "${cw[@]}") kc=$(bench_median "${cc[@]}")
speed=$(bench_ratio "$kw" "$sw") # > 1: sora2fs faster
cpu=$(bench_ratio "$sc" "$kc")
bench_result "$((BYTES / 1048576)) MiB download vs curl -o|speed ${speed}x curl, CPU ${cpu}x curl's|>= 0.95x speed, CPU <= curl's|$(bench_ok "$speed >= 0.95 && $cpu <= 1")"

echo
echo "downloading $((BYTES / 1048576)) MiB from sora2-sim: median of $RUNS rounds, $(nproc) CPUs, $(uname -r)"
{
	echo "client|wall s|MB/s|CPU s"
	echo "curl -o|$(bench_ms "$kw" | awk '{printf "%.2f", $1 / 1000}')|$(bench_mbps "$BYTES" "$kw")|$(awk -v u="$kc" 'BEGIN {printf "%.2f", u / 1e6}')"
	echo "sora2fs (redownload, until status says succeeded)|$(awk -v u="$sw" 'BEGIN {printf "%.2f", u / 1e6}')|$(bench_mbps "$BYTES" "$sw")|$(awk -v u="$sc" 'BEGIN {printf "%.2f", u / 1e6}')"
	echo "sora2fs / curl|$(bench_ratio "$sw" "$kw")||$cpu"
} | bench_table
