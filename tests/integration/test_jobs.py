"""jobs/: dropping prompt files, job directories, names, parameters, scratch
files, upstream failures, ctl commands, max_active."""

import errno
import json
import os
import re
import shlex

import pytest

from util import (DEFAULT_KEY, FINAL, STATUSES, ctl, describe_job, drop, errname, is_mp4,
                  job_dir, job_file, job_status, mp4_boxes, read, read_json, readb, run,
                  stays, wait_for, wait_status, write, write_errno)

POLL = "/v1/draw/result"
SUBMIT = "/v1/video/sora-video"
ORDER = {"queued": 0, "running": 1, "downloading": 2, "succeeded": 3}


def q(path):
    return shlex.quote(str(path))


def body_of(sim, i=0):
    return sim.tasks()[i]["body"]


def test_drop_with_shell_creates_job_at_once(mount, sim):
    jobs = mount.jobs
    r = run(f'echo "a cat" > {q(jobs / "cat.txt")} && cat {q(jobs / "cat" / "status")}')
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout.strip() in STATUSES - {"failed", "cancelled"}, r.stdout
    assert "cat" in os.listdir(jobs)
    assert "cat.txt" not in os.listdir(jobs)

    wait_status(mount.mnt, "cat", "succeeded")
    d = job_dir(mount.mnt, "cat")
    video = mount.videos / "cat.mp4"
    data = readb(video)
    assert is_mp4(data)
    mp4_boxes(data)
    assert data == readb(mount.downloads / "cat.mp4")
    assert os.path.islink(d / "video")
    assert os.readlink(d / "video") == "../../videos/cat.mp4"
    assert readb(d / "video") == data

    assert read(d / "prompt") == "a cat\n"
    req_text = read(d / "request.json")
    req = json.loads(req_text)
    assert req["model"] == "sora-2"
    assert req["webHook"] == "-1"
    assert req["prompt"] == "a cat"
    assert DEFAULT_KEY not in req_text and "Bearer" not in req_text

    stats = sim.stats()
    assert stats["tasks_created"] == 1
    task = stats["tasks"][0]
    assert job_file(mount.mnt, "cat", "id") == task["id"]
    assert task["body"]["model"] == "sora-2"
    assert task["body"]["webHook"] == "-1"
    assert task["body"]["prompt"] == "a cat"
    assert job_file(mount.mnt, "cat", "progress") == "100"
    assert os.stat(d / "error").st_size == 0 and read(d / "error") == ""
    assert read_json(d / "result.json")["status"] == "succeeded"
    for f in ("status", "progress", "id"):
        assert read(d / f).endswith("\n"), f


def test_second_drop_gets_unique_name(mount, sim):
    drop(mount.mnt, "cat.txt", "a cat\n")
    drop(mount.mnt, "cat.txt", "another cat\n")   # the ghost of the first drop is still there
    run_ = run(f'echo "a third cat" > {q(mount.jobs / "cat.txt")}')
    assert run_.returncode == 0 and run_.stderr == "", run_
    for name in ("cat", "cat-2", "cat-3"):
        wait_status(mount.mnt, name, "succeeded")
    assert read(job_dir(mount.mnt, "cat-2") / "prompt") == "another cat\n"
    assert sorted(os.listdir(mount.videos)) == ["cat-2.mp4", "cat-3.mp4", "cat.mp4"]
    assert sim.tasks_created() == 3


@pytest.mark.parametrize("fname,job", [
    ("a cat in space.txt", "a cat in space"),
    ("chat café ☕.prompt", "chat café ☕"),
    ("a.b.txt", "a.b"),
    ("x" * 251 + ".txt", "x" * 251),
], ids=["spaces", "non-ascii", "two-dots", "255-bytes"])
def test_job_names(mount, fname, job):
    drop(mount.mnt, fname, "a cat\n")
    assert job in os.listdir(mount.jobs)
    wait_status(mount.mnt, job, "succeeded")
    assert is_mp4(readb(mount.videos / (job + ".mp4")))
    assert os.readlink(job_dir(mount.mnt, job) / "video") == f"../../videos/{job}.mp4"


def test_drop_without_extension(mount, sim):
    r = run(f'echo "a plain cat" > {q(mount.jobs / "plain")} && cat {q(mount.jobs / "plain" / "status")}')
    assert r.returncode == 0 and r.stderr == "", r
    assert os.path.isdir(mount.jobs / "plain")
    wait_status(mount.mnt, "plain", "succeeded")
    assert read(job_dir(mount.mnt, "plain") / "prompt") == "a plain cat\n"
    assert is_mp4(readb(mount.videos / "plain.mp4"))


