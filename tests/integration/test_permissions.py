"""-o allow_other: others may look, only the mounting user may act.

Checked as a second, unprivileged user the test creates (useradd) and runs
commands as (setpriv). With allow_other, sora2fs always adds default_permissions,
so the kernel enforces the modes the mount shows:

* config/ and account/ are 0700: others can neither read nor write a key, nor
  read account/new_api_key;
* jobs/ and characters/ are writable by the owner only: others start no job;
* videos/ is the owner's: others cannot rm, mv or chmod a video (reading follows
  the file's own mode);
* job files are 0444 (ctl 0200): others may read status, not write ctl.
"""

import errno
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

from util import drop, job_file, read, run, wait_status

USER = "sora2fs-test"


def _user():
    if os.geteuid() != 0:
        pytest.skip("needs root: creates a user and mounts with allow_other")
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    r = subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", USER], capture_output=True, text=True)
    if r.returncode != 0 and "already exists" not in r.stderr:
        pytest.skip(f"cannot create a test user: {r.stderr.strip()}")
    return pwd.getpwnam(USER)


def as_user(pw, *cmd, input=None):
    """Run cmd as the test user (no groups); the CompletedProcess."""
    return run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
                "--", *cmd], input=input, stdin=None if input is not None else subprocess.DEVNULL)


def as_user_errno(pw, code):
    """Run a Python snippet as the user; it prints an errno name or OK."""
    r = as_user(pw, "/usr/bin/python3", "-c",
                "import errno, os, sys\ntry:\n" + "".join("    " + l + "\n" for l in
                                                          code.splitlines()) +
                "    print('OK')\nexcept OSError as e:\n    print(errno.errorcode[e.errno])\n")
    assert r.returncode == 0, r
    return r.stdout.strip()


@pytest.fixture
def shared(mount_factory, sim):
    pw = _user()
    # The pytest temp dirs are 0700: mount where others can reach.
    top = tempfile.mkdtemp(prefix="sora2fs-perm-", dir="/tmp")
    os.chmod(top, 0o755)
    m = mount_factory(mnt=os.path.join(top, "mnt"), opts=["allow_other"])
    try:
        yield m, pw
    finally:
        m.umount()
        shutil.rmtree(top, ignore_errors=True)


def test_allow_other_turns_on_default_permissions(shared):
    m, pw = shared
    with open("/proc/self/mountinfo") as f:
        line = next(l for l in f if f" {m.mnt} " in l)
    assert "default_permissions" in line and "allow_other" in line, line
    assert as_user(pw, "ls", str(m.mnt)).returncode == 0
    assert (os.stat(m.config).st_mode & 0o777) == 0o700
    assert (os.stat(m.mnt / "account").st_mode & 0o777) == 0o700


def test_others_cannot_touch_config_or_account(shared):
    m, pw = shared
    key_before = m.config_json().get("api_key")
    assert as_user_errno(pw, f"open({str(m.config / 'api_key')!r}, 'w').write('sk-evil\\n')") \
        == "EACCES"
    assert as_user_errno(pw, f"open({str(m.config / 'api_key')!r}).read()") == "EACCES"
    assert as_user_errno(pw, f"open({str(m.config / 'host_mode')!r}, 'w').write('domestic')") \
        == "EACCES"
    assert as_user_errno(pw, f"os.listdir({str(m.config)!r})") == "EACCES"
    assert as_user_errno(pw, f"open({str(m.mnt / 'account' / 'new_api_key')!r}).read()") \
        == "EACCES"
    assert as_user_errno(pw, f"open({str(m.mnt / 'account' / 'new_api_key')!r}, 'w')"
                             ".write('{{\"name\":\"x\"}}')") == "EACCES"
    assert m.config_json().get("api_key") == key_before


def test_others_cannot_start_jobs_or_use_ctl(shared, sim):
    m, pw = shared
    drop(m.mnt, "mine.txt", "a cat [slow]\n")
    wait_status(m.mnt, "mine", {"running"})
    for kind in ("jobs", "characters"):
        assert as_user_errno(pw, f"open({str(m.mnt / kind / 'evil.txt')!r}, 'w').write('a dog')") \
            == "EACCES"
    # The reference trick: a drop naming /etc/shadow never gets in.
    assert as_user_errno(pw, f"open({str(m.jobs / 'shadow.txt')!r}, 'w')"
                             ".write('---\\nurl: /etc/shadow\\n---\\nx\\n')") == "EACCES"
    assert as_user_errno(pw, f"os.mkdir({str(m.jobs / 'd')!r})") == "EACCES"
    # others may read a job's status, not its content, and not command it
    assert as_user(pw, "cat", str(m.jobs / "mine" / "status")).stdout.strip() == "running"
    for f in ("prompt", "request.json", "result.json"):
        assert as_user_errno(pw, f"open({str(m.jobs / 'mine' / f)!r}).read()") == "EACCES", f
    assert as_user_errno(pw, f"open({str(m.mnt / 'history.json')!r}).read()") == "EACCES"
    assert as_user_errno(pw, f"open({str(m.mnt / 'README')!r}).read()") == "OK"
    assert as_user_errno(pw, f"open({str(m.jobs / 'mine' / 'ctl')!r}, 'w').write('cancel')") \
        == "EACCES"
    assert as_user_errno(pw, f"os.rmdir({str(m.jobs / 'mine')!r})") == "EACCES"
    assert as_user_errno(pw, f"os.rename({str(m.jobs / 'mine')!r}, "
                             f"{str(m.jobs / 'theirs')!r})") == "EACCES"
    assert sim.tasks_created() == 1
    assert job_file(m.mnt, "mine", "status") == "running"
    assert sorted(os.listdir(m.jobs)) == ["mine"]


def test_others_cannot_remove_or_chmod_videos(shared, sim):
    m, pw = shared
    drop(m.mnt, "cat.txt", "a cat\n")
    wait_status(m.mnt, "cat", "succeeded")
    v = m.videos / "cat.mp4"
    mode = os.stat(v).st_mode
    assert as_user_errno(pw, f"os.unlink({str(v)!r})") == "EACCES"
    assert as_user_errno(pw, f"os.rename({str(v)!r}, {str(m.videos / 'x.mp4')!r})") == "EACCES"
    assert as_user_errno(pw, f"os.chmod({str(v)!r}, 0o666)") == "EPERM"
    assert as_user_errno(pw, f"open({str(v)!r}, 'r+b').write(b'x')") == "EACCES"
    assert os.stat(v).st_mode == mode and v.exists()
    # reading follows the file's mode
    want = "OK" if mode & 0o004 else "EACCES"
    assert as_user_errno(pw, f"open({str(v)!r}, 'rb').read(8)") == want
    assert read(m.mnt / "README")
