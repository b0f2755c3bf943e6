"""Shell idioms through the real mount with real shells (issue 8, items 1-8).

Every test runs real commands (bash -c, dash -c, /bin/echo, compound commands,
pipelines, here-documents) and checks what the shell sees (exit status, error
text) and what reached the API (one task per successful close, whole text).
"""

import errno
import json
import os
import shlex
import shutil
import subprocess
import threading

import pytest

from util import (ctl, drop, job_file, job_status, read, run, scaled, wait_for,
                  wait_status, write_errno)

POLL = "/v1/draw/result"


def q(path):
    return shlex.quote(str(path))


def sh(cmd, shell="bash", timeout=30):
    return subprocess.run([shell, "-c", cmd], capture_output=True, text=True,
                          timeout=scaled(timeout), stdin=subprocess.DEVNULL)


def prompts(sim):
    return sorted(t["body"]["prompt"] for t in sim.tasks())


# ------------------------------------------------------- 1: one job per drop

@pytest.mark.parametrize("shell", ["bash", "dash"])
def test_compound_command_is_one_job(mount, sim, shell, tmp_path):
    if not shutil.which(shell):
        pytest.skip(f"{shell} not installed")
    (tmp_path / "head.txt").write_text("a cat\n")
    (tmp_path / "body.txt").write_text("on a piano\n")
    r = sh(f"{{ cat {q(tmp_path / 'head.txt')}; cat {q(tmp_path / 'body.txt')}; }} "
           f"> {q(mount.jobs / 'grp.txt')} && cat {q(mount.jobs / 'grp' / 'status')}", shell)
    assert r.returncode == 0 and r.stderr == "", r
    assert read(mount.jobs / "grp" / "prompt") == "a cat\non a piano\n"
    wait_for(lambda: sim.tasks_created() == 1, 10, "one task")
    assert prompts(sim) == ["a cat\non a piano"]


def test_children_and_builtins_with_a_pause(mount, sim):
    # the first child exits (closing its copy) long before the shell is done
    r = sh(f"{{ /bin/echo a; sleep 0.5; echo b; }} > {q(mount.jobs / 'x.txt')}; "
           f"echo rc=$?; cat {q(mount.jobs / 'x' / 'prompt')}")
    assert r.stdout == "rc=0\na\nb\n" and r.stderr == "", r
    wait_for(lambda: sim.tasks_created() == 1, 10, "one task")
    assert prompts(sim) == ["a\nb"]


def test_pipeline_and_here_document(mount, sim):
    r = sh(f"printf 'one\\ntwo\\n' | cat - > {q(mount.jobs / 'pipe.txt')} && "
           f"cat > {q(mount.jobs / 'doc.txt')} <<'EOF'\nfirst line\nsecond line\nEOF\n"
           f"ls {q(mount.jobs)}")
    assert r.returncode == 0 and r.stderr == "", r
    assert sorted(r.stdout.split()) == ["doc", "pipe"]
    assert read(mount.jobs / "doc" / "prompt") == "first line\nsecond line\n"
    wait_for(lambda: sim.tasks_created() == 2, 10, "two tasks")
    assert prompts(sim) == ["first line\nsecond line", "one\ntwo"]


def test_subshell_with_background_child(mount, sim):
    # the opener (the subshell) waits for its children: all output is one job
    r = sh(f"( /bin/echo one & /bin/echo two & wait ) > {q(mount.jobs / 'bg.txt')}; "
           f"cat {q(mount.jobs / 'bg' / 'status')}")
    assert r.returncode == 0 and r.stderr == "", r
    wait_for(lambda: sim.tasks_created() == 1, 10, "one task")
    assert sorted(prompts(sim)[0].split("\n")) == ["one", "two"]


# --------------------------------------------------- 2: two writers, one name

def test_two_writers_of_one_name_both_become_jobs(mount, sim):
    r = sh(f"cd {q(mount.jobs)} && exec 3>same.txt; echo B > same.txt; echo A >&3; "
           f"exec 3>&-; ls")
    assert r.returncode == 0 and r.stderr == "", r
    assert sorted(r.stdout.split()) == ["same", "same-2"]
    wait_for(lambda: sim.tasks_created() == 2, 10, "two tasks")
    assert prompts(sim) == ["A", "B"]


@pytest.mark.mount(key=None)  # no key: the jobs wait, the test is about the drops
def test_parallel_writers_lose_nothing(mount, sim):
    """8 writers x 100 drops of the same names: one job per successful close."""
    writers, drops = 8, 100
    ok = [0] * writers
    errors = []

    def writer(w):
        for i in range(drops):
            path = mount.jobs / f"n{i}.txt"
            e = write_errno(path, f"writer {w} drop {i}\n")
            if e == 0:
                ok[w] += 1
            else:
                errors.append(errno.errorcode.get(e, e))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(scaled(60))
    total = sum(ok)
    assert total == writers * drops, errors
    names = [n for n in os.listdir(mount.jobs) if not n.endswith(".txt")]
    assert len(names) == total, sorted(names)
    got = sorted(read(mount.jobs / n / "prompt") for n in names)
    want = sorted(f"writer {w} drop {i}\n" for w in range(writers) for i in range(drops))
    assert got == want


