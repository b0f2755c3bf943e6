"""-o updates=stream: the submit's streamed answer (no webHook) delivers the
task's state, so a running task needs (almost) no polls.

    sora2fs -o updates=stream STUDIO MNT
    echo "a cat" > MNT/jobs/cat.txt      one POST /v1/video/sora-video, kept open:
                                         data: {"id":…,"status":"running",…}
                                         data: {"id":…,"status":"succeeded",…}
    ls MNT/videos/                       cat.mp4, with no /v1/draw/result at all

A stream that breaks after the id falls back to polling by id; one that never
gave an id is a submit of unknown outcome (never resent), as in poll mode.
"""

import os
import subprocess

import pytest

from util import (ctl, drop, is_mp4, job_file, job_status, readb, scaled,
                  stays, wait_for, wait_status)

SUBMIT = "/v1/video/sora-video"
POLL = "/v1/draw/result"

# Safety polls only every 60 s (the tests' default poll_interval=0.2 would make
# them count), the long default of a real mount.
STREAM = ["updates=stream", "poll_interval=60"]


def verbose_mount(mount_factory, opts):
    """A mount with debug lines (the tests wait for some). Debug lines may name
    a job's `error` file ("notify: /jobs/X/error: Stale file handle" while
    unmounting): never a daemon error."""
    m = mount_factory(opts=opts + ["verbose"])
    m.expect_log(r"debug: ")
    return m


def video_of(m, name):
    def check():
        vids = [v for v in os.listdir(m.videos) if v.startswith(name)]
        return vids if vids and is_mp4(readb(m.videos / vids[0])[:64]) else None
    return wait_for(check, 20, f"the video of {name}")


def test_stream_end_to_end_without_polls(mount_factory, sim):
    sim.config(gen_time=2)
    m = mount_factory(opts=STREAM)
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_status(m.mnt, "cat", "succeeded", timeout=20)
    video_of(m, "cat")
    tasks = sim.tasks()
    assert len(tasks) == 1
    body = tasks[0]["body"]
    assert "webHook" not in body and "shutProgress" not in body, body
    # request.json shows the body as it went out
    assert "webHook" not in (job_file(m.mnt, "cat", "request.json") or "webHook")
    assert (job_file(m.mnt, "cat", "id") or "") == tasks[0]["id"]
    assert sim.requests(SUBMIT) == 1
    assert sim.requests(POLL) == 0


def test_stream_bare_lines(mount_factory, sim_factory):
    s = sim_factory(stream_bare=True, gen_time=1.5)
    m = mount_factory(sim=s, opts=STREAM)
    drop(m.mnt, "bare.txt", "a bare cat\n")
    wait_status(m.mnt, "bare", "succeeded", timeout=20)
    video_of(m, "bare")
    assert s.tasks_created() == 1
    assert s.requests(POLL) == 0


def test_stream_progress_arrives_while_running(mount_factory, sim):
    sim.config(gen_time=6)
    m = mount_factory(opts=STREAM)
    drop(m.mnt, "prog.txt", "progress please\n")

    def mid():
        p = (job_file(m.mnt, "prog", "progress") or "")
        return job_status(m.mnt, "prog") == "running" and p.isdigit() and 0 < int(p) < 100
    wait_for(mid, 15, "a progress between 0 and 100 while running")
    wait_status(m.mnt, "prog", "succeeded", timeout=20)
    assert (job_file(m.mnt, "prog", "progress") or "") == "100"
    assert sim.requests(POLL) == 0


def test_stream_with_progress_missing(mount_factory, sim_factory):
    s = sim_factory(progress_style="missing", gen_time=3)
    m = mount_factory(sim=s, opts=STREAM)
    drop(m.mnt, "blind.txt", "no progress\n")
    wait_status(m.mnt, "blind", "running", timeout=10)
    assert (job_file(m.mnt, "blind", "id") or "")
    wait_status(m.mnt, "blind", "succeeded", timeout=20)
    video_of(m, "blind")
    assert s.tasks_created() == 1
    assert s.requests(POLL) <= 1


