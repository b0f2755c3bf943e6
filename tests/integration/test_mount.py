"""Mounting and unmounting: the command line, the top-level tree, start-up checks."""

import os
import re
import stat
import subprocess

import pytest

from util import (REPO, SORA2FS, WRAPPER, drop, read, run, scaled, wait_for, wait_status,
                  write)

TOP = {"README": "file", "config": "dir", "jobs": "dir", "videos": "dir",
       "characters": "dir", "account": "dir", "history.json": "file"}


def project_version():
    m = re.search(r"version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text())
    return m.group(1)


def test_top_level_tree(mount):
    names = set(os.listdir(mount.mnt))
    assert set(TOP) <= names, f"missing: {set(TOP) - names}"
    for name, kind in TOP.items():
        st = os.stat(mount.mnt / name)
        if kind == "dir":
            assert stat.S_ISDIR(st.st_mode), name
        else:
            assert stat.S_ISREG(st.st_mode), name
    for name in ("api_key", "token", "host_mode", "defaults"):
        assert os.path.exists(mount.config / name), f"config/{name}"


def test_ls_l(mount):
    r = run(["ls", "-l", str(mount.mnt)])
    assert r.returncode == 0 and r.stderr == "", r
    for name in TOP:
        assert name in r.stdout
    r = run(["ls", "-lR", str(mount.mnt)])
    assert r.returncode == 0 and r.stderr == "", r


def test_readme(mount):
    text = read(mount.mnt / "README")
    assert text.strip(), "README is empty"
    assert "jobs" in text
    assert os.stat(mount.mnt / "README").st_size == len(text.encode())


def test_history_json_readable(mount):
    import json
    assert json.loads(read(mount.mnt / "history.json")) == []


def test_creates_missing_studio_dir(mount_factory, tmp_path):
    studio = tmp_path / "does" / "not" / "exist"
    m = mount_factory(studio=studio)
    assert studio.is_dir()
    assert os.path.isdir(m.jobs)


def test_default_studio_dir_is_xdg_data_home(mount_factory, tmp_path):
    xdg = tmp_path / "xdg"
    m = mount_factory(studio=xdg / "sora2fs", studio_arg=False,
                      env={"XDG_DATA_HOME": str(xdg), "HOME": str(tmp_path)})
    wait_for(lambda: (xdg / "sora2fs" / "data" / "config.json").exists(), 5,
             "config.json in $XDG_DATA_HOME/sora2fs/data")
    assert m.config_json()["api_key"] == m.key


def _expect_refusal(m, broken, needle):
    """Start the daemon on a studio with a broken file: it must exit with an
    error naming the file, leave the file alone, and not mount."""
    before = broken.read_bytes()
    argv = m.argv()
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(10),
                           stdin=subprocess.DEVNULL, env=m.env)
    except subprocess.TimeoutExpired:
        subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
        pytest.fail(f"sora2fs mounted (or hung) despite a broken {needle}")
    finally:
        if os.path.ismount(m.mnt):
            subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
    assert r.returncode != 0, "sora2fs exited 0 with a broken " + needle
    assert not os.path.ismount(m.mnt)
    assert re.search(rf"error:.*{re.escape(needle)}", r.stderr), r.stderr
    assert broken.read_bytes() == before, f"{needle} was changed"
    return r.stderr


def test_unparsable_config_refuses_to_mount(mount_factory):
    m = mount_factory(start=False)
    (m.data).mkdir(parents=True)
    broken = m.data / "config.json"
    broken.write_text('{"api_key": "sk-half-written", ')
    err = _expect_refusal(m, broken, "config.json")
    assert "sk-half-written" not in err


def test_unparsable_history_refuses_to_mount(mount_factory):
    m = mount_factory(start=False)
    (m.data).mkdir(parents=True)
    broken = m.data / "history.json"
    broken.write_text('[{"file": "sora_1.mp4", ')
    _expect_refusal(m, broken, "history.json")


def test_version():
    r = run(WRAPPER + [SORA2FS, "-V"])
    assert r.returncode == 0, r
    assert project_version() in r.stdout + r.stderr


def test_help_lists_options():
    r = run(WRAPPER + [SORA2FS, "--help"])
    assert r.returncode == 0, r
    out = r.stdout + r.stderr
    for opt in ("api_url", "domestic_url", "overseas_url", "poll_interval",
                "max_active", "downloads", "updates"):
        assert opt in out, f"--help does not mention {opt}"


def test_fstab_options_accepted(mount_factory):
    m = mount_factory(opts=["noauto,user,_netdev,nofail", "auto", "users"])
    assert os.path.ismount(m.mnt)
    assert "README" in os.listdir(m.mnt)


def test_unmount_is_clean(mount):
    mount.umount()
    assert not os.path.ismount(mount.mnt)
    assert mount.runs[-1]["rc"] == 0
    assert mount.problems() == []


def test_single_threaded(mount_factory, sim):
    m = mount_factory(args=["-s"])
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_status(m.mnt, "cat", "succeeded")
    assert sim.tasks_created() == 1


def daemon_pids(mnt):
    """Daemons whose command line ends with the mount point (not counting a
    daemon's own helper process, its child: see notify.c)."""
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if str(mnt).encode() in args and SORA2FS.encode() in args:
            procs[int(d)] = ppid
    return [p for p, ppid in procs.items() if ppid not in procs]


def test_daemonized_mount_runs_jobs(mount_factory, sim):
    """Without -f the daemon forks into the background: its worker must still
    run there (threads started before the fork would be lost)."""
    m = mount_factory(start=False)
    pids = []
    try:
        # Output to a file, not a pipe: a wrapper (valgrind) in the daemon would
        # keep a pipe open long after the parent returned.
        out = m.base / "daemonize.out"
        with open(out, "wb") as f:
            r = subprocess.run(m.argv(foreground=False), stdout=f, stderr=f,
                               timeout=scaled(10), stdin=subprocess.DEVNULL, env=m.env)
        assert r.returncode == 0, out.read_text()
        assert "error" not in out.read_text().lower(), out.read_text()
        wait_for(lambda: os.path.ismount(m.mnt), 5, "the daemonized mount")
        pids = daemon_pids(m.mnt)
        assert len(pids) == 1, pids
        write(m.config / "api_key", m.key + "\n")
        drop(m.mnt, "cat.txt", "a cat\n")
        wait_status(m.mnt, "cat", "succeeded")
        assert sim.tasks_created() == 1
    finally:
        subprocess.run(["fusermount3", "-u", "-z", str(m.mnt)], capture_output=True)
    wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in pids), 10,
             "the daemon to exit after fusermount3 -u")
