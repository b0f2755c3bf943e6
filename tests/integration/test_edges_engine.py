"""The engine's promises at the edges (issue 7): a cancelled job is never sent,
secrets echoed by the API never reach a file, retry starts a fresh budget.

Each test goes through a real mount against sora2-sim."""
import errno
import json
import os
import socket

import pytest

from util import (ctl, drop, job_file, job_status, read, stays, wait_for, wait_status,
                  write_errno)

SUBMIT = "/v1/video/sora-video"


class HangingPort:
    """A TCP port on 127.0.0.1 whose connects never complete: a listener with a
    full accept queue that never accepts, so the kernel drops every new SYN and
    the client waits for its connect timeout (a host that is timing out)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(s)

    def close(self):
        for s in self.fillers:
            s.close()
        self.listener.close()


@pytest.fixture
def hanging_port():
    h = HangingPort()
    yield h
    h.close()


def records(m):
    """Every job record as text (whatever its layout under data/sora2fs/)."""
    out = []
    for root, _dirs, files in os.walk(m.data / "sora2fs"):
        for f in files:
            if f.endswith(".json"):
                try:
                    out.append(read(os.path.join(root, f)))
                except (OSError, UnicodeDecodeError):
                    pass
    return out


def submit_in_flight(m):
    return any(json.loads(t).get("submit") == "sending"
               for t in records(m) if t.strip().startswith("{"))


# --------------------------------------------------------------- bug 3

def test_cancel_while_first_host_times_out_is_never_sent(mount_factory, sim, hanging_port):
    """Drop, then cancel while the first host's connect is timing out: the
    engine must not fall over to the second host. Nothing is billed."""
    m = mount_factory(api_url=False, opts=[f"domestic_url=http://127.0.0.1:{hanging_port.port}",
                                           f"overseas_url={sim.url}", "connect_timeout=2",
                                           "verbose"])
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: submit_in_flight(m), 5, "the submit to be on its way to host 1")
    # "sending" is on disk just before the request leaves (persist): wait for it to leave
    m.wait_log(r"cat: submitting to http://127\.0\.0\.1:%d" % hanging_port.port)
    assert ctl(m.mnt, "cat", "cancel") == 0
    assert job_status(m.mnt, "cat") == "cancelled"
    # the connect to host 1 times out (2 s); the answer is recorded, nothing resent
    wait_for(lambda: "never reached the API" in (job_file(m.mnt, "cat", "error") or ""),
             10, "the error to say the submit never reached the API")
    stays(lambda: sim.requests(SUBMIT) == 0, 1.5, "no submit reached the second host")
    assert sim.tasks_created() == 0
    assert job_status(m.mnt, "cat") == "cancelled"
    assert not job_file(m.mnt, "cat", "id")
    assert "nothing was billed" in job_file(m.mnt, "cat", "error")


def test_cancel_while_submit_answered_records_the_task(mount_factory, sim):
    """The submit was already out when the job was cancelled and the API took
    it: the job stays cancelled, shows the task honestly, and is never resent."""
    sim.fault("submit", "slow", count=1, delay=2)
    m = mount_factory(opts=["verbose"])
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: submit_in_flight(m), 5, "the submit to be on its way")
    # "sending" is on disk just before the request leaves: a cancel in between
    # rightly stops it, so wait until it has left
    m.wait_log(r"cat: submitting to ")
    assert ctl(m.mnt, "cat", "cancel") == 0
    task_id = wait_for(lambda: job_file(m.mnt, "cat", "id"), 15, "the late answer's task id")
    assert job_status(m.mnt, "cat") == "cancelled"
    err = job_file(m.mnt, "cat", "error")
    assert task_id in err and "created" in err, err
    m.expect_log(r"cancelled, but the submit on its way was accepted", r"not possible now")
    stays(lambda: sim.tasks_created() == 1 and sim.requests(SUBMIT) == 1, 1,
          "exactly one submit")
    # cancel again: already cancelled; retry follows that very task, no new one
    assert ctl(m.mnt, "cat", "cancel") == errno.EINVAL
    assert ctl(m.mnt, "cat", "retry") == 0
    wait_status(m.mnt, "cat", "succeeded", timeout=20)
    assert sim.tasks_created() == 1


@pytest.mark.sim(fault=["submit=stall:1"])
def test_forget_while_submitting_is_never_resent(mount_factory, sim):
    m = mount_factory(opts=["timeout=2", "verbose"])
    m.expect_log(r"forgotten while its submit was on the way")
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: submit_in_flight(m), 5, "the submit to be on its way")
    m.wait_log(r"cat: submitting to ")  # it has left, not only been recorded
    os.rmdir(m.jobs / "cat")
    m.wait_log(r"warning: jobs/cat: forgotten while its submit was on the way", timeout=5)
    m.wait_log(r"forgotten while its submit was on the way \(", timeout=10)
    stays(lambda: sim.requests(SUBMIT) == 1, 1, "no second submit")


# --------------------------------------------------------------- bug 7

ECHO_KEY = "sk-echo-secret-9f8e7d6c5b4a"
ECHO_TOKEN = "tok-echo-secret-0a1b2c3d4e"


def all_files(root):
    for d, _dirs, files in os.walk(root):
        for f in files:
            yield os.path.join(d, f)


def files_holding(root, secret, skip=()):
    hits = []
    for p in all_files(root):
        if any(p.endswith(s) for s in skip):
            continue
        try:
            with open(p, "rb") as f:
                if secret.encode() in f.read():
                    hits.append(p)
        except OSError:
            pass
    return hits


@pytest.mark.sim(fault=["submit=echo_key"], gen_time=60)
def test_echoed_key_is_masked_everywhere(mount_factory, sim):
    m = mount_factory(key=ECHO_KEY)
    m.secrets.add(ECHO_TOKEN)
    m.expect_log(r"invalid api key", r"failed", r"refused")
    m.write_key(ECHO_TOKEN, name="token")
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_status(m.mnt, "cat", "failed")
    err = job_file(m.mnt, "cat", "error")
    assert "invalid api key sk-ech" in err, err
    assert ECHO_KEY not in err

    # a poll that echoes the key: error and result.json stay masked
    sim.clear()
    assert ctl(m.mnt, "cat", "retry") == 0
    wait_status(m.mnt, "cat", "running")
    sim.fault("poll", "echo_key")
    wait_for(lambda: "invalid api key" in (job_file(m.mnt, "cat", "error") or ""), 10,
             "the poll's echoed error")
    sim.clear()

    # account calls echo the key and the token
    sim.fault("account", "echo_key")
    for name in ("api_key_credits", "credits"):
        try:
            read(m.mnt / "account" / name)
            raise AssertionError(f"account/{name} read succeeded")
        except OSError as e:
            assert e.errno == errno.EACCES, e
        assert "invalid api key" in read(m.mnt / "account" / "error")
    sim.clear()

    # created keys are secrets too, however many
    created = []
    for i in range(3):
        assert write_errno(m.mnt / "account" / "new_api_key",
                           json.dumps({"name": f"k{i}"}).encode()) == 0
        created.append(json.loads(read(m.mnt / "account" / "new_api_key"))["key"])
    m.secrets |= set(created)
    sim.fault("submit", "echo_key")
    m.write_key(created[0])
    drop(m.mnt, "dog.txt", "a dog\n")
    wait_status(m.mnt, "dog", "failed")
    sim.clear()

    # nothing under the mount (but the key file that shows the key once, on
    # purpose) nor under data/ (but the Web Studio's config.json) holds a secret
    for secret in [ECHO_KEY, ECHO_TOKEN] + created[:1]:
        assert files_holding(m.mnt / "jobs", secret) == []
        assert secret not in read(m.mnt / "account" / "error")
        assert files_holding(m.data, secret, skip=("config.json",)) == []
        assert secret not in read(m.mnt / "history.json")
    # the log is checked for every secret by the fixture (Mount.problems)


# --------------------------------------------------------------- bug 8

@pytest.mark.sim(fault=["submit=http429"])
def test_retry_after_kept_refusing_gets_a_full_budget(mount_factory, sim):
    m = mount_factory(opts=["poll_interval=0.05"])
    m.expect_log(r"kept refusing")
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: "kept refusing" in (job_file(m.mnt, "cat", "error") or ""), 20,
             "the job to give up")
    assert job_status(m.mnt, "cat") == "failed"
    first = sim.requests(SUBMIT)
    assert first >= 5, first
    assert ctl(m.mnt, "cat", "retry") == 0
    wait_for(lambda: job_status(m.mnt, "cat") == "failed" and sim.requests(SUBMIT) > first,
             20, "the retried job to give up again")
    assert sim.requests(SUBMIT) - first == first, (first, sim.requests(SUBMIT))
    # and once the API takes it again, the job goes through
    sim.clear()
    assert ctl(m.mnt, "cat", "retry") == 0
    wait_status(m.mnt, "cat", "succeeded", timeout=20)
    assert sim.tasks_created() == 1