def test_stream_cut_after_id_falls_back_to_polling(mount_factory, sim):
    sim.config(gen_time=3)
    sim.fault("submit", "stream_cut", count=1)
    m = mount_factory(opts=["updates=stream", "poll_interval=1"])
    drop(m.mnt, "cut.txt", "cut me\n")
    m.wait_log(r"stream of task .* ended before the final state", timeout=10)
    wait_status(m.mnt, "cut", "succeeded", timeout=25)
    video_of(m, "cut")
    assert sim.tasks_created() == 1
    assert sim.requests(SUBMIT) == 1
    assert sim.requests(POLL) >= 1


def test_stream_stalled_after_id_safety_poll(mount_factory, sim):
    # the stream goes silent after its first object: the safety poll (at the
    # cap, here 1 s) sees the task finish, and the stream is ended
    sim.config(gen_time=2)
    sim.fault("submit", "stream_stall", count=1, delay=3600)
    m = verbose_mount(mount_factory, ["updates=stream", "poll_interval=1"])
    drop(m.mnt, "quiet.txt", "a quiet stream\n")
    wait_status(m.mnt, "quiet", "succeeded", timeout=25)
    video_of(m, "quiet")
    m.wait_log(r"ending the stream of task", timeout=10)
    assert sim.tasks_created() == 1
    assert sim.requests(SUBMIT) == 1


def test_stream_dies_before_id_is_unknown_never_resent(mount_factory, sim):
    sim.fault("submit", "reset_after_create")
    m = mount_factory(opts=STREAM)
    m.expect_log(r"warning:.*outcome", r"error:.*outcome")
    drop(m.mnt, "lost.txt", "lost on the way\n")
    wait_status(m.mnt, "lost", "failed", timeout=15)
    assert "outcome is unknown" in job_file(m.mnt, "lost", "error")
    stays(lambda: sim.requests(SUBMIT) == 1, 2, "exactly one submit")
    assert sim.tasks_created() == 1


def test_stream_silent_without_id_is_unknown(mount_factory, sim):
    # the answer never starts: after the submit timeout (timeout=5 in the
    # tests) the outcome is unknown; nothing is sent again
    sim.fault("submit", "stall", delay=3600)
    m = mount_factory(opts=STREAM + ["timeout=2"])
    m.expect_log(r"warning:.*outcome", r"error:.*outcome")
    drop(m.mnt, "mute.txt", "never answered\n")
    wait_status(m.mnt, "mute", "failed", timeout=20)
    err = job_file(m.mnt, "mute", "error")
    assert "outcome is unknown" in err and "no task id" in err, err
    stays(lambda: sim.requests(SUBMIT) == 1, 2, "exactly one submit")


def test_stream_http_error_classified_as_in_poll_mode(mount_factory, sim):
    sim.fault("submit", "code", code=-2, msg="insufficient credits")
    m = mount_factory(opts=STREAM)
    m.expect_log(r"refused")
    drop(m.mnt, "poor.txt", "no money\n")
    wait_status(m.mnt, "poor", "failed", timeout=15)
    assert "insufficient credits" in job_file(m.mnt, "poor", "error")


def test_cancel_streaming_job_ends_stream(mount_factory, sim):
    sim.config(gen_time=60)
    m = verbose_mount(mount_factory, STREAM)
    m.expect_log(r"warning:.*cancel", r"may still")
    drop(m.mnt, "stop.txt", "stop me\n")
    wait_status(m.mnt, "stop", "running", timeout=10)
    wait_for(lambda: (job_file(m.mnt, "stop", "id") or ""), 5, "the task id")
    ctl(m.mnt, "stop", "cancel")
    wait_status(m.mnt, "stop", "cancelled", timeout=5)
    m.wait_log(r"ending the stream of task", timeout=10)
    assert sim.tasks_created() == 1
    assert sim.requests(POLL) == 0


