"""Mounting a folder the original Sora2 Web Studio prepared: its config, history,
videos and unfinished tasks are taken over, and the folder stays one the Web
Studio can open again."""

import json
import os
import re
import shutil
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from util import (drop, job_file, read, read_json, sample_mp4, scaled, wait_for,
                  wait_status, write)

DATA = Path(__file__).parent / "data" / "webstudio"
STUDIO_CONFIG = json.loads((DATA / "config.json").read_text())
STUDIO_HISTORY = json.loads((DATA / "history.json").read_text())
STUDIO_KEY = STUDIO_CONFIG["api_key"]
STUDIO_TOKEN = STUDIO_CONFIG["token"]
# The Web Studio's history names a video by its absolute path; this one was
# written on another machine (a moved folder): it is matched by base name.
OLD_VIDEO = os.path.basename(STUDIO_HISTORY[0]["file"])   # sora_1700000000.mp4
UNFINISHED_PROMPT = "a cute cat"
HISTORY_KEYS = {"file", "prompt", "time", "id", "pid", "url", "duration_seconds"}


def start_task_like_the_web_studio(sim, prompt):
    """POST /v1/video/sora-video straight to the simulator, as the Web Studio's
    /generate/start does; returns the task id."""
    body = {"model": "sora-2", "prompt": prompt, "webHook": "-1"}
    req = urllib.request.Request(sim.url + "/v1/video/sora-video",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + STUDIO_KEY})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=scaled(10)) as r:
        answer = json.load(r)
    assert answer["code"] == 0, answer
    return answer["data"]["id"]


def make_studio(root, sim=None):
    """A Web Studio folder as the Web Studio leaves it: data/config.json (mode
    0644, as Python writes it, with a key sora2fs does not know), history.json
    with one video in downloads/, and, given a sim, one task still running
    upstream in active_tasks.json and task_times.json. Returns (studio, task id)."""
    studio = Path(root)
    data = studio / "data"
    downloads = studio / "downloads"
    data.mkdir(parents=True)
    downloads.mkdir()
    shutil.copy(DATA / "config.json", data / "config.json")
    os.chmod(data / "config.json", 0o644)
    shutil.copy(DATA / "history.json", data / "history.json")
    (downloads / OLD_VIDEO).write_bytes(sample_mp4())
    task_id = None
    active, times = [], {}
    if sim is not None:
        task_id = start_task_like_the_web_studio(sim, UNFINISHED_PROMPT)
        now = time.time()
        active = [{"id": task_id, "prompt": UNFINISHED_PROMPT, "start_time": int(now)}]
        times = {task_id: int(now)}
    (data / "active_tasks.json").write_text(json.dumps(active, indent=2))
    (data / "task_times.json").write_text(json.dumps(times, indent=2))
    return studio, task_id


def mount_studio(mount_factory, studio):
    """Mount the studio with api_url=sim and no key written by the test."""
    m = mount_factory(studio=studio, key=None)
    m.secrets |= {STUDIO_KEY, STUDIO_TOKEN}
    return m


def xattrs(path):
    return {n: os.getxattr(path, n).decode() for n in os.listxattr(path)}


def history_entry(entries, **match):
    """The one entry matching; file= matches the base name, as the Web Studio does."""
    def get(e, k):
        return os.path.basename(e.get(k) or "") if k == "file" else e.get(k)
    found = [e for e in entries if all(get(e, k) == v for k, v in match.items())]
    return found[0] if len(found) == 1 else None


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_history_entry(e):
    """The types core.py writes: file an absolute path, time and
    duration_seconds integers (Unix seconds), pid and url strings or null."""
    assert HISTORY_KEYS <= set(e), e
    for k in ("file", "prompt", "id"):
        assert isinstance(e[k], str), (k, e)
    for k in ("pid", "url"):
        assert e[k] is None or isinstance(e[k], str), (k, e)
    assert os.path.isabs(e["file"]), e
    assert is_int(e["duration_seconds"]), e
    assert is_int(e["time"]) and e["time"] > 1_600_000_000, e


