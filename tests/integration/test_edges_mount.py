"""One owner per studio, and local reference files that can never hang the mount.

* A second sora2fs on the same STUDIO_DIR refuses to start, naming the folder,
  the PID and the mountpoint of the first; a lock left by a kill -9 never blocks.
* url: MOUNTPOINT/history.json (or a link to it) and url: FIFO are refused at
  once (close() of the drop: EINVAL, words in error and in the log); the rest of
  the mount keeps answering.
"""

import errno
import os
import re
import subprocess
import threading
import time

import pytest

from util import (drop, job_file, read, scaled, wait_for, wait_status, write, write_errno)


def _start_refused(m):
    """Run the daemon for m; it must exit non-zero without mounting. Its stderr."""
    try:
        r = subprocess.run(m.argv(), capture_output=True, text=True, timeout=scaled(10),
                           stdin=subprocess.DEVNULL, env=m.env)
    except subprocess.TimeoutExpired:
        subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
        pytest.fail("the second sora2fs mounted (or hung) on a studio in use")
    finally:
        if os.path.ismount(m.mnt):
            subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
    assert r.returncode != 0, r
    assert not os.path.ismount(m.mnt)
    return r.stderr


def test_second_mount_of_a_studio_is_refused(mount, mount_factory, sim):
    second = mount_factory(start=False, studio=mount.studio)
    err = _start_refused(second)
    assert re.search(r"error:.*already in use", err), err
    assert str(mount.studio) in err, err
    assert f"PID {mount.proc.pid}" in err, err
    assert str(mount.mnt) in err, err
    # The first mount is untouched and still works.
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    assert sim.tasks_created() == 1


def test_stale_lock_after_kill9_does_not_block(mount_factory):
    m = mount_factory()
    old_pid = m.proc.pid
    m.kill9()
    lock = m.data / "sora2fs" / "mount"
    assert lock.exists() and str(old_pid) in lock.read_text()  # stale words stay
    m.start(write_key=False)
    assert str(m.proc.pid) in lock.read_text()
    # and the new owner is enforced again
    other = mount_factory(start=False, studio=m.studio)
    err = _start_refused(other)
    assert f"PID {m.proc.pid}" in err, err


def test_daemonized_mount_keeps_the_lock(mount_factory):
    """The lock must survive fuse_daemonize()'s fork and name the daemon's PID."""
    m = mount_factory(start=False)
    try:
        out = m.base / "daemonize.out"
        with open(out, "wb") as f:
            r = subprocess.run(m.argv(foreground=False), stdout=f, stderr=f,
                               timeout=scaled(10), stdin=subprocess.DEVNULL, env=m.env)
        assert r.returncode == 0, out.read_text()
        wait_for(lambda: os.path.ismount(m.mnt), 5, "the daemonized mount")
        lock = m.data / "sora2fs" / "mount"
        pid = int(lock.read_text().split()[0])
        assert pid != r.args and os.path.exists(f"/proc/{pid}"), pid
        other = mount_factory(start=False, studio=m.studio)
        err = _start_refused(other)
        assert f"PID {pid}" in err and str(m.mnt) in err, err
    finally:
        subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10, "the daemon to exit")
    # Unmounted: the studio is free again, and the words are gone.
    assert not lock.exists()
    m2 = mount_factory(studio=m.studio)
    m2.umount()


def _drop_in_thread(path, text):
    box = {}

    def go():
        box["errno"] = write_errno(path, text)
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, box


def _assert_mount_answers(mount, other):
    """Other operations answer within 1 s each."""
    for op in (lambda: os.listdir(mount.jobs), lambda: read(mount.mnt / "history.json"),
               lambda: job_file(mount.mnt, other, "status"),
               lambda: os.stat(mount.config / "api_key")):
        t0 = time.monotonic()
        op()
        assert time.monotonic() - t0 < scaled(1), "an operation took more than 1 s"


