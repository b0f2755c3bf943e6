#!/usr/bin/env bash
# bench/burst.sh - 1,000 prompts dropped at once: how long each drop's close()
# takes, when the last video is in place, TCP connections per task and the
# daemon's peak memory.
#
#   $ bench/burst.sh                    # 1000 drops, generation 10 s
#   $ bench/burst.sh -n 200 -g 5
#
# sora2fs runs with max_active=N and the default (adaptive) polling against
# sora2-sim --gen-time G. The drops are written one after the other by one
# process (open, write, close of jobs/clipI.txt), each timed; then the script
# waits for N videos in STUDIO/downloads. Connections are the simulator's count
# of accepted TCP connections during the burst.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N=1000
GEN=10
while getopts n:g:h opt; do
	case $opt in
	n) N=$OPTARG ;;
	g) GEN=$OPTARG ;;
	*)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done

bench_build
bench_start_sim --gen-time "$GEN" --credits 1000000000
BENCH_POLL='' bench_mount -o "max_active=$N"
conn0=$(bench_sim_stat 's["connections"]')
bench_note "dropping $N prompts..."
read -r p50 p99 pmax drops all < <(python3 - "$BENCH_MNT/jobs" "$BENCH_STUDIO/downloads" "$N" "$GEN" <<'EOF'
import os, sys, time
jobs, downloads, n, gen = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
lat = []
t0 = time.monotonic()
for i in range(n):
    a = time.perf_counter()
    fd = os.open(os.path.join(jobs, "clip%d.txt" % i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"burst clip number %d, a cat on a piano\n" % i)
    os.close(fd)
    lat.append(time.perf_counter() - a)
t_drops = time.monotonic() - t0
end = t0 + gen + float(os.environ.get("BURST_GRACE", "120"))
have = 0
while time.monotonic() < end:
    have = sum(1 for e in os.scandir(downloads) if e.name.endswith(".mp4") and not e.name.startswith("."))
    if have >= n:
        break
    time.sleep(0.05)
t_all = time.monotonic() - t0 if have >= n else -1
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1000
print("%.2f %.2f %.2f %.2f %.2f" % (q(0.5), q(0.99), lat[-1] * 1000, t_drops, t_all))
EOF
)
conn1=$(bench_sim_stat 's["connections"]')
hwm=$(bench_hwm "$BENCH_FS_PID")
cpt=$(awk -v a="$conn0" -v b="$conn1" -v n="$N" 'BEGIN {printf "%.2f", (b - a) / n}')
polls=$(bench_sim_stat 'sum(v for k, v in s["requests"].items() if "result" in k or "poll" in k)')
bench_result "$N drops: close p99|$p99 ms (p50 $p50, max $pmax)|< 5 ms|$(bench_ok "$p99 < 5")"
after_last=$(awk -v a="$all" -v d="$drops" 'BEGIN {if (a < 0) print -1; else printf "%.2f", a - d}')
bench_result "$N drops: all videos present|$all s after the first drop, $after_last s after the last (gen $GEN s; the drops took $drops s)|<= gen + 5 s|$(bench_ok "$all >= 0 && $all <= $GEN + 5")"
bench_result "$N drops: TCP connections per task|$cpt|<= 1.2|$(bench_ok "$cpt <= 1.2")"
bench_result "$N drops: daemon peak RSS|$(bench_mib "$hwm") MiB|<= 64 MiB|$(bench_ok "$hwm <= 65536")"

echo
echo "$N drops at once, generation $GEN s, max_active=$N, $(nproc) CPUs, $(uname -r)"
{
	echo "measure|value"
	echo "close() of one drop, p50 / p99 / max|$p50 / $p99 / $pmax ms"
	echo "all $N drops written|$drops s"
	echo "all $N videos in downloads/ (-1: not within gen + 120 s)|$all s after the first drop, $after_last s after the last"
	echo "TCP connections per task|$cpt"
	echo "API polls per task|$(awk -v p="$polls" -v n="$N" 'BEGIN {printf "%.1f", p / n}')"
	echo "daemon peak RSS|$(bench_mib "$hwm") MiB"
} | bench_table