def test_unicode_and_multiline_prompt(mount, sim):
    text = "一只猫在月光下弹钢琴 🎹\nslowly, with café lights\n"
    drop(mount.mnt, "moon.txt", text)
    wait_status(mount.mnt, "moon", "succeeded")
    assert body_of(sim)["prompt"] == text.rstrip("\n")
    assert read(job_dir(mount.mnt, "moon") / "prompt") == text
    assert os.getxattr(mount.videos / "moon.mp4", "user.xdg.comment").decode() == \
        text.rstrip("\n")


def test_concurrent_drops_get_unique_names(mount, sim):
    import threading
    files = ["cat.txt", "cat.prompt", "cat.md", "cat.json.txt", "dog.txt", "owl.txt"]
    errors = []

    def one(fname):
        try:
            drop(mount.mnt, fname, f"a drop from {fname}\n")
        except OSError as e:
            errors.append((fname, e))

    threads = [threading.Thread(target=one, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    jobs = sorted(os.listdir(mount.jobs))
    assert jobs == sorted(["cat", "cat-2", "cat-3", "cat.json", "dog", "owl"]), jobs
    prompts = sorted(read(mount.jobs / j / "prompt") for j in jobs)
    assert prompts == sorted(f"a drop from {f}\n" for f in files)
    for j in jobs:
        wait_status(mount.mnt, j, "succeeded", timeout=30)
    assert sim.tasks_created() == len(files)
    assert sorted(os.listdir(mount.videos)) == sorted(j + ".mp4" for j in jobs)


def test_front_matter_reaches_the_api(mount, sim):
    drop(mount.mnt, "fm.txt", "---\nduration: 15\naspectRatio: 16:9\nsize: large\n---\n"
         "a cat on a mat\n")
    wait_for(lambda: sim.tasks_created() == 1, 10, "the task to be submitted")
    body = body_of(sim)
    assert body["prompt"] == "a cat on a mat"
    assert body["duration"] == 15 and isinstance(body["duration"], int)
    assert body["aspectRatio"] == "16:9"
    assert body["size"] == "large"
    req = read_json(job_dir(mount.mnt, "fm") / "request.json")
    assert (req["duration"], req["aspectRatio"], req["size"]) == (15, "16:9", "large")
    wait_status(mount.mnt, "fm", "succeeded")


def test_json_drop(mount, sim):
    drop(mount.mnt, "dog.json", json.dumps({"prompt": "a dog", "duration": 15,
                                            "aspectRatio": "16:9"}))
    wait_status(mount.mnt, "dog", "succeeded")
    body = body_of(sim)
    assert body["prompt"] == "a dog"
    assert body["duration"] == 15 and body["aspectRatio"] == "16:9"
    assert body["model"] == "sora-2"


def test_defaults_merged_under_drop(mount, sim):
    write(mount.config / "defaults" / "aspectRatio", "16:9\n")
    write(mount.config / "defaults" / "duration", "15\n")
    drop(mount.mnt, "cat.txt", "---\nduration: 10\n---\na cat\n")
    wait_for(lambda: sim.tasks_created() == 1, 10, "the task to be submitted")
    body = body_of(sim)
    assert body["aspectRatio"] == "16:9"     # from config/defaults
    assert body["duration"] == 10            # the drop wins
    wait_status(mount.mnt, "cat", "succeeded")


def test_invalid_parameter(mount, sim):
    mount.expect_log(r"duration")
    err = write_errno(mount.jobs / "bad.txt", "---\nduration: 7\n---\na cat\n")
    assert err == errno.EINVAL, errname(err)
    assert job_status(mount.mnt, "bad") == "failed"
    assert "duration" in job_file(mount.mnt, "bad", "error")
    mount.wait_log(r"duration")
    stays(lambda: sim.tasks_created() == 0, 1, "no task submitted")


@pytest.mark.parametrize("fname,content,words", [
    ("unknown.txt", "---\ncolour: red\n---\na cat\n", r"colour"),
    ("broken.json", '{"prompt": "a cat", "duration": ', r"json"),
    ("noprompt.txt", "---\nduration: 15\n---\n", r"prompt"),
    ("badsize.json", '{"prompt": "a cat", "size": "huge"}', r"size"),
], ids=["unknown-parameter", "bad-json", "empty-prompt", "bad-size"])
def test_bad_drops_fail_at_close(mount, sim, fname, content, words):
    job = fname.rsplit(".", 1)[0]
    mount.expect_log(words, job)
    err = write_errno(mount.jobs / fname, content)
    assert err == errno.EINVAL, errname(err)
    assert job_status(mount.mnt, job) == "failed"
    assert re.search(words, job_file(mount.mnt, job, "error"), re.IGNORECASE), \
        job_file(mount.mnt, job, "error")
    stays(lambda: sim.requests(SUBMIT) == 0, 0.5, "no submit")


def test_rename_into_jobs_starts_a_job(mount, sim):
    tmp = mount.jobs / ".cat.txt.partial"
    write(tmp, "a cat\n")
    os.rename(tmp, mount.jobs / "cat.txt")
    assert job_status(mount.mnt, "cat") in STATUSES - {"failed", "cancelled"}
    assert ".cat.txt.partial" not in os.listdir(mount.jobs)
    wait_status(mount.mnt, "cat", "succeeded")
    assert sim.tasks_created() == 1


def test_rename_of_bad_content_succeeds_and_fails_the_job(mount, sim):
    mount.expect_log(r"duration")
    tmp = mount.jobs / ".bad.tmp"
    write(tmp, "---\nduration: 7\n---\na cat\n")
    os.rename(tmp, mount.jobs / "bad.txt")       # a failed rename would lose the file
    assert job_status(mount.mnt, "bad") == "failed"
    assert "duration" in job_file(mount.mnt, "bad", "error")
    assert sim.tasks_created() == 0


def test_dropped_name_is_a_quiet_ghost(mount, sim):
    path = drop(mount.mnt, "cat.txt", "a cat\n")
    # What cp -p, rsync and file managers do right after close():
    os.stat(path)
    os.utime(path, (1700000000, 1700000000))
    os.chmod(path, 0o644)
    os.chown(path, os.getuid(), os.getgid())
    assert "cat.txt" not in os.listdir(mount.jobs)
    assert [n for n in os.listdir(mount.jobs) if not n.startswith(".")] == ["cat"]
    wait_status(mount.mnt, "cat", "succeeded")
    assert sim.tasks_created() == 1


SCRATCH = [".hidden", "x~", "x.swp", "x.tmp", "4913", ".goutputstream-ABC"]


def test_scratch_files_never_submit(mount, sim):
    for name in SCRATCH:
        write(mount.jobs / name, f"a cat from {name}\n")
    listed = os.listdir(mount.jobs)
    for name in SCRATCH:
        assert name in listed, name
        assert read(mount.jobs / name) == f"a cat from {name}\n"
    # append, rename among scratch names, read back
    with open(mount.jobs / "x.tmp", "a") as f:
        f.write("more\n")
    os.rename(mount.jobs / "x.tmp", mount.jobs / ".x.tmp.2")
    os.rename(mount.jobs / "x~", mount.jobs / "y.swp")
    assert read(mount.jobs / ".x.tmp.2") == "a cat from x.tmp\nmore\n"
    assert read(mount.jobs / "y.swp") == "a cat from x~\n"
    listed = set(os.listdir(mount.jobs))
    assert "x.tmp" not in listed and "x~" not in listed
    dirs = [n for n in listed if os.path.isdir(mount.jobs / n)]
    assert dirs == [], f"scratch files started jobs: {dirs}"
    for name in listed:
        os.unlink(mount.jobs / name)
    assert os.listdir(mount.jobs) == []
    stays(lambda: sim.tasks_created() == 0, 1, "no task submitted")


def test_empty_file_starts_nothing(mount, sim):
    r = run(["touch", str(mount.jobs / "empty.txt")])
    assert r.returncode == 0 and r.stderr == "", r
    assert os.path.isfile(mount.jobs / "empty.txt")
    assert not os.path.isdir(mount.jobs / "empty")
    r = run(f'echo "a late cat" > {q(mount.jobs / "empty.txt")}')
    assert r.returncode == 0 and r.stderr == "", r
    assert os.path.isdir(mount.jobs / "empty")
    wait_status(mount.mnt, "empty", "succeeded")
    assert read(job_dir(mount.mnt, "empty") / "prompt") == "a late cat\n"
    assert sim.tasks_created() == 1


@pytest.mark.parametrize("trigger,words", [
    ("[fail]", r"internal error"),
    ("[moderation]", r"moderation"),
    ("[output_moderation]", r"moderation"),
    ("[violation]", r"violat"),
    ("[weird]", r"mystery|unknown"),
])
def test_upstream_failure(mount, sim, trigger, words):
    name = "doomed"
    mount.expect_log(words, name)
    drop(mount.mnt, name + ".txt", f"a cat {trigger}\n")
    wait_status(mount.mnt, name, "failed")
    error = job_file(mount.mnt, name, "error")
    assert re.search(words, error, re.IGNORECASE), error
    assert error.isprintable() and error != "Network error", error
    assert not os.path.lexists(job_dir(mount.mnt, name) / "video")
    assert os.listdir(mount.videos) == []
    assert sim.tasks_created() == 1


# ------------------------------------------------------------------ ctl

def poll_count_stays_put(sim, duration=1.0):
    """After a job stopped being polled, at most one in-flight poll lands."""
    n0 = sim.requests(POLL)
    stays(lambda: sim.requests(POLL) <= n0 + 1, duration, "no more polls")


def test_cancel_running(mount, sim):
    drop(mount.mnt, "slow.txt", "a slow cat [slow]\n")
    wait_status(mount.mnt, "slow", "running")
    r = run(f"echo cancel > {q(job_dir(mount.mnt, 'slow') / 'ctl')}")
    assert r.returncode == 0 and r.stderr == "", r
    wait_status(mount.mnt, "slow", "cancelled", timeout=3)
    poll_count_stays_put(sim)
    assert job_status(mount.mnt, "slow") == "cancelled"
    assert os.listdir(mount.videos) == []


@pytest.mark.mount(opts=["max_active=1"])
def test_cancel_queued(mount, sim):
    drop(mount.mnt, "first.txt", "a slow cat [slow]\n")
    drop(mount.mnt, "second.txt", "a second cat\n")
    wait_status(mount.mnt, "first", "running")
    assert job_status(mount.mnt, "second") == "queued"
    assert ctl(mount.mnt, "second", "  cancel \t") == 0
    assert job_status(mount.mnt, "second") == "cancelled"
    assert ctl(mount.mnt, "first", "cancel") == 0
    stays(lambda: sim.tasks_created() == 1, 1, "the cancelled queued job never submitted")


def test_cancel_finished_is_einval(mount):
    mount.expect_log(r"cancel|ctl")
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    assert ctl(mount.mnt, "cat", "cancel") == errno.EINVAL
    assert job_status(mount.mnt, "cat") == "succeeded"


def test_retry_after_failure(mount, sim):
    mount.expect_log(r"internal error|failed", "doomed")
    drop(mount.mnt, "doomed.txt", "a cat [fail]\n")
    wait_status(mount.mnt, "doomed", "failed")
    first_id = job_file(mount.mnt, "doomed", "id")
    assert sim.tasks_created() == 1
    assert ctl(mount.mnt, "doomed", "retry") == 0
    assert job_status(mount.mnt, "doomed") in {"queued", "running"}
    wait_for(lambda: sim.tasks_created() == 2, 10, "a second task")
    wait_status(mount.mnt, "doomed", "failed")
    second_id = job_file(mount.mnt, "doomed", "id")
    assert second_id != first_id
    assert second_id == sim.tasks()[1]["id"]
    assert sim.tasks_created() == 2


def test_retry_running_is_ebusy(mount, sim):
    mount.expect_log(r"retry|ctl")
    drop(mount.mnt, "slow.txt", "a slow cat [slow]\n")
    wait_status(mount.mnt, "slow", "running")
    assert ctl(mount.mnt, "slow", "retry") == errno.EBUSY
    assert sim.tasks_created() == 1


@pytest.mark.mount(opts=["poll_interval=60"])
def test_refresh_polls_now(mount, sim):
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: job_file(mount.mnt, "cat", "id"), 10, "the task id")
    wait_for(lambda: sim.tasks()[0]["status"] == "succeeded", 10, "the task to finish upstream")
    assert ctl(mount.mnt, "cat", "refresh") == 0
    wait_status(mount.mnt, "cat", "succeeded", timeout=5)


@pytest.mark.mount(key=None)
def test_refresh_without_id_is_einval(mount, sim):
    mount.expect_log(r"api.?key", r"refresh|ctl")
    drop(mount.mnt, "cat.txt", "a cat\n")
    assert job_status(mount.mnt, "cat") == "queued"
    assert ctl(mount.mnt, "cat", "refresh") == errno.EINVAL


def test_redownload(mount, sim):
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    on_disk = mount.downloads / "cat.mp4"
    before = os.stat(on_disk)
    data = readb(on_disk)
    downloads = sim.stats()["downloads_completed"]
    assert ctl(mount.mnt, "cat", "redownload") == 0
    wait_for(lambda: sim.stats()["downloads_completed"] > downloads, 10, "a second download")
    wait_for(lambda: os.stat(on_disk).st_ino != before.st_ino, 10, "the file to be replaced")
    wait_status(mount.mnt, "cat", "succeeded")
    assert readb(mount.videos / "cat.mp4") == data
    assert sorted(os.listdir(mount.videos)) == ["cat.mp4"]
    assert sim.tasks_created() == 1


@pytest.mark.skipif("valgrind" in os.environ.get("SORA2FS_WRAPPER", ""),
                    reason="timing of the replaced file's close is too slow to observe under valgrind")
@pytest.mark.sim(video_size=3_000_001)
def test_redownload_lets_the_replaced_video_go(mount, sim):
    # A size that is no multiple of the 128 KiB write pieces: the last piece
    # is written at the end. The replaced video is held open across the rename
    # and closed once the new one is shown, not kept.
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    on_disk = mount.downloads / "cat.mp4"
    before = os.stat(on_disk)
    assert ctl(mount.mnt, "cat", "redownload") == 0
    wait_for(lambda: os.stat(on_disk).st_ino != before.st_ino, 10, "the file to be replaced")
    wait_status(mount.mnt, "cat", "succeeded")
    data = readb(mount.videos / "cat.mp4")
    assert len(data) == 3_000_001
    mp4_boxes(data)

    def old_closed():
        fds = f"/proc/{mount.proc.pid}/fd"
        for fd in os.listdir(fds):
            try:
                if os.readlink(f"{fds}/{fd}").endswith(" (deleted)"):
                    return False
            except FileNotFoundError:
                pass  # closed meanwhile
        return True
    wait_for(old_closed, 5, "the replaced video to be closed")


def test_unknown_ctl_command(mount):
    mount.expect_log(r"frobnicate|ctl|unknown")
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    assert ctl(mount.mnt, "cat", "frobnicate") == errno.EINVAL
    assert job_status(mount.mnt, "cat") == "succeeded"


def test_job_files_are_read_only(mount):
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    d = job_dir(mount.mnt, "cat")
    for f in ("prompt", "request.json", "id", "status", "progress", "error", "result.json"):
        before = read(d / f)
        err = write_errno(d / f, "hacked\n", flags=os.O_WRONLY | os.O_TRUNC)
        assert err == errno.EACCES, f"{f}: {errname(err)}"
        assert read(d / f) == before, f
    err = write_errno(d / "extra", "x")
    assert err == errno.EACCES, errname(err)


def test_rm_r_forgets_job_keeps_video(mount, sim):
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    r = run(["rm", "-r", str(job_dir(mount.mnt, "cat"))])
    assert r.returncode == 0 and r.stderr == "", r
    assert "cat" not in os.listdir(mount.jobs)
    assert os.path.isfile(mount.videos / "cat.mp4")
    assert any(os.path.basename(e["file"]) == "cat.mp4" for e in mount.history_json())
    mount.remount()
    assert "cat" not in os.listdir(mount.jobs)
    assert os.path.isfile(mount.videos / "cat.mp4")
    # The name is free again; the new video gets a name of its own.
    drop(mount.mnt, "cat.txt", "a new cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    assert sorted(os.listdir(mount.videos)) == ["cat-2.mp4", "cat.mp4"]
    assert os.readlink(job_dir(mount.mnt, "cat") / "video") == "../../videos/cat-2.mp4"


def test_rm_r_running_job_stops_polling(mount, sim):
    drop(mount.mnt, "slow.txt", "a slow cat [slow]\n")
    wait_status(mount.mnt, "slow", "running")
    r = run(["rm", "-r", str(job_dir(mount.mnt, "slow"))])
    assert r.returncode == 0 and r.stderr == "", r
    assert "slow" not in os.listdir(mount.jobs)
    poll_count_stays_put(sim)


def test_mv_renames_a_job(mount, sim):
    drop(mount.mnt, "cat.txt", "a cat\n")
    drop(mount.mnt, "dog.txt", "a dog\n")
    wait_status(mount.mnt, "cat", "succeeded")
    wait_status(mount.mnt, "dog", "succeeded")
    os.rename(mount.jobs / "cat", mount.jobs / "kitty")
    assert job_status(mount.mnt, "kitty") == "succeeded"
    assert "cat" not in os.listdir(mount.jobs)
    with pytest.raises(OSError) as e:
        os.rename(mount.jobs / "kitty", mount.jobs / "dog")
    assert e.value.errno == errno.EEXIST
    assert read(job_dir(mount.mnt, "kitty") / "prompt") == "a cat\n"
    assert read(job_dir(mount.mnt, "dog") / "prompt") == "a dog\n"


@pytest.mark.mount(key=None)
def test_no_api_key_waits_for_one(mount, sim):
    mount.expect_log(r"api.?key")
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_for(lambda: "API key" in (job_file(mount.mnt, "cat", "error") or ""), 5,
             "an error about the missing API key")
    assert "config/api_key" in job_file(mount.mnt, "cat", "error")
    assert job_file(mount.mnt, "cat", "id") == ""
    stays(lambda: job_status(mount.mnt, "cat") == "queued" and sim.tasks_created() == 0,
          0.6, "the job waiting as queued")
    mount.write_key(DEFAULT_KEY)
    wait_status(mount.mnt, "cat", "succeeded")
    assert job_file(mount.mnt, "cat", "error") == ""
    assert sim.tasks_created() == 1


@pytest.mark.mount(opts=["max_active=1"])
def test_max_active(mount, sim):
    names = ["one", "two", "three"]
    for n in names:
        drop(mount.mnt, n + ".txt", f"cat number {n}\n")
    seen_queued = set()

    def check():
        running_up = [t for t in sim.tasks() if t["status"] == "running"]
        assert len(running_up) <= 1, f"{len(running_up)} tasks running upstream"
        statuses = {n: job_status(mount.mnt, n) for n in names}
        assert list(statuses.values()).count("running") <= 1, statuses
        seen_queued.update(n for n, s in statuses.items() if s == "queued")
        bad = {n: s for n, s in statuses.items() if s in FINAL - {"succeeded"}}
        assert not bad, [describe_job(mount.mnt, n) for n in bad]
        return all(s == "succeeded" for s in statuses.values())

    wait_for(check, 30, "three jobs to succeed one at a time")
    assert len(seen_queued) >= 2
    assert sim.tasks_created() == 3


def test_status_is_never_stale(mount):
    drop(mount.mnt, "cat.txt", "a cat\n")
    seen = []
    progress = []

    def watch():
        st = read(job_dir(mount.mnt, "cat") / "status")
        assert st.endswith("\n") and st.strip() in STATUSES, f"status read as {st!r}"
        st = st.strip()
        if not seen or seen[-1] != st:
            seen.append(st)
        p = read(job_dir(mount.mnt, "cat") / "progress").strip()
        assert p.isdigit() and 0 <= int(p) <= 100, f"progress read as {p!r}"
        progress.append(int(p))
        assert st not in FINAL - {"succeeded"}, describe_job(mount.mnt, "cat")
        return st == "succeeded"

    wait_for(watch, 15, "status to become succeeded", interval=0.02)
    assert "running" in seen, seen
    ranks = [ORDER[s] for s in seen]
    assert ranks == sorted(ranks), f"status went backwards: {seen}"
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    assert progress[-1] == 100


def test_status_reread_through_one_open_file(mount):
    """A monitor that keeps status open and re-reads it from offset 0 (as with
    /proc and sysfs files) sees it change too."""
    drop(mount.mnt, "cat.txt", "a cat\n")
    fd = os.open(job_dir(mount.mnt, "cat") / "status", os.O_RDONLY)
    try:
        seen = []

        def reread():
            st = os.pread(fd, 64, 0).decode()
            assert st.strip() in STATUSES, st
            if not seen or seen[-1] != st.strip():
                seen.append(st.strip())
            return st.strip() == "succeeded"

        wait_status(mount.mnt, "cat", "succeeded")
        wait_for(reread, 3, "the open status file to show succeeded")
    finally:
        os.close(fd)


def test_whole_tree_walks_cleanly(mount):
    drop(mount.mnt, "cat.txt", "a cat\n")
    drop(mount.mnt, "doomed.txt", "a cat [fail]\n")
    mount.expect_log(r"internal error|failed", "doomed")
    wait_status(mount.mnt, "cat", "succeeded")
    wait_status(mount.mnt, "doomed", "failed")
    for cmd in (["ls", "-lR", str(mount.mnt)], ["find", str(mount.mnt), "-ls"],
                ["du", "-s", str(mount.mnt)]):
        r = run(cmd)
        assert r.returncode == 0 and r.stderr == "", r
