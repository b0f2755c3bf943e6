"""The task engine under faults: retries that are safe, no double submits,
fast reads while the network misbehaves, host failover, crashes and restarts."""

import os
import subprocess
import time

import pytest

from util import (FINAL, closed_port, ctl, drop, is_mp4, job_dir, job_file, job_status,
                  mp4_boxes, readb, scaled, stays, timed, wait_for, wait_status, write)

SUBMIT = "/v1/video/sora-video"
POLL = "/v1/draw/result"


def assert_fast(fn, what, limit=0.5):
    elapsed, result = timed(fn)
    assert elapsed < scaled(limit), f"{what} took {elapsed:.2f}s"
    return result


def ls_l(*paths):
    r = subprocess.run(["ls", "-l", *map(str, paths)], capture_output=True, text=True,
                       timeout=scaled(10))
    assert r.returncode == 0 and r.stderr == "", r
    return r.stdout


@pytest.mark.parametrize("mode,words", [("http503", r"503|unavailable"),
                                        ("http429", r"429|too many|rate")],
                         ids=["http503", "http429"])
def test_submit_refusal_is_retried(mount, sim, mode, words):
    mount.expect_log(words)
    sim.fault("submit", mode, count=2)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded", timeout=40)
    assert sim.tasks_created() == 1
    assert sim.requests(SUBMIT) == 3
    assert job_file(mount.mnt, "cat", "error") == ""


@pytest.mark.mount(opts=["timeout=2"])
@pytest.mark.parametrize("mode", ["reset", "http500", "stall"])
def test_submit_fate_unknown_fails(mount, sim, mode):
    """The request went out and no clear answer came back: the task may exist."""
    mount.expect_log(r"unknown|reset|500|time|connection|recv|empty reply", "cat")
    sim.fault("submit", mode, count=1, delay=10)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "failed", timeout=20)
    error = job_file(mount.mnt, "cat", "error")
    assert "unknown" in error and "retry" in error, error
    stays(lambda: sim.requests(SUBMIT) == 1, 1.0, "no resubmission")


def test_submit_outcome_unknown_is_never_resubmitted(mount, sim):
    mount.expect_log(r"unknown|reset|connection|recv|empty reply", "cat")
    sim.fault("submit", "reset_after_create", count=1)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "failed")
    error = job_file(mount.mnt, "cat", "error")
    assert "unknown" in error and "retry" in error, error
    assert sim.tasks_created() == 1
    stays(lambda: sim.requests(SUBMIT) == 1 and job_status(mount.mnt, "cat") == "failed",
          1.0, "no resubmission (5 poll intervals)")
    # The user asks for it: a second task, on purpose.
    assert ctl(mount.mnt, "cat", "retry") == 0
    wait_status(mount.mnt, "cat", "succeeded")
    assert sim.tasks_created() == 2
    assert job_file(mount.mnt, "cat", "id") == sim.tasks()[1]["id"]
    assert is_mp4(readb(mount.videos / "cat.mp4"))


def test_submit_api_error_code(mount, sim):
    msg = "simulated: the generation queue is full"
    mount.expect_log(r"queue is full", "cat")
    sim.fault("submit", "code", count=1, code=-7, msg=msg)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "failed")
    assert msg in job_file(mount.mnt, "cat", "error")
    stays(lambda: sim.requests(SUBMIT) == 1, 0.6, "no second submit")
    assert sim.tasks_created() == 0


def test_poll_500_is_retried(mount, sim):
    mount.expect_log(r"500|poll")
    sim.fault("poll", "http500")
    drop(mount.mnt, "cat.txt", "a cat\n")
    # While polls fail, the job stays running and says why.
    wait_for(lambda: "500" in (job_file(mount.mnt, "cat", "error") or ""), 10,
             "the poll failure in jobs/cat/error")
    assert job_status(mount.mnt, "cat") == "running"
    sim.clear("poll")
    wait_status(mount.mnt, "cat", "succeeded")
    assert sim.tasks_created() == 1
    assert job_file(mount.mnt, "cat", "error") == ""


def test_poll_unknown_task_fails_the_job(mount, sim):
    mount.expect_log(r"no longer knows|-22|not found", "cat")
    sim.fault("poll", "code", code=-22, msg="task not found")
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "failed")
    assert "no longer knows" in job_file(mount.mnt, "cat", "error")
    assert sim.tasks_created() == 1


def test_poll_malformed_is_retried(mount, sim):
    mount.expect_log(r"json|malformed|parse|invalid|poll")
    sim.fault("poll", "malformed", count=2)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    assert sim.tasks_created() == 1


