"""Live changes: inotify watchers (inotifywait, gio monitor) see what the daemon
changes, and poll(2) on status files wakes when their content changes."""

import os
import re
import select
import shutil
import subprocess
import threading
import time

import pytest

from util import drop, job_file, read, scaled, wait_for, wait_status, write


class Watcher:
    """A watcher process whose output lines are collected by a thread."""

    def __init__(self, argv, ready=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = []
        self.err = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines)),
                        threading.Thread(target=self._pump, args=(self.proc.stderr, self.err))]
        for t in self.threads:
            t.daemon = True
            t.start()
        if ready:
            try:
                wait_for(lambda: any(ready in line for line in
                                     self._text(self.err) + self._text(self.lines)),
                         10, f"{argv[0]} to start watching")
            except BaseException:
                self.stop()
                raise

    def _pump(self, f, out):
        for line in f:
            with self.lock:
                out.append((time.monotonic(), line.rstrip("\n")))

    def _text(self, out):
        with self.lock:
            return [line for _, line in out]

    def __getattr__(self, name):
        raise AttributeError(name)

    def seen(self, regex):
        with self.lock:
            for t, line in self.lines:
                if re.search(regex, line):
                    return t
        return None

    def wait(self, regex, timeout=5):
        try:
            return wait_for(lambda: self.seen(regex), timeout, f"an event matching {regex!r}")
        except AssertionError as e:
            raise AssertionError(f"{e}; events:\n{self.dump()}") from None

    def dump(self):
        with self.lock:
            return "\n".join(line for _, line in self.lines[-80:])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def need(tool):
    if not shutil.which(tool):
        pytest.skip(f"{tool} is not installed")


def inotifywait(*paths):
    need("inotifywait")
    return Watcher(["inotifywait", "-m", "-r", "--format", "%w|%e|%f"] + [str(p) for p in paths],
                   ready="Watches established")


def test_inotifywait_sees_a_whole_job_life(mount, sim):
    sim.config(gen_time=2)
    w = inotifywait(mount.jobs, mount.videos)
    try:
        jobs, videos = f"{mount.jobs}/", f"{mount.videos}/"
        drop(mount.mnt, "owl.txt", "an owl\n")
        t_drop = time.monotonic()
        w.wait(rf"^{re.escape(jobs)}\|CREATE,ISDIR\|owl$", 2)
        w.wait(rf"^{re.escape(jobs)}\|DELETE\|owl\.txt$", 2)
        assert w.seen(rf"^{re.escape(jobs)}\|CREATE,ISDIR\|owl$") - t_drop < scaled(1.0)
        d = re.escape(f"{mount.jobs}/owl/")
        # status: queued -> running (...) -> succeeded; each change within 1 s
        w.wait(rf"^{d}\|(MODIFY|CLOSE_WRITE,CLOSE)\|status$", 5)
        w.wait(rf"^{d}\|(MODIFY|CLOSE_WRITE,CLOSE)\|progress$", 5)
        wait_status(mount.mnt, "owl", "succeeded")
        t_done = time.monotonic()
        w.wait(rf"^{d}\|(MODIFY|CLOSE_WRITE,CLOSE)\|result\.json$", 2)
        w.wait(rf"^{d}\|CREATE\|video$", 2)
        w.wait(rf"^{re.escape(videos)}\|(CREATE|MOVED_TO)\|owl\.mp4$", 2)
        last_status = max(t for t, line in w.lines
                          if re.search(rf"^{d}\|(MODIFY|CLOSE_WRITE,CLOSE)\|status$", line))
        assert last_status - t_done < scaled(1.0), w.dump()
        # nothing the user sees changed because of the announcements
        assert sorted(os.listdir(mount.jobs)) == ["owl"]
        assert os.listdir(mount.videos) == ["owl.mp4"]
        assert job_file(mount.mnt, "owl", "status") == "succeeded"
        assert os.readlink(mount.jobs / "owl" / "video") == "../../videos/owl.mp4"
        assert sorted(os.listdir(mount.studio / "downloads")) == ["owl.mp4"]
        # removing the job through the mount: one DELETE, not two
        subprocess.run(["rm", "-r", str(mount.jobs / "owl")], check=True)
        w.wait(rf"^{re.escape(jobs)}\|DELETE,ISDIR\|owl$", 2)
        os.unlink(mount.videos / "owl.mp4")
        w.wait(rf"^{re.escape(videos)}\|DELETE\|owl\.mp4$", 2)
        time.sleep(0.5)  # give a wrong second announcement the time to show up
        assert len([1 for _, line in w.lines if line.endswith("|DELETE,ISDIR|owl")]) == 1
        assert len([1 for _, line in w.lines if line.endswith("|DELETE|owl.mp4")]) == 1
    finally:
        w.stop()


