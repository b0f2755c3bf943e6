"""Mount conventions: the source is STUDIO_DIR and the type fuse.sora2fs, mount(8)
helpers (mount -t sora2fs from an empty PATH, mount -a twice = one daemon),
-o logfile=, the installed files, the example systemd unit."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from util import SORA2FS, read, run, scaled, wait_for

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(SORA2FS).resolve().parent
HELPER_IN = ROOT / "tools" / "mount.sora2fs.in"


@pytest.fixture
def helper(tmp_path_factory):
    """The mount helper as meson installs it, running this build's sora2fs."""
    path = tmp_path_factory.mktemp("helper") / "mount.sora2fs"
    path.write_text(HELPER_IN.read_text().replace("@SORA2FS@", str(Path(SORA2FS).resolve())))
    path.chmod(0o755)
    return path


def mountinfo(mnt):
    """(source, fstype) of the mounts on mnt, as /proc/self/mountinfo lists them."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            target = fields[4].encode().decode("unicode_escape")
            if target == str(mnt):
                out.append((fields[sep + 2].encode().decode("unicode_escape"), fields[sep + 1]))
    return out


def daemons_of(studio):
    """Pids of sora2fs daemons whose command line names studio (not counting
    each daemon's helper process, its child)."""
    procs = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
            stat = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        if argv and argv[0].endswith(b"sora2fs") and str(studio).encode() in argv:
            procs[int(p)] = int(stat.rsplit(")", 1)[1].split()[1])
    return [p for p, ppid in procs.items() if ppid not in procs]


def unmount_daemonized(mnt, studio):
    subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True)
    wait_for(lambda: not daemons_of(studio), 10, "the daemon to exit after the unmount")


def test_source_is_studio_and_type_fuse_sora2fs(mount):
    assert mountinfo(mount.mnt) == [(str(mount.studio), "fuse.sora2fs")]
    if shutil.which("findmnt"):
        r = run(f"findmnt -n -o SOURCE,FSTYPE {mount.mnt}")
        assert r.stdout.split() == [str(mount.studio), "fuse.sora2fs"], r
    r = run(f"df {mount.mnt}")
    assert r.stdout.splitlines()[-1].split()[0] == str(mount.studio), r


def test_studio_with_comma_in_its_path(mount_factory, tmp_path):
    studio = tmp_path / "my,studio"
    m = mount_factory(studio=studio)
    assert mountinfo(m.mnt) == [(str(studio), "fuse.sora2fs")]


def test_logfile_appends(mount_factory, tmp_path):
    log = tmp_path / "sora2fs.log"
    log.write_text("an older line\n")
    m = mount_factory(opts=[f"logfile={log}"])
    (m.jobs / "cat.txt").write_text("a cat\n")
    wait_for(lambda: "jobs/cat: new job from cat.txt" in log.read_text(), 5, "the log line")
    m.umount()
    text = log.read_text()
    assert text.startswith("an older line\n")
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d sora2fs\[\d+\]: info: mounted "
                     + re.escape(str(m.studio)), text, re.M), text
    assert "unmounting" in text


def test_logfile_unwritable_is_refused(mount_factory, tmp_path):
    m = mount_factory(start=False, opts=[f"logfile={tmp_path}/no/such/dir/log"])
    r = subprocess.run(m.argv(), capture_output=True, text=True, timeout=scaled(10))
    assert r.returncode != 0
    assert "logfile=" in r.stderr and "No such file or directory" in r.stderr, r.stderr
    assert mountinfo(m.mnt) == []


def helper_opts(sim):
    return f"api_url={sim.url},poll_interval=0.2,timeout=5"


def test_helper_runs_from_an_empty_environment(helper, sim, tmp_path):
    """mount(8) runs mount.TYPE with no PATH: the helper still finds sora2fs."""
    studio, mnt = tmp_path / "studio", tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["env", "-i", str(helper), str(studio), str(mnt), "-n", "-o",
                        "rw,noauto," + helper_opts(sim)], capture_output=True, text=True,
                       timeout=scaled(20))
    try:
        assert r.returncode == 0, r
        assert mountinfo(mnt) == [(str(studio), "fuse.sora2fs")]
        assert "jobs/" in read(mnt / "README")
    finally:
        unmount_daemonized(mnt, studio)


