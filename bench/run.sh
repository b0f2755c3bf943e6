#!/usr/bin/env bash
# bench/run.sh - every benchmark of issue 10, then one table: each measure, its
# value on this machine, the target, met or MISSED. About 10 minutes on 2 cores.
#
#   $ bench/run.sh                   # full sizes
#   $ bench/run.sh --quick           # small sizes (a minute), to try the scripts
#   $ bench/run.sh > bench.txt       # the tables go to stdout, progress to stderr
#
# Runs, each against its baseline in the same run (native folder, the FUSE
# floor bench/floorfs.c, curl, the Web Studio's fixed 10 s polling):
#   scale.sh     ls -l videos/ at 1k/10k/50k videos + history, stat of 10k videos
#   jobs.sh      ls and ls -l of jobs/ with 1,000 jobs, stat/cat of a status file
#   read.sh      cold/warm read of a 1 GiB video
#   download.sh  1 GiB download vs curl -o
#   burst.sh     1,000 drops at once, generation 10 s
#   mount.sh     10,000 jobs + 50,000 videos: mount to first ls, RSS
#   poll.sh      API polls per task and delay to visible
# Needs: a meson build in build/ (or SORA2FS=, SORA2_SIM=, FLOORFS=), /dev/fuse,
# fusermount3, python3, curl. Root for cold reads (drop_caches).

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
QUICK=0
[[ ${1:-} == --quick ]] && QUICK=1
BENCH_RESULTS=$(mktemp "${TMPDIR:-/tmp}/sora2fs-bench-results.XXXXXX")
export BENCH_RESULTS
trap 'rm -f "$BENCH_RESULTS"' EXIT
start=$SECONDS

# A fresh clone: configure and build first.
ROOT=$(cd "$HERE/.." && pwd)
if [[ -z ${SORA2FS:-} && ! -f $ROOT/build/build.ninja ]]; then
	echo "configuring build/ (meson setup build)..." >&2
	meson setup "$ROOT/build" >/dev/null
fi
if [[ -z ${SORA2FS:-} ]]; then
	ninja -C "$ROOT/build" >/dev/null
fi

step() {
	printf '\n== %s\n' "$*"
	printf '== %s (%d s so far)\n' "$*" $((SECONDS - start)) >&2
	"$HERE/$1" "${@:2}" || printf 'warning: %s failed\n' "$1" | tee -a /dev/stderr
}

if ((QUICK)); then
	step scale.sh -s "1000 5000" -r 3
	step jobs.sh -j 200 -r 11 -p 1
	step read.sh -s 134217728 -r 2 -w 3
	step download.sh -s 134217728 -r 2
	step burst.sh -n 200 -g 5
	step mount.sh -d 900 -R 100 -v 5000
	step poll.sh -n 5 -g 20
	step poll.sh -u stream -p missing -n 5 -g 20 -G 30
else
	step scale.sh
	step jobs.sh
	step read.sh
	step download.sh
	step burst.sh
	step mount.sh
	step poll.sh
	step poll.sh -u stream -p missing -g 60 -G 120
	step poll.sh -u stream -p jump -g 60 -G 120
fi

echo
echo "== summary: $(nproc) CPUs, $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'), $((SECONDS - start)) s"
{
	echo "measure|this machine|target|"
	cat "$BENCH_RESULTS"
} | awk -F '|' '
	{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
	  if (NF > n) n = NF }
	END {
		for (r = 1; r <= NR; r++) {
			line = ""
			for (i = 1; i <= n; i++) line = line sprintf(i == 1 ? "%-*s" : "  %-*s", w[i], cell[r, i])
			print line
		}
	}'