def test_id_status_error_events_of_a_waiting_job(mount_factory, sim):
    m = mount_factory(key=None)
    w = inotifywait(m.jobs)
    try:
        drop(m.mnt, "yak.txt", "a yak\n")
        wait_for(lambda: "no API key" in job_file(m.mnt, "yak", "error"), 5, "the no-key error")
        w.wait(r"/jobs/\|CREATE,ISDIR\|yak$", 2)
        write(m.config / "api_key", "sk-test-key-123456\n")
        d = re.escape(f"{m.jobs}/yak/")
        for f in ("error", "id", "status"):
            w.wait(rf"^{d}\|(MODIFY|CLOSE_WRITE,CLOSE)\|{re.escape(f)}$", 3)
    finally:
        w.stop()


def test_history_and_outside_video_events(mount, sim):
    w = inotifywait(mount.mnt / "history.json", mount.videos)
    try:
        drop(mount.mnt, "cat.txt", "a cat\n")
        wait_status(mount.mnt, "cat", "succeeded")
        w.wait(r"history\.json\|(MODIFY|CLOSE_WRITE,CLOSE)\|", 3)
    finally:
        w.stop()


def test_progress_burst_coalesces(mount, sim):
    """A job's many progress ticks give a bounded number of events."""
    sim.config(gen_time=3)
    w = inotifywait(mount.jobs)
    try:
        drop(mount.mnt, "fox.txt", "a fox\n")
        wait_status(mount.mnt, "fox", "succeeded", timeout=20)
        w.wait(r"/fox/\|(MODIFY|CLOSE_WRITE,CLOSE)\|status$", 2)
        n = len([1 for _, line in w.lines if line.endswith("|progress")])
        # at most one per NOTIFY_DELAY (0.15 s), open + close each
        assert 1 <= n <= 2 * (3 / 0.15 + 10), w.dump()
    finally:
        w.stop()


def test_poll_wakes_on_status_change(mount, sim):
    sim.config(gen_time=2)
    drop(mount.mnt, "bee.txt", "a bee\n")
    path = mount.jobs / "bee" / "status"
    fd = os.open(path, os.O_RDONLY)
    try:
        seen = os.read(fd, 100).decode()
        p = select.poll()
        p.register(fd, select.POLLPRI | select.POLLERR)
        changes = [seen.strip()]
        deadline = time.monotonic() + scaled(20)
        while changes[-1] != "succeeded":
            left = deadline - time.monotonic()
            assert left > 0, changes
            ev = p.poll(left * 1000)
            if not ev:
                continue
            assert ev[0][1] & (select.POLLPRI | select.POLLERR), ev
            os.lseek(fd, 0, os.SEEK_SET)
            now = os.read(fd, 100).decode().strip()
            assert now != changes[-1], (now, changes)
            changes.append(now)
        assert changes[-1] == "succeeded"
        # unchanged since the last read: poll() blocks
        assert p.poll(scaled(300)) == []
    finally:
        os.close(fd)


