#!/usr/bin/env bash
# bench/download.sh - sora2fs downloading a big video vs `curl -o` of the same
# link from the same server (sora2-sim), wall time and CPU time.
#
#   $ bench/download.sh                # 1 GiB, 7 rounds
#   $ bench/download.sh -s 268435456 -r 5
#
# One job runs to the end; then each round times, in turn:
#   sora2fs      rm videos/big.mp4 (not timed), then `echo redownload >
#                jobs/big/ctl` until the status says succeeded: the transfer,
#                the MP4 check, the fsync, the rename into downloads/. CPU: the
#                daemon's (/proc/PID/stat).
#   curl -o      `curl -s -o` of the video's link into the same folder (the
#                target's baseline; the file is removed after, not timed).
#   curl + sync  the same, then `sync FILE` (an fsync, as sora2fs does before
#                it shows a video): the durable baseline.
# Each download writes a new file after a 1 GiB file was removed, for all
# three: on a VM whose freed memory goes back to the host, writing into pages
# that were just freed costs less than into pages not touched for a while.
# Prints every round, the medians, and the ratios of the medians.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZE=1073741824
RUNS=7
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

# one line per round and client: "LABEL WALL_US CPU_US"
python3 - "$RUNS" "$BENCH_MNT" "$BENCH_STUDIO/downloads" "$BENCH_FS_PID" "$url" >"$BENCH_DIR/dl.txt" <<'EOF'
import os, resource, subprocess, sys, time
runs, mnt, downloads, pid, url = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
hz = os.sysconf("SC_CLK_TCK")


def cpu(p):
    f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) * 1e6 / hz


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1e6


def sora2fs():
    video = f"{mnt}/videos/big.mp4"
    if os.path.exists(video):
        os.unlink(video)
    time.sleep(0.2)
    c0, t0 = cpu(pid), time.monotonic()
    with open(f"{mnt}/jobs/big/ctl", "w") as f:
        f.write("redownload\n")
    status = f"{mnt}/jobs/big/status"
    end = t0 + 300
    while time.monotonic() < end:
        with open(status) as f:
            if f.read().strip() in ("succeeded", "failed"):
                break
        time.sleep(0.005)
    return time.monotonic() - t0, cpu(pid) - c0


def curl(sync):
    out = f"{downloads}/.curl.part"
    time.sleep(0.2)
    c0, t0 = children_cpu(), time.monotonic()
    subprocess.run(["curl", "-s", "-o", out, url], check=True)
    if sync:
        subprocess.run(["sync", out], check=True)
    t, c = time.monotonic() - t0, children_cpu() - c0
    os.unlink(out)
    return t, c


for _ in range(runs):
    for label, fn in (("sora2fs", sora2fs), ("curl", lambda: curl(False)),
                      ("curl+sync", lambda: curl(True))):
        w, c = fn()
        print(label, int(w * 1e6), int(c), flush=True)
EOF

col() { awk -v l="$1" -v f="$2" '$1 == l {print $f}' "$BENCH_DIR/dl.txt"; }
# shellcheck disable=SC2046
med() { bench_median $(col "$1" "$2"); }
sw=$(med sora2fs 2) sc=$(med sora2fs 3)
kw=$(med curl 2) kc=$(med curl 3)
yw=$(med curl+sync 2) yc=$(med curl+sync 3)
speed=$(bench_ratio "$kw" "$sw") # > 1: sora2fs faster
cpu=$(bench_ratio "$sc" "$kc")
bench_result "$((BYTES / 1048576)) MiB download vs curl -o|speed ${speed}x curl, CPU ${cpu}x curl's (vs curl + fsync: $(bench_ratio "$yw" "$sw")x, $(bench_ratio "$sc" "$yc")x)|>= 0.95x speed, CPU <= curl's|$(bench_ok "$speed >= 0.95 && $cpu <= 1")"

echo
echo "downloading $((BYTES / 1048576)) MiB from sora2-sim: $RUNS interleaved rounds, $(nproc) CPUs, $(uname -r)"
secs() { awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1 / 1e6}'; }
{
	echo "client|wall s (median)|MB/s|CPU s (median)|wall / CPU, every round"
	for l in curl curl+sync sora2fs; do
		case $l in
		curl) name="curl -o" ;;
		curl+sync) name="curl -o, then sync FILE" ;;
		sora2fs) name="sora2fs (until the status says succeeded)" ;;
		esac
		w=$(med "$l" 2) c=$(med "$l" 3)
		echo "$name|$(awk -v u="$w" 'BEGIN {printf "%.2f", u / 1e6}')|$(bench_mbps "$BYTES" "$w")|$(awk -v u="$c" 'BEGIN {printf "%.2f", u / 1e6}')|$(col "$l" 2 | secs) / $(col "$l" 3 | secs)"
	done
	echo "sora2fs / curl -o (time, CPU)|$(bench_ratio "$sw" "$kw")||$cpu|"
	echo "sora2fs / curl -o + sync (time, CPU)|$(bench_ratio "$sw" "$yw")||$(bench_ratio "$sc" "$yc")|"
} | bench_table