@pytest.mark.mount(opts=["timeout=2"])
def test_poll_stall_does_not_block_readers(mount, sim):
    mount.expect_log(r"time|poll")
    sim.fault("poll", "stall", delay=30)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: sim.requests(POLL) >= 1, 10, "a poll to reach the stalled server")
    status = job_dir(mount.mnt, "cat") / "status"
    end = time.monotonic() + scaled(3)       # longer than one timeout=2 cycle
    while time.monotonic() < end:
        assert_fast(lambda: ls_l(mount.jobs, mount.videos), "ls -l jobs/ videos/")
        st = assert_fast(lambda: open(status).read().strip(), "cat status")
        assert st in {"queued", "running"}, st
        assert_fast(lambda: os.stat(mount.jobs / "cat" / "progress"), "stat progress")
        time.sleep(0.05)
    assert sim.requests(POLL) >= 2, "the stalled poll was never abandoned and retried"
    sim.clear("poll")
    wait_status(mount.mnt, "cat", "succeeded", timeout=20)
    assert job_file(mount.mnt, "cat", "error") == ""
    assert sim.tasks_created() == 1


@pytest.mark.sim(video_size=500_000)
def test_truncated_download_is_retried(mount, sim):
    mount.expect_log(r"truncat|short|incomplete|size|bytes|download|partial")
    sim.fault("download", "truncate", count=1)
    drop(mount.mnt, "cat.txt", "a cat\n")

    def watch():
        for name in os.listdir(mount.videos):
            assert not name.startswith(".") and not name.endswith(".part"), name
            assert os.stat(mount.videos / name).st_size == 500_000, f"partial {name} listed"
        st = job_status(mount.mnt, "cat")
        assert st not in FINAL - {"succeeded"}, job_file(mount.mnt, "cat", "error")
        return st == "succeeded"

    wait_for(watch, 30, "the job to succeed", interval=0.02)
    data = readb(mount.videos / "cat.mp4")
    assert len(data) == 500_000
    mp4_boxes(data)
    assert sim.requests("/files") >= 2
    assert sim.tasks_created() == 1


def test_download_500_is_retried(mount, sim):
    mount.expect_log(r"500|download")
    sim.fault("download", "http500", count=2)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded", timeout=30)
    assert is_mp4(readb(mount.videos / "cat.mp4"))
    assert sim.requests("/files") >= 3
    assert sim.tasks_created() == 1


@pytest.mark.mount(opts=["stall_timeout=1"])
def test_stalled_download_is_aborted_and_retried(mount, sim):
    mount.expect_log(r"stall|slow|time|download")
    sim.fault("download", "stall", count=1, delay=30)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: sim.requests("/files") >= 1, 10, "the download to start")
    assert_fast(lambda: ls_l(mount.jobs, mount.videos), "ls -l jobs/ videos/")
    wait_status(mount.mnt, "cat", "succeeded", timeout=30)
    assert is_mp4(readb(mount.videos / "cat.mp4"))
    assert sim.tasks_created() == 1


def test_expired_download_then_redownload(mount, sim):
    mount.expect_log(r"expire|403|download|forbidden", "cat")
    sim.fault("download", "expired")
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "failed", timeout=40)
    error = job_file(mount.mnt, "cat", "error")
    assert "expire" in error.lower() or "403" in error, error
    assert os.listdir(mount.videos) == []
    sim.clear("download")
    assert ctl(mount.mnt, "cat", "redownload") == 0
    wait_status(mount.mnt, "cat", "succeeded")
    assert is_mp4(readb(mount.videos / "cat.mp4"))
    assert sim.tasks_created() == 1


def failover_mount(mount_factory, sim):
    port = closed_port()
    m = mount_factory(api_url=False, opts=[f"domestic_url=http://127.0.0.1:{port}",
                                           f"overseas_url={sim.url}"])
    m.expect_log(rf"connect|refused|127\.0\.0\.1:{port}|domestic|overseas|host")
    return m


def test_host_failover_auto(mount_factory, sim):
    m = failover_mount(mount_factory, sim)
    assert open(m.config / "host_mode").read().strip() == "auto"
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_status(m.mnt, "cat", "succeeded", timeout=20)
    assert sim.tasks_created() == 1


def test_host_mode_domestic_only(mount_factory, sim):
    m = failover_mount(mount_factory, sim)
    write(m.config / "host_mode", "domestic\n")
    drop(m.mnt, "cat.txt", "a cat\n")

    def connect_error():
        err = (job_file(m.mnt, "cat", "error") or "").lower()
        return ("connect" in err or "refused" in err) and err
    wait_for(connect_error, 15, "an error about the connection")
    assert job_status(m.mnt, "cat") in {"queued", "failed"}
    assert sim.tasks_created() == 0
    assert sim.requests(SUBMIT) == 0


