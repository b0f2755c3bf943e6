#!/usr/bin/env bash
# tests/run.sh - build sora2fs and run every test, the way CI does.
#
#   $ tests/run.sh                 # everything: plain build, then ASan+UBSan build
#   $ tests/run.sh --quick         # plain build only
#   $ tests/run.sh -- -k jobs -x   # arguments after -- go to pytest
#   $ SORA2FS_VALGRIND=1 tests/run.sh --quick   # add a valgrind pass over a subset
#   ...
#   412 passed, 0 failed
#
# Each pass builds a tree (build/, build-asan/), runs the unit tests with
# `meson test` and the integration suite (tests/integration, pytest) against real
# mounts and the simulator build/tests/sim/sora2-sim. The last line counts every
# test of every pass; the exit status is non-zero if anything failed.
#
# Missing Debian packages are installed with apt-get (as root, or through sudo).
# Mounts and daemons the tests leave behind are cleaned up, here and at the start
# of the next run. Temporary files live under $SORA2FS_TEST_TMP (default
# /tmp/sora2fs-tests), one directory per run; a failed run keeps its directory.
#
# Environment:
#   SORA2FS_VALGRIND=1       also run SORA2FS_VALGRIND_TESTS under valgrind (always
#                            when CI=true); tests/valgrind.supp says what is ignored
#   SORA2FS_VALGRIND_TESTS   pytest arguments selecting that subset (default: the
#                            mount, config, jobs and videos test files)
#   SORA2FS_NO_INSTALL=1     never call apt-get (report what is missing)
#   SORA2FS_PASS_TIMEOUT     seconds one pytest run may take (default 1800)
#   SORA2FS_KEEP_TMP=1       keep the run's temporary directory even on success

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

usage() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit "${1:-0}"
}

QUICK=0
PYTEST_EXTRA=()
while (($#)); do
	case $1 in
	--quick) QUICK=1 ;;
	-h | --help) usage 0 ;;
	--)
		shift
		PYTEST_EXTRA=("$@")
		break
		;;
	*)
		echo "tests/run.sh: unknown argument '$1' (pytest arguments go after --)" >&2
		usage 2 >&2
		;;
	esac
	shift
done

heading() { printf '\n==> %s\n' "$*"; }
warn() { printf 'tests/run.sh: warning: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- packages

REQUIRED_PKGS=(build-essential gcc meson ninja-build pkg-config libfuse3-dev fuse3
	libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev python3-pytest rsync vim
	libglib2.0-bin attr inotify-tools valgrind xxd gvfs-daemons dbus-daemon)
# Tests that need ffprobe skip without it; a failure to install it is not fatal.
OPTIONAL_PKGS=(ffmpeg)

missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed ||
			printf '%s\n' "$p"
	done
}

apt_install() { # apt_install required|optional PKG...
	local kind=$1
	shift
	local sudo=()
	if ((EUID != 0)); then
		if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
			sudo=(sudo -n)
		else
			if [[ $kind == required ]]; then
				echo "tests/run.sh: missing packages: $*; install them as root:" >&2
				echo "  apt-get install $*" >&2
				exit 1
			fi
			warn "optional packages missing (not root): $*"
			return 0
		fi
	fi
	if [[ ${APT_UPDATED:-0} == 0 ]]; then
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
		APT_UPDATED=1
	fi
	if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "$@" </dev/null; then
		[[ $kind == required ]] && exit 1
		warn "could not install $* (tests that need it will be skipped)"
	fi
}

