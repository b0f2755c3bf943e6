#!/usr/bin/env bash
# bench/mount.sh - a big studio: 10,000 jobs known (done and running) and
# 50,000 videos with as many history entries. Time from starting sora2fs to
# the end of the first `ls -l videos/`, and the daemon's memory.
#
#   $ bench/mount.sh                      # 9000 done + 1000 running, 50000 videos
#   $ bench/mount.sh -d 900 -R 100 -v 5000
#
# The running jobs' task ids are unknown to the simulator, so their first polls
# fail them; RSS is taken after the first listing and again 5 s later.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DONE=9000
RUNNING=1000
VIDEOS=50000
while getopts d:R:v:h opt; do
	case $opt in
	d) DONE=$OPTARG ;;
	R) RUNNING=$OPTARG ;;
	v) VIDEOS=$OPTARG ;;
	*)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done

bench_build
bench_start_sim --gen-time 1
bench_note "writing $VIDEOS videos, $VIDEOS history entries, $DONE done and $RUNNING running jobs..."
python3 "$BENCH_ROOT/bench/gen_studio.py" "$BENCH_STUDIO" --videos "$VIDEOS" "${BENCH_HISTORY:---history}" \
	--done "$DONE" --running "$RUNNING"
sync

t0=$(bench_now)
"$SORA2FS" -f -o "api_url=$BENCH_SIM_URL" -o "max_active=$RUNNING" "$BENCH_STUDIO" "$BENCH_MNT" \
	</dev/null >"$BENCH_DIR/sora2fs.log" 2>&1 &
BENCH_FS_PID=$!
# prints: videos listed, microseconds until mounted (README readable), microseconds of the ls
first_ls() {
	python3 - "$1" "$2" "$t0" <<'EOF'
import os, subprocess, sys, time
mnt, sub, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1e6
end = time.monotonic() + 60
while time.monotonic() < end:
    if any(l.split()[1] == mnt for l in open("/proc/self/mounts")):
        try:
            os.stat(os.path.join(mnt, sub))
        except OSError:
            time.sleep(0.002)
            continue
        t_m = time.time()
        r = subprocess.run(["ls", "-l", os.path.join(mnt, sub)], capture_output=True)
        t_l = time.time()
        print(max(0, r.stdout.count(b"\n") - 1), int((t_m - t0) * 1e6), int((t_l - t_m) * 1e6))
        break
    time.sleep(0.002)
else:
    print(-1, -1, -1)
EOF
}
read -r n tmount tls < <(first_ls "$BENCH_MNT" videos)
t1=$(bench_now)
rss1=$(bench_rss "$BENCH_FS_PID")
sleep 5 # let the running jobs' first polls happen
rss2=$(bench_rss "$BENCH_FS_PID")
hwm=$(bench_hwm "$BENCH_FS_PID")
ms=$(bench_ms $((t1 - t0)))
# the floor: floorfs started on the same folder, its first ls -l
sync
t0=$(bench_now)
"$FLOORFS" "$BENCH_STUDIO/downloads" "$BENCH_FLOOR_MNT" -f </dev/null >"$BENCH_DIR/floorfs.log" 2>&1 &
BENCH_FLOOR_PID=$!
read -r fn _ ftls < <(first_ls "$BENCH_FLOOR_MNT" .)
t1=$(bench_now)
fms=$(bench_ms $((t1 - t0)))
bench_floor_umount
bench_result "$((DONE + RUNNING)) jobs + $VIDEOS videos: mount to first ls -l videos/|$ms ms (mounted in $(bench_ms "$tmount"), ls $(bench_ms "$tls")); floor: $fms ms (ls $(bench_ms "$ftls"))|<= 1000 ms|$(bench_ok "$ms <= 1000 && $n == $VIDEOS")"
bench_result "$((DONE + RUNNING)) jobs + $VIDEOS videos: daemon RSS|$(bench_mib "$rss2") MiB (peak $(bench_mib "$hwm"))|<= 128 MiB|$(bench_ok "$hwm <= 131072")"

echo
echo "$((DONE + RUNNING)) jobs ($RUNNING running) and $VIDEOS videos with history, $(nproc) CPUs, $(uname -r)"
{
	echo "measure|value"
	echo "start of sora2fs to the end of the first ls -l videos/|$ms ms ($n videos)"
	echo "  of which: until mounted / the ls|$(bench_ms "$tmount") / $(bench_ms "$tls") ms"
	echo "the floor: start of floorfs to the end of its first ls -l|$fms ms ($fn files; the ls $(bench_ms "$ftls") ms)"
	echo "daemon RSS after the first listing / 5 s later / peak|$(bench_mib "$rss1") / $(bench_mib "$rss2") / $(bench_mib "$hwm") MiB"
} | bench_table
