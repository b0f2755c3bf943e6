"""videos/ (the downloads folder), its extended attributes, and history.json."""

import errno
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from util import (drop, is_mp4, job_dir, job_file, job_status, mp4_boxes, read, read_json,
                  readb, run, sample_mp4, wait_for, wait_status, write_errno)

OLD = "sora_1700000000.mp4"
# As the Web Studio writes it: an absolute path (here of a folder since moved:
# entries are matched by base name) and integer Unix seconds.
OLD_ENTRY = {
    "file": "/home/someone/sora2-web-studio/downloads/" + OLD,
    "prompt": "an old cat, made with the Web Studio",
    "time": 1700000000,
    "id": "3f1c2a9e-0000-4000-8000-000000000001",
    "pid": "s_" + "0123456789abcdef" * 2,
    "url": "https://files.example/old-cat.mp4",
    "duration_seconds": 183,
}


def need(tool, package):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (Debian package {package})")


@pytest.fixture
def studio(tmp_path):
    """A Web Studio folder with one video and its history entry."""
    s = tmp_path / "studio"
    (s / "downloads").mkdir(parents=True)
    (s / "data").mkdir()
    (s / "downloads" / OLD).write_bytes(sample_mp4())
    (s / "downloads" / ".sora_1700000001.mp4.part").write_bytes(b"\0" * 100)
    (s / "downloads" / "notes.txt").write_text("not a video\n")
    (s / "data" / "history.json").write_text(json.dumps([OLD_ENTRY], ensure_ascii=False))
    return s


@pytest.fixture
def old(mount_factory, studio):
    return mount_factory(studio=studio)


def history_files(m):
    return [os.path.basename(e["file"]) for e in m.history_json()]


def top_history(m):
    return json.loads(read(m.mnt / "history.json"))


def make_video(m, name="cat", prompt="a cat\n"):
    drop(m.mnt, name + ".txt", prompt)
    wait_status(m.mnt, name, "succeeded")
    return m.videos / f"{name}.mp4"


def test_lists_existing_downloads(old):
    assert os.listdir(old.videos) == [OLD]
    r = run(["ls", "-l", str(old.videos)])
    assert r.returncode == 0 and r.stderr == "", r
    assert os.stat(old.videos / OLD).st_size == os.stat(old.downloads / OLD).st_size


def test_file_added_to_downloads_while_mounted_appears(old):
    """The Web Studio (or a user) may put videos into downloads/ meanwhile."""
    (old.downloads / "sora_1700000100.mp4").write_bytes(sample_mp4())
    wait_for(lambda: "sora_1700000100.mp4" in os.listdir(old.videos), 5,
             "the new file in videos/")
    assert readb(old.videos / "sora_1700000100.mp4") == sample_mp4()
    (old.downloads / OLD).unlink()
    wait_for(lambda: OLD not in os.listdir(old.videos), 5, "the removed file to go")


def test_cat_and_cp_give_identical_bytes(old, tmp_path):
    want = readb(old.downloads / OLD)
    r = subprocess.run(["cat", str(old.videos / OLD)], capture_output=True)
    assert r.returncode == 0 and r.stdout == want
    r = run(["cp", str(old.videos / OLD), str(tmp_path / "copy.mp4")])
    assert r.returncode == 0 and r.stderr == "", r
    assert (tmp_path / "copy.mp4").read_bytes() == want


def test_generated_video_matches_download(mount, sim):
    video = make_video(mount)
    data = readb(video)
    assert data == readb(mount.downloads / "cat.mp4")
    mp4_boxes(data)
    r = subprocess.run(["cat", str(video)], capture_output=True)
    assert r.stdout == data


def test_ffprobe_reads_video(mount, sim):
    need("ffprobe", "ffmpeg")
    video = make_video(mount)
    r = run(["ffprobe", "-v", "error", "-show_entries", "format=format_name",
             "-of", "default=nw=1", str(video)])
    assert r.returncode == 0 and r.stderr == "", r
    assert "mp4" in r.stdout


def test_rm_video_removes_file_and_history(old):
    r = run(["rm", str(old.videos / OLD)])
    assert r.returncode == 0 and r.stderr == "", r
    assert OLD not in os.listdir(old.videos)
    assert not (old.downloads / OLD).exists()
    assert OLD not in history_files(old)
    assert all(os.path.basename(e["file"]) != OLD for e in top_history(old))


def test_mv_video_renames_file_and_history(old):
    r = run(["mv", str(old.videos / OLD), str(old.videos / "old-cat.mp4")])
    assert r.returncode == 0 and r.stderr == "", r
    assert os.listdir(old.videos) == ["old-cat.mp4"]
    assert (old.downloads / "old-cat.mp4").exists() and not (old.downloads / OLD).exists()
    hist = old.history_json()
    # the Web Studio's entry keeps its directory part; only the base name changes
    assert [e["file"] for e in hist] == ["/home/someone/sora2-web-studio/downloads/old-cat.mp4"]
    assert {k: v for k, v in hist[0].items() if k != "file"} == \
        {k: v for k, v in OLD_ENTRY.items() if k != "file"}
    assert os.getxattr(old.videos / "old-cat.mp4", "user.xdg.comment").decode() == \
        OLD_ENTRY["prompt"]


def test_mv_generated_video_moves_job_symlink(mount, sim):
    make_video(mount)
    os.rename(mount.videos / "cat.mp4", mount.videos / "kitty.mp4")
    assert os.readlink(job_dir(mount.mnt, "cat") / "video") == "../../videos/kitty.mp4"
    assert is_mp4(readb(job_dir(mount.mnt, "cat") / "video"))
    assert history_files(mount) == ["kitty.mp4"]


