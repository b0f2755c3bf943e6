#!/usr/bin/env bash
# bench/jobs.sh - jobs/ with many jobs: `ls jobs/`, `ls -l jobs/`, `stat` and
# `cat` of one job's status, p50: native copy vs the FUSE floor vs sora2fs.
#
#   $ bench/jobs.sh              # 1000 finished jobs, 21 rounds
#   $ bench/jobs.sh -j 200 -r 11
#
# The jobs are written as job records before mounting (no API calls). The
# native tree is a copy of MNT/jobs made through the mount (same names, same
# contents); the floor is floorfs serving that copy.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NJOBS=1000
RUNS=21
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
bench_start_sim --gen-time 1
python3 "$BENCH_ROOT/bench/gen_studio.py" "$BENCH_STUDIO" --done "$NJOBS"
bench_mount -o max_active=4
NATIVE=$BENCH_DIR/native-jobs
python3 - "$BENCH_MNT/jobs" "$NATIVE" <<'EOF'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
for job in os.listdir(src):
    d = os.path.join(src, job)
    if not os.path.isdir(d):
        continue
    os.makedirs(os.path.join(dst, job))
    for f in os.listdir(d):
        p = os.path.join(d, f)
        q = os.path.join(dst, job, f)
        if os.path.islink(p):
            os.symlink(os.readlink(p), q)
        else:
            try:
                data = open(p, "rb").read()
            except OSError:
                data = b""
            open(q, "wb").write(data)
EOF
njobs=$(find "$NATIVE" -mindepth 1 -maxdepth 1 -type d | wc -l)
bench_floor_mount "$NATIVE"
X=clip$((NJOBS / 2))

rows=("operation|native ms|floor ms|sora2fs ms|sora2fs/native|sora2fs/floor")
measure() { # LABEL TARGET_ID TEMPLATE(with @ for the directory)
	local label=$1 id=$2 t=$3 r nat flo via rt
	read -r -a r < <(python3 "$BENCH_ROOT/bench/interleave.py" "$RUNS" \
		native "${t//@/$NATIVE}" floor "${t//@/$BENCH_FLOOR_MNT}" sora2fs "${t//@/$BENCH_MNT/jobs}" |
		awk '{printf "%s %s ", $2, $3} END {print ""}')
	nat=${r[1]} flo=${r[3]} via=${r[5]}
	rt=$(bench_ratio "$via" "$nat")
	rows+=("$label, median|$(bench_ms "$nat")|$(bench_ms "$flo")|$(bench_ms "$via")|$rt|$(bench_ratio "$via" "$flo")")
	[[ -n $id ]] && bench_result "$id|$rt x native, $(bench_ratio "$via" "$flo") x floor|<= 3x native, <= 1.2x floor|$(bench_ok "$rt <= 3")"
	return 0
}
measure "ls jobs/ ($njobs jobs)" "ls jobs/, $njobs jobs" "ls @"
measure "ls -l jobs/ ($njobs jobs)" "" "ls -l @"
measure "stat jobs/$X/status" "" "stat @/$X/status"
measure "cat jobs/$X/status (p50)" "cat jobs/X/status p50" "cat @/$X/status"

echo
echo "jobs/ with $njobs jobs: medians of $RUNS rounds, $(nproc) CPUs, $(uname -r)"
printf '%s\n' "${rows[@]}" | bench_table
