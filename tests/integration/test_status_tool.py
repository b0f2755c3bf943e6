"""sora2fs-status: --once, --json, --wait against jobs in every state, and the
live view redrawing on a change."""

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from util import ctl, drop, scaled, wait_for, wait_status, write_errno

TOOL = os.environ.get("SORA2FS_STATUS",
                      str(Path(__file__).resolve().parents[2] / "tools" / "sora2fs-status"))


def status_tool(*args, cwd=None, timeout=30):
    return subprocess.run([sys.executable, TOOL, *map(str, args)], capture_output=True,
                          text=True, timeout=scaled(timeout), cwd=cwd)


def bad_drop(mount):
    """A job that fails at once (bad parameter: close() says EINVAL)."""
    mount.expect_log(r"jobs/bad: line 2: duration must be")
    assert write_errno(mount.jobs / "bad.txt", "---\nduration: 7\n---\nbad duration\n") \
        == 22


def every_state(mount, sim):
    """Jobs succeeded, failed, cancelled, running, plus a character."""
    drop(mount.mnt, "done.txt", "a finished job\n")
    wait_status(mount.mnt, "done", "succeeded")
    bad_drop(mount)
    sim.config(gen_time=600)
    drop(mount.mnt, "slow.txt", "a slow job\n")
    drop(mount.mnt, "stop.txt", "to be cancelled\n")
    wait_status(mount.mnt, "slow", "running")
    # the cancel may meet stop's submit on its way (then the task is kept, not followed)
    mount.expect_log(r"stop: cancelled, but the submit on its way was accepted")
    ctl(mount.mnt, "stop", "cancel")
    wait_status(mount.mnt, "stop", "cancelled")
    wait_status(mount.mnt, "bad", "failed")


def test_once_and_json(mount, sim):
    every_state(mount, sim)
    r = status_tool("--once", mount.mnt)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split()[:5] == ["NAME", "STATUS", "PROGRESS", "ELAPSED", "ERROR"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"jobs/done", "jobs/bad", "jobs/slow", "jobs/stop"}, r.stdout
    assert " succeeded " in rows["jobs/done"] and "100%" in rows["jobs/done"]
    assert " failed " in rows["jobs/bad"] and "duration" in rows["jobs/bad"]
    assert " running " in rows["jobs/slow"]
    assert " cancelled " in rows["jobs/stop"]
    assert "\033[" not in r.stdout  # no colour when not on a terminal

    r = status_tool("--json", mount.mnt)
    assert r.returncode == 0, r
    data = {j["name"]: j for j in json.loads(r.stdout)}
    assert data["done"]["status"] == "succeeded" and data["done"]["progress"] == 100
    assert data["done"]["kind"] == "video" and data["done"]["id"]
    assert data["bad"]["status"] == "failed" and data["bad"]["error"]
    assert data["slow"]["status"] == "running"
    assert data["stop"]["status"] == "cancelled"
    for j in data.values():
        assert j["elapsed"] is not None and 0 <= j["elapsed"] < 600, j

    # MOUNTPOINT defaults to the mount holding the current directory
    r = status_tool("--json", cwd=mount.jobs)
    assert r.returncode == 0, r
    assert {j["name"] for j in json.loads(r.stdout)} == set(data)


def test_characters_are_listed(mount, sim):
    drop(mount.mnt, "hero.json", '{"url": "https://example.com/v.mp4", "timestamps": "0,3"}',
         kind="characters")
    wait_status(mount.mnt, "hero", ("succeeded", "failed"), kind="characters")
    r = status_tool("--json", mount.mnt)
    data = json.loads(r.stdout)
    assert [(j["kind"], j["name"]) for j in data] == [("character", "hero")], r.stdout


def test_wait_exit_status(mount, sim):
    sim.config(gen_time=1)
    drop(mount.mnt, "one.txt", "first\n")
    drop(mount.mnt, "two.txt", "second\n")
    t0 = time.monotonic()
    r = status_tool("--wait", "one", "jobs/two", mount.mnt)
    assert r.returncode == 0, r
    assert open(mount.jobs / "one" / "status").read() == "succeeded\n"
    assert open(mount.jobs / "two" / "status").read() == "succeeded\n"
    assert time.monotonic() - t0 < scaled(15)
    assert "jobs/one: succeeded" in r.stdout

    # one of them fails: exit 1, and the reason is printed
    bad_drop(mount)
    drop(mount.mnt, "three.txt", "third\n")
    r = status_tool("--wait", "bad", "three", mount.mnt)
    assert r.returncode == 1, r
    assert "jobs/bad: failed" in r.stdout

    # a cancelled job ends the wait too (exit 1)
    sim.config(gen_time=600)
    drop(mount.mnt, "long.txt", "long\n")
    p = subprocess.Popen([sys.executable, TOOL, "--wait", "long", str(mount.mnt)],
                         stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        assert p.poll() is None
        ctl(mount.mnt, "long", "cancel")
        assert p.wait(scaled(5)) == 1
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

    r = status_tool("--wait", "nosuchjob", mount.mnt)
    assert r.returncode == 2 and "nosuchjob" in r.stderr


def test_live_view_redraws_on_change(mount, sim):
    sim.config(gen_time=600)
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.execv(sys.executable, [sys.executable, TOOL, str(mount.mnt)])
    out = b""
    try:
        def screen_has(text):
            nonlocal out
            while select.select([fd], [], [], 0.05)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            return text.encode() in out.split(b"\033[2J")[-1]

        wait_for(lambda: screen_has("no jobs"), 10, "the empty table")
        drop(mount.mnt, "owl.txt", "an owl\n")
        wait_for(lambda: screen_has("jobs/owl"), 5, "the new job on screen")
        ctl(mount.mnt, "owl", "cancel")
        wait_for(lambda: screen_has("cancelled"), 5, "the cancelled status on screen")
        assert b"\033[33m" in out  # colour on a terminal
        os.write(fd, b"q")
        wait_for(lambda: os.waitpid(pid, os.WNOHANG)[0] == pid, 5, "q to quit")
        pid = 0
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
