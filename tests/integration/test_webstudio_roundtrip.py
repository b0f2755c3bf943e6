"""A Web Studio folder, laid out exactly as its core.py writes it, round-trips
through sora2fs (issue 8, items 9-11; formats in api-contract.md, last section).

core.py writes data/config.json {api_key, token, host_mode, query_defaults},
data/history.json [{file (absolute path), prompt, time (int), id, pid, url,
duration_seconds (int)}] appended oldest first, data/active_tasks.json
[{id, prompt, start_time (int)}], data/task_times.json {id: int} and videos as
downloads/sora_<unix seconds>.mp4. Its page stores UI state (character_refs)
in query_defaults and shows `time` with new Date(time * 1000).
"""

import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

from util import (drop, job_file, job_status, read, sample_mp4, scaled, wait_for,
                  wait_status, write_errno)

KEY = "sk-roundtrip-0123456789abcdef"
TOKEN = "tok-roundtrip"
OLD_NAME = "sora_1700000000.mp4"
OLD_PROMPT = "a lighthouse at dawn, waves breaking on the rocks"
TASK_PROMPT = "a cute cat"
QUERY_DEFAULTS = {"aspectRatio": "16:9", "character_refs": ["alice.sora", "bob.sora"]}
HISTORY_KEYS = {"file", "prompt", "time", "id", "pid", "url", "duration_seconds"}


def dump(path, value):
    # as core.py saves: json.dump(..., ensure_ascii=False, indent=2)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=2)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def start_task(sim, prompt):
    body = {"model": "sora-2", "prompt": prompt, "webHook": "-1"}
    req = urllib.request.Request(sim.url + "/v1/video/sora-video",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + KEY})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=scaled(10)) as r:
        answer = json.load(r)
    assert answer["code"] == 0, answer
    return answer["data"]["id"]


def web_studio_folder(root, sim):
    studio = Path(root)
    data, downloads = studio / "data", studio / "downloads"
    data.mkdir(parents=True)
    downloads.mkdir()
    downloads_abs = os.path.abspath(downloads)
    dump(data / "config.json", {"api_key": KEY, "token": TOKEN, "host_mode": "auto",
                                "query_defaults": QUERY_DEFAULTS})
    (downloads / OLD_NAME).write_bytes(sample_mp4())
    old = {"file": os.path.join(downloads_abs, OLD_NAME), "prompt": OLD_PROMPT,
           "time": 1700000000, "id": "8d0f3c4e-2b7a-4f61-9c55-1e2d3a4b5c6d",
           "pid": "s_0123456789abcdef0123456789abcdef",
           "url": "https://files.example.invalid/8d0f3c4e.mp4", "duration_seconds": 212}
    dump(data / "history.json", [old])
    task_id = start_task(sim, TASK_PROMPT)
    now = int(time.time())
    dump(data / "active_tasks.json", [{"id": task_id, "prompt": TASK_PROMPT, "start_time": now}])
    dump(data / "task_times.json", {task_id: now})
    return studio, task_id, old


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_formats(data, downloads):
    """What core.py expects, type by type."""
    cfg = load(data / "config.json")
    assert {"api_key", "token", "host_mode", "query_defaults"} <= set(cfg), cfg
    assert all(isinstance(cfg[k], str) for k in ("api_key", "token", "host_mode")), cfg
    assert isinstance(cfg["query_defaults"], dict), cfg
    history = load(data / "history.json")
    assert isinstance(history, list)
    for e in history:
        assert HISTORY_KEYS <= set(e), e
        assert isinstance(e["file"], str) and os.path.isabs(e["file"]), e
        assert os.path.dirname(e["file"]) == os.path.realpath(downloads), e
        assert isinstance(e["prompt"], str) and isinstance(e["id"], str), e
        assert is_int(e["time"]) and is_int(e["duration_seconds"]), e
        assert e["pid"] is None or isinstance(e["pid"], str), e
        assert e["url"] is None or isinstance(e["url"], str), e
    active = load(data / "active_tasks.json")
    assert isinstance(active, list)
    for t in active:
        assert isinstance(t["id"], str) and isinstance(t["prompt"], str), t
        assert is_int(t["start_time"]), t
    times = load(data / "task_times.json")
    assert isinstance(times, dict) and all(is_int(v) for v in times.values()), times
    return cfg, history, active, times


