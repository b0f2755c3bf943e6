#!/usr/bin/env bash
# examples/demo.sh - watch sora2fs turn a prompt file into a video, offline.
#
#   $ examples/demo.sh             # build, start the simulator, mount demo/mnt, make a video
#   $ examples/demo.sh DIR         # the same in DIR
#   $ examples/demo.sh stop [DIR]  # unmount and stop the simulator
#
# Nothing leaves the machine: the Sora 2 API is played by sora2-sim (the test
# simulator, tests/sim/), which "generates" a small real MP4 in about 8 seconds.
# The mount stays up when the demo ends, so you can look around.
#
# DIR (default: demo/ in the source tree) holds:
#   DIR/mnt      the mount point
#   DIR/studio   STUDIO_DIR: data/ and downloads/, laid out like the Web Studio's
#   DIR/.sim     the simulator's port, pid and log
# Each run starts from an empty DIR/studio (the demo's own, never anything else).

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ACTION=start
if [[ ${1:-} == stop ]]; then
	ACTION=stop
	shift
elif [[ ${1:-} == -h || ${1:-} == --help ]]; then
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit 0
fi
DIR=${1:-$ROOT/demo}
if [[ $ACTION == stop && ! -d $DIR ]]; then
	echo "nothing to stop in $DIR"
	exit 0
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
MNT=$DIR/mnt
STUDIO=$DIR/studio
SIMDIR=$DIR/.sim
MARKER=$DIR/.sora2fs-demo
BUILD=$ROOT/build
SORA2FS=$BUILD/sora2fs
SIM=$BUILD/tests/sim/sora2-sim
KEY=sk-demo-0123456789abcdef
PROMPT="a corgi surfing a wave at sunset"
JOB_DEADLINE=90

if [[ -t 1 ]]; then
	heading() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	heading() { printf '\n== %s\n' "$*"; }
fi
note() { printf '   %s\n' "$*"; }
die() {
	printf 'demo: error: %s\n' "$*" >&2
	exit 1
}
# Show a command the way a user would type it (paths relative to the mount), then run it.
show() {
	printf '$ %s\n' "$1"
	(cd "$MNT" && eval "$1")
}

# Is $1 a mount point right now? (/proc/self/mounts also lists dead FUSE mounts,
# which stat-based checks cannot see.)
is_mounted() {
	local _dev m _rest
	while read -r _dev m _rest; do
		[[ $(printf '%b' "$m") == "$1" ]] && return 0
	done </proc/self/mounts
	return 1
}

# Processes we started for this DIR: the simulator (pid file) and the daemon
# (its command line names our mount point).
daemon_pids() {
	local d cmd
	for d in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
		[[ $cmd == *"$SORA2FS"*" $MNT"* ]] && printf '%s\n' "${d#/proc/}"
	done
	return 0
}

wait_gone() { # wait_gone SECONDS PID...
	local end=$((SECONDS + $1)) p alive
	shift
	while :; do
		alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		((alive && SECONDS < end)) || break
		sleep 0.2
	done
}