@pytest.mark.parametrize("how", ["direct", "symlink", "relative-dots"])
def test_url_inside_the_mount_is_refused(mount, sim, tmp_path, how):
    mount.expect_log(r"inside the mount")
    drop(mount.mnt, "other.txt", "another job\n")
    if how == "direct":
        url = f"{mount.mnt}/history.json"
    elif how == "symlink":
        link = tmp_path / "hist-link"
        link.symlink_to(mount.mnt)
        url = f"{link}/history.json"
    else:
        url = f"{mount.mnt}/jobs/../history.json"
    t, box = _drop_in_thread(mount.jobs / "ref.txt", f"---\nurl: {url}\n---\na cat\n")
    _assert_mount_answers(mount, "other")
    t.join(scaled(5))
    assert not t.is_alive(), "the drop hung"
    assert box["errno"] == errno.EINVAL, box
    err = (job_file(mount.mnt, "ref", "error"))
    assert "inside the mount" in err, err
    assert job_file(mount.mnt, "ref", "status") == "failed"
    wait_status(mount.mnt, "other", "succeeded")
    assert sim.tasks_created() == 1


def test_url_fifo_is_refused(mount, sim, tmp_path):
    mount.expect_log(r"FIFO")
    fifo = tmp_path / "fifo.png"
    os.mkfifo(fifo)
    drop(mount.mnt, "other.txt", "another job\n")
    t, box = _drop_in_thread(mount.jobs / "ref.txt", f"---\nurl: {fifo}\n---\na cat\n")
    _assert_mount_answers(mount, "other")
    t.join(scaled(5))
    assert not t.is_alive(), "the drop hung on a FIFO"
    assert box["errno"] == errno.EINVAL, box
    err = (job_file(mount.mnt, "ref", "error"))
    assert "FIFO" in err and "regular file" in err, err
    wait_status(mount.mnt, "other", "succeeded")
    assert sim.tasks_created() == 1


def test_url_device_and_dir_are_refused(mount, tmp_path):
    mount.expect_log(r"not a regular file")
    for name, url in (("dev.txt", "/dev/zero"), ("dir.txt", str(tmp_path))):
        assert write_errno(mount.jobs / name, f"---\nurl: {url}\n---\na cat\n") == errno.EINVAL
        job = name[:-4]
        assert "not a regular file" in (job_file(mount.mnt, job, "error"))


def test_single_threaded_mount_does_not_deadlock(mount_factory, tmp_path):
    """With one FUSE thread, reading the mount from inside a request would wait
    forever; the path is refused before anything inside the mount is touched."""
    m = mount_factory(args=["-s"])
    m.expect_log(r"inside the mount", r"symbolic link")
    link = tmp_path / "l"
    link.symlink_to(m.mnt / "history.json")
    for name, url in (("a.txt", f"{m.mnt}/history.json"), ("b.txt", f"{tmp_path}/l")):
        t, box = _drop_in_thread(m.jobs / name, f"---\nurl: {url}\n---\na cat\n")
        t.join(scaled(5))
        assert not t.is_alive(), "the single-threaded mount deadlocked"
        assert box["errno"] == errno.EINVAL
    os.listdir(m.jobs)


def test_hanging_connect_keeps_the_mount_answering(sim_factory, mount_factory, tmp_path):
    """sora2-sim --hang-port-file: a port where connect() never completes."""
    hp = tmp_path / "hang.port"
    s = sim_factory(hang_port_file=str(hp))
    port = int(wait_for(lambda: hp.exists() and hp.read_text().strip(), 10, "the hang port"))
    m = mount_factory(sim=s, api_url=f"http://127.0.0.1:{port}", opts=["connect_timeout=1"])
    m.expect_log(r"no answer in time|cannot connect|timed out")
    t0 = time.monotonic()
    drop(m.mnt, "h.txt", "a hanging host\n")
    assert time.monotonic() - t0 < scaled(1)
    for _ in range(3):
        t0 = time.monotonic()
        assert job_file(m.mnt, "h", "status") == "queued"
        os.listdir(m.jobs)
        assert time.monotonic() - t0 < scaled(1)
    err = wait_for(lambda: job_file(m.mnt, "h", "error"), 10, "the connect to time out")
    assert re.search(r"no answer in time|cannot connect|timed out", err), err
    assert "refused" not in err.lower(), err  # a hang, not a closed port
    assert job_file(m.mnt, "h", "status") == "queued"
    assert s.tasks_created() == 0
