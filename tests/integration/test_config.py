"""config/: the API key and token (masked, 0600, in data/config.json), host_mode,
and defaults/ (query_defaults)."""

import errno
import json
import os
import stat

import pytest

from util import read, read_json, write, write_errno

KEY = "sk-abcdef0123456789secretwxyz"
TOKEN = "tok-9876543210fedcbaPQRS"


def check_masked(shown, secret):
    shown = shown.strip()
    assert secret not in shown, "the full secret is shown"
    assert shown.startswith(secret[:6]), shown
    assert shown.endswith(secret[-4:]), shown
    assert "…" in shown, shown
    assert secret[6:-4] not in shown, shown
    assert len(shown) < len(secret)


@pytest.mark.mount(key=None)
@pytest.mark.parametrize("name,secret", [("api_key", KEY), ("token", TOKEN)])
def test_secret_masked_and_stored(mount, name, secret):
    path = mount.config / name
    mount.secrets.add(secret)
    write(path, secret + "\n")
    check_masked(read(path), secret)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    cfg_path = mount.data / "config.json"
    assert stat.S_IMODE(os.stat(cfg_path).st_mode) == 0o600
    cfg = read_json(cfg_path)
    assert cfg[name] == secret
    for k in ("api_key", "token", "host_mode", "query_defaults"):
        assert k in cfg, f"config.json lacks {k}: {cfg}"
    assert isinstance(cfg["query_defaults"], dict)


@pytest.mark.mount(key=None)
def test_secrets_survive_remount(mount):
    mount.secrets |= {KEY, TOKEN}
    write(mount.config / "api_key", KEY)
    write(mount.config / "token", TOKEN + "\n")
    mount.remount()
    check_masked(read(mount.config / "api_key"), KEY)
    check_masked(read(mount.config / "token"), TOKEN)
    cfg = mount.config_json()
    assert (cfg["api_key"], cfg["token"]) == (KEY, TOKEN)


def test_key_never_logged(mount_factory):
    m = mount_factory(key=KEY, opts=["verbose"])
    write(m.config / "token", TOKEN)
    m.secrets.add(TOKEN)
    read(m.config / "api_key")
    m.umount()
    log = m.log_text()
    assert KEY not in log and TOKEN not in log


def test_config_json_keeps_unknown_keys(mount_factory, tmp_path):
    studio = tmp_path / "studio"
    (studio / "data").mkdir(parents=True)
    (studio / "data" / "config.json").write_text(json.dumps({
        "api_key": "", "token": "", "host_mode": "auto",
        "query_defaults": {"size": "small"}, "theme": "dark"}))
    m = mount_factory(studio=studio)
    cfg = m.config_json()
    assert cfg["theme"] == "dark"
    assert cfg["query_defaults"] == {"size": "small"}
    assert read(m.config / "defaults" / "size").strip() == "small"


@pytest.mark.parametrize("mode", ["domestic", "overseas", "auto"])
def test_host_mode_values(mount, mode):
    path = mount.config / "host_mode"
    assert read(path).strip() == "auto"
    write(path, mode + "\n")
    assert read(path).strip() == mode
    assert mount.config_json()["host_mode"] == mode


def test_host_mode_invalid(mount):
    path = mount.config / "host_mode"
    write(path, "overseas\n")
    mount.expect_log(r"host.?mode|moon")
    err = write_errno(path, "moon\n")
    assert err == errno.EINVAL, errno.errorcode.get(err, err)
    assert read(path).strip() == "overseas"
    assert mount.config_json()["host_mode"] == "overseas"


def test_defaults_create_cat_rm(mount):
    d = mount.config / "defaults"
    write(d / "aspectRatio", "16:9\n")
    assert "aspectRatio" in os.listdir(d)
    assert read(d / "aspectRatio").strip() == "16:9"
    assert mount.config_json()["query_defaults"] == {"aspectRatio": "16:9"}
    os.unlink(d / "aspectRatio")
    assert "aspectRatio" not in os.listdir(d)
    assert not (d / "aspectRatio").exists()
    assert "aspectRatio" not in mount.config_json()["query_defaults"]


def test_defaults_duration_is_a_number(mount):
    write(mount.config / "defaults" / "duration", "15\n")
    qd = mount.config_json()["query_defaults"]
    assert qd["duration"] == 15 and isinstance(qd["duration"], int), qd


def test_defaults_invalid_value(mount):
    d = mount.config / "defaults"
    mount.expect_log(r"duration")
    # A new file with a bad value: nothing is stored.
    err = write_errno(d / "duration", "7\n")
    assert err == errno.EINVAL, errno.errorcode.get(err, err)
    assert "duration" not in mount.config_json()["query_defaults"]
    assert "duration" not in os.listdir(d)
    try:
        assert read(d / "duration").strip() != "7"
    except FileNotFoundError:
        pass
    # An existing value stays.
    write(d / "duration", "10\n")
    err = write_errno(d / "duration", "7\n")
    assert err == errno.EINVAL, errno.errorcode.get(err, err)
    assert read(d / "duration").strip() == "10"
    assert mount.config_json()["query_defaults"]["duration"] == 10


def test_defaults_survive_remount(mount):
    write(mount.config / "defaults" / "size", "large")
    mount.remount()
    assert read(mount.config / "defaults" / "size").strip() == "large"