stop_demo() {
	local pids pid
	mapfile -t pids < <(daemon_pids)
	if is_mounted "$MNT"; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null ||
			umount -l "$MNT" 2>/dev/null || echo "demo: could not unmount $MNT" >&2
		echo "unmounted $MNT"
	fi
	if ((${#pids[@]})); then
		wait_gone 5 "${pids[@]}"
		for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	fi
	if [[ -f $SIMDIR/pid ]]; then
		pid=$(<"$SIMDIR/pid")
		if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q sora2-sim; then
			kill -TERM "$pid" 2>/dev/null || true
			wait_gone 5 "$pid"
			kill -KILL "$pid" 2>/dev/null || true
			echo "stopped the simulator (pid $pid)"
		fi
		rm -f "$SIMDIR/pid"
	fi
}

if [[ $ACTION == stop ]]; then
	stop_demo
	exit 0
fi

# ---------------------------------------------------------------------------
heading "1. packages"
PKGS=(build-essential meson ninja-build pkg-config libfuse3-dev fuse3
	libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev)
missing=()
if command -v dpkg-query >/dev/null; then
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
	done
fi
if ((${#missing[@]})); then
	note "installing: ${missing[*]}"
	sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || die "not root and no sudo: apt-get install ${missing[*]}"
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >/dev/null
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
note "all there"
[[ -c /dev/fuse ]] || die "/dev/fuse is missing: load the fuse module (modprobe fuse) or, in a container, pass --device /dev/fuse"

# ---------------------------------------------------------------------------
heading "2. build"
mkdir -p "$SIMDIR"
buildlog=$SIMDIR/build.log
if [[ ! -f $BUILD/build.ninja ]]; then
	meson setup "$BUILD" "$ROOT" >"$buildlog" 2>&1 || {
		tail -n 30 "$buildlog" >&2
		die "meson setup failed (log: $buildlog)"
	}
fi
ninja -C "$BUILD" sora2fs tests/sim/sora2-sim >>"$buildlog" 2>&1 || {
	tail -n 30 "$buildlog" >&2
	die "the build failed (log: $buildlog)"
}
note "$SORA2FS"
note "$SIM"

# ---------------------------------------------------------------------------
heading "3. simulator"
stop_demo >/dev/null
if [[ -e $MARKER ]]; then
	rm -rf --one-file-system "$STUDIO"
elif [[ -n $(find "$DIR" -mindepth 1 -maxdepth 1 ! -name .sim -print -quit) ]]; then
	die "$DIR is not empty and was not made by this demo; pick another directory"
fi
: >"$MARKER"
mkdir -p "$MNT" "$STUDIO" "$SIMDIR"
rm -f "$SIMDIR/port"
setsid "$SIM" --port 0 --port-file "$SIMDIR/port" --gen-time 8 </dev/null >"$SIMDIR/log" 2>&1 &
echo $! >"$SIMDIR/pid"
end=$((SECONDS + 10))
until [[ -s $SIMDIR/port ]]; do
	kill -0 "$(<"$SIMDIR/pid")" 2>/dev/null || {
		cat "$SIMDIR/log" >&2
		die "the simulator exited"
	}
	((SECONDS < end)) || die "the simulator did not write its port within 10 s (log: $SIMDIR/log)"
	sleep 0.1
done
PORT=$(<"$SIMDIR/port")
note "sora2-sim listening on 127.0.0.1:$PORT (log: $SIMDIR/log)"

# ---------------------------------------------------------------------------
heading "4. mount"
rel() { printf '%s' "${1#"$PWD"/}"; }
printf '$ %s\n' "build/sora2fs -o api_url=http://127.0.0.1:$PORT -o poll_interval=0.5 $(rel "$STUDIO") $(rel "$MNT")"
"$SORA2FS" -o "api_url=http://127.0.0.1:$PORT" -o poll_interval=0.5 "$STUDIO" "$MNT" ||
	die "sora2fs failed to mount (exit status $?)"
end=$((SECONDS + 15))
until is_mounted "$MNT" && [[ -d $MNT/jobs ]]; do
	((SECONDS < end)) || die "$MNT is not mounted after 15 s"
	sleep 0.1
done
note "mounted; sora2fs runs in the background and logs to syslog"
printf '$ cd %s\n$ ls\n' "$(rel "$MNT")"
ls "$MNT"

# ---------------------------------------------------------------------------
heading "5. API key"
show "echo $KEY > config/api_key" || note "(writing the key failed: config/ is not finished yet)"
show "cat config/api_key" || true
note "(the key is stored in $(rel "$STUDIO")/data/config.json, mode 0600; reads show it masked)"

# ---------------------------------------------------------------------------
heading "6. a prompt"
JOB=$MNT/jobs/corgi
dropped=1
show "echo \"$PROMPT\" > jobs/corgi.txt" || {
	dropped=0
	note "(the drop failed: jobs/ is not finished yet)"
}
show "ls jobs/" || true

# ---------------------------------------------------------------------------
heading "7. status"
printf '$ cat jobs/corgi/status jobs/corgi/progress   (every half second)\n'
status="" progress="" last="" lasterr=""
end=$((SECONDS + JOB_DEADLINE))
while ((dropped)); do
	status=$(cat "$JOB/status" 2>/dev/null || true)
	progress=$(cat "$JOB/progress" 2>/dev/null || true)
	line=$(printf 'status: %-12s progress: %3s%%   (%2d s)' "${status:-?}" "${progress:-?}" \
		$((SECONDS - end + JOB_DEADLINE)))
	if [[ -t 1 ]]; then
		printf '\r%s' "$line"
	elif [[ "$status $progress" != "$last" ]]; then
		printf '%s\n' "$line"
	fi
	last="$status $progress"
	err=$(cat "$JOB/error" 2>/dev/null || true)
	if [[ -n $err && $err != "$lasterr" && $status != failed ]]; then
		[[ -t 1 ]] && printf '\n'
		note "error file: $err"
	fi
	lasterr=$err
	case $status in succeeded | failed | cancelled) break ;; esac
	((SECONDS < end)) || break
	sleep 0.5
done
[[ -t 1 ]] && printf '\n'

show_tree() {
	heading "the tree"
	if command -v tree >/dev/null; then
		(cd "$MNT" && tree -F -L 3 --noreport .)
	else
		printf '$ find . -maxdepth 3\n'
		(cd "$MNT" && find . -mindepth 1 -maxdepth 3 2>/dev/null | LC_ALL=C sort | while read -r p; do
			depth=$(($(tr -cd / <<<"$p" | wc -c) - 1))
			name=${p##*/}
			if [[ -L $p ]]; then
				name="$name -> $(readlink "$p")"
			elif [[ -d $p ]]; then
				name="$name/"
			fi
			printf '%*s%s\n' $((depth * 4)) '' "$name"
		done)
	fi
}

how_to() {
	heading "explore"
	cat <<EOF
The mount is still up. Try:
  cat $(rel "$MNT")/README
  ls -l $(rel "$MNT")/videos/
  printf -- '---\\nduration: 15\\naspectRatio: 16:9\\n---\\na cat on a piano\\n' > $(rel "$MNT")/jobs/cat.txt
  cat $(rel "$MNT")/jobs/cat/status
  cat $(rel "$MNT")/history.json
The backing files (what the Web Studio would see) are in $(rel "$STUDIO")/.
Stop everything with:
  examples/demo.sh stop${1:+ $1}
EOF
}
stop_arg=""
[[ $DIR == "$ROOT/demo" ]] || stop_arg=$DIR

case $status in
succeeded)
	heading "8. the video"
	video=$(readlink -f "$JOB/video" 2>/dev/null || true)
	[[ -n $video && -f $video ]] || video=$MNT/videos/corgi.mp4
	vrel=${video#"$MNT"/}
	show "ls -l jobs/corgi/video $vrel" || true
	note "$(stat -c %s "$video") bytes, backed by $(rel "$STUDIO")/downloads/${video##*/}"
	if command -v getfattr >/dev/null; then
		show "getfattr -d $vrel" || true
	fi
	if command -v ffprobe >/dev/null; then
		info=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "$video" 2>/dev/null | head -n 1 || true)
		[[ -z $info ]] || note "ffprobe: $info"
	fi
	show_tree
	how_to "$stop_arg"
	exit 0
	;;
failed | cancelled)
	heading "8. the job $status"
	show "cat jobs/corgi/error" || true
	show_tree
	how_to "$stop_arg"
	exit 1
	;;
*)
	heading "8. no video yet"
	if [[ -z $status ]]; then
		note "jobs/corgi/ did not appear."
	else
		note "the job is still '$status' after $JOB_DEADLINE s."
	fi
	[[ -z ${err:-} ]] || note "jobs/corgi/error: $err"
	note "If this sora2fs does not run jobs end to end yet (it is still being written),"
	note "that is expected: once it does, the demo ends with the finished video, its"
	note "attributes and size. Otherwise see the simulator's log: $SIMDIR/log"
	show_tree
	how_to "$stop_arg"
	exit 0
	;;
esac