@pytest.fixture
def system_helpers(helper):
    """mount.sora2fs and mount.fuse.sora2fs where mount(8) looks (/sbin), for the
    duration of one test; needs root and no installed sora2fs helpers."""
    if os.geteuid() != 0:
        pytest.skip("needs root (mount(8) helpers live in /sbin)")
    if not shutil.which("mount", path="/usr/bin:/bin"):
        pytest.skip("no mount(8)")
    links = [Path("/sbin/mount.sora2fs"), Path("/sbin/mount.fuse.sora2fs")]
    if any(p.exists() or p.is_symlink() for p in links):
        pytest.skip("sora2fs mount helpers already installed in /sbin")
    made = []
    try:
        for p in links:
            try:
                p.symlink_to(helper)
            except OSError as e:
                pytest.skip(f"cannot add {p}: {e}")
            made.append(p)
        yield
    finally:
        for p in made:
            p.unlink()


@pytest.mark.parametrize("fstype", ["sora2fs", "fuse.sora2fs"])
def test_mount_t_from_an_empty_path(system_helpers, sim, tmp_path, fstype):
    studio, mnt = tmp_path / "studio", tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["env", "-i", "/bin/mount", "-t", fstype, "-o", helper_opts(sim),
                        str(studio), str(mnt)], capture_output=True, text=True,
                       timeout=scaled(20))
    try:
        assert r.returncode == 0, r
        assert mountinfo(mnt) == [(str(studio), "fuse.sora2fs")]
        assert os.path.isdir(mnt / "jobs")
    finally:
        unmount_daemonized(mnt, studio)


def test_mount_a_twice_is_one_daemon(system_helpers, sim, tmp_path):
    studio, mnt = tmp_path / "studio", tmp_path / "mnt"
    mnt.mkdir()
    fstab = tmp_path / "fstab"
    fstab.write_text(f"{studio} {mnt} fuse.sora2fs {helper_opts(sim)},_netdev 0 0\n")
    try:
        for i in range(3):
            r = subprocess.run(["/bin/mount", "-a", "-T", str(fstab)], capture_output=True,
                               text=True, timeout=scaled(20))
            assert r.returncode == 0, (i, r)
            assert mountinfo(mnt) == [(str(studio), "fuse.sora2fs")], i
        time.sleep(0.2)
        assert len(daemons_of(studio)) == 1
    finally:
        while mountinfo(mnt):
            subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True)
        wait_for(lambda: not daemons_of(studio), 10, "the daemons to exit")


def test_meson_install_installs_helpers_tool_and_man_pages(tmp_path):
    if not shutil.which("meson"):
        pytest.skip("meson is not installed")
    dest = tmp_path / "dest"
    r = subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet",
                        "--destdir", str(dest)], capture_output=True, text=True,
                       timeout=scaled(120))
    assert r.returncode == 0, r
    files = {str(p.relative_to(dest)): p for p in dest.rglob("*") if not p.is_dir()}
    names = {Path(f).name: f for f in files}
    for exe in ("sora2fs", "sora2fs-status", "mount.sora2fs", "mount.fuse.sora2fs"):
        assert exe in names, sorted(files)
        assert os.access(files[names[exe]], os.X_OK)
    assert "sora2fs.8" in names and "sora2fs-status.1" in names, sorted(files)
    bindir = "/" + str(Path(names["sora2fs"]).parent)
    helper = files[names["mount.sora2fs"]].read_text()
    assert f"SORA2FS='{bindir}/sora2fs'" in helper
    assert "sbin" in names["mount.sora2fs"] and "sbin" in names["mount.fuse.sora2fs"]


def test_systemd_unit_verifies(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    unit = (ROOT / "examples" / "sora2fs@.service").read_text()
    assert "/usr/local/bin/sora2fs -f" in unit
    # verify the unit as installed with this build's binary
    (tmp_path / "sora2fs@sora.service").write_text(
        unit.replace("/usr/local/bin/sora2fs", str(Path(SORA2FS).resolve())))
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))
    r = subprocess.run(["systemd-analyze", "--user", "verify", "--man=no",
                        str(tmp_path / "sora2fs@sora.service")],
                       capture_output=True, text=True, env=env, timeout=scaled(60))
    assert r.returncode == 0 and r.stderr.strip() == "", r
