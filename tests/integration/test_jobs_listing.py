"""jobs/ at size: a listing longer than one READDIRPLUS reply, read through the
open directory's snapshot and its per-entry offsets (fs_jobs.c, "listings"),
and the extended attributes of jobs/, job directories, their files and
scratch files (fs_jobs.c, "extended attributes")."""
import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

GEN = Path(__file__).resolve().parents[2] / "bench" / "gen_studio.py"
NJOBS = 700


@pytest.fixture
def many(mount_factory, tmp_path):
    s = tmp_path / "studio"
    subprocess.run([sys.executable, str(GEN), str(s), "--done", str(NJOBS)], check=True,
                   stdout=subprocess.DEVNULL)
    m = mount_factory(studio=s)
    return m, {f"clip{i}" for i in range(NJOBS)}


def test_long_jobs_listing_complete(many):
    m, names = many
    j = m.mnt / "jobs"
    for i in range(3):
        (j / f".scratch{i}").write_text("notes\n")
    listed = os.listdir(j)
    assert len(listed) == len(set(listed))
    assert set(listed) == names | {f".scratch{i}" for i in range(3)}
    with os.scandir(j) as it:
        kinds = {e.name: e.is_dir(follow_symlinks=False) for e in it}
    assert all(kinds[n] for n in names)
    assert not any(kinds[f".scratch{i}"] for i in range(3))
    r = subprocess.run(["ls", "-la", str(j)], capture_output=True, text=True, check=True)
    lines = r.stdout.splitlines()[1:]
    assert len(lines) == len(names) + 3 + 2  # . and ..
    assert {ln.split()[-1] for ln in lines} == names | {f".scratch{i}" for i in range(3)} | {".", ".."}


def test_rewound_listing_is_current(many):
    """A listing started again at offset 0 shows the directory as it is then;
    one read on from the middle shows each name once."""
    m, names = many
    j = m.mnt / "jobs"
    fd = os.open(j, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(fd) as it:
            first = [e.name for e in it]
        assert set(first) == names
        (j / ".late").write_text("x\n")
        os.lseek(fd, 0, os.SEEK_SET)
        with os.scandir(fd) as it:
            again = [e.name for e in it]
        assert len(again) == len(set(again))
        assert set(again) == names | {".late"}
    finally:
        os.close(fd)


def test_job_directory_listing(many):
    m, _ = many
    d = m.mnt / "jobs" / "clip7"
    listed = os.listdir(d)
    assert len(listed) == len(set(listed))
    assert {"prompt", "request.json", "id", "status", "progress", "error", "result.json",
            "ctl"} <= set(listed)
    with os.scandir(d) as it:
        sizes = {e.name: e.stat(follow_symlinks=False).st_size for e in it}
    assert sizes["status"] == len((d / "status").read_bytes())
    with pytest.raises(NotADirectoryError):
        os.listdir(d / "status")


@pytest.mark.parametrize("attr", ["security.selinux", "system.posix_acl_access",
                                  "system.posix_acl_default"])
def test_security_and_system_attributes_not_supported(many, attr):
    m, _ = many
    j = m.mnt / "jobs"
    for p in (j, j / "clip3", j / "clip3" / "status", j / "clip3" / "prompt"):
        with pytest.raises(OSError) as e:
            os.getxattr(p, attr)
        assert e.value.errno == errno.ENOTSUP, p
    assert not any(n.startswith(("security.", "system.")) for n in os.listxattr(j))


def test_job_attributes(many):
    m, _ = many
    d = m.mnt / "jobs" / "clip3"
    for p in (d, d / "status"):
        with pytest.raises(OSError) as e:
            os.getxattr(p, "user.anything")
        assert e.value.errno == errno.ENODATA
        assert os.listxattr(p) == []
        with pytest.raises(OSError) as e:
            os.setxattr(p, "user.anything", b"1")
        assert e.value.errno == errno.ENOTSUP


def test_scratch_files_keep_their_attributes(many, tmp_path):
    """Scratch files are real files: what rsync -X and cp --preserve=xattr set
    reads back, and copying out again works."""
    m, _ = many
    j = m.mnt / "jobs"
    src = tmp_path / ".notes"
    src.write_text("some notes\n")
    os.setxattr(src, "user.origin", b"here")
    subprocess.run(["cp", "--preserve=xattr", str(src), str(j / ".notes")], check=True)
    assert os.getxattr(j / ".notes", "user.origin") == b"here"
    assert "user.origin" in os.listxattr(j / ".notes")
    out = tmp_path / "out"
    subprocess.run(["cp", "--preserve=xattr", str(j / ".notes"), str(out)], check=True)
    assert os.getxattr(out, "user.origin") == b"here"
    os.setxattr(j / ".notes", "user.more", b"1")
    os.removexattr(j / ".notes", "user.more")
    assert "user.more" not in os.listxattr(j / ".notes")
