"""videos/ at size: a listing longer than one READDIRPLUS reply, read through
the open directory's own offsets (fs_videos_readdir_at), and the extended
attributes ls -l asks for on every file."""
import errno
import os
import subprocess

import pytest


@pytest.fixture
def many(mount_factory, tmp_path):
    s = tmp_path / "studio"
    (s / "downloads").mkdir(parents=True)
    (s / "data").mkdir()
    names = {f"video-with-a-rather-long-name-{i:04d}.mp4" for i in range(1500)}
    for n in names:
        (s / "downloads" / n).write_bytes(b"\0" * (len(n) % 7))
    (s / "downloads" / ".hidden.mp4").write_bytes(b"x")
    (s / "downloads" / "notes.txt").write_text("not a video\n")
    os.mkdir(s / "downloads" / "dir.mp4")
    return mount_factory(studio=s), names, s / "downloads"


def test_long_listing_complete(many):
    m, names, downloads = many
    v = m.mnt / "videos"
    assert set(os.listdir(v)) == names
    with os.scandir(v) as it:
        seen = {e.name: e.stat().st_size for e in it}
    assert seen == {n: len(n) % 7 for n in names}
    r = subprocess.run(["ls", "-la", str(v)], capture_output=True, text=True, check=True)
    lines = r.stdout.splitlines()[1:]
    assert len(lines) == len(names) + 2  # . and ..
    assert {ln.split()[-1] for ln in lines} == names | {".", ".."}


def test_listing_while_videos_go(many):
    """Names removed between two replies are not shown, the others are, once."""
    m, names, downloads = many
    v = m.mnt / "videos"
    fd = os.open(v, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(fd) as it:
            first = []
            for e in it:
                first.append(e.name)
                if len(first) == 100:
                    break
    finally:
        os.close(fd)
    gone = sorted(names - set(first))[:200]
    for n in gone:
        os.unlink(downloads / n)
    listed = os.listdir(v)
    assert len(listed) == len(set(listed))
    assert set(listed) == names - set(gone)


def test_security_and_system_attributes_not_supported(many):
    m, names, _ = many
    f = m.mnt / "videos" / sorted(names)[0]
    for attr in ("security.selinux", "system.posix_acl_access"):
        for p in (f, m.mnt / "videos"):
            with pytest.raises(OSError) as e:
                os.getxattr(p, attr)
            assert e.value.errno == errno.ENOTSUP
    with pytest.raises(OSError) as e:
        os.getxattr(f, "user.xdg.comment")
    assert e.value.errno == errno.ENODATA