def check_web_studio_formats(data):
    """Every file the Web Studio reads is valid JSON of the type it expects."""
    cfg = read_json(data / "config.json")
    assert isinstance(cfg, dict), cfg
    for k in ("api_key", "token", "host_mode"):
        assert isinstance(cfg[k], str), (k, cfg)
    assert cfg["host_mode"] in {"auto", "domestic", "overseas"}, cfg
    assert isinstance(cfg["query_defaults"], dict), cfg

    history = read_json(data / "history.json")
    assert isinstance(history, list), history
    for e in history:
        check_history_entry(e)

    active = read_json(data / "active_tasks.json")
    assert isinstance(active, list), active
    for t in active:
        assert {"id", "prompt", "start_time"} <= set(t), t
        assert isinstance(t["id"], str) and isinstance(t["prompt"], str), t
        assert is_int(t["start_time"]), t

    times = read_json(data / "task_times.json")
    assert isinstance(times, dict), times
    for v in times.values():
        assert is_int(v), times
    return cfg, history, active, times


def test_prepared_studio_is_taken_over(mount_factory, sim, tmp_path):
    studio, task_id = make_studio(tmp_path / "studio", sim)
    m = mount_studio(mount_factory, studio)
    mnt, data = m.mnt, studio / "data"

    # config: the studio's settings, masked where secret
    shown = read(mnt / "config" / "api_key").strip()
    assert STUDIO_KEY not in shown and "…" in shown, shown
    assert shown.startswith("sk-") and shown.endswith(STUDIO_KEY[-4:]), shown
    assert read(mnt / "config" / "host_mode").strip() == "auto"
    assert read(mnt / "config" / "defaults" / "aspectRatio").strip() == "16:9"
    assert read(mnt / "config" / "defaults" / "duration").strip() == "15"

    # the Web Studio's video, with its prompt
    assert OLD_VIDEO in os.listdir(mnt / "videos")
    old = STUDIO_HISTORY[0]
    assert xattrs(mnt / "videos" / OLD_VIDEO) == {
        "user.xdg.comment": old["prompt"], "user.xdg.origin.url": old["url"],
        "user.sora2.task_id": old["id"], "user.sora2.pid": old["pid"]}
    assert (mnt / "videos" / OLD_VIDEO).read_bytes() == sample_mp4()

    # the Web Studio's unfinished task becomes a job and is finished
    wait_for(lambda: "a-cute-cat" in os.listdir(mnt / "jobs"), 5, "the adopted job")
    assert job_file(mnt, "a-cute-cat", "id") == task_id
    wait_status(mnt, "a-cute-cat", "succeeded")
    video = os.readlink(mnt / "jobs" / "a-cute-cat" / "video")
    name = os.path.basename(video)
    assert (studio / "downloads" / name).read_bytes() == (mnt / "videos" / name).read_bytes()
    assert name in os.listdir(mnt / "videos")
    assert xattrs(mnt / "videos" / name)["user.xdg.comment"] == UNFINISHED_PROMPT
    assert xattrs(mnt / "videos" / name)["user.sora2.task_id"] == task_id

    def recorded():
        entry = history_entry(read_json(data / "history.json"), id=task_id)
        gone = all(t["id"] != task_id for t in read_json(data / "active_tasks.json"))
        return entry if entry and gone else None
    entry = wait_for(recorded, 5, "the adopted task in history.json, out of active_tasks.json")
    check_history_entry(entry)
    assert entry["file"] == os.path.join(os.path.realpath(studio / "downloads"), name)
    assert entry["prompt"] == UNFINISHED_PROMPT
    assert entry["pid"] == job_file(mnt, "a-cute-cat", "pid")
    assert entry["url"].startswith("http")
    assert sim.tasks_created() == 1, "a task was created for an adopted one"

    # the studio's query_defaults reach the API (the Web Studio forgot them);
    # its UI state there (character_refs) does not, and is not shown
    assert sorted(os.listdir(mnt / "config" / "defaults")) == ["aspectRatio", "duration"]
    drop(mnt, "dog.txt", "a dog\n")
    wait_status(mnt, "dog", "succeeded")
    body = [t["body"] for t in sim.tasks() if t["body"]["prompt"] == "a dog"][0]
    assert body["aspectRatio"] == "16:9" and body["duration"] == 15, body
    assert "character_refs" not in body, body
    assert sim.tasks_created() == 2

    write(mnt / "config" / "token", "tok-studio-2\n")
    m.secrets.add("tok-studio-2")
    m.umount()

    # the Web Studio can open the folder again
    cfg, history, active, _ = check_web_studio_formats(data)
    assert stat.S_IMODE(os.stat(data / "config.json").st_mode) == 0o600
    assert cfg["ui_theme"] == "dark"
    assert cfg["api_key"] == STUDIO_KEY and cfg["token"] == "tok-studio-2"
    assert cfg["query_defaults"] == STUDIO_CONFIG["query_defaults"]
    assert history[0] == STUDIO_HISTORY[0], "the Web Studio's entry was rewritten"
    assert len(history) == 3, "entries are appended, oldest first"
    assert history_entry(history, id=task_id) is not None
    assert history_entry(history, prompt="a dog") is not None
    assert active == []


