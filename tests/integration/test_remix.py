"""Remixes and reference images: remixTargetId and url in dropped prompts, with
http(s) URLs and local image files (sent as base64)."""

import base64
import errno
import json
import os
import re
import struct
import zlib

import pytest

from util import (drop, errname, job_dir, job_file, read_json, stays, wait_for,
                  wait_status, write, write_errno)

pytestmark = pytest.mark.sim(gen_time=0.5)


def tiny_png():
    """A valid 1x1 grey PNG (signature, IHDR, IDAT, IEND): a few dozen bytes."""
    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def earlier_video(mount, name="orig"):
    """Generate a video and return its pid."""
    drop(mount.mnt, name + ".txt", "a paper boat on a puddle\n")
    wait_status(mount.mnt, name, "succeeded")
    pid = job_file(mount.mnt, name, "pid")
    assert pid and re.fullmatch(r"s_[0-9a-f]{32}", pid), pid
    return pid


def body_for(sim, prompt):
    """The body the simulator recorded for the task with this prompt."""
    bodies = [t["body"] for t in sim.tasks() if t["body"].get("prompt") == prompt]
    assert len(bodies) == 1, sim.tasks()
    return bodies[0]


def submitted(sim, prompt):
    return wait_for(lambda: any(t["body"].get("prompt") == prompt for t in sim.tasks()),
                    10, f"the task for {prompt!r} to be submitted")


def front_matter(text, **params):
    lines = ["---"] + [f"{k}: {v}" for k, v in params.items()] + ["---", text, ""]
    return "\n".join(lines)


def test_remix_front_matter(mount, sim):
    pid = earlier_video(mount)
    drop(mount.mnt, "night.txt", front_matter("the same boat at night", remixTargetId=pid))
    wait_status(mount.mnt, "night", "succeeded")
    assert body_for(sim, "the same boat at night")["remixTargetId"] == pid
    assert read_json(job_dir(mount.mnt, "night") / "request.json")["remixTargetId"] == pid
    assert sim.tasks_created() == 2


@pytest.mark.parametrize("bad", ["s_1234", "x_" + "0123456789abcdef" * 2, "s_" + "g" * 32])
def test_remix_invalid_id(mount, sim, bad):
    mount.expect_log(r"remixTargetId")
    err = write_errno(mount.jobs / "bad.txt", front_matter("a boat", remixTargetId=bad))
    assert err == errno.EINVAL, errname(err)
    assert job_file(mount.mnt, "bad", "status") == "failed"
    assert "remixTargetId" in job_file(mount.mnt, "bad", "error")
    stays(lambda: sim.tasks_created() == 0, 0.5, "nothing submitted")


def test_url_https_unchanged(mount, sim):
    url = "https://example.com/refs/boat.png?size=large&v=2"
    drop(mount.mnt, "ref.txt", front_matter("a boat like this one", url=url))
    wait_status(mount.mnt, "ref", "succeeded")
    assert body_for(sim, "a boat like this one")["url"] == url
    assert read_json(job_dir(mount.mnt, "ref") / "request.json")["url"] == url


def check_png_sent(mount, sim, job, prompt, png, shown_name):
    """The body's url is the PNG as a data: URL; request.json describes it."""
    submitted(sim, prompt)
    expected = "data:image/png;base64," + base64.b64encode(png).decode()
    sent = body_for(sim, prompt)["url"]
    assert sent in (expected, f"<{len(expected)} bytes>"), sent[:120]
    req = read_json(job_dir(mount.mnt, job) / "request.json")
    assert re.fullmatch(rf"<local file .*{re.escape(shown_name)}, {len(png)} bytes, "
                        r"sent as base64>", req["url"]), req["url"]
    wait_status(mount.mnt, job, "succeeded")


def test_url_absolute_local_png(mount, sim, tmp_path):
    png = tiny_png()
    path = tmp_path / "boat.png"
    path.write_bytes(png)
    drop(mount.mnt, "local.txt", front_matter("a boat from my photo", url=path))
    check_png_sent(mount, sim, "local", "a boat from my photo", png, str(path))


def test_url_hidden_file_in_jobs(mount, sim):
    png = tiny_png()
    write(mount.jobs / ".ref.png", png)
    drop(mount.mnt, "hidden.txt", front_matter("a boat from the hidden file", url=".ref.png"))
    check_png_sent(mount, sim, "hidden", "a boat from the hidden file", png, ".ref.png")
    # the reference file stays where the user put it
    assert (mount.jobs / ".ref.png").read_bytes() == png


@pytest.mark.parametrize("where", ["absolute", "relative"])
def test_url_missing_local_file(mount, sim, tmp_path, where):
    mount.expect_log(r"nothere\.png")
    path = str(tmp_path / "nothere.png") if where == "absolute" else ".nothere.png"
    err = write_errno(mount.jobs / "missing.txt", front_matter("a boat", url=path))
    assert err == errno.EINVAL, errname(err)
    assert job_file(mount.mnt, "missing", "status") == "failed"
    assert "nothere.png" in job_file(mount.mnt, "missing", "error")
    stays(lambda: sim.tasks_created() == 0, 0.5, "nothing submitted")


def test_url_outside_jobs_refused(mount, sim):
    mount.expect_log(r"outside\.png|url")
    # Where "../outside.png" would lead from the scratch folder behind jobs/
    # (docs/DESIGN.md, on-disk layout): the file exists, and is still refused.
    scratch = mount.data / "sora2fs" / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "outside.png").write_bytes(tiny_png())
    err = write_errno(mount.jobs / "escape.txt", front_matter("a boat", url="../outside.png"))
    assert err == errno.EINVAL, errname(err)
    assert job_file(mount.mnt, "escape", "status") == "failed"
    stays(lambda: sim.tasks_created() == 0, 0.5, "nothing submitted")


def test_url_local_file_over_20_mib(mount, sim, tmp_path):
    mount.expect_log(r"big\.png")
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.write(tiny_png())
        f.truncate(20 * 1024 * 1024 + 1)
    err = write_errno(mount.jobs / "big.txt", front_matter("a huge boat", url=big))
    assert err == errno.EINVAL, errname(err)
    assert job_file(mount.mnt, "big", "status") == "failed"
    assert "big.png" in job_file(mount.mnt, "big", "error")
    stays(lambda: sim.tasks_created() == 0, 0.5, "nothing submitted")


def test_json_drop_with_remix_and_url(mount, sim):
    pid = earlier_video(mount)
    url = "https://example.com/refs/sail.jpg"
    drop(mount.mnt, "mix.json", json.dumps({"prompt": "the boat with a red sail",
                                            "remixTargetId": pid, "url": url}))
    wait_status(mount.mnt, "mix", "succeeded")
    body = body_for(sim, "the boat with a red sail")
    assert (body["remixTargetId"], body["url"]) == (pid, url)
    assert sim.tasks_created() == 2
    assert os.path.exists(mount.videos / "mix.mp4")
