"""Bounded resources: prompt and drop sizes, numbers from the server, video size.

* A 10 MiB prompt is refused at write() with EFBIG and never submitted (text
  drops: 1 MiB of prompt + 64 KiB of front matter; JSON drops 32 MiB; the prompt
  text itself at most 1 MiB).
* Numbers no server should send (code 1e300, progress 1e300 / -5 / "nan", huge
  numeric strings) are range-checked before any conversion: no crash, no
  undefined behaviour (run under UBSan in CI's sanitizer pass).
* A video bigger than max_video_size (default 4096 MiB) is refused: the job fails
  with the reason, nothing lands in videos/, no temp file is left.
"""

import errno
import os

import pytest

from util import (drop, job_file, read, scaled, stays, wait_for, wait_status, write_errno)

MiB = 1024 * 1024


def test_ten_mib_prompt_is_refused_at_write(mount, sim):
    mount.expect_log(r"larger than .* refused")
    e = write_errno(mount.jobs / "big.txt", "a" * (10 * MiB))
    assert e == errno.EFBIG, errno.errorcode.get(e, e)
    # what reached the file before the limit is dropped with it: never billed
    assert not os.path.exists(mount.jobs / "big.txt")
    assert job_file(mount.mnt, "big", "status") is None
    assert stays(lambda: sim.tasks_created() == 0, scaled(1), "no submit")
    # a truncate past the limit is refused too
    fd = os.open(mount.jobs / "t.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with pytest.raises(OSError) as ei:
            os.ftruncate(fd, 10 * MiB)
        assert ei.value.errno == errno.EFBIG
    finally:
        os.close(fd)
    os.unlink(mount.jobs / "t.txt")


def test_big_prompt_in_json_fails_with_reason(mount, sim):
    mount.expect_log(r"prompt is \d+ bytes long")
    text = '{"prompt": "' + "b" * (2 * MiB) + '"}'
    assert write_errno(mount.jobs / "bigj.json", text) == errno.EINVAL
    assert job_file(mount.mnt, "bigj", "status") == "failed"
    assert "at most 1048576" in job_file(mount.mnt, "bigj", "error")
    # just under the limit is fine
    drop(mount.mnt, "ok.txt", "c" * (PROMPT_OK := 1000 * 1000) + "\n")
    wait_status(mount.mnt, "ok", "succeeded", timeout=20)
    assert sim.tasks_created() == 1
    assert PROMPT_OK < MiB


@pytest.mark.parametrize("body", [
    '{"code":1e300,"msg":"huge","data":null}',
    '{"code":-1e300,"msg":"huge","data":null}',
    '{"code":1e999,"msg":"inf","data":null}',
    '{"code":"99999999999999999999999","msg":"x","data":null}',
    '{"code":0.5,"msg":"half","data":null}',
])
def test_out_of_range_code_on_submit(mount, sim, body):
    mount.expect_log(r".")  # whatever the engine says about such answers
    sim.fault("submit", "raw", count=1, msg=body)
    drop(mount.mnt, "n.txt", "numbers\n")
    wait_for(lambda: job_file(mount.mnt, "n", "error") or
             job_file(mount.mnt, "n", "status") in ("failed", "running", "succeeded"),
             10, "the engine to react to the odd answer")
    assert mount.proc.poll() is None, "the daemon died"
    assert read(mount.mnt / "README")


@pytest.mark.sim(gen_time=30)
def test_out_of_range_progress_on_poll(mount, sim):
    mount.expect_log(r".")
    drop(mount.mnt, "p.txt", "progress\n")
    wait_status(mount.mnt, "p", "running")
    tid = job_file(mount.mnt, "p", "id")
    for progress in ("1e300", "-1e300", "-5", "1e999", '"nan"', '"1e300%"', '"-inf"'):
        polls = sim.requests("/v1/draw/result")
        body = ('{"code":0,"msg":"ok","data":{"id":"%s","status":"running","progress":%s,'
                '"results":[]}}' % (tid, progress))
        sim.fault("poll", "raw", count=1, msg=body)
        wait_for(lambda: sim.requests("/v1/draw/result") > polls + 1, 10, "a poll")
        p = job_file(mount.mnt, "p", "progress")
        assert p is not None and 0 <= int(p) <= 100, (progress, p)
        assert mount.proc.poll() is None, "the daemon died"
    sim.clear()
    sim.finish(tid)
    wait_status(mount.mnt, "p", "succeeded", timeout=20)


@pytest.mark.sim(video_size=3 * MiB)
def test_oversize_download_is_refused(mount_factory, sim):
    m = mount_factory(opts=["max_video_size=1"])
    m.expect_log(r"larger than max_video_size")
    drop(m.mnt, "huge.txt", "a huge video\n")
    wait_status(m.mnt, "huge", "failed", timeout=20)
    assert "larger than max_video_size" in job_file(m.mnt, "huge", "error")
    assert os.listdir(m.videos) == []
    assert [f for f in os.listdir(m.downloads) if f.endswith(".part")] == []
    assert sim.tasks_created() == 1


def test_bad_max_video_size_is_refused(mount_factory):
    import subprocess
    m = mount_factory(start=False, opts=["max_video_size=0"])
    r = subprocess.run(m.argv(), capture_output=True, text=True, timeout=scaled(10),
                       stdin=subprocess.DEVNULL, env=m.env)
    assert r.returncode != 0 and "max_video_size" in r.stderr, r
    assert not os.path.ismount(m.mnt)
