"""characters/: character requests dropped as JSON files, from a video URL, from
the pid of a video made earlier, or from a local video file; bad requests; a
character task surviving a remount."""

import base64
import errno
import json
import os
import re

import pytest

from util import (DEFAULT_KEY, drop, errname, job_dir, job_file, read, read_json,
                  sample_mp4, stays, wait_for, wait_status, write, write_errno)

UPLOAD = "/v1/video/sora-upload-character"
CREATE = "/v1/video/sora-create-character"
KIND = "characters"


def character(mnt, name, fname):
    """Content of one file of characters/NAME/, stripped (None if missing)."""
    return job_file(mnt, name, fname, kind=KIND)


def no_character_task(sim):
    s = sim.stats()
    return (s["tasks_created"] == 0 and s["requests"].get(UPLOAD, 0) == 0
            and s["requests"].get(CREATE, 0) == 0)


def check_succeeded_character(mount, sim, name, endpoint):
    """The common end state of a character job: succeeded, with its id, its
    character_id and the task object, matching what the simulator holds."""
    wait_status(mount.mnt, name, "succeeded", kind=KIND)
    d = job_dir(mount.mnt, name, KIND)
    cid = character(mount.mnt, name, "character_id")
    assert cid and re.fullmatch(r"[\w-]+\.sora", cid), cid
    assert read(d / "character_id") == cid + "\n"
    result = read_json(d / "result.json")
    assert result["status"] == "succeeded"
    assert result["results"][0]["character_id"] == cid
    task = [t for t in sim.tasks() if t["endpoint"] == endpoint]
    assert len(task) == 1, sim.tasks()
    assert character(mount.mnt, name, "id") == task[0]["id"] == result["id"]
    assert character(mount.mnt, name, "error") == ""
    assert not os.path.exists(d / "video")
    return task[0], cid


def test_upload_from_url(mount, sim):
    drop(mount.mnt, "alice.json",
         json.dumps({"url": "https://example.com/v.mp4", "timestamps": "0,3"}), kind=KIND)
    assert "alice" in os.listdir(mount.mnt / KIND)
    assert "alice.json" not in os.listdir(mount.mnt / KIND)
    task, _ = check_succeeded_character(mount, sim, "alice", UPLOAD)

    assert task["body"]["url"] == "https://example.com/v.mp4"
    assert task["body"]["timestamps"] == "0,3"
    assert sim.tasks_created() == 1

    d = job_dir(mount.mnt, "alice", KIND)
    req_text = read(d / "request.json")
    req = json.loads(req_text)
    assert req["url"] == "https://example.com/v.mp4"
    assert req["timestamps"] == "0,3"
    assert "pid" not in req and "prompt" not in req and "model" not in req
    assert DEFAULT_KEY not in req_text and "Bearer" not in req_text


def test_create_from_pid_of_earlier_video(mount, sim):
    drop(mount.mnt, "fox.txt", "a red fox looking at the camera\n")
    wait_status(mount.mnt, "fox", "succeeded")
    pid = job_file(mount.mnt, "fox", "pid")
    assert pid and re.fullmatch(r"s_[0-9a-f]{32}", pid), pid
    result = read_json(job_dir(mount.mnt, "fox") / "result.json")
    assert result["results"][0]["pid"] == pid
    assert os.getxattr(mount.videos / "fox.mp4", "user.sora2.pid").decode() == pid

    drop(mount.mnt, "foxy.json", json.dumps({"pid": pid, "timestamps": "0,3"}), kind=KIND)
    task, cid = check_succeeded_character(mount, sim, "foxy", CREATE)
    assert task["body"]["pid"] == pid
    assert "url" not in task["body"]
    assert read_json(job_dir(mount.mnt, "foxy", KIND) / "request.json")["pid"] == pid
    assert sim.tasks_created() == 2


@pytest.mark.parametrize("timestamps", ["0,5", "3,1", "x"])
def test_bad_timestamps(mount, sim, timestamps):
    mount.expect_log(r"timestamps")
    err = write_errno(mount.mnt / KIND / "bob.json",
                      json.dumps({"url": "https://example.com/v.mp4", "timestamps": timestamps}))
    assert err == errno.EINVAL, errname(err)
    assert character(mount.mnt, "bob", "status") == "failed"
    assert "timestamps" in character(mount.mnt, "bob", "error")
    stays(lambda: no_character_task(sim), 0.5, "nothing submitted")


@pytest.mark.parametrize("request_", [
    {"url": "https://example.com/v.mp4", "pid": "s_" + "0" * 32, "timestamps": "0,3"},
    {"timestamps": "0,3"},
], ids=["url-and-pid", "neither"])
def test_url_xor_pid(mount, sim, request_):
    mount.expect_log(r"url|pid")
    err = write_errno(mount.mnt / KIND / "carol.json", json.dumps(request_))
    assert err == errno.EINVAL, errname(err)
    assert character(mount.mnt, "carol", "status") == "failed"
    error = character(mount.mnt, "carol", "error")
    assert "url" in error and "pid" in error, error
    stays(lambda: no_character_task(sim), 0.5, "nothing submitted")


def check_sent_as_base64(mount, sim, name, data, shown_name):
    """The upload body carries the local file as a data: URL (the simulator
    records long values as "<N bytes>"), and request.json says so."""
    expected = "data:video/mp4;base64," + base64.b64encode(data).decode()
    task, _ = check_succeeded_character(mount, sim, name, UPLOAD)
    sent = task["body"]["url"]
    assert sent in (expected, f"<{len(expected)} bytes>"), sent[:120]
    req = read_json(job_dir(mount.mnt, name, KIND) / "request.json")
    assert re.fullmatch(rf"<local file .*{re.escape(shown_name)}, {len(data)} bytes, "
                        r"sent as base64>", req["url"]), req["url"]
    assert sim.tasks_created() == 1


def test_local_hidden_file_in_characters(mount, sim):
    clip = sample_mp4()
    write(mount.mnt / KIND / ".clip.mp4", clip)
    assert ".clip.mp4" in os.listdir(mount.mnt / KIND)
    drop(mount.mnt, "dave.json", json.dumps({"url": ".clip.mp4", "timestamps": "0,3"}),
         kind=KIND)
    check_sent_as_base64(mount, sim, "dave", clip, ".clip.mp4")


def test_local_absolute_path(mount, sim, tmp_path):
    clip = sample_mp4()
    path = tmp_path / "clip.mp4"
    path.write_bytes(clip)
    drop(mount.mnt, "erin.json", json.dumps({"url": str(path), "timestamps": "1,3.5"}),
         kind=KIND)
    check_sent_as_base64(mount, sim, "erin", clip, str(path))


@pytest.mark.sim(gen_time=60)
def test_remount_while_running_resumes(mount, sim):
    drop(mount.mnt, "frank.json",
         json.dumps({"url": "https://example.com/v.mp4", "timestamps": "0,3"}), kind=KIND)
    wait_status(mount.mnt, "frank", "running", kind=KIND)
    task_id = wait_for(lambda: character(mount.mnt, "frank", "id"), 5, "the task id")
    assert sim.tasks_created() == 1

    mount.remount()
    assert character(mount.mnt, "frank", "id") == task_id
    assert character(mount.mnt, "frank", "status") in {"queued", "running"}
    sim.finish(task_id)
    check_succeeded_character(mount, sim, "frank", UPLOAD)
    assert sim.tasks_created() == 1
