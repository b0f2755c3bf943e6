#!/usr/bin/env bash
# bench/jobs.sh - jobs/ with many jobs: `ls jobs/`, `ls -l jobs/`, `stat` and
# `cat` of one job's status, p50: native copy vs the FUSE floor vs sora2fs.
#
#   $ bench/jobs.sh                        # 1000 finished jobs, 3 passes of 41 rounds
#   $ bench/jobs.sh -j 200 -r 11 -p 1
#   $ bench/jobs.sh -B /tmp/old/sora2fs    # and another sora2fs build, in the same rounds
#
# The jobs are written as job records before mounting (no API calls). The
# native tree is a copy of MNT/jobs made through the mount (same names, same
# contents); the floor is floorfs serving that copy. Each pass interleaves
# native, floor, sora2fs (and -B's build) round by round; a row gives the
# median of the passes' medians and, in brackets, the lowest and highest
# ratio of a pass.

set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NJOBS=1000
RUNS=41
PASSES=3
OTHER=
while getopts j:r:p:B:h opt; do
	case $opt in
	j) NJOBS=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	p) PASSES=$OPTARG ;;
	B) OTHER=$OPTARG ;;
	*)
		sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
		exit 2
		;;
	esac
done

bench_build
bench_start_sim --gen-time 1
python3 "$BENCH_ROOT/bench/gen_studio.py" "$BENCH_STUDIO" --done "$NJOBS"
OTHER_MNT=$BENCH_DIR/mnt-other
if [[ -n $OTHER ]]; then
	# one studio per mount: the other build gets a copy of it
	cp -a "$BENCH_STUDIO" "$BENCH_DIR/studio-other"
	mkdir -p "$OTHER_MNT"
	"$OTHER" -f -o "api_url=$BENCH_SIM_URL" -o max_active=4 "$BENCH_DIR/studio-other" "$OTHER_MNT" \
		</dev/null >"$BENCH_DIR/sora2fs-other.log" 2>&1 &
	other_pid=$!
	end=$((SECONDS + 15))
	until grep -qs " $OTHER_MNT " /proc/self/mounts && [[ -s $OTHER_MNT/README ]]; do
		kill -0 "$other_pid" 2>/dev/null || bench_die "$OTHER exited: $(cat "$BENCH_DIR/sora2fs-other.log")"
		((SECONDS < end)) || bench_die "$OTHER did not mount within 15 s"
		sleep 0.1
	done
fi
bench_mount -o max_active=4
NATIVE=$BENCH_DIR/native-jobs
python3 - "$BENCH_MNT/jobs" "$NATIVE" <<'PY'
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
PY
njobs=$(find "$NATIVE" -mindepth 1 -maxdepth 1 -type d | wc -l)
bench_floor_mount "$NATIVE"
X=clip$((NJOBS / 2))

hdr="operation (median ms)|native|floor|sora2fs|sora2fs/native|sora2fs/floor"
[[ -n $OTHER ]] && hdr+="|-B build|-B/floor|sora2fs/-B"
rows=("$hdr")
# median of numbers; "MEDIAN (MIN-MAX)" of ratios
med() { bench_median "$@"; }
span() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f (%.2f-%.2f)", m, a[1], a[NR]}'; }
measure() { # LABEL RESULT_ID TEMPLATE(with @ for the jobs directory)
	local label=$1 id=$2 t=$3 p nat=() flo=() via=() oth=() rn=() rf=() ro=() of=() r
	local args=(native "${t//@/$NATIVE}" floor "${t//@/$BENCH_FLOOR_MNT}" sora2fs "${t//@/$BENCH_MNT/jobs}")
	[[ -n $OTHER ]] && args+=(other "${t//@/$OTHER_MNT/jobs}")
	for ((p = 0; p < PASSES; p++)); do
		read -r -a r < <(python3 "$BENCH_ROOT/bench/interleave.py" "$RUNS" "${args[@]}" |
			awk '{printf "%s ", $3} END {print ""}')
		nat+=("${r[0]}") flo+=("${r[1]}") via+=("${r[2]}")
		rn+=("$(bench_ratio "${r[2]}" "${r[0]}")") rf+=("$(bench_ratio "${r[2]}" "${r[1]}")")
		if [[ -n $OTHER ]]; then
			oth+=("${r[3]}")
			of+=("$(bench_ratio "${r[3]}" "${r[1]}")") ro+=("$(bench_ratio "${r[2]}" "${r[3]}")")
		fi
	done
	local row="$label|$(bench_ms "$(med "${nat[@]}")")|$(bench_ms "$(med "${flo[@]}")")|$(bench_ms "$(med "${via[@]}")")|$(span "${rn[@]}")|$(span "${rf[@]}")"
	[[ -n $OTHER ]] && row+="|$(bench_ms "$(med "${oth[@]}")")|$(span "${of[@]}")|$(span "${ro[@]}")"
	rows+=("$row")
	local xn xf
	xn=$(bench_ratio "$(med "${via[@]}")" "$(med "${nat[@]}")")
	xf=$(printf '%s\n' "${rf[@]}" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
	bench_result "$id|$xn x native, $xf x floor (passes: $(span "${rf[@]}"))|<= 3x native, <= 1.2x floor|$(bench_ok "$xn <= 3 && $xf <= 1.2")"
}
measure "ls jobs/ ($njobs jobs)" "ls jobs/, $njobs jobs" "ls @"
measure "ls -l jobs/ ($njobs jobs)" "ls -l jobs/, $njobs jobs" "ls -l @"
measure "stat jobs/$X/status" "stat jobs/X/status p50" "stat @/$X/status"
measure "cat jobs/$X/status" "cat jobs/X/status p50" "cat @/$X/status"

echo
echo "jobs/ with $njobs jobs: $PASSES passes of $RUNS interleaved rounds, $(nproc) CPUs, $(uname -r)"
[[ -n $OTHER ]] && echo "-B build: $OTHER"
printf '%s\n' "${rows[@]}" | bench_table