def test_web_studio_folder_round_trip(mount_factory, sim, tmp_path):
    studio, task_id, old = web_studio_folder(tmp_path / "studio", sim)
    m = mount_factory(studio=studio, key=None)
    m.secrets |= {KEY, TOKEN}
    mnt, data = m.mnt, studio / "data"

    # the old video's prompt, found by base name
    assert os.getxattr(mnt / "videos" / OLD_NAME, "user.xdg.comment").decode() == OLD_PROMPT
    # only request parameters are shown and sent
    assert os.listdir(mnt / "config" / "defaults") == ["aspectRatio"]

    # the unfinished task is finished
    wait_for(lambda: "a-cute-cat" in os.listdir(mnt / "jobs"), 5, "the adopted job")
    wait_status(mnt, "a-cute-cat", "succeeded")
    cat_video = os.path.basename(os.readlink(mnt / "jobs" / "a-cute-cat" / "video"))
    assert os.getxattr(mnt / "videos" / cat_video, "user.xdg.comment").decode() == TASK_PROMPT

    # a new job
    drop(mnt, "dog.txt", "a dog\n")
    wait_status(mnt, "dog", "succeeded")
    dog_video = os.path.basename(os.readlink(mnt / "jobs" / "dog" / "video"))
    assert os.getxattr(mnt / "videos" / dog_video, "user.xdg.comment").decode() == "a dog"
    body = [t["body"] for t in sim.tasks() if t["body"]["prompt"] == "a dog"][0]
    assert body["aspectRatio"] == "16:9" and "character_refs" not in body, body

    # the history as the mount shows it is the Web Studio's format
    shown = json.loads(read(mnt / "history.json"))
    assert [os.path.basename(e["file"]) for e in shown] == [OLD_NAME, cat_video, dog_video]

    # rm of the Web Studio's video removes its entry (matched by base name)
    os.unlink(mnt / "videos" / OLD_NAME)
    wait_for(lambda: all(os.path.basename(e["file"]) != OLD_NAME
                         for e in load(data / "history.json")), 5, "the entry gone")
    m.umount()

    cfg, history, active, times = check_formats(data, studio / "downloads")
    assert cfg["query_defaults"] == QUERY_DEFAULTS, "the Web Studio's UI state was changed"
    assert cfg["api_key"] == KEY and cfg["token"] == TOKEN
    # appended, oldest first; what core.py's page shows is a real date
    assert [os.path.basename(e["file"]) for e in history] == [cat_video, dog_video]
    assert history[0]["id"] == task_id and history[0]["prompt"] == TASK_PROMPT
    assert all(e["time"] >= old["time"] for e in history)
    assert active == []
    for e in history:  # core.py finds the file it names
        assert os.path.exists(e["file"]), e


def test_web_studio_entries_kept_as_they_are(mount_factory, sim, tmp_path):
    """A moved folder: the Web Studio's absolute paths point elsewhere; its
    entries still give the prompts and are not rewritten."""
    studio, task_id, old = web_studio_folder(tmp_path / "studio", sim)
    moved = dict(old, file="/somewhere/else/downloads/" + OLD_NAME)
    dump(studio / "data" / "history.json", [moved])
    m = mount_factory(studio=studio, key=None)
    m.secrets |= {KEY, TOKEN}
    assert os.getxattr(m.mnt / "videos" / OLD_NAME, "user.xdg.comment").decode() == OLD_PROMPT
    wait_status(m.mnt, "a-cute-cat", "succeeded")
    m.umount()
    history = load(studio / "data" / "history.json")
    assert history[0] == moved
    assert len(history) == 2 and os.path.isabs(history[1]["file"])


def test_json_files_stay_utf8_after_non_utf8_input(mount_factory, sim, tmp_path):
    studio, task_id, old = web_studio_folder(tmp_path / "studio", sim)
    m = mount_factory(studio=studio, key=None)
    m.secrets |= {KEY, TOKEN}
    m.expect_log(r"UTF-8")
    jobs = os.fsencode(str(m.jobs))
    # a Latin-1 file name, a Latin-1 key, a Latin-1 default, a Latin-1 prompt
    assert write_errno(jobs + b"/caf\xe9.txt", "a cat\n") != 0
    assert write_errno(m.config / "api_key", b"sk-caf\xe9\n") != 0
    assert write_errno(m.config / "defaults" / "size", b"sm\xe9ll\n") != 0
    write_errno(m.jobs / "latin.txt", b"caf\xe9 au lait\n")
    assert job_status(m.mnt, "latin") == "failed"
    wait_status(m.mnt, "a-cute-cat", "succeeded")
    m.umount()
    for p in sorted(studio.rglob("*.json")):
        load(p)  # Python's json.load, as the Web Studio reads them
    cfg, history, _, _ = check_formats(studio / "data", studio / "downloads")
    assert cfg["api_key"] == KEY and cfg["query_defaults"] == QUERY_DEFAULTS
    assert [os.path.basename(e["file"]) for e in history][0] == OLD_NAME