def test_forget_streaming_job(mount_factory, sim):
    sim.config(gen_time=60)
    m = verbose_mount(mount_factory, STREAM)
    drop(m.mnt, "gone.txt", "forget me\n")
    wait_status(m.mnt, "gone", "running", timeout=10)
    os.rmdir(m.jobs / "gone")
    m.wait_log(r"ending the stream of task", timeout=10)
    assert "gone" not in os.listdir(m.jobs)


def test_kill9_mid_stream_resumes_by_polling(mount_factory, sim):
    sim.config(gen_time=8)
    m = mount_factory(opts=["updates=stream", "poll_interval=1"])
    drop(m.mnt, "crash.txt", "crash mid-stream\n")
    wait_status(m.mnt, "crash", "running", timeout=10)
    task_id = (job_file(m.mnt, "crash", "id") or "")
    assert task_id
    m.kill9()
    m.start(write_key=False)
    wait_status(m.mnt, "crash", "succeeded", timeout=30)
    video_of(m, "crash")
    assert sim.tasks_created() == 1
    assert sim.requests(SUBMIT) == 1
    assert (job_file(m.mnt, "crash", "id") or "") == task_id


def test_updates_option_refuses_bad_value(mount_factory):
    m = mount_factory(start=False, opts=["updates=push"])
    try:
        r = subprocess.run(m.argv(), capture_output=True, text=True, timeout=scaled(10),
                           stdin=subprocess.DEVNULL, env=m.env)
    finally:
        if os.path.ismount(m.mnt):
            subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
    assert r.returncode != 0
    assert "updates must be poll or stream" in r.stderr, r.stderr
    assert not os.path.ismount(m.mnt)


@pytest.mark.parametrize("n", [6])
def test_many_streams_do_not_block_each_other(mount_factory, sim, n):
    # more streams than max_active: the rest wait for a slot, every video comes
    sim.config(gen_time=2)
    m = mount_factory(opts=STREAM + ["max_active=3"])
    for i in range(n):
        drop(m.mnt, f"many{i}.txt", f"many {i}\n")
    for i in range(n):
        wait_status(m.mnt, f"many{i}", "succeeded", timeout=40)
    assert sim.tasks_created() == n
    assert sim.requests(POLL) == 0


def test_cancel_before_the_id_records_the_task(mount_factory, sim):
    """Cancelled after the streamed submit left, before its first object: the
    id that then arrives is recorded, the stream ended, nothing resent."""
    sim.config(gen_time=3)
    sim.fault("submit", "slow", count=1, delay=2)
    m = verbose_mount(mount_factory, STREAM)
    m.expect_log(r"cancelled, but the submit on its way was accepted", r"not possible now")
    drop(m.mnt, "late.txt", "a late answer\n")
    m.wait_log(r"late: submitting to .*\(streamed answer\)")
    assert ctl(m.mnt, "late", "cancel") == 0
    task_id = wait_for(lambda: job_file(m.mnt, "late", "id"), 15, "the late answer's task id")
    assert job_status(m.mnt, "late") == "cancelled"
    assert task_id in (job_file(m.mnt, "late", "error") or "")
    stays(lambda: sim.tasks_created() == 1 and sim.requests(SUBMIT) == 1, 1,
          "exactly one submit")
    # retry follows that very task (by polling now), no new one
    assert ctl(m.mnt, "late", "retry") == 0
    wait_status(m.mnt, "late", "succeeded", timeout=20)
    assert sim.tasks_created() == 1 and sim.requests(SUBMIT) == 1


def test_forget_before_the_id_is_never_resent(mount_factory, sim):
    sim.fault("submit", "slow", count=1, delay=2)
    m = verbose_mount(mount_factory, STREAM)
    m.expect_log(r"forgotten while its submit was on the way")
    drop(m.mnt, "gone.txt", "forget me early\n")
    m.wait_log(r"gone: submitting to .*\(streamed answer\)")
    os.rmdir(m.jobs / "gone")
    m.wait_log(r"created task .* for it; it is not followed", timeout=15)
    stays(lambda: sim.requests(SUBMIT) == 1, 1, "no second submit")
