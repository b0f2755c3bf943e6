"""account/: credits, API-key credits, model status and new API keys, read and
written as files; errors as errnos with the reason in account/error; the API
never called by ls or stat, and never waited on past the timeout."""

import errno
import json
import os
import stat
import threading

import pytest

from util import (drop, errname, read, run, scaled, timed, wait_for, wait_status,
                  write_errno)

TOKEN = "tok-demo"
CREDITS = "/client/openapi/getCredits"
ACCOUNT_FILES = ("credits", "api_key_credits", "model_status", "new_api_key")


def read_errno(path):
    """(errno, content): 0 and the text, or the errno of the failing open/read."""
    try:
        return 0, read(path)
    except OSError as e:
        return e.errno, None


def account_read(mount, name):
    err, text = read_errno(mount.mnt / "account" / name)
    assert err == 0, f"reading account/{name}: {errname(err)}; " \
        f"account/error: {read(mount.mnt / 'account' / 'error')!r}"
    assert text.endswith("\n"), text
    return text.strip()


def account_error(mount):
    return read(mount.mnt / "account" / "error").strip()


def expect_failure(mount, name, errnum):
    err, text = read_errno(mount.mnt / "account" / name)
    assert err == errnum, f"account/{name}: {errname(err)} {text!r}"
    return account_error(mount)


def set_token(mount, token=TOKEN):
    mount.write_key(token, name="token")


def account_requests(sim):
    return {k: v for k, v in sim.stats()["requests"].items() if k.startswith("/client/")}


def test_credits_with_token(mount, sim):
    set_token(mount)
    credits = account_read(mount, "credits")
    assert credits.isdigit(), credits
    assert int(credits) == sim.stats()["credits"]["account"]
    assert account_error(mount) == ""


def test_credits_without_token(mount, sim):
    mount.expect_log(r"config/token")
    error = expect_failure(mount, "credits", errno.ENOKEY)
    assert "config/token" in error, error
    mount.wait_log(r"config/token")
    assert sim.requests(CREDITS) == 0


def test_credits_bad_token(mount, sim):
    mount.expect_log(r"credits|token")
    set_token(mount, "bad-token")
    error = expect_failure(mount, "credits", errno.EACCES)
    assert "token" in error, error
    # a good token afterwards works, and clears the error
    set_token(mount)
    assert account_read(mount, "credits").isdigit()
    assert account_error(mount) == ""


def test_api_key_credits_drop_after_generation(mount, sim):
    before = int(account_read(mount, "api_key_credits"))
    assert before == sim.stats()["credits"]["account"]
    drop(mount.mnt, "cat.txt", "a cat\n")
    wait_status(mount.mnt, "cat", "succeeded")
    assert int(account_read(mount, "api_key_credits")) == before - 1600


@pytest.mark.mount(key=None)
def test_api_key_credits_without_key(mount, sim):
    mount.expect_log(r"config/api_key")
    error = expect_failure(mount, "api_key_credits", errno.ENOKEY)
    assert "config/api_key" in error, error


def test_model_status(mount, sim):
    assert account_read(mount, "model_status") == "up"
    sim.config(model_down="maintenance")
    status = account_read(mount, "model_status")
    assert status.startswith("down"), status
    assert "maintenance" in status, status
    sim.config(model_down=None)
    assert account_read(mount, "model_status") == "up"


def test_http_500_is_eio(mount, sim):
    mount.expect_log(r"credits|500")
    set_token(mount)
    sim.fault("account", "http500")
    error = expect_failure(mount, "credits", errno.EIO)
    assert "500" in error, error
    sim.clear()
    assert account_read(mount, "credits").isdigit()


def test_stall_times_out_while_ls_stays_instant(mount_factory, sim):
    timeout = scaled(2)
    instant = scaled(0.5)
    mount = mount_factory(opts=[f"timeout={timeout:g}"])
    mount.expect_log(r"credits|time")
    set_token(mount)
    account = mount.mnt / "account"
    sim.fault("account", "stall", delay=15)
    before = sim.requests(CREDITS)
    outcome = {}

    def reader():
        outcome["elapsed"], (outcome["errno"], _) = timed(read_errno, account / "credits")

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    wait_for(lambda: sim.requests(CREDITS) > before, 5, "the credits call to reach the sim")
    checks = 0
    while th.is_alive() or checks == 0:
        elapsed, r = timed(run, ["ls", "-l", str(account)])
        assert r.returncode == 0, r.stderr
        assert elapsed < instant, f"ls -l account/ took {elapsed:.2f}s during a stalled call"
        elapsed, _ = timed(os.stat, account / "credits")
        assert elapsed < instant, f"stat account/credits took {elapsed:.2f}s during a stall"
        checks += 1
        th.join(0.05)
    th.join(scaled(10))
    assert outcome["errno"] == errno.ETIMEDOUT, errname(outcome["errno"])
    assert outcome["elapsed"] < timeout + scaled(2.5), f"the read took {outcome['elapsed']:.1f}s"
    assert "time" in account_error(mount).lower(), account_error(mount)


def test_ls_and_stat_never_call_the_api(mount, sim):
    set_token(mount)
    before = account_requests(sim)
    r = run(["ls", "-l", str(mount.mnt / "account")])
    assert r.returncode == 0, r.stderr
    for name in ACCOUNT_FILES:
        assert name in r.stdout
        os.stat(mount.mnt / "account" / name)
    os.listdir(mount.mnt / "account")
    assert account_requests(sim) == before


@pytest.mark.mount(opts=["verbose"])
def test_new_api_key(mount, sim):
    path = mount.mnt / "account" / "new_api_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    set_token(mount)
    request = {"name": "ci", "type": 1, "credits": 500, "expireTime": 0}
    err = write_errno(path, json.dumps(request) + "\n")
    assert err == 0, f"{errname(err)}; account/error: {account_error(mount)!r}"
    created = json.loads(read(path))
    key = created["key"]
    mount.secrets.add(key)
    assert key.startswith("sk-"), created
    assert "id" in created, created
    assert json.loads(read(path))["key"] == key     # still there on a second read

    mount.write_key(key)
    assert account_read(mount, "api_key_credits") == "500"
    assert key not in mount.log_text()


@pytest.mark.parametrize("with_token,payload,errnum", [
    (False, {"name": "ci", "type": 0, "credits": 0, "expireTime": 0}, errno.ENOKEY),
    (True, '{"name": "ci", "type": ', errno.EINVAL),
], ids=["no-token", "bad-json"])
def test_new_api_key_errors(mount, sim, with_token, payload, errnum):
    mount.expect_log(r"config/token|json|new_api_key|api key")
    if with_token:
        set_token(mount)
    text = payload if isinstance(payload, str) else json.dumps(payload)
    err = write_errno(mount.mnt / "account" / "new_api_key", text)
    assert err == errnum, errname(err)
    assert account_error(mount) != ""
    assert sim.requests("/client/openapi/createAPIKey") == 0
