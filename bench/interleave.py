#!/usr/bin/env python3
"""bench/interleave.py - time commands in rotation, print first and median.

    interleave.py RUNS LABEL 'CMD' [LABEL 'CMD']...

Each round runs every command once, in turn (so a noisy neighbour slows all of
them alike); round 0 is the first run (kernel caches as they were), the median is
over the RUNS rounds after it. A word GLOB:PATTERN in CMD expands to the sorted
matching paths. Prints "LABEL FIRST_US MEDIAN_US" per command.
"""
import glob
import shlex
import statistics
import subprocess
import sys
import time

runs = int(sys.argv[1])
pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))


def argv_of(cmd):
    out = []
    for w in shlex.split(cmd):
        if w.startswith("GLOB:"):
            out += sorted(glob.glob(w[5:]))
        else:
            out.append(w)
    return out


argvs = {label: argv_of(cmd) for label, cmd in pairs}
times = {label: [] for label, _ in pairs}
for r in range(runs + 1):
    for label, _ in pairs:
        t0 = time.perf_counter()
        subprocess.run(argvs[label], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[label].append((time.perf_counter() - t0) * 1e6)
for label, _ in pairs:
    t = times[label]
    print(label, int(t[0]), int(statistics.median(t[1:])) if len(t) > 1 else int(t[0]))
