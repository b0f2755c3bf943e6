#!/bin/sh
# crash_long.sh - the long crash test: 30+ random kill -9 points plus the named
# windows, over a busy workload (see tests/integration/test_crash.py).
#   tests/crash_long.sh [POINTS] [DROPS]      (defaults 32 and 40)
set -e
cd "$(dirname "$0")/.."
export CRASH_POINTS=${1:-32} CRASH_DROPS=${2:-40}
export SORA2FS=${SORA2FS:-$PWD/build/sora2fs} SORA2_SIM=${SORA2_SIM:-$PWD/build/tests/sim/sora2-sim}
/usr/bin/python3 -m pytest -q -s -p no:cacheprovider --basetemp=${BASETEMP:-/tmp/pt-crash-long} \
	tests/integration/test_crash.py 2>&1 | grep -E "CRASH RESULT|passed|failed|Error"
