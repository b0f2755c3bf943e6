# shellcheck shell=bash
# bench/common.sh - shared by the bench/*.sh scripts; source it, do not run it.
#
# Gives each benchmark a private simulator and mount in a temporary directory,
# torn down on exit:
#
#   bench_start_sim --gen-time 0.5 --video-size 1048576
#   bench_mount -o max_active=8          # sora2fs -f ... $BENCH_STUDIO $BENCH_MNT
#   bench_wait_status big 120 succeeded failed
#   us=$(bench_time cat "$BENCH_MNT/videos/big.mp4")
#
# Binaries: $SORA2FS and $SORA2_SIM, default build/sora2fs and
# build/tests/sim/sora2-sim (built with ninja if build/ is configured).
# BENCH_KEEP=1 keeps the temporary directory.

export LC_ALL=C
BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SORA2FS=${SORA2FS:-$BENCH_ROOT/build/sora2fs}
SORA2_SIM=${SORA2_SIM:-$BENCH_ROOT/build/tests/sim/sora2-sim}
FLOORFS=${FLOORFS:-$BENCH_ROOT/build/floorfs}
# poll_interval for bench_mount ("" = the default, adaptive polling)
BENCH_POLL=${BENCH_POLL-0.2}
BENCH_KEY=sk-bench-0123456789abcdef

bench_die() {
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}
bench_note() { printf '%s\n' "$*" >&2; }

bench_build() {
	if [[ -f $BENCH_ROOT/build/build.ninja && $SORA2FS == "$BENCH_ROOT/build/sora2fs" ]]; then
		ninja -C "$BENCH_ROOT/build" sora2fs tests/sim/sora2-sim floorfs >/dev/null ||
			bench_die "the build failed: run ninja -C build"
	fi
	[[ -x $SORA2FS ]] || bench_die "no $SORA2FS: build it first (meson setup build && ninja -C build)"
	[[ -x $SORA2_SIM ]] || bench_die "no $SORA2_SIM: build it first (meson setup build && ninja -C build)"
	[[ -c /dev/fuse ]] || bench_die "/dev/fuse is missing"
}

BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sora2fs-bench.XXXXXX")
BENCH_STUDIO=$BENCH_DIR/studio
BENCH_MNT=$BENCH_DIR/mnt
BENCH_SIM_PID=
BENCH_FS_PID=
BENCH_FLOOR_PID=
BENCH_FLOOR_MNT=$BENCH_DIR/floor
BENCH_SIM_URL=
mkdir -p "$BENCH_STUDIO" "$BENCH_MNT" "$BENCH_FLOOR_MNT"

bench_cleanup() {
	set +e
	if [[ -n $BENCH_SIM_URL ]]; then
		bench_sim_post /_sim/fault '{"kind": "all", "mode": "none"}' >/dev/null 2>&1
	fi
	local m
	# every mount under the temporary directory (sora2fs, the floors)
	awk -v d="$BENCH_DIR/" 'index($2, d) == 1 {print $2}' /proc/self/mounts |
		while read -r m; do
			fusermount3 -u "$m" 2>/dev/null || fusermount3 -u -z "$m" 2>/dev/null
		done
	local p end=$((SECONDS + 10))
	for p in $BENCH_FS_PID $BENCH_FLOOR_PID $BENCH_SIM_PID; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in $BENCH_FS_PID $BENCH_FLOOR_PID $BENCH_SIM_PID; do
		while kill -0 "$p" 2>/dev/null && ((SECONDS < end)); do sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [[ ${BENCH_KEEP:-0} == 1 ]]; then
		bench_note "kept $BENCH_DIR"
	else
		rm -rf --one-file-system "$BENCH_DIR"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Microseconds since the epoch (bash 5's EPOCHREALTIME without the dot).
bench_now() { printf '%s' "${EPOCHREALTIME/./}"; }

# Run a command with its output discarded; print how long it took, in microseconds.
bench_time() {
	local t0 t1
	t0=$(bench_now)
	"$@" >/dev/null 2>&1 || bench_note "warning: '$*' failed"
	t1=$(bench_now)
	echo $((t1 - t0))
}

# Median / max of numbers given as arguments.
bench_median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}'; }
bench_max() { printf '%s\n' "$@" | sort -n | tail -n 1; }

# Formatting: microseconds as milliseconds, MB/s (10^6 bytes) from bytes and
# microseconds, and a ratio a/b.
bench_ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
bench_mbps() { awk -v b="$1" -v u="$2" 'BEGIN {if (u > 0) printf "%.0f", b / u; else print "-"}'; }
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0 && a != "-") printf "%.2f", a / b; else print "-"}'; }

# Can we drop the page cache (root, and /proc/sys writable: not in most containers)?
bench_can_drop_caches() {
	[[ -w /proc/sys/vm/drop_caches ]] && (echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null
}
bench_drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

bench_start_sim() {
	"$SORA2_SIM" --port 0 --port-file "$BENCH_DIR/sim.port" --quiet "$@" \
		</dev/null >"$BENCH_DIR/sim.log" 2>&1 &
	BENCH_SIM_PID=$!
	local end=$((SECONDS + 10))
	until [[ -s $BENCH_DIR/sim.port ]]; do
		kill -0 "$BENCH_SIM_PID" 2>/dev/null || bench_die "sora2-sim exited: $(cat "$BENCH_DIR/sim.log")"
		((SECONDS < end)) || bench_die "sora2-sim did not start"
		sleep 0.1
	done
	BENCH_SIM_URL=http://127.0.0.1:$(<"$BENCH_DIR/sim.port")
}

# POST a JSON body to the simulator's control API.
bench_sim_post() {
	python3 - "$BENCH_SIM_URL$1" "$2" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(),
                             headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, timeout=10).read().decode())
