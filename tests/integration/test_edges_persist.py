"""Persistence at the edges: a full disk under data/ or downloads/, and crashes
at named points between the video's rename and the record save.

The full disks are small tmpfs mounts made here (root only). Crash points are
the daemon's failpoints: SORA2FS_FAILPOINT=NAME makes it _exit(99) there.
"""

import errno
import json
import os
import subprocess

import pytest

from util import (DEFAULT_KEY, ctl, drop, job_file, job_status, read, stays, wait_for,
                  wait_status, write_errno)

SUBMIT = "/v1/video/sora-video"

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="tmpfs mounts need root")


def tmpfs(path, size):
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                    str(path)], check=True)


def untmpfs(path):
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(path):
    """Fill the filesystem holding path; returns the filler file."""
    filler = path / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    return filler


@pytest.fixture
def full_data(mount_factory, tmp_path):
    made = []

    def make(**kw):
        base = tmp_path / f"fd{len(made)}"
        studio = base / "studio"
        tmpfs(studio / "data", "2m")
        made.append(studio / "data")
        return mount_factory(studio=studio, **kw)

    yield make
    # the mounts are unmounted by mount_factory's teardown, after this; lazy
    # unmounts keep the daemon's open files valid meanwhile
    for p in made:
        untmpfs(p)


@root_only
def test_data_full_no_submit_until_saved(full_data, sim):
    m = full_data(opts=["max_active=1"])
    m.expect_log(r"No space left", r"cannot (save|write|sync)", r"first")
    filler = fill(m.data)
    # config: the write fails with ENOSPC and the old key stays, shown and stored
    assert write_errno(m.config / "api_key", "sk-new-key-000000000000000000\n") == errno.ENOSPC
    shown = read(m.config / "api_key").strip()
    assert shown.startswith(DEFAULT_KEY[:6]) and shown.endswith(DEFAULT_KEY[-4:]), shown
    assert json.loads(read(m.data / "config.json"))["api_key"] == DEFAULT_KEY
    assert write_errno(m.config / "defaults" / "duration", "15\n") == errno.ENOSPC
    assert not (m.config / "defaults" / "duration").exists()
    # a queued job whose "sending" record cannot be saved is not submitted
    filler.unlink()
    drop(m.mnt, "first.txt", "a slow cat [slow]\n")
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_status(m.mnt, "first", "running")
    assert job_status(m.mnt, "cat") == "queued"
    filler = fill(m.data)
    assert ctl(m.mnt, "first", "cancel") == 0  # frees the only slot
    wait_for(lambda: "No space left" in job_file(m.mnt, "cat", "error"), 10,
             "the error to name the errno")
    err = job_file(m.mnt, "cat", "error")
    assert "jobs/" in err and ".json" in err, err
    stays(lambda: sim.requests(SUBMIT) == 1, 1.5, "no submit while the record cannot be saved")
    assert job_status(m.mnt, "cat") == "queued"
    # space again: the job goes on, once
    filler.unlink()
    wait_status(m.mnt, "cat", "succeeded", timeout=20)
    assert sim.tasks_created() == 2
    names = {}
    for p in (m.data / "sora2fs" / "jobs").glob("*.json"):
        if not p.name.endswith(".request.json"):
            r = json.loads(read(p))
            names[r["name"]] = r["status"]
    wait_for(lambda: json.loads(read(m.data / "sora2fs" / "jobs" / "2.json"))["status"]
             == "succeeded", 5, "the record to say succeeded")
    # and the config can be written again
    assert write_errno(m.config / "api_key", DEFAULT_KEY + "\n") == 0


@root_only
def test_downloads_full_then_freed(mount_factory, sim, tmp_path):
    studio = tmp_path / "dl" / "studio"
    tmpfs(studio / "downloads", "1m")
    try:
        sim.config(video_size=3 * 1024 * 1024)
        m = mount_factory(studio=studio)
        m.expect_log(r"No space left", r"download failed|could not be downloaded|cat failed")
        drop(m.mnt, "cat.txt", "a cat\n")
        wait_for(lambda: "No space left" in job_file(m.mnt, "cat", "error")
                 or job_status(m.mnt, "cat") == "failed", 20, "the download to hit ENOSPC")
        assert os.listdir(m.videos) == []
        subprocess.run(["mount", "-o", "remount,size=16m", str(studio / "downloads")], check=True)
        if job_status(m.mnt, "cat") == "failed":
            ctl(m.mnt, "cat", "redownload")
        wait_for(lambda: job_status(m.mnt, "cat") == "succeeded"
                 or (job_status(m.mnt, "cat") == "failed" and ctl(m.mnt, "cat", "redownload") and False),
                 30, "the video after space was freed")
        assert os.listdir(m.videos) == ["cat.mp4"]
        assert [n for n in os.listdir(studio / "downloads") if n.endswith(".part")] == []
        assert sim.tasks_created() == 1
        m.umount()
    finally:
        untmpfs(studio / "downloads")


def crashed(m, timeout=20):
    """Wait for the daemon to _exit at its failpoint, then clean up the mount."""
    run_ = m.runs[-1]
    run_["killed"] = True
    run_["rc"] = m.proc.wait(timeout=timeout)
    subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
    m.mounted = False
    assert run_["rc"] == 99, f"the daemon exited with {run_['rc']}, not at the failpoint"


@pytest.mark.parametrize("point", ["video-renamed", "renamed:history.json", "tmp:history.json"])
def test_crash_after_video_rename_keeps_video(mount_factory, sim, point):
    # a large history makes the window wide, as in the report
    m = mount_factory(start=False, env={"SORA2FS_FAILPOINT": point})
    m.data.mkdir(parents=True)
    # in the Web Studio's own format, so the mount does not rewrite it at start
    hist = [{"file": f"{m.downloads}/old{i}.mp4", "prompt": "x" * 200, "time": 1700000000 + i,
             "id": f"t{i}", "pid": None, "url": None, "duration_seconds": 1}
            for i in range(3000)]
    (m.data / "history.json").write_text(json.dumps(hist))
    m.start()
    m.expect_log(r"complete when sora2fs stopped")
    drop(m.mnt, "cat.txt", "a cat\n")
    crashed(m)
    del m.env["SORA2FS_FAILPOINT"]
    m.start(write_key=False)
    wait_status(m.mnt, "cat", "succeeded")
    assert sorted(os.listdir(m.videos)) == ["cat.mp4"]
    assert sorted(os.listdir(m.downloads)) == ["cat.mp4"]
    # history.json is written by the writer thread, just after
    wait_for(lambda: [os.path.basename(e["file"]) for e in
                      json.loads(read(m.data / "history.json"))].count("cat.mp4") == 1,
             5, "one history entry for cat.mp4")
    assert sim.tasks_created() == 1


def test_leftovers_cleaned_at_mount(mount_factory, sim):
    m = mount_factory(start=False)
    (m.data / "sora2fs" / "jobs").mkdir(parents=True)
    m.downloads.mkdir(parents=True)
    dead = 999999999
    junk = [m.data / f".history.json.tmp.{dead}.3", m.data / "sora2fs" / "jobs" / "4.json.tmp",
            m.data / "sora2fs" / "jobs" / f".4.json.tmp.{dead}.0",
            m.downloads / f".sora2fs-{dead}-1.part", m.data / "sora2fs" / "jobs" / "7.request.json"]
    for p in junk:
        p.write_text("{}")
    keep = m.downloads / ".my-own.part"
    keep.write_text("mine")
    m.start()
    for p in junk:
        assert not p.exists(), p
    assert keep.exists()
