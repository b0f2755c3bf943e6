"""Helpers for the sora2fs integration tests: waiting, reading job files, and
the two processes every test drives (sora2-sim and the sora2fs daemon).

A typical test:

    def test_drop(mount, sim):
        drop(mount.mnt, "cat.txt", "a cat\n")
        wait_status(mount.mnt, "cat", {"succeeded"})
        assert sim.stats()["tasks_created"] == 1

Nothing here sleeps for a fixed time: every wait polls a condition until a
deadline, and every deadline is multiplied by SORA2FS_SLOW (set it to 10 when
the daemon runs under valgrind through SORA2FS_WRAPPER).
"""

import errno
import json
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SORA2FS = os.environ.get("SORA2FS") or str(REPO / "build" / "sora2fs")
SIM = os.environ.get("SORA2_SIM") or str(REPO / "build" / "tests" / "sim" / "sora2-sim")
WRAPPER = shlex.split(os.environ.get("SORA2FS_WRAPPER", ""))
SLOW = float(os.environ.get("SORA2FS_SLOW") or 1)

DEFAULT_KEY = "sk-test-0123456789abcdefWXYZ"

FINAL = {"succeeded", "failed", "cancelled"}
STATUSES = {"queued", "running", "downloading"} | FINAL

# Environment variables that would send the daemon's or our HTTP requests to
# 127.0.0.1 through a proxy.
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
              "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def scaled(seconds):
    """A deadline or a speed limit, stretched for slow runs (valgrind)."""
    return seconds * SLOW


# --------------------------------------------------------------- waiting

def wait_for(cond, timeout=10, what="condition", interval=0.05,
             ignore=(FileNotFoundError,)):
    """Poll cond() until it returns something truthy, and return that.

    Fails after timeout (scaled) seconds with `what` and the last value seen.
    Exceptions listed in `ignore` count as a falsy value (a file that does not
    exist yet); any other exception propagates at once.
    """
    deadline = time.monotonic() + scaled(timeout)
    last = None
    while True:
        try:
            last = cond()
        except ignore as e:  # noqa: PERF203 - polling
            last = e
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {scaled(timeout):.1f}s waiting for {what} "
                f"(last value: {last!r})")
        time.sleep(interval)


def stays(cond, duration, what="condition", interval=0.05):
    """Check that cond() stays truthy for `duration` (scaled) seconds.

    This is how a test shows that something does NOT happen (no second task,
    no resubmission): it watches for the whole period instead of sleeping.
    """
    deadline = time.monotonic() + scaled(duration)
    while True:
        value = cond()
        if not value:
            raise AssertionError(f"{what} stopped holding (value: {value!r})")
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def timed(fn, *args, **kw):
    """(seconds, result) of one call."""
    t0 = time.monotonic()
    result = fn(*args, **kw)
    return time.monotonic() - t0, result


# --------------------------------------------------------------- files

def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def readb(path):
    with open(path, "rb") as f:
        return f.read()


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write(path, text):
    """Write a whole file the way a program would (open, write, close)."""
    data = text.encode() if isinstance(text, str) else text
    with open(path, "wb") as f:
        f.write(data)


