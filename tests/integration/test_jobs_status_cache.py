"""A settled job's files are read through the kernel's page cache (fs_jobs.c,
open_k): a change must still show at once to a new reader, and to a poll(2)
waiter once it is woken."""
import os
import select
import time

from util import drop, read, scaled, wait_status, write


def settle(mount, name):
    """Wait until the job has not changed for longer than sora2fs's 2 s."""
    st = mount.jobs / name / "status"
    last = os.stat(st).st_mtime
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 2.5:
        time.sleep(0.2)
        m = os.stat(st).st_mtime
        if m != last:
            last, quiet_since = m, time.monotonic()


def test_settled_status_changes_at_once_for_a_new_reader(mount, sim):
    sim.config(gen_time=600)
    drop(mount.mnt, "yak.txt", "a yak\n")
    wait_status(mount.mnt, "yak", "running")
    settle(mount, "yak")
    st = mount.jobs / "yak" / "status"
    for _ in range(3):
        assert read(st) == "running\n"  # cached now
    write(mount.jobs / "yak" / "ctl", "cancel\n")
    assert read(st) == "cancelled\n"  # longer than what the kernel cached
    assert os.stat(st).st_size == len("cancelled\n")


def test_settled_status_poll_then_read(mount, sim):
    sim.config(gen_time=600)
    drop(mount.mnt, "elk.txt", "an elk\n")
    wait_status(mount.mnt, "elk", "running")
    settle(mount, "elk")
    fd = os.open(mount.jobs / "elk" / "status", os.O_RDONLY)
    try:
        assert os.read(fd, 100) == b"running\n"
        os.lseek(fd, 0, os.SEEK_SET)
        assert os.read(fd, 100) == b"running\n"
        p = select.poll()
        p.register(fd, select.POLLPRI | select.POLLERR)
        assert p.poll(scaled(300)) == []
        write(mount.jobs / "elk" / "ctl", "cancel\n")
        ev = p.poll(scaled(2000))
        assert ev and ev[0][1] & select.POLLPRI, ev
        os.lseek(fd, 0, os.SEEK_SET)
        assert os.read(fd, 100) == b"cancelled\n"
        # read what changed: poll() blocks again
        assert p.poll(scaled(300)) == []
    finally:
        os.close(fd)