def test_corrupt_history_refuses_to_mount(mount_factory, tmp_path):
    studio, _ = make_studio(tmp_path / "studio")
    broken = studio / "data" / "history.json"
    broken.write_text(broken.read_text()[:150])
    before = {p.name: p.read_bytes() for p in (studio / "data").iterdir()}
    m = mount_factory(studio=studio, key=None, start=False)
    try:
        r = subprocess.run(m.argv(), capture_output=True, text=True, timeout=scaled(10),
                           stdin=subprocess.DEVNULL, env=m.env)
    except subprocess.TimeoutExpired:
        pytest.fail("sora2fs mounted (or hung) on a studio with a corrupt history.json")
    finally:
        if os.path.ismount(m.mnt):
            subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
    assert r.returncode != 0
    assert re.search(r"error:.*history\.json", r.stderr), r.stderr
    assert STUDIO_KEY not in r.stderr
    assert {p.name: p.read_bytes() for p in (studio / "data").iterdir()} == before


def test_rm_video_removes_history_entry(mount_factory, tmp_path):
    studio, _ = make_studio(tmp_path / "studio")
    m = mount_studio(mount_factory, studio)
    os.unlink(m.mnt / "videos" / OLD_VIDEO)
    assert OLD_VIDEO not in os.listdir(m.mnt / "videos")
    assert not (studio / "downloads" / OLD_VIDEO).exists()
    assert history_entry(read_json(studio / "data" / "history.json"), file=OLD_VIDEO) is None
    assert history_entry(read_json(m.mnt / "history.json"), file=OLD_VIDEO) is None
    m.umount()
    check_web_studio_formats(studio / "data")


@pytest.mark.sim(gen_time=60)
def test_adopted_task_survives_remount_once(mount_factory, sim, tmp_path):
    studio, task_id = make_studio(tmp_path / "studio", sim)
    m = mount_studio(mount_factory, studio)
    wait_status(m.mnt, "a-cute-cat", "running")
    m.remount()
    sim.finish(task_id)
    wait_status(m.mnt, "a-cute-cat", "succeeded")
    assert [n for n in os.listdir(m.mnt / "jobs")
            if job_file(m.mnt, n, "id") == task_id] == ["a-cute-cat"]
    history = wait_for(lambda: [e for e in read_json(studio / "data" / "history.json")
                                if e["id"] == task_id], 5, "the history entry")
    assert len(history) == 1, history
    assert sim.tasks_created() == 1
    assert len([n for n in os.listdir(m.mnt / "videos") if n != OLD_VIDEO]) == 1