def write_errno(path, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
    """Write data to path with raw syscalls; return the errno of the first
    failing step (open, write or close), or 0 when everything succeeded."""
    if isinstance(data, str):
        data = data.encode()
    try:
        fd = os.open(path, flags, mode)
    except OSError as e:
        return e.errno
    err = 0
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError as e:
        err = e.errno
    try:
        os.close(fd)
    except OSError as e:
        err = err or e.errno
    return err


def errname(num):
    return errno.errorcode.get(num, str(num)) if num else "success"


def is_mp4(data):
    """An MP4 (ISO BMFF) file starts with an ftyp box."""
    return len(data) >= 8 and data[4:8] == b"ftyp"


def mp4_boxes(data):
    """Top-level boxes as (type, size); raises AssertionError on a box that
    runs past the end of the data (a truncated file)."""
    boxes = []
    pos = 0
    while pos < len(data):
        assert pos + 8 <= len(data), f"truncated box header at {pos}"
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            assert pos + 16 <= len(data), f"truncated large box header at {pos}"
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = len(data) - pos
        assert size >= 8, f"bad box size {size} at {pos}"
        assert pos + size <= len(data), \
            f"box {kind!r} at {pos} needs {size} bytes, file has {len(data) - pos}"
        boxes.append((kind.decode("latin-1"), size))
        pos += size
    return boxes


def minimal_mp4(payload=4096):
    """A small structurally valid MP4: ftyp, free and mdat boxes."""
    ftyp = struct.pack(">I4s4sI", 24, b"ftyp", b"isom", 0x200) + b"isomiso2"
    free = struct.pack(">I4s", 16, b"free") + b"sora2fs-tests..."
    mdat = struct.pack(">I4s", 8 + payload, b"mdat") + bytes(range(256)) * (payload // 256) \
        + bytes(payload % 256)
    return ftyp + free + mdat


def sample_mp4():
    """tests/sim/tiny.mp4 when the simulator ships one, else minimal_mp4()."""
    tiny = REPO / "tests" / "sim" / "tiny.mp4"
    if tiny.is_file():
        return tiny.read_bytes()
    return minimal_mp4()


def run(cmd, timeout=30, **kw):
    """Run a command (list, or a string for sh -c); capture text output."""
    if isinstance(cmd, str):
        cmd = ["sh", "-c", cmd]
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=scaled(timeout), **kw)


def closed_port():
    """A TCP port on 127.0.0.1 that nothing listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------- jobs

def job_dir(mnt, name, kind="jobs"):
    return Path(mnt) / kind / name


def job_file(mnt, name, fname, kind="jobs"):
    """Content of one file of a job directory, surrounding white space removed;
    None when it does not exist."""
    try:
        return read(job_dir(mnt, name, kind) / fname).strip()
    except FileNotFoundError:
        return None


def job_status(mnt, name, kind="jobs"):
    return job_file(mnt, name, "status", kind)


def describe_job(mnt, name, kind="jobs"):
    parts = []
    for f in ("status", "progress", "id", "error"):
        parts.append(f"{f}={job_file(mnt, name, f, kind)!r}")
    return f"{kind}/{name}: " + " ".join(parts)


def wait_status(mnt, name, statuses, timeout=15, kind="jobs"):
    """Wait until jobs/NAME/status is one of `statuses` and return it.

    Fails early when the job reaches a final status that was not asked for,
    with the job's error in the message.
    """
    if isinstance(statuses, str):
        statuses = {statuses}
    statuses = set(statuses)

    def check():
        st = job_status(mnt, name, kind)
        if st in statuses:
            return st
        if st in FINAL:
            raise AssertionError(
                f"job reached {st!r} while waiting for {sorted(statuses)}: "
                + describe_job(mnt, name, kind))
        return None

    try:
        return wait_for(check, timeout, f"{kind}/{name} to become {sorted(statuses)}")
    except AssertionError as e:
        if "timed out" in str(e):
            raise AssertionError(f"{e}; {describe_job(mnt, name, kind)}") from None
        raise


def drop(mnt, fname, text, kind="jobs"):
    """Write a prompt file into jobs/ (open, write, close) and return its path."""
    path = Path(mnt) / kind / fname
    write(path, text)
    return path


def ctl(mnt, name, command, kind="jobs"):
    """Write one command to jobs/NAME/ctl; return the errno (0 on success)."""
    return write_errno(job_dir(mnt, name, kind) / "ctl", command + "\n",
                       flags=os.O_WRONLY | os.O_TRUNC)


# --------------------------------------------------------------- sora2-sim

class Sim:
    """One sora2-sim process on a free port.

    Options become command-line flags: gen_time=1 -> --gen-time 1,
    quiet=True -> --quiet, fault=["submit=http503:2"] -> --fault submit=http503:2.
    """

    def __init__(self, workdir, binary=None, **opts):
        binary = binary or SIM
        if not os.access(binary, os.X_OK):
            raise AssertionError(
                f"sora2-sim not found at {binary}: build it (meson setup build && "
                "ninja -C build) or set SORA2_SIM")
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        port_file = self.dir / "port"
        opts.setdefault("gen_time", 1)
        opts.setdefault("quiet", True)
        argv = [binary, "--port", "0", "--port-file", str(port_file)]
        for key, value in opts.items():
            flag = "--" + key.replace("_", "-")
            if key == "fault":
                for f in ([value] if isinstance(value, str) else value):
                    argv += ["--fault", f]
            elif value is True:
                argv.append(flag)
            elif value is False or value is None:
                continue
            else:
                argv += [flag, str(value)]
        self.argv = argv
        self.log_path = self.dir / "sim.log"
        self._log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env)
        self.stopped = False
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def port():
            if self.proc.poll() is not None:
                raise AssertionError(f"sora2-sim exited with {self.proc.returncode}: "
                                     + self.log())
            text = port_file.read_text().strip()
            return int(text) if text.isdigit() else None

        self.port = wait_for(port, 10, "sora2-sim to write its port file")
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with self._opener.open(req, timeout=scaled(10)) as r:
            raw = r.read()
        return json.loads(raw) if raw.strip() else None

    def fault(self, kind, mode, count=-1, **kw):
        """Inject a fault: kind submit|poll|download|account|all, mode as in
        the simulator (http503, reset_after_create, stall, truncate, ...)."""
        return self._call("POST", "/_sim/fault", dict(kind=kind, mode=mode, count=count, **kw))

    def clear(self, kind="all"):
        return self.fault(kind, "none")

    def config(self, **kw):
        return self._call("POST", "/_sim/config", kw)

    def stats(self):
        return self._call("GET", "/_sim/stats")

    def tasks(self):
        return self.stats()["tasks"]

    def tasks_created(self):
        return self.stats()["tasks_created"]

    def requests(self, path):
        return self.stats().get("requests", {}).get(path, 0)

    def expire(self, task_id):
        return self._call("POST", "/_sim/expire", {"id": task_id})

    def finish(self, task_id):
        return self._call("POST", "/_sim/finish", {"id": task_id})

    def reset(self):
        return self._call("POST", "/_sim/reset", {})

    def stop(self):
        """Stop the simulator; returns a problem description if it had died."""
        if self.stopped:
            return None
        self.stopped = True
        problem = None
        if self.proc.poll() is not None:
            problem = (f"sora2-sim died during the test (exit {self.proc.returncode}); "
                       f"log:\n{self.log()}")
        else:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=scaled(5))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return problem


# --------------------------------------------------------------- sora2fs

# Always a failure, whatever the test expected.
FATAL_LOG = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)"
                       r"|WARNING: ThreadSanitizer|runtime error:|Assertion .* failed")
# Lines a test must declare (Mount.expect_log) to be tolerated.
NOTABLE_LOG = re.compile(r"warning:|error:", re.IGNORECASE)


class Mount:
    """A sora2fs daemon in the foreground on MNT, backed by STUDIO.

    sora2fs -f -o api_url=SIM -o poll_interval=0.2 -o timeout=5
            -o connect_timeout=2 [-o OPT ...] STUDIO MNT

    opts: extra -o options (list of "name=value" strings, or a dict); they come
    last, so they override the defaults above. args: other arguments (["-s"]).
    api_url=False leaves api_url out (host tests). studio_arg=False leaves
    STUDIO off the command line.
    """

    def __init__(self, base, sim=None, studio=None, mnt=None, opts=(), key=DEFAULT_KEY,
                 api_url=True, studio_arg=True, env=None, defaults=True, args=()):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.sim = sim
        self.studio = Path(studio) if studio else self.base / "studio"
        self.mnt = Path(mnt) if mnt else self.base / "mnt"
        self.mnt.mkdir(parents=True, exist_ok=True)
        if isinstance(opts, dict):
            opts = [f"{k}={v}" if v is not True else k for k, v in opts.items()]
        self.opts = list(opts)
        self.args = list(args)
        self.key = key
        self.api_url = api_url
        self.studio_arg = studio_arg
        self.env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        if env:
            self.env.update(env)
        self.defaults = defaults
        self.expected = []
        self.secrets = set()
        self.runs = []          # [{"log": Path, "rc": int|None, "killed": bool}]
        self.proc = None
        self.mounted = False

    # paths
    @property
    def jobs(self):
        return self.mnt / "jobs"

    @property
    def videos(self):
        return self.mnt / "videos"

    @property
    def config(self):
        return self.mnt / "config"

    @property
    def data(self):
        return self.studio / "data"

    @property
    def downloads(self):
        return self.studio / "downloads"

    def config_json(self):
        return read_json(self.data / "config.json")

    def history_json(self):
        return read_json(self.data / "history.json")

    def argv(self, foreground=True):
        argv = WRAPPER + [SORA2FS] + (["-f"] if foreground else []) + self.args
        if self.api_url:
            url = self.api_url if isinstance(self.api_url, str) else self.sim.url
            argv += ["-o", f"api_url={url}"]
        if self.defaults:
            argv += ["-o", "poll_interval=0.2", "-o", "timeout=5", "-o", "connect_timeout=2"]
        for o in self.opts:
            argv += ["-o", o]
        if self.studio_arg:
            argv.append(str(self.studio))
        argv.append(str(self.mnt))
        return argv

    def start(self, write_key=True):
        if not os.access(SORA2FS, os.X_OK):
            raise AssertionError(f"sora2fs not found at {SORA2FS}: build it (meson setup "
                                 "build && ninja -C build) or set SORA2FS")
        log_path = self.base / f"sora2fs.{len(self.runs)}.log"
        run_ = {"log": log_path, "rc": None, "killed": False, "argv": self.argv()}
        self.runs.append(run_)
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(run_["argv"], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, env=self.env)
        self.mounted = True

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"sora2fs exited with {self.proc.returncode} "
                                     f"before mounting:\n{self.log_text()}")
            if not os.path.ismount(self.mnt):
                return False
            try:
                return bool(read(self.mnt / "README"))
            except OSError:
                return False

        wait_for(ready, 10, f"sora2fs to mount {self.mnt}")
        if write_key and self.key:
            self.write_key(self.key)
        return self

    def write_key(self, key, name="api_key"):
        self.secrets.add(key)
        write(self.config / name, key + "\n")

    def expect_log(self, *regexes):
        """Declare warning/error lines this test expects from the daemon."""
        for r in regexes:
            self.expected.append(re.compile(r, re.IGNORECASE))

    def log_text(self, all_runs=True):
        runs = self.runs if all_runs else self.runs[-1:]
        return "".join(Path(r["log"]).read_text(errors="replace")
                       for r in runs if Path(r["log"]).exists())

    def wait_log(self, regex, timeout=5):
        """Wait until the daemon's log has a line matching regex; return it."""
        rx = re.compile(regex, re.IGNORECASE)

        def find():
            for line in self.log_text().splitlines():
                if rx.search(line):
                    return line
            return None
        return wait_for(find, timeout, f"a log line matching {regex!r}")

    def _finish(self, run_, kill_after):
        try:
            run_["rc"] = self.proc.wait(timeout=scaled(kill_after))
        except subprocess.TimeoutExpired:
            run_["hung"] = True
            self.proc.kill()
            run_["rc"] = self.proc.wait()

    def umount(self):
        """fusermount3 -u -z, then wait for the daemon to exit (kill after 10 s)."""
        if not self.mounted:
            return
        self.mounted = False
        run_ = self.runs[-1]
        r = subprocess.run(["fusermount3", "-u", "-z", str(self.mnt)],
                           capture_output=True, text=True)
        run_["umount"] = (r.returncode, r.stderr.strip())
        self._finish(run_, 10)

    def kill9(self):
        """Crash the daemon (SIGKILL), then clean up the dead mount."""
        run_ = self.runs[-1]
        run_["killed"] = True
        self.proc.send_signal(signal.SIGKILL)
        run_["rc"] = self.proc.wait()
        subprocess.run(["fusermount3", "-u", "-z", str(self.mnt)], capture_output=True)
        self.mounted = False

    def remount(self, **kw):
        self.umount()
        return self.start(write_key=False, **kw)

    def problems(self):
        """What went wrong with the daemon during the test, as text lines."""
        problems = []
        for i, run_ in enumerate(self.runs):
            tag = f"sora2fs run {i} ({run_['log'].name})"
            if run_.get("hung"):
                problems.append(f"{tag}: did not exit within {scaled(10):.0f}s of "
                                "fusermount3 -u -z; killed")
            elif not run_["killed"] and run_["rc"] not in (0, None):
                problems.append(f"{tag}: exited with status {run_['rc']}")
            um = run_.get("umount")
            if um and um[0] != 0 and not run_.get("refused"):
                problems.append(f"{tag}: fusermount3 -u -z failed: {um[1]}")
            try:
                text = run_["log"].read_text(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                if FATAL_LOG.search(line):
                    problems.append(f"{tag}: {line}")
                elif NOTABLE_LOG.search(line) and not any(r.search(line) for r in self.expected):
                    problems.append(f"{tag}: unexpected log line: {line}")
            for secret in self.secrets:
                if secret and secret in text:
                    problems.append(f"{tag}: a secret ({secret[:6]}…) appears in the log")
        return problems