EOF
}

# bench_mount [sora2fs options...]: mount in the foreground (in the background
# of this script, so its pid is known), write the API key.
bench_mount() {
	local poll=()
	[[ -n $BENCH_POLL ]] && poll=(-o "poll_interval=$BENCH_POLL")
	"$SORA2FS" -f -o "api_url=$BENCH_SIM_URL" "${poll[@]}" "$@" \
		"$BENCH_STUDIO" "$BENCH_MNT" </dev/null >"$BENCH_DIR/sora2fs.log" 2>&1 &
	BENCH_FS_PID=$!
	local end=$((SECONDS + 15))
	until grep -qs " $BENCH_MNT " /proc/self/mounts && [[ -s $BENCH_MNT/README ]]; do
		kill -0 "$BENCH_FS_PID" 2>/dev/null || bench_die "sora2fs exited: $(cat "$BENCH_DIR/sora2fs.log")"
		((SECONDS < end)) || bench_die "sora2fs did not mount within 15 s"
		sleep 0.1
	done
	echo "$BENCH_KEY" >"$BENCH_MNT/config/api_key"
}

# bench_wait_status JOB SECONDS STATUS...: wait until jobs/JOB/status is one of
# STATUS; print it. Returns 1 on timeout.
bench_wait_status() {
	local job=$1 secs=$2 st end
	shift 2
	end=$((SECONDS + secs))
	while :; do
		st=$(cat "$BENCH_MNT/jobs/$job/status" 2>/dev/null || true)
		for s in "$@"; do
			if [[ $st == "$s" ]]; then
				echo "$st"
				return 0
			fi
		done
		((SECONDS < end)) || {
			echo "${st:-missing}"
			return 1
		}
		sleep 0.2
	done
}

# Print a table: a header row, then rows; columns separated by '|'.
bench_table() {
	awk -F '|' '
		{ for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
		  if (NF > n) n = NF }
		END {
			for (r = 1; r <= NR; r++) {
				line = ""
				for (i = 1; i <= n; i++) line = line sprintf(i == 1 ? "%-*s" : "  %*s", w[i], cell[r, i])
				print line
				if (r == 1) { sep = ""; for (i = 1; i <= length(line); i++) sep = sep "-"; print sep }
			}
		}'
}

# Unmount sora2fs and wait for the daemon to exit (to mount again).
bench_umount() {
	if grep -qs " $BENCH_MNT " /proc/self/mounts; then
		fusermount3 -u "$BENCH_MNT" 2>/dev/null || fusermount3 -u -z "$BENCH_MNT"
	fi
	if [[ -n $BENCH_FS_PID ]]; then
		local end=$((SECONDS + 20))
		while kill -0 "$BENCH_FS_PID" 2>/dev/null && ((SECONDS < end)); do sleep 0.05; done
		kill -KILL "$BENCH_FS_PID" 2>/dev/null || true
		wait "$BENCH_FS_PID" 2>/dev/null || true
	fi
	BENCH_FS_PID=
}

# bench_floor_mount SRC: the FUSE floor (bench/floorfs.c) serving SRC at
# $BENCH_FLOOR_MNT; bench_floor_umount.
bench_floor_mount() {
	"$FLOORFS" "$1" "$BENCH_FLOOR_MNT" -f </dev/null >"$BENCH_DIR/floorfs.log" 2>&1 &
	BENCH_FLOOR_PID=$!
	local end=$((SECONDS + 10))
	until grep -qs " $BENCH_FLOOR_MNT " /proc/self/mounts; do
		kill -0 "$BENCH_FLOOR_PID" 2>/dev/null || bench_die "floorfs exited: $(cat "$BENCH_DIR/floorfs.log")"
		((SECONDS < end)) || bench_die "floorfs did not mount within 10 s"
		sleep 0.05
	done
}
bench_floor_umount() {
	if grep -qs " $BENCH_FLOOR_MNT " /proc/self/mounts; then
		fusermount3 -u "$BENCH_FLOOR_MNT" 2>/dev/null || fusermount3 -u -z "$BENCH_FLOOR_MNT"
	fi
	if [[ -n $BENCH_FLOOR_PID ]]; then wait "$BENCH_FLOOR_PID" 2>/dev/null || true; fi
	BENCH_FLOOR_PID=
}

# Resident set of a process now / at its peak, in KiB; KiB as MiB.
bench_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
bench_hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
bench_mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# CPU time (user + system) of a process so far, in microseconds.
bench_cpu_us() {
	awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print int(($12 + $13) * 1000000 / hz)}' "/proc/$1/stat"
}

# A value from the simulator's /_sim/stats (a python expression on s).
bench_sim_stat() {
	python3 - "$BENCH_SIM_URL/_sim/stats" "$1" <<'EOF'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1], timeout=30))
print(eval(sys.argv[2]))
EOF
}

# A row for bench/run.sh's summary: bench_result "MEASURE|VALUE|TARGET|met/MISSED"
bench_result() {
	printf '%s\n' "$1" >>"${BENCH_RESULTS:-/dev/null}"
}
# met when awk expression is true: bench_ok "1.5 <= 3" -> met / MISSED
bench_ok() { awk "BEGIN {exit !($1)}" && echo met || echo MISSED; }