install_packages() {
	if [[ ${SORA2FS_NO_INSTALL:-0} == 1 ]] || ! command -v dpkg-query >/dev/null; then
		return 0
	fi
	local req opt
	mapfile -t req < <(missing_pkgs "${REQUIRED_PKGS[@]}")
	mapfile -t opt < <(missing_pkgs "${OPTIONAL_PKGS[@]}")
	if ((${#req[@]} + ${#opt[@]} == 0)); then
		return 0
	fi
	heading "installing packages: ${req[*]} ${opt[*]}"
	((${#req[@]} == 0)) || apt_install required "${req[@]}"
	((${#opt[@]} == 0)) || apt_install optional "${opt[@]}"
}

# ---------------------------------------------------------------- temporary dirs, cleanup

TEST_ROOT=${SORA2FS_TEST_TMP:-${TMPDIR:-/tmp}/sora2fs-tests}
RUN_DIR=$TEST_ROOT/run-$$

# Mount points at or below $1, deepest first, from the kernel's table (the
# escapes \040 etc. in /proc/self/mounts are decoded).
mounts_under() {
	local _dev mnt _rest
	while read -r _dev mnt _rest; do
		mnt=$(printf '%b' "$mnt")
		[[ $mnt == "$1" || $mnt == "$1"/* ]] && printf '%s\n' "$mnt"
	done </proc/self/mounts | sort -r
}

# Processes whose command line mentions $1 (mount points, port files and pytest's
# --basetemp all live there): the daemons and simulators a run started.
pids_mentioning() {
	local d cmd
	for d in /proc/[0-9]*; do
		[[ ${d#/proc/} == "$$" || ${d#/proc/} == "$BASHPID" ]] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
		[[ $cmd == *"$1"* ]] && printf '%s\n' "${d#/proc/}"
	done
}

# Unmount everything under a run directory, stop what it started, remove it.
cleanup_dir() { # cleanup_dir DIR remove(0|1)
	local dir=$1 remove=$2 m pid pids
	while read -r m; do
		[[ -n $m ]] || continue
		fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done < <(mounts_under "$dir")
	mapfile -t pids < <(pids_mentioning "$dir")
	if ((${#pids[@]})); then
		for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
		sleep 1
		for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
	fi
	if ((remove)); then
		rm -rf --one-file-system "$dir" 2>/dev/null || true
	fi
}

# Directories of earlier runs whose run.sh is gone.
cleanup_stale() {
	local d pid
	[[ -d $TEST_ROOT ]] || return 0
	for d in "$TEST_ROOT"/run-*; do
		[[ -d $d ]] || continue
		pid=${d##*/run-}
		if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
			tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q 'tests/run\.sh'; then
			continue # another run.sh is using it
		fi
		echo "tests/run.sh: cleaning up after an earlier run: $d"
		cleanup_dir "$d" 1
	done
}

FINISHED=0
on_exit() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	cleanup_dir "$RUN_DIR" 0
	if ((rc == 0 && FINISHED)) && [[ ${SORA2FS_KEEP_TMP:-0} != 1 ]]; then
		cleanup_dir "$RUN_DIR" 1
	elif [[ -d $RUN_DIR ]]; then
		echo "tests/run.sh: temporary files kept in $RUN_DIR" >&2
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- counting

PASSED=0
FAILED=0
RESULTS=()

record() { # record LABEL PASSED FAILED [NOTE]
	PASSED=$((PASSED + $2))
	FAILED=$((FAILED + $3))
	RESULTS+=("$(printf '%-28s %5d ok %5d failed%s' "$1" "$2" "$3" "${4:+  ($4)}")")
}

# ---------------------------------------------------------------- steps

# configure_and_build DIR LABEL MESON-OPTIONS... -> 0 or 1 (failure recorded)
configure_and_build() {
	local dir=$1 label=$2
	shift 2
	heading "$label: configure and build $dir/"
	local ok=1
	if [[ -f $dir/meson-private/coredata.dat ]]; then
		meson setup --reconfigure "$dir" "$@" </dev/null ||
			meson setup --wipe "$dir" "$@" </dev/null || ok=0
	else
		meson setup "$dir" "$@" </dev/null || ok=0
	fi
	if ((ok)) && ! ninja -C "$dir" </dev/null; then
		ok=0
	fi
	if ((!ok)); then
		echo "tests/run.sh: $label: the build failed; its tests are not run" >&2
		record "$label build" 0 1 "build failed"
		return 1
	fi
}

# unit_tests DIR LABEL [meson test args]
unit_tests() {
	local dir=$1 label=$2
	shift 2
	heading "$label: unit tests (meson test -C $dir)"
	local log=$RUN_DIR/$label-unit.log rc ok fail
	set +e
	meson test -C "$dir" --no-rebuild --print-errorlogs "$@" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	ok=$(awk '/^(Ok|Expected Fail):/ {n += $NF} END {print n + 0}' "$log")
	fail=$(awk '/^(Fail|Unexpected Pass|Timeout):/ {n += $NF} END {print n + 0}' "$log")
	if ((rc != 0 && fail == 0)); then
		fail=1 # meson itself failed (no tests defined, bad setup, ...)
	fi
	record "$label unit" "$ok" "$fail"
}

# pytest_pass LABEL [VAR=VALUE...] -- [pytest args]
pytest_pass() {
	local label=$1
	shift
	local envs=()
	while (($#)) && [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	local targets=("$@")
	((${#targets[@]})) || targets=(tests/integration)

	heading "$label: integration tests (pytest ${targets[*]} ${PYTEST_EXTRA[*]})"
	local base=$RUN_DIR/$label log=$RUN_DIR/$label-pytest.log rc summary passed failed
	local note=""
	mkdir -p "$base/tmp"
	set +e
	env "${envs[@]}" TMPDIR="$base/tmp" \
		timeout --kill-after=30 "${SORA2FS_PASS_TIMEOUT:-1800}" \
		/usr/bin/python3 -m pytest -q -ra -p no:cacheprovider --basetemp="$base/pytest" \
		"${targets[@]}" "${PYTEST_EXTRA[@]}" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
	# The summary is the last line naming counts: "3 failed, 97 passed, 2 skipped in 41.2s".
	summary=$(grep -E '^=*[ ]*(([0-9]+ [a-z]+)(, )?)+ in [0-9.]+s|no tests ran' "$log" | tail -n 1 || true)
	passed=$(grep -Eo '[0-9]+ passed' <<<"$summary" | grep -Eo '[0-9]+' || echo 0)
	failed=$( (grep -Eo '[0-9]+ (failed|errors?)' <<<"$summary" || true) | awk '{n += $1} END {print n + 0}')
	case $rc in
	0 | 1) ;;
	5)
		if ((${#PYTEST_EXTRA[@]} == 0)); then
			note="pytest collected no tests"
			failed=$((failed + 1))
		fi
		;;
	124 | 137)
		note="timed out after ${SORA2FS_PASS_TIMEOUT:-1800} s"
		failed=$((failed + 1))
		;;
	*)
		note="pytest exited with status $rc"
		((failed > 0)) || failed=1
		;;
	esac
	if ((rc == 1 && failed == 0)); then
		failed=1
		note="pytest failed without a count"
	fi
	[[ -z $note ]] || echo "tests/run.sh: $label: $note" >&2
	cleanup_dir "$base" 0 # nothing may outlive its pass
	record "$label integration" "$passed" "$failed" "$note"
}

# ---------------------------------------------------------------- main

install_packages
cleanup_stale
mkdir -p "$RUN_DIR"

PLAIN=$ROOT/build
ASAN=$ROOT/build-asan

# 1. The plain build: warnings are errors.
if configure_and_build "$PLAIN" plain -Dwerror=true; then
	unit_tests "$PLAIN" plain
	pytest_pass plain SORA2FS="$PLAIN/sora2fs" SORA2_SIM="$PLAIN/tests/sim/sora2-sim"

	# 2. A subset under valgrind (slow: timeouts in the tests are multiplied by
	# SORA2FS_SLOW). Always in CI; elsewhere with SORA2FS_VALGRIND=1.
	if [[ ${SORA2FS_VALGRIND:-0} == 1 || ${CI:-} == true ]]; then
		if [[ -n ${SORA2FS_VALGRIND_TESTS:-} ]]; then
			read -r -a vg_targets <<<"$SORA2FS_VALGRIND_TESTS"
		else # the basic files: mounting, config, one job end to end, videos
			vg_targets=()
			for f in tests/integration/test_{mount,config,jobs,videos}.py; do
				[[ -f $f ]] && vg_targets+=("$f")
			done
		fi
		pytest_pass valgrind SORA2FS="$PLAIN/sora2fs" SORA2_SIM="$PLAIN/tests/sim/sora2-sim" \
			SORA2FS_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=$ROOT/tests/valgrind.supp -q" \
			SORA2FS_SLOW=10 -- "${vg_targets[@]}"
	fi
fi

# 3. AddressSanitizer + UndefinedBehaviorSanitizer.
if ((!QUICK)); then
	# float-cast-overflow is not part of -fsanitize=undefined: a number from the
	# server converted without a range check (code 1e300) must still be caught.
	if configure_and_build "$ASAN" asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=float-cast-overflow; then
		# LeakSanitizer stops the process's threads with ptrace when it exits; that
		# works here because the tests run as root (or as the daemon's own user).
		# Reports go to stderr: the integration fixtures run sora2fs in the
		# foreground, read its stderr, and fail the test that caused a report.
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		unit_tests "$ASAN" asan --timeout-multiplier 3
		pytest_pass asan SORA2FS="$ASAN/sora2fs" SORA2_SIM="$ASAN/tests/sim/sora2-sim" \
			SORA2FS_SLOW="${SORA2FS_SLOW:-2}"
		unset ASAN_OPTIONS UBSAN_OPTIONS
	fi
fi

heading "results"
printf '  %s\n' "${RESULTS[@]}"
FINISHED=1
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