def test_poll_on_unchanged_file_blocks_then_wakes_on_ctl(mount, sim):
    sim.config(gen_time=600)
    drop(mount.mnt, "ant.txt", "an ant\n")
    wait_status(mount.mnt, "ant", "running")
    fd = os.open(mount.jobs / "ant" / "status", os.O_RDONLY)
    try:
        assert os.read(fd, 100) == b"running\n"
        p = select.poll()
        p.register(fd, select.POLLPRI | select.POLLERR)
        assert p.poll(scaled(300)) == []
        write(mount.jobs / "ant" / "ctl", "cancel\n")
        ev = p.poll(scaled(2000))
        assert ev and ev[0][1] & select.POLLPRI, ev
        os.lseek(fd, 0, os.SEEK_SET)
        assert os.read(fd, 100) == b"cancelled\n"
    finally:
        os.close(fd)


def test_gio_monitor_sees_new_job_and_drop_leaving(mount, sim):
    need("gio")
    w = Watcher(["gio", "monitor", "-d", str(mount.jobs)])
    try:
        # gio monitor prints nothing when ready: wait until a probe shows up
        deadline = time.monotonic() + scaled(10)
        i = 0
        while not w.seen(r"probe"):
            assert time.monotonic() < deadline, w.dump() + "\n".join(w._text(w.err))
            write(mount.jobs / f".probe{i}", "x")
            i += 1
            time.sleep(0.1)
        drop(mount.mnt, "elk.txt", "an elk\n")
        w.wait(r"elk: created", 3)
        w.wait(r"elk\.txt: deleted", 3)
    finally:
        w.stop()


# ------------------------------------------------------------ outside edits

def rewrite_json(path, change):
    """What another program (the Web Studio) does: read, change, write in place."""
    import json
    data = json.loads(path.read_text()) if path.exists() else {}
    change(data)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)


def test_outside_rewrite_of_config_json_is_shown_and_kept(mount, sim):
    host_mode = mount.config / "host_mode"
    assert read(host_mode).strip() == "auto"
    # the kernel has cached what it read; the outside edit must still show
    w = inotifywait(mount.config)
    try:
        rewrite_json(mount.data / "config.json",
                     lambda d: (d.update(host_mode="overseas"),
                                d.setdefault("query_defaults", {}).update(duration=15)))
        wait_for(lambda: read(host_mode).strip() == "overseas", 2, "the new host_mode")
        wait_for(lambda: read(mount.config / "defaults" / "duration").strip() == "15", 2,
                 "the new default")
        w.wait(r"\|(MODIFY|CLOSE_WRITE,CLOSE)\|host_mode$", 2)
    finally:
        w.stop()
    # a write through the mount merges with the file on disk
    write(mount.config / "defaults" / "aspectRatio", "16:9\n")
    cfg = mount.config_json()
    assert cfg["host_mode"] == "overseas"
    assert cfg["query_defaults"]["duration"] == 15
    assert cfg["query_defaults"]["aspectRatio"] == "16:9"
    mount.expect_log(r"config\.json was changed by another program")


def test_outside_edit_of_api_key_is_used(mount_factory, sim):
    m = mount_factory(key=None)
    drop(m.mnt, "cow.txt", "a cow\n")
    wait_for(lambda: "no API key" in job_file(m.mnt, "cow", "error"), 5, "the no-key error")
    rewrite_json(m.data / "config.json", lambda d: d.update(api_key="sk-outside-0123456789"))
    wait_status(m.mnt, "cow", "succeeded")
    assert read(m.config / "api_key").strip().startswith("sk-")
    m.expect_log(r"config\.json was changed by another program")


def test_outside_rewrite_of_history_json(mount, sim):
    drop(mount.mnt, "pig.txt", "a pig\n")
    wait_status(mount.mnt, "pig", "succeeded")
    hist = mount.mnt / "history.json"
    assert "a pig" in read(hist)
    rewrite_json(mount.data / "history.json", lambda d: d[0].update(prompt="a flying pig"))
    wait_for(lambda: "a flying pig" in read(hist), 2, "the edited history")
    assert os.getxattr(mount.videos / "pig.mp4", "user.xdg.comment") == b"a flying pig"
    # a later change through the mount keeps the outside edit
    os.rename(mount.videos / "pig.mp4", mount.videos / "hog.mp4")
    data = mount.history_json()
    assert data[0]["prompt"] == "a flying pig" and data[0]["file"].endswith("hog.mp4"), data
    mount.expect_log(r"history\.json was changed by another program")