@pytest.mark.mount(key=None)
def test_parallel_shells_lose_nothing(mount, sim):
    """8 shell processes x 50 drops of the same names with /bin/echo (which
    reports a failed close): one job per close that succeeded."""
    writers, drops = 8, 50
    script = (f"cd {q(mount.jobs)} && for i in $(seq 0 {drops - 1}); do "
              f"/bin/echo \"shell $W drop $i\" > n$i.txt && echo ok; done")
    procs = [subprocess.Popen(["bash", "-c", script], env=dict(os.environ, W=str(w)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(writers)]
    outs = [p.communicate(timeout=scaled(60)) for p in procs]
    ok = sum(o.count("ok") for o, _ in outs)
    assert ok == writers * drops, [e for _, e in outs if e]
    names = [n for n in os.listdir(mount.jobs) if not n.endswith(".txt")]
    got = sorted(read(mount.jobs / n / "prompt") for n in names)
    want = sorted(f"shell {w} drop {i}\n" for w in range(writers) for i in range(drops))
    assert got == want


# ------------------------------------------- 3, 4, 5: errors at write() time

@pytest.mark.parametrize("shell", ["bash", "dash"])
@pytest.mark.parametrize("file,value", [
    ("host_mode", "bogus"),
    ("host_mode", ""),
    ("defaults/durations", "15"),
    ("defaults/duration", "7"),
    ("defaults/aspectRatio", "4:3"),
    ("defaults/character_refs", "x"),
])
def test_bad_config_value_fails_in_the_shell(mount, shell, file, value):
    if not shutil.which(shell):
        pytest.skip(f"{shell} not installed")
    mount.expect_log(r"config/")
    before = mount.config_json()
    r = sh(f"echo {q(value)} > {q(mount.config / file)}; echo rc=$?", shell)
    assert "rc=0" not in r.stdout, r
    assert mount.config_json() == before
    assert not os.path.exists(mount.config / file) or file == "host_mode"
    if file == "host_mode":
        assert read(mount.config / "host_mode") == "auto\n"


def test_good_config_values_still_work(mount):
    r = sh(f"cd {q(mount.config)} && echo overseas > host_mode && "
           f"echo 15 > defaults/duration && printf 16:9 > defaults/aspectRatio && "
           f"cat host_mode defaults/duration defaults/aspectRatio && ls defaults")
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout.split() == ["overseas", "15", "16:9", "aspectRatio", "duration"]


def test_api_key_oversize_and_truncate_change_nothing(mount):
    mount.expect_log(r"config/api_key")
    before = mount.config_json()["api_key"]
    assert write_errno(mount.config / "api_key", b"sk-" + b"x" * (2 << 20)) == errno.EFBIG
    assert mount.config_json()["api_key"] == before
    r = sh(f"truncate -s 100M {q(mount.config / 'api_key')}; echo rc=$?")
    assert "rc=0" not in r.stdout, r
    assert mount.config_json()["api_key"] == before


def test_empty_host_mode_is_refused(mount):
    mount.expect_log(r"config/host_mode")
    # an empty line fails at write(); no write at all changes nothing either
    assert write_errno(mount.config / "host_mode", "\n") == errno.EINVAL
    r = sh(f": > {q(mount.config / 'host_mode')}; cat {q(mount.config / 'host_mode')}")
    assert r.stdout == "auto\n", r
    assert mount.config_json()["host_mode"] == "auto"


def test_bad_drop_is_a_failed_job(mount, sim):
    mount.expect_log(r"jobs/bad")
    r = sh(f"/bin/echo '{{\"prompt\": \"x\", \"duration\": 7}}' > {q(mount.jobs / 'bad.json')}"
           f"; echo rc=$?")
    assert "rc=1" in r.stdout and "Invalid argument" in r.stderr, r
    assert job_status(mount.mnt, "bad") == "failed"
    assert "duration" in job_file(mount.mnt, "bad", "error")
    assert sim.tasks_created() == 0


# ---------------------------------------------------------- 6, 7, 8: details

def test_nul_escape_in_json_prompt_is_refused(mount, sim):
    mount.expect_log(r"jobs/nul")
    assert write_errno(mount.jobs / "nul.json",
                       '{"prompt": "visible\\u0000hidden"}\n') == errno.EINVAL
    assert job_status(mount.mnt, "nul") == "failed"
    assert "NUL" in job_file(mount.mnt, "nul", "error")
    assert sim.tasks_created() == 0


@pytest.mark.sim(gen_time=3)
def test_job_cannot_be_renamed_to_a_hidden_name(mount, sim):
    drop(mount.mnt, "h.txt", "a dog\n")
    r = sh(f"mv {q(mount.jobs / 'h')} {q(mount.jobs / '.h')}; echo rc=$?")
    assert "rc=0" not in r.stdout and "not permitted" in r.stderr, r
    assert os.path.isdir(mount.jobs / "h")


def test_long_names_and_links(mount):
    long = "a" * 256 + ".txt"
    assert write_errno(mount.jobs / long, "x\n") == errno.ENAMETOOLONG
    drop(mount.mnt, "l.txt", "a cat\n")
    for cmd in (f"ln -s l {q(mount.jobs / 'sym')}", f"ln {q(mount.jobs / 'l' / 'prompt')} "
                f"{q(mount.jobs / 'hard')}", f"ln -s x {q(mount.videos / 'v.mp4')}"):
        r = sh(f"LC_ALL=C {cmd}; echo rc=$?")
        assert "rc=0" not in r.stdout and "not permitted" in r.stderr, (cmd, r)


def test_ctl_errors(mount, sim):
    mount.expect_log(r"ctl: unknown command \"frobnicate\"", r"ctl: \"retry\" is not possible")
    drop(mount.mnt, "c.txt", "a cat\n")
    wait_status(mount.mnt, "c", {"succeeded"})
    assert ctl(mount.mnt, "c", "retry") == errno.EINVAL
    assert ctl(mount.mnt, "c", "frobnicate") == errno.EINVAL
    text = mount.log_text()
    assert 'unknown command "frobnicate"' in text
    assert "not possible now" not in text.split("frobnicate")[0].splitlines()[-1]


def test_error_text_not_repeated(mount, sim):
    mount.expect_log(r"failed|code -22")
    drop(mount.mnt, "e.txt", "a cat\n")
    wait_for(lambda: job_file(mount.mnt, "e", "id"), 10, "an id")
    sim.expire(job_file(mount.mnt, "e", "id"))
    wait_status(mount.mnt, "e", {"failed"}, timeout=20)
    err = job_file(mount.mnt, "e", "error")
    words = err.replace(":", " ").split()
    for i in range(len(words) - 3):
        assert words[i:i + 2] != words[i + 2:i + 4], err


@pytest.mark.mount(opts=["max_active=1"])
@pytest.mark.sim(gen_time=3)
def test_waiting_for_a_slot_says_why(mount, sim):
    drop(mount.mnt, "first.txt", "a cat\n")
    wait_status(mount.mnt, "first", {"running"})
    drop(mount.mnt, "second.txt", "a dog\n")
    assert job_status(mount.mnt, "second") == "queued"
    assert "max_active" in wait_for(lambda: job_file(mount.mnt, "second", "error"), 5,
                                    "a reason to wait")


def test_new_api_key_is_emptied_by_a_failed_request(mount, sim):
    mount.expect_log(r"new_api_key|account")
    mount.write_key("tok-shell-test", name="token")
    path = mount.mnt / "account" / "new_api_key"
    assert write_errno(path, json.dumps({"name": "ci", "type": 1, "credits": 5}) + "\n") == 0
    created = json.loads(read(path))
    mount.secrets.add(created["key"])
    assert write_errno(path, '{"name": "ci", "type": ') == errno.EINVAL
    assert read(path) == "", "the previous key still shown after a failed request"


def test_non_utf8_names_and_values_are_refused(mount, sim):
    mount.expect_log(r"UTF-8")
    latin1 = os.fsencode(str(mount.jobs)) + b"/caf\xe9.txt"
    assert write_errno(latin1, "a cat\n") == errno.EINVAL
    assert write_errno(mount.config / "api_key", b"sk-caf\xe9\n") == errno.EINVAL
    assert write_errno(mount.config / "defaults" / "aspectRatio", b"16:9\xe9\n") == errno.EINVAL
    # a drop's content arrives in pieces: the job fails, the bytes are kept losslessly
    assert write_errno(mount.jobs / "latin.txt", b"caf\xe9 au lait\n") == errno.EINVAL
    assert job_status(mount.mnt, "latin") == "failed"
    assert "UTF-8" in job_file(mount.mnt, "latin", "error")
    with open(mount.jobs / "latin" / "prompt", "rb") as f:
        assert f.read() == b"caf\xe9 au lait\n"
    mount.umount()
    for p in mount.data.rglob("*.json"):
        with open(p, encoding="utf-8") as f:
            json.load(f)  # every JSON file sora2fs wrote is UTF-8 text
    mount.start(write_key=False)
    with open(mount.jobs / "latin" / "prompt", "rb") as f:
        assert f.read() == b"caf\xe9 au lait\n"
