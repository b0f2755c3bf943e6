#!/usr/bin/env python3
"""bench/gen_studio.py - fill a studio folder for the benchmarks, fast.

    gen_studio.py STUDIO --videos N [--history] [--done J] [--running R]

--videos N   N small "*.mp4" files in STUDIO/downloads (the simulator's tiny MP4)
--history    as many entries in data/history.json, one per video, in the Web
             Studio's format (absolute "file", "time" in epoch seconds, oldest first)
--done J     J finished video jobs (job records in data/sora2fs/jobs/), the first
             min(J, N) of them owning a video
--running R  R running jobs (task ids the simulator does not know: they fail on
             their first poll)
Existing downloads, history and job records are replaced.
"""
import argparse
import json
import os
import shutil
import time

ap = argparse.ArgumentParser()
ap.add_argument("studio")
ap.add_argument("--videos", type=int, default=0)
ap.add_argument("--history", action="store_true")
ap.add_argument("--old-history", action="store_true",
                help="history in sora2fs's old format (bare names, local-time text), converted at mount")
ap.add_argument("--done", type=int, default=0)
ap.add_argument("--running", type=int, default=0)
ap.add_argument("--sample", default=os.path.join(os.path.dirname(__file__), "..", "tests", "sim", "tiny.mp4"))
a = ap.parse_args()

downloads = os.path.join(a.studio, "downloads")
data = os.path.join(a.studio, "data")
jobs = os.path.join(data, "sora2fs", "jobs")
for d in (downloads, jobs):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
try:
    sample = open(a.sample, "rb").read()
except OSError:
    sample = b"\0" * 4096

names = ["sora_%d.mp4" % (1700000000 + i) for i in range(a.videos)]
for n in names:
    with open(os.path.join(downloads, n), "wb") as f:
        f.write(sample)

now = time.time()
hist = []
if a.history or a.old_history:
    for i, n in enumerate(names):
        hist.append({
            "file": os.path.join(os.path.abspath(downloads), n),
            "prompt": "bench clip number %d, a cat on a piano" % i,
            "time": int(now - i),
            "id": "bench-task-%08d" % i,
            "pid": "bench-pid-%08d" % i,
            "url": "https://example.invalid/v/%d.mp4" % i,
            "duration_seconds": 180,
        })
hist.reverse()  # the Web Studio appends: oldest first
if a.old_history:
    for e in hist:
        e["file"] = os.path.basename(e["file"])
        e["time"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e["time"]))
with open(os.path.join(data, "history.json"), "w") as f:
    json.dump(hist, f, indent=2)
with open(os.path.join(data, "active_tasks.json"), "w") as f:
    json.dump([], f)

serial = 1
def record(name, status, **kw):
    global serial
    r = {"serial": serial, "kind": "video", "name": name,
         "source": "bench clip %s\n" % name, "source_file": name + ".txt",
         "request": {"prompt": "bench clip %s" % name},
         "request_shown": json.dumps({"prompt": "bench clip %s" % name}, indent=2) + "\n",
         "status": status, "submit": "accepted", "progress": 100 if status == "succeeded" else 40,
         "created": now - 600, "started": now - 590, "finished": now - 400 if status == "succeeded" else 0,
         "upstream_succeeded": status == "succeeded"}
    r.update(kw)
    with open(os.path.join(jobs, "%d.json" % serial), "w") as f:
        json.dump(r, f)
    serial += 1

for i in range(a.done):
    kw = {"id": "bench-done-%08d" % i, "url": "https://example.invalid/v/%d.mp4" % i,
          "pid": "bench-pid-%08d" % i}
    if i < len(names):
        kw["video"] = names[i]
    record("clip%d" % i, "succeeded", **kw)
for i in range(a.running):
    record("run%d" % i, "running", id="bench-running-%08d" % i)