def test_videos_refuses_new_files(old):
    err = write_errno(old.videos / "new.mp4", b"\0\0\0\x18ftypisom")
    assert err == errno.EACCES, errno.errorcode.get(err, err)
    assert not (old.downloads / "new.mp4").exists()
    with pytest.raises(OSError) as e:
        os.mkdir(old.videos / "sub")
    assert e.value.errno == errno.EACCES
    # Moving a file in from jobs/ is not a way to add videos either.
    scratch = old.jobs / ".x.mp4"
    scratch.write_bytes(sample_mp4())
    with pytest.raises(OSError) as e:
        os.rename(scratch, old.videos / "x.mp4")
    assert e.value.errno == errno.EXDEV
    assert os.listdir(old.videos) == [OLD]


def test_xattrs_of_existing_video(old):
    v = old.videos / OLD
    assert os.getxattr(v, "user.xdg.comment").decode() == OLD_ENTRY["prompt"]
    assert os.getxattr(v, "user.xdg.origin.url").decode() == OLD_ENTRY["url"]
    assert os.getxattr(v, "user.sora2.task_id").decode() == OLD_ENTRY["id"]
    assert os.getxattr(v, "user.sora2.pid").decode() == OLD_ENTRY["pid"]
    assert set(os.listxattr(v)) >= {"user.xdg.comment", "user.xdg.origin.url",
                                    "user.sora2.task_id", "user.sora2.pid"}


def test_getfattr_lists_xattrs(old):
    need("getfattr", "attr")
    r = run(["getfattr", "-d", str(old.videos / OLD)])
    assert r.returncode == 0, r
    for name, key in (("user.xdg.comment", "prompt"), ("user.xdg.origin.url", "url"),
                      ("user.sora2.task_id", "id"), ("user.sora2.pid", "pid")):
        assert f'{name}="{OLD_ENTRY[key]}"' in r.stdout, r.stdout


def test_xattrs_cannot_be_changed(old):
    v = old.videos / OLD
    with pytest.raises(OSError) as e:
        os.setxattr(v, "user.xdg.comment", b"rewritten")
    assert e.value.errno == errno.ENOTSUP
    with pytest.raises(OSError) as e:
        os.removexattr(v, "user.sora2.pid")
    assert e.value.errno == errno.ENOTSUP
    assert os.getxattr(v, "user.xdg.comment").decode() == OLD_ENTRY["prompt"]


def test_xattrs_of_generated_video(mount, sim):
    video = make_video(mount, prompt="a cat wearing a hat\n")
    task = sim.tasks()[0]
    result = read_json(job_dir(mount.mnt, "cat") / "result.json")
    assert os.getxattr(video, "user.xdg.comment").decode() == "a cat wearing a hat"
    assert os.getxattr(video, "user.xdg.origin.url").decode() == \
        f"{sim.url}/files/{task['id']}.mp4"
    assert os.getxattr(video, "user.sora2.task_id").decode() == task["id"]
    assert os.getxattr(video, "user.sora2.pid").decode() == result["results"][0]["pid"]
    assert job_file(mount.mnt, "cat", "pid") == result["results"][0]["pid"]


def test_history_json(mount, sim):
    make_video(mount, prompt="a cat wearing a hat\n")
    task = sim.tasks()[0]
    top = top_history(mount)
    assert top == mount.history_json()
    assert len(top) == 1
    e = top[0]
    assert e["file"] == os.path.join(os.path.realpath(mount.downloads), "cat.mp4")
    assert e["prompt"] == "a cat wearing a hat"
    assert isinstance(e["time"], int) and abs(e["time"] - time.time()) < 600, e["time"]
    assert e["id"] == task["id"]
    assert re.fullmatch(r"s_[0-9a-f]{32}", e["pid"]), e["pid"]
    assert e["url"] == f"{sim.url}/files/{task['id']}.mp4"
    assert isinstance(e["duration_seconds"], int) and e["duration_seconds"] >= 0


def test_history_json_keeps_old_entries(mount_factory, studio, sim):
    m = mount_factory(studio=studio)
    make_video(m)
    files = [os.path.basename(e["file"]) for e in top_history(m)]
    assert files == [OLD, "cat.mp4"], "appended, oldest first"
    assert top_history(m)[0] == OLD_ENTRY


@pytest.mark.sim(video_size=10_000_000)
def test_no_partial_video_ever_listed(mount, sim):
    sim.fault("download", "slow", count=1, delay=1.5)
    drop(mount.mnt, "big.txt", "a big cat\n")
    sizes = set()

    def watch():
        for name in os.listdir(mount.videos):
            assert not name.startswith(".") and name.endswith(".mp4"), name
            size = os.stat(mount.videos / name).st_size
            assert size == 10_000_000, f"{name} listed with {size} bytes"
            sizes.add(size)
        return job_status(mount.mnt, "big") == "succeeded"

    wait_for(watch, 20, "the job to succeed", interval=0.02)
    data = readb(mount.videos / "big.mp4")
    assert len(data) == 10_000_000
    mp4_boxes(data)
    assert [n for n in os.listdir(mount.downloads) if n.endswith(".part")] == []


def test_downloads_option(mount_factory, sim, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    m = mount_factory(opts=[f"downloads={elsewhere}"])
    video = make_video(m)
    assert readb(video) == readb(elsewhere / "cat.mp4")
    assert not (m.downloads / "cat.mp4").exists()