@pytest.mark.sim(gen_time=3)
def test_kill9_while_running_resumes(mount, sim):
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "running")
    task_id = wait_for(lambda: job_file(mount.mnt, "cat", "id"), 5, "the task id")
    mount.kill9()
    assert sim.tasks()[0]["status"] == "running", "the task finished before the crash"
    mount.remount()
    assert job_file(mount.mnt, "cat", "id") == task_id
    wait_status(mount.mnt, "cat", "succeeded")
    assert sim.tasks_created() == 1
    assert is_mp4(readb(mount.videos / "cat.mp4"))
    assert os.listdir(mount.videos) == ["cat.mp4"]


def test_kill9_right_after_drop(mount, sim):
    mount.expect_log(r"unknown|crash|interrupt", "cat")
    drop(mount.mnt, "cat.txt", "a cat\n")
    mount.kill9()
    sent = sim.requests(SUBMIT)
    mount.remount()
    assert "cat" in os.listdir(mount.jobs), "the job was lost in the crash"
    st = wait_status(mount.mnt, "cat", {"succeeded", "failed"})
    if st == "failed":
        assert "unknown" in job_file(mount.mnt, "cat", "error")
    stays(lambda: sim.requests(SUBMIT) <= max(sent, 1), 1.0, "no second submit")
    if sent:
        assert sim.requests(SUBMIT) == sent, "resubmitted after the crash"
    assert sim.tasks_created() <= 1


@pytest.mark.mount(opts=["timeout=30"])
def test_kill9_during_submit_never_resubmits(mount, sim):
    mount.expect_log(r"unknown|crash|interrupt", "cat")
    sim.fault("submit", "stall", delay=30)
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: sim.requests(SUBMIT) == 1, 10, "the submit to reach the server")
    mount.kill9()
    sim.clear("submit")
    mount.remount()
    wait_status(mount.mnt, "cat", "failed")
    assert "unknown" in job_file(mount.mnt, "cat", "error")
    stays(lambda: sim.requests(SUBMIT) == 1, 1.0, "no second submit")


def test_restart_keeps_jobs_videos_config(mount, sim):
    mount.expect_log(r"internal error|failed", "doomed")
    write(mount.config / "host_mode", "overseas\n")
    write(mount.config / "defaults" / "aspectRatio", "16:9\n")
    drop(mount.mnt, "cat.txt", "a cat\n")
    drop(mount.mnt, "doomed.txt", "a cat [fail]\n")
    wait_status(mount.mnt, "cat", "succeeded")
    wait_status(mount.mnt, "doomed", "failed")
    error = job_file(mount.mnt, "doomed", "error")
    video = readb(mount.videos / "cat.mp4")
    cat_id = job_file(mount.mnt, "cat", "id")

    mount.remount()
    assert job_status(mount.mnt, "cat") == "succeeded"
    assert job_file(mount.mnt, "cat", "id") == cat_id
    assert job_file(mount.mnt, "cat", "progress") == "100"
    assert readb(job_dir(mount.mnt, "cat") / "video") == video
    assert open(job_dir(mount.mnt, "cat") / "prompt").read() == "a cat\n"
    assert job_status(mount.mnt, "doomed") == "failed"
    assert job_file(mount.mnt, "doomed", "error") == error
    assert open(mount.config / "host_mode").read().strip() == "overseas"
    assert open(mount.config / "defaults" / "aspectRatio").read().strip() == "16:9"
    assert open(mount.config / "api_key").read().strip().startswith("sk-tes")
    assert [os.path.basename(e["file"]) for e in mount.history_json()] == ["cat.mp4"]
    stays(lambda: sim.tasks_created() == 2, 0.6, "nothing resubmitted after the restart")


@pytest.mark.sim(gen_time=1)
def test_api_down_does_not_slow_listing(mount, sim):
    mount.expect_log(r"connect|refused|poll|network|127\.0\.0\.1")
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    drop(mount.mnt, "slow.txt", "a slow cat [slow]\n")
    wait_status(mount.mnt, "slow", "running")
    sim.stop()
    end = time.monotonic() + scaled(2)
    while time.monotonic() < end:
        out = assert_fast(lambda: ls_l(mount.jobs, mount.videos), "ls -l jobs/ videos/")
        assert "cat.mp4" in out
        assert_fast(lambda: open(job_dir(mount.mnt, "slow") / "status").read(), "cat status")
        time.sleep(0.05)
    assert job_status(mount.mnt, "slow") == "running"
    assert is_mp4(assert_fast(lambda: readb(mount.videos / "cat.mp4"), "reading a video"))
