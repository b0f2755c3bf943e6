"""Everyday tools writing a prompt into jobs/: each starts exactly one task,
ends with a video, and reports no error."""

import os
import shutil
import subprocess

import pytest

from util import is_mp4, read, readb, scaled, wait_for, wait_status

PROMPT = "a dog chasing its tail\n"


def need(tool, package):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (Debian package {package})")


@pytest.fixture
def src(tmp_path):
    """dog.txt on another filesystem (the test's temporary directory)."""
    d = tmp_path / "src"
    d.mkdir()
    p = d / "dog.txt"
    p.write_text(PROMPT)
    os.utime(p, (1700000000, 1700000000))
    return p


def run_tool(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(30), **kw)
    assert r.returncode == 0, f"{argv[0]} failed ({r.returncode}): {r.stderr}"
    assert r.stderr == "", f"{argv[0]} printed: {r.stderr}"
    return r


def check_one_job(mount, sim, before, job="dog", prompt=PROMPT):
    wait_status(mount.mnt, job, "succeeded")
    assert is_mp4(readb(mount.videos / f"{job}.mp4"))
    assert read(mount.jobs / job / "prompt") == prompt
    assert sim.tasks_created() - before == 1, "one file must start exactly one task"
    jobs = sorted(n for n in os.listdir(mount.jobs) if os.path.isdir(mount.jobs / n))
    assert jobs == [job], jobs


def test_echo(mount, sim):
    run_tool(["sh", "-c", f'echo "a dog chasing its tail" > "{mount.jobs}/dog.txt"'])
    check_one_job(mount, sim, 0)


def test_printf(mount, sim):
    run_tool(["sh", "-c", f"printf 'a dog chasing its tail\\n' > '{mount.jobs}/dog.txt'"])
    check_one_job(mount, sim, 0)


@pytest.mark.parametrize("flags", [[], ["-p"]], ids=["cp", "cp-p"])
def test_cp(mount, sim, src, flags):
    run_tool(["cp", *flags, str(src), str(mount.jobs / "dog.txt")])
    check_one_job(mount, sim, 0)


def test_cp_into_directory(mount, sim, src):
    run_tool(["cp", str(src), str(mount.jobs) + "/"])
    check_one_job(mount, sim, 0)


def test_mv_from_other_filesystem(mount, sim, src):
    run_tool(["mv", str(src), str(mount.jobs / "dog.txt")])
    assert not src.exists()
    check_one_job(mount, sim, 0)


@pytest.mark.parametrize("flags", [[], ["-a"]], ids=["rsync", "rsync-a"])
def test_rsync(mount, sim, src, flags):
    need("rsync", "rsync")
    run_tool(["rsync", *flags, str(src), str(mount.jobs) + "/"])
    check_one_job(mount, sim, 0)
    leftovers = [n for n in os.listdir(mount.jobs) if n.startswith(".dog.txt.")]
    assert leftovers == [], leftovers


def test_vim_new_file(mount, sim):
    need("vim", "vim")
    run_tool(["vim", "-N", "-u", "NONE", "-i", "NONE", "-es",
              "-c", 'call setline(1, "a dog chasing its tail")', "-c", "wq",
              str(mount.jobs / "dog.txt")], stdin=subprocess.DEVNULL,
             env={**os.environ, "HOME": str(mount.base)})
    check_one_job(mount, sim, 0)
    assert [n for n in os.listdir(mount.jobs) if n.endswith(".swp")] == []


def test_vim_edits_scratch_then_saves_as(mount, sim):
    """Write a draft to a scratch name, then `:saveas` the real name."""
    need("vim", "vim")
    run_tool(["vim", "-N", "-u", "NONE", "-i", "NONE", "-es",
              "-c", 'call setline(1, "a dog chasing its tail")',
              "-c", "w " + str(mount.jobs / ".draft.txt"),
              "-c", "saveas " + str(mount.jobs / "dog.txt"), "-c", "q"],
             stdin=subprocess.DEVNULL, env={**os.environ, "HOME": str(mount.base)})
    check_one_job(mount, sim, 0)
    assert read(mount.jobs / ".draft.txt") == PROMPT


def test_gio_copy(mount, sim, src):
    need("gio", "libglib2.0-bin")
    run_tool(["gio", "copy", str(src), str(mount.jobs / "dog.txt")])
    check_one_job(mount, sim, 0)


def test_gio_copy_preserve(mount, sim, src):
    need("gio", "libglib2.0-bin")
    run_tool(["gio", "copy", "--preserve", str(src), str(mount.jobs / "dog.txt")])
    check_one_job(mount, sim, 0)


def test_gio_save(mount, sim):
    need("gio", "libglib2.0-bin")
    run_tool(["gio", "save", str(mount.jobs / "dog.txt")], input=PROMPT)
    check_one_job(mount, sim, 0)


def test_inotifywait_sees_the_drop(mount, sim):
    need("inotifywait", "inotify-tools")
    w = subprocess.Popen(["inotifywait", "-m", "-e", "close_write,moved_to",
                          "--format", "%e %f", str(mount.jobs)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        os.set_blocking(w.stderr.fileno(), False)
        err = bytearray()

        def established():
            try:
                err.extend(os.read(w.stderr.fileno(), 4096))
            except BlockingIOError:
                pass
            assert w.poll() is None, f"inotifywait exited: {bytes(err)!r}"
            return b"Watches established" in err

        wait_for(established, 5, "inotifywait to start watching")
        run_tool(["sh", "-c", f'echo "a dog chasing its tail" > "{mount.jobs}/dog.txt"'])
        check_one_job(mount, sim, 0)
        w.terminate()
        out, _ = w.communicate(timeout=scaled(5))
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert "CLOSE_WRITE,CLOSE dog.txt" in out.decode().splitlines(), out
