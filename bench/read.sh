#!/usr/bin/env bash
# bench/read.sh - reading a big video: native file vs the FUSE floor
# (bench/floorfs.c) vs sora2fs.
#
#   $ bench/read.sh                 # a 1 GiB video, 9 cold and 25 warm rounds
#   $ bench/read.sh -s 268435456 -r 5 -w 11
#
# The video is written straight into STUDIO/downloads before mounting. Each
# round reads STUDIO/downloads/big.mp4, FLOOR/big.mp4 and MNT/videos/big.mp4
# once each, with `cat` and with `dd bs=1M`, starting with a different one each
# round (so none always comes first); cold rounds drop the page cache before
# every read (sync; echo 3 > /proc/sys/vm/drop_caches: needs root and a
# writable /proc/sys, skipped otherwise), warm rounds come after one read of
# each, and so do cold ones (with the cache dropped: see below). Prints median MB/s (10^6 bytes per second), the ratios of the medians,
# and the median and range of the per-round ratio to the floor (a round's three
# reads are seconds apart, so that ratio sees the least of the machine's drift).

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZE=1073741824
COLD_RUNS=9
WARM_RUNS=25
while getopts s:r:w:h opt; do
	case $opt in
	s) SIZE=$OPTARG ;;
	r) COLD_RUNS=$OPTARG ;;
	w) WARM_RUNS=$OPTARG ;;
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

# "METHOD CACHE ROUND LABEL MICROSECONDS" per read
python3 - "$COLD" "$COLD_RUNS" "$WARM_RUNS" "$NATIVE" "$FLOOR" "$VIA" >"$BENCH_DIR/reads.txt" <<'EOF'
import os, subprocess, sys, time
cold, cold_runs, warm_runs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
files = list(zip(("native", "floor", "sora2fs"), sys.argv[4:7]))
cmds = {"cat": lambda p: ["cat", p],
        "dd": lambda p: ["dd", "if=" + p, "of=/dev/null", "bs=1M", "status=none"]}


def drop():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
    time.sleep(0.2)


def timed(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return int((time.perf_counter() - t0) * 1e6)


for method in ("cat", "dd"):
    for cache, runs in (("cold", cold_runs if cold else 0), ("warm", warm_runs)):
        # one untimed read of each first: warm, to fill the caches; cold, so
        # the first reader does not pay alone for memory the VM has handed
        # back to its host (a first cold read after mounting took 2 s of the
        # daemon's CPU in memcpy, floor or sora2fs alike; the next ones 0.3 s)
        for _, path in files:
            if cache == "cold":
                drop()
            timed(cmds[method](path))
        for r in range(runs):
            for i in range(len(files)):
                label, path = files[(r + i) % len(files)]
                if cache == "cold":
                    drop()
                print(method, cache, r, label, timed(cmds[method](path)), flush=True)
EOF

# the medians, ratios and per-round ratio range of one method and cache
summary() {
	awk -v m="$1" -v c="$2" -v bytes="$BYTES" '
		function median(a, n,   i, j, t) {
			for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		$1 == m && $2 == c { t[$4, $3] = $5; if ($3 + 1 > n) n = $3 + 1 }
		END {
			if (!n) exit
			lo = 1e9; hi = 0
			for (r = 0; r < n; r++) {
				N[r + 1] = t["native", r]; F[r + 1] = t["floor", r]; S[r + 1] = t["sora2fs", r]
				Q[r + 1] = q = t["floor", r] / t["sora2fs", r]
				if (q < lo) lo = q; if (q > hi) hi = q
			}
			nat = bytes / median(N, n); flo = bytes / median(F, n); via = bytes / median(S, n)
			printf "%.0f %.0f %.0f %.2f %.2f %.2f %.2f %.2f %d\n", nat, flo, via, via / nat, via / flo, median(Q, n), lo, hi, n
		}' "$BENCH_DIR/reads.txt"
}

rows=("read $((BYTES / 1048576)) MiB|cache|rounds|native MB/s|floor MB/s|sora2fs MB/s|sora2fs/native|sora2fs/floor|sora2fs/floor per round: median (range)")
for method in cat dd; do
	for cache in cold warm; do
		s=$(summary "$method" "$cache")
		[[ -n $s ]] || continue
		read -r nat flo via rn rf rq lo hi n <<<"$s"
		label=$method
		[[ $method == dd ]] && label="dd bs=1M"
		rows+=("$label|$cache|$n|$nat|$flo|$via|$rn|$rf|$rq ($lo-$hi)")
		if [[ $method == cat ]]; then
			want=0.8
			[[ $cache == warm ]] && want=0.9
			bench_result "$cache read of a $((BYTES / 1048576)) MiB video (cat)|$rn x native, $rf x floor (per round: median $rq, $lo-$hi)|>= ${want}x native or >= 0.95x floor|$(bench_ok "$rn >= $want || $rf >= 0.95")"
		fi
	done
done

echo
echo "reading a video: medians of interleaved rounds, $(nproc) CPUs, $(uname -r)"
printf '%s\n' "${rows[@]}" | bench_table
