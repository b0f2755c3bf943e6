"""The mount's freedesktop trash: gio trash on a video, gio trash --restore,
gio trash --empty (gvfs), and rm staying a plain delete."""

import os
import shutil
import subprocess

import pytest

from util import drop, read, scaled, wait_for, wait_status

GVFSD_TRASH = ("/usr/libexec/gvfsd-trash", "/usr/lib/gvfs/gvfsd-trash")


def gio(*args, session=False, check=True):
    argv = ["gio", *map(str, args)]
    if session:
        argv = ["dbus-run-session", "--"] + argv
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBUS_")}
    r = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(60), env=env)
    if check:
        assert r.returncode == 0, r
    return r


def need_gio():
    if not shutil.which("gio"):
        pytest.skip("gio is not installed (Debian package libglib2.0-bin)")


def need_gvfs():
    need_gio()
    if not shutil.which("dbus-run-session") or not any(map(os.path.exists, GVFSD_TRASH)):
        pytest.skip("gio trash --restore/--empty need gvfs (gvfs-daemons, dbus-daemon)")


def trash_dir(mount):
    return mount.mnt / f".Trash-{os.getuid()}"


def finished_video(mount, name="owl"):
    drop(mount.mnt, f"{name}.txt", f"an {name}\n")
    wait_status(mount.mnt, name, "succeeded")
    video = mount.videos / f"{name}.mp4"
    assert os.getxattr(video, "user.xdg.comment") == f"an {name}".encode()
    assert any(e["file"].endswith(f"{name}.mp4") for e in mount.history_json())
    return video


def trash_uri(mount, name):
    """The trash:/// URI gio lists for a video trashed from this mount."""
    r = gio("trash", "--list", session=True)
    for line in r.stdout.splitlines():
        uri, _, orig = line.partition("\t")
        if orig == str(mount.videos / name):
            return uri
    raise AssertionError(f"{name} not listed by gio trash --list: {r.stdout!r}")


def test_gio_trash_moves_video_and_history_entry(mount, sim):
    need_gio()
    video = finished_video(mount)
    data = video.read_bytes()
    gio("trash", video)
    assert os.listdir(mount.videos) == []
    assert not any(e["file"].endswith("owl.mp4") for e in mount.history_json())
    assert "owl.mp4" not in read(mount.mnt / "history.json")
    assert not os.path.lexists(mount.jobs / "owl" / "video")
    t = trash_dir(mount)
    assert f".Trash-{os.getuid()}" in os.listdir(mount.mnt)
    assert (t / "files" / "owl.mp4").read_bytes() == data
    info = (t / "info" / "owl.mp4.trashinfo").read_text()
    assert "Path=videos/owl.mp4" in info and "DeletionDate=" in info
    # backed by the studio, not left in downloads/
    assert "owl.mp4" not in os.listdir(mount.downloads)
    assert (mount.studio / "data" / "sora2fs" / "trash" / "files" / "owl.mp4").exists()
    mount.expect_log(r"owl\.mp4 moved to the trash")


def test_restore_brings_back_history_and_xattrs(mount, sim):
    need_gvfs()
    video = finished_video(mount)
    gio("trash", video)
    uri = trash_uri(mount, "owl.mp4")
    gio("trash", "--restore", uri, session=True)
    assert os.listdir(mount.videos) == ["owl.mp4"]
    assert os.getxattr(video, "user.xdg.comment") == b"an owl"
    assert [e for e in mount.history_json() if e["file"].endswith("owl.mp4")]
    assert os.listdir(trash_dir(mount) / "files") == []
    assert os.listdir(trash_dir(mount) / "info") == []
    mount.expect_log(r"owl\.mp4 moved to the trash", r"owl\.mp4 restored from the trash")


def test_restore_by_rename_as_file_managers_do(mount, sim):
    """Without gvfs: what the trash backend does, by hand."""
    need_gio()
    video = finished_video(mount, "elk")
    gio("trash", video)
    t = trash_dir(mount)
    os.rename(t / "files" / "elk.mp4", video)
    os.unlink(t / "info" / "elk.mp4.trashinfo")
    assert os.getxattr(video, "user.xdg.comment") == b"an elk"
    assert [e for e in mount.history_json() if e["file"].endswith("elk.mp4")]
    mount.expect_log(r"elk\.mp4 moved to the trash", r"elk\.mp4 restored from the trash")


def test_empty_deletes_for_good(mount, sim):
    need_gvfs()
    video = finished_video(mount)
    gio("trash", video)
    gio("trash", "--empty", session=True)
    wait_for(lambda: not os.listdir(trash_dir(mount) / "files"), 5, "an empty trash")
    assert os.listdir(trash_dir(mount) / "info") == []
    assert not (mount.studio / "data" / "sora2fs" / "trash" / "files" / "owl.mp4").exists()
    assert "owl.mp4" not in os.listdir(mount.downloads)
    assert not any(e["file"].endswith("owl.mp4") for e in mount.history_json())
    assert f".Trash-{os.getuid()}" not in os.listdir(mount.mnt)
    mount.expect_log(r"owl\.mp4 moved to the trash", r"owl\.mp4 deleted for good")


def test_rm_is_a_plain_delete(mount, sim):
    video = finished_video(mount)
    os.unlink(video)
    assert "owl.mp4" not in os.listdir(mount.downloads)
    assert f".Trash-{os.getuid()}" not in os.listdir(mount.mnt)
    t = trash_dir(mount)
    assert os.listdir(t / "files") == []
    # nothing else can be put into the trash's files/
    with pytest.raises(PermissionError):
        open(t / "files" / "x.mp4", "w")
