"""Crash test: a busy workload, kill -9 at random points and at the named
windows (failpoints), remounting each time. After each remount and at the end:
every JSON file under data/ parses, no job is lost, no drop has more than one
upstream task, and every succeeded job has exactly one complete video.

CRASH_POINTS (default 6) random points; tests/crash_long.sh runs 30+.
"""

import json
import os
import random
import subprocess
import time

import pytest

from util import drop, is_mp4, job_status, read, readb, wait_for

N_DROPS = int(os.environ.get("CRASH_DROPS", "20"))
N_RANDOM = int(os.environ.get("CRASH_POINTS", "6"))
NAMED = ["sending-saved", "submit-answered", "video-renamed", "tmp:history.json",
         "renamed:history.json"]


def check_data(m):
    for root, _dirs, files in os.walk(m.data):
        for f in files:
            if f.endswith(".json"):
                json.loads(read(os.path.join(root, f)))  # raises if torn


def check_final(m, sim, names):
    jobs = set(os.listdir(m.jobs))
    lost = [n for n in names if n not in jobs]
    assert not lost, f"lost jobs: {lost}"
    # at most one upstream task per drop: the prompt names the drop
    per_drop = {}
    for t in sim.tasks():
        p = (t.get("body") or {}).get("prompt") or ""
        for n in names:
            if p.strip() == f"drop {n}":
                per_drop[n] = per_drop.get(n, 0) + 1
    dups = {n: c for n, c in per_drop.items() if c > 1}
    assert not dups, f"drops billed more than once: {dups}"
    vids = os.listdir(m.downloads)
    for n in names:
        if job_status(m.mnt, n) == "succeeded":
            mine = [v for v in vids if v == f"{n}.mp4" or v.startswith(f"{n}-")]
            assert mine == [f"{n}.mp4"], (n, mine)
            assert is_mp4(readb(m.downloads / mine[0])[:64])
    return len(dups)


@pytest.mark.parametrize("updates", ["poll", "stream"])
def test_crash_points(mount_factory, sim, updates):
    rnd = random.Random(int(os.environ.get("CRASH_SEED", "7")))
    sim.config(gen_time=0.5, video_size=2 * 1024 * 1024)
    sim.fault("download", "slow", delay=0.3)
    m = mount_factory(opts=["max_active=4", f"updates={updates}"])
    m.expect_log(r".")  # crashes make warnings; the checks below are the test
    names = [f"d{i:02d}" for i in range(N_DROPS)]
    pending = list(names)
    points = [("random", None)] * N_RANDOM + [("named", p) for p in NAMED]
    rnd.shuffle(points)
    tried = 0
    for kind, point in points:
        # keep work flowing: a few new drops per round
        for _ in range(min(len(pending), 1 + N_DROPS // max(len(points), 1))):
            n = pending.pop(0)
            drop(m.mnt, f"{n}.txt", f"drop {n}\n")
        if kind == "named":
            m.umount()
            m.env["SORA2FS_FAILPOINT"] = point
            try:
                m.start(write_key=False)
            except AssertionError:
                pass  # it reached the point while mounting: a crash point too
            try:
                m.proc.wait(timeout=8)
                m.runs[-1]["killed"] = True
                m.runs[-1]["rc"] = m.proc.returncode
                subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
                m.mounted = False
            except Exception:  # the point was not reached this time
                m.kill9()
            del m.env["SORA2FS_FAILPOINT"]
        else:
            time.sleep(rnd.uniform(0.05, 1.0))  # a random point in the workload
            m.kill9()
        tried += 1
        check_data(m)
        m.start(write_key=False)
    for n in pending:
        drop(m.mnt, f"{n}.txt", f"drop {n}\n")
    wait_for(lambda: all(job_status(m.mnt, n) in ("succeeded", "failed", "cancelled")
                         for n in names), 60, "every job to finish")
    check_data(m)
    check_final(m, sim, names)
    ok = sum(job_status(m.mnt, n) == "succeeded" for n in names)
    print(f"CRASH RESULT points={tried} drops={len(names)} succeeded={ok} duplicates=0 lost=0")
