"""Contract tests for sora2-sim, the local stand-in for the upstream Sora2 API.

The client side here is written from /work/shared/api-contract.md only (plus
the simulator's own documented triggers and /_sim/ control endpoints, see
tests/sim/README.md). It starts the simulator itself.

    $ ninja -C build tests/sim/sora2-sim
    $ /usr/bin/python3 -m pytest -q tests/integration/test_sim_contract.py
    $ SORA2_SIM=/elsewhere/sora2-sim /usr/bin/python3 -m pytest -q tests/integration/test_sim_contract.py

Only the Python standard library and pytest are used.
"""

import base64
import http.client
import http.server
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIM = os.environ.get("SORA2_SIM", str(REPO / "build" / "tests" / "sim" / "sora2-sim"))

KEY = "sk-test-0123456789abcdef"
TOKEN = "tok-account-1"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PID_RE = re.compile(r"^s_[0-9a-f]{32}$")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body)


class Sim:
    def __init__(self, proc, port, log_path):
        self.proc = proc
        self.port = port
        self.log_path = log_path

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, key=None, headers=None, timeout=10):
        h = {}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if key is not None:
            h["Authorization"] = "Bearer " + key
        h.update(headers or {})
        conn = self.conn(timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def api(self, path, body, key=KEY):
        """A call through the upstream envelope: HTTP 200 and JSON expected."""
        r = self.request("POST", path, body, key=key)
        assert r.status == 200, (r.status, r.body)
        env = r.json()
        assert set(env) >= {"code", "msg", "data"}, env
        return env

    def ctl(self, path, body=None):
        r = self.request("POST" if body is not None else "GET", "/_sim/" + path, body)
        assert r.status == 200, (path, r.status, r.body)
        return r.json()

    def submit(self, prompt="a cat on a skateboard", key=KEY, **extra):
        body = {"model": "sora-2", "prompt": prompt, "webHook": "-1"}
        body.update(extra)
        env = self.api("/v1/video/sora-video", body, key=key)
        assert env["code"] == 0, env
        return env["data"]["id"]

    def poll(self, task_id):
        env = self.api("/v1/draw/result", {"id": task_id})
        assert env["code"] == 0, env
        return env["data"]

    def wait_final(self, task_id, timeout=8.0):
        deadline = time.monotonic() + timeout
        while True:
            t = self.poll(task_id)
            if t["status"] != "running":
                return t
            assert time.monotonic() < deadline, t
            time.sleep(0.05)

    def finished_video(self, prompt="a finished video"):
        task_id = self.submit(prompt)
        self.ctl("finish", {"id": task_id})
        t = self.poll(task_id)
        assert t["status"] == "succeeded", t
        return t

    def path_of(self, url):
        prefix = "http://127.0.0.1:%d" % self.port
        assert url.startswith(prefix), url
        return url[len(prefix):]

    def log(self):
        return Path(self.log_path).read_text(errors="replace")


def start_sim(tmpdir, *args):
    tmpdir = Path(tmpdir)
    tmpdir.mkdir(parents=True, exist_ok=True)
    port_file = tmpdir / "port"
    log_path = tmpdir / "sim.log"
    if not os.access(SIM, os.X_OK):
        pytest.fail("sora2-sim not found at %s (build it or set SORA2_SIM)" % SIM)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([SIM, "--port", "0", "--port-file", str(port_file), *args],
                                stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 10
    while not port_file.exists():
        if proc.poll() is not None:
            pytest.fail("sora2-sim exited: " + log_path.read_text())
        assert time.monotonic() < deadline, "sora2-sim did not write its port file"
        time.sleep(0.02)
    port = int(port_file.read_text())
    assert port_file.read_text() == "%d\n" % port
    return Sim(proc, port, log_path)


def stop_sim(sim):
    if sim.proc.poll() is None:
        sim.proc.send_signal(signal.SIGTERM)
        try:
            sim.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sim.proc.kill()
            sim.proc.wait()
            pytest.fail("sora2-sim ignored SIGTERM")
    return sim.proc.returncode


@pytest.fixture(scope="module")
def shared_sim(tmp_path_factory):
    s = start_sim(tmp_path_factory.mktemp("sim"), "--gen-time", "0.5")
    yield s
    assert stop_sim(s) == 0


@pytest.fixture
def sim(shared_sim):
    shared_sim.ctl("reset", {})
    return shared_sim


@pytest.fixture
def extra_sims(tmp_path):
    started = []

    def make(*args):
        s = start_sim(tmp_path / ("sim%d" % len(started)), *args)
        started.append(s)
        return s

    yield make
    for s in started:
        stop_sim(s)


def mp4_boxes(data):
    """Top-level MP4 boxes; asserts they chain exactly to the end, ftyp first."""
    boxes = []
    off = 0
    while off < len(data):
        assert len(data) - off >= 8, "truncated box header at %d" % off
        size, kind = struct.unpack(">I4s", data[off:off + 8])
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
        assert size >= 8, "bad box size %d at %d" % (size, off)
        boxes.append((kind.decode("latin-1"), size))
        off += size
    assert off == len(data), "boxes overrun the file"
    assert boxes and boxes[0][0] == "ftyp"
    assert any(k == "moov" for k, _ in boxes) and any(k == "mdat" for k, _ in boxes)
    return boxes


def read_stream(sim, body, key=KEY, timeout=10):
    conn = sim.conn(timeout)
    try:
        conn.request("POST", "/v1/video/sora-video", body=json.dumps(body).encode(),
                     headers={"Content-Type": "application/json",
                              "Authorization": "Bearer " + key})
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("Content-Type", "").startswith("text/event-stream")
        return resp.read().decode()
    finally:
        conn.close()


class HookReceiver:
    """A tiny webhook endpoint collecting the bodies POSTed to it."""

    def __init__(self):
        self.bodies = []
        self.cond = threading.Condition()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(n)
                with outer.cond:
                    outer.bodies.append(json.loads(data))
                    outer.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook/x" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_final(self, timeout=8):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (self.bodies and self.bodies[-1]["status"] != "running"):
                left = deadline - time.monotonic()
                assert left > 0, self.bodies
                self.cond.wait(left)
            return list(self.bodies)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = HookReceiver()
    yield h
    h.close()


# ---- start-up ------------------------------------------------------------


def test_listens_on_loopback_and_logs(sim):
    assert "sora2-sim: listening on http://127.0.0.1:%d" % sim.port in sim.log()
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=2)
    s.close()


# ---- generation and polling ----------------------------------------------


def test_submit_poll_download(sim):
    task_id = sim.submit()
    assert UUID_RE.match(task_id)
    t = sim.poll(task_id)
    assert t["id"] == task_id and t["status"] == "running"
    assert not t.get("results")
    t = sim.wait_final(task_id)
    assert t["status"] == "succeeded"
    assert t["progress"] == 100
    assert t["failure_reason"] == "" and t["error"] == ""
    res = t["results"][0]
    assert res["removeWatermark"] is True
    assert PID_RE.match(res["pid"])
    path = sim.path_of(res["url"])
    assert path.startswith("/files/") and not path.startswith("/v1/")
    r = sim.request("GET", path)
    assert r.status == 200
    assert r.headers["content-type"] == "video/mp4"
    assert int(r.headers["content-length"]) == len(r.body)
    mp4_boxes(r.body)
    stats = sim.ctl("stats")
    assert stats["downloads_completed"] == 1


def test_submit_with_urllib(sim):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/v1/video/sora-video" % sim.port,
        data=json.dumps({"model": "sora-2", "prompt": "hi", "webHook": "-1"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + KEY},
        method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        env = json.loads(resp.read())
    assert env["code"] == 0 and env["msg"] == "success" and env["data"]["id"]


def test_progress_rises(sim):
    task_id = sim.submit()
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        t = sim.poll(task_id)
        if t["status"] != "running":
            break
        seen.append(t["progress"])
        time.sleep(0.04)
    assert seen == sorted(seen)
    assert all(0 <= p <= 99 for p in seen)
    assert len(set(seen)) >= 3, seen


def test_unknown_task(sim):
    env = sim.api("/v1/draw/result", {"id": "no-such-task"})
    assert env["code"] == -22 and env["data"] is None
    env = sim.api("/v1/draw/result", {})
    assert env["code"] != 0


def test_unknown_fields_and_options_accepted(sim):
    task_id = sim.submit("with options", aspectRatio="16:9", duration=15, size="large",
                         someFutureField={"x": 1}, shutProgress=False,
                         url="https://example.com/ref.png")
    assert sim.poll(task_id)["status"] == "running"


def test_reference_image_forms(sim):
    raw = base64.b64encode(b"\x89PNG" + b"\0" * 3000).decode()
    for url in ("https://example.com/a.png", "data:image/png;base64," + raw, raw):
        sim.submit("with image", url=url)
    bodies = [t["body"] for t in sim.ctl("stats")["tasks"]]
    assert bodies[0]["url"] == "https://example.com/a.png"
    assert bodies[1]["url"] == "<%d bytes>" % (len(raw) + 22)
    assert bodies[2]["url"] == "<%d bytes>" % len(raw)


@pytest.mark.parametrize("field,value", [
    ("model", "sora-1"), ("model", None), ("prompt", ""), ("prompt", None),
    ("duration", 12), ("duration", "10"), ("aspectRatio", "1:1"), ("size", "huge"),
    ("remixTargetId", "s_" + "0" * 32),
])
def test_bad_parameters(sim, field, value):
    body = {"model": "sora-2", "prompt": "p", "webHook": "-1"}
    if value is None:
        del body[field]
    else:
        body[field] = value
    env = sim.api("/v1/video/sora-video", body)
    assert env["code"] == -3, env
    assert field in env["msg"]
    assert sim.ctl("stats")["tasks_created"] == 0


def test_bad_json_body(sim):
    r = sim.request("POST", "/v1/video/sora-video", b"{not json", key=KEY)
    assert r.status == 200 and r.json()["code"] == -3
    r = sim.request("POST", "/v1/draw/result", b"[1,2]")
    assert r.status == 200 and r.json()["code"] != 0


def test_remix(sim):
    pid = sim.finished_video()["results"][0]["pid"]
    task_id = sim.submit("remix it", remixTargetId=pid)
    assert sim.poll(task_id)["status"] == "running"


@pytest.mark.parametrize("key", [None, "", "pk-123", "sk-bad-123456789"])
def test_invalid_key(sim, key):
    env = sim.api("/v1/video/sora-video", {"model": "sora-2", "prompt": "p", "webHook": "-1"},
                  key=key)
    assert env["code"] == -1 and env["msg"]


def test_invalid_key_http401_variant(sim):
    sim.ctl("config", {"bad_key_http401": True})
    r = sim.request("POST", "/v1/video/sora-video",
                    {"model": "sora-2", "prompt": "p", "webHook": "-1"}, key="sk-bad")
    assert r.status == 401


def test_no_credits(sim):
    env = sim.api("/v1/video/sora-video", {"model": "sora-2", "prompt": "p", "webHook": "-1"},
                  key="sk-poor-123456789")
    assert env["code"] == -2 and "credit" in env["msg"]


def test_stream(sim):
    text = read_stream(sim, {"model": "sora-2", "prompt": "streamed"})
    lines = [ln for ln in text.split("\n") if ln]
    assert all(ln.startswith("data: ") for ln in lines), text
    assert "\n\n" in text
    objs = [json.loads(ln[len("data: "):]) for ln in lines]
    assert 3 <= len(objs) <= 8
    assert all(o["status"] == "running" for o in objs[:-1])
    progress = [o["progress"] for o in objs]
    assert progress == sorted(progress)
    assert objs[-1]["status"] == "succeeded" and objs[-1]["results"][0]["url"]


def test_stream_bare_and_shut_progress(sim):
    sim.ctl("config", {"stream_bare": True})
    text = read_stream(sim, {"model": "sora-2", "prompt": "bare"})
    objs = [json.loads(ln) for ln in text.split("\n") if ln]
    assert len(objs) >= 2 and objs[-1]["status"] == "succeeded"
    sim.ctl("config", {"stream_bare": False})
    text = read_stream(sim, {"model": "sora-2", "prompt": "quiet", "shutProgress": True})
    lines = [ln for ln in text.split("\n") if ln]
    assert len(lines) == 1
    assert json.loads(lines[0][len("data: "):])["status"] == "succeeded"


@pytest.mark.parametrize("mode", ["stream_cut", "stream_stall"])
def test_stream_faults_after_first_object(sim, mode):
    sim.ctl("fault", {"kind": "submit", "mode": mode, "count": 1, "delay": 1})
    conn = sim.conn(10)
    try:
        conn.request("POST", "/v1/video/sora-video",
                     body=json.dumps({"model": "sora-2", "prompt": mode}).encode(),
                     headers={"Content-Type": "application/json",
                              "Authorization": "Bearer " + KEY})
        resp = conn.getresponse()
        assert resp.status == 200
        first = resp.readline().decode()
        assert json.loads(first[len("data: "):])["status"] == "running"
        # then the body breaks off: no final object, no clean end
        with pytest.raises(http.client.IncompleteRead):
            resp.read()
    finally:
        conn.close()
    assert sim.ctl("stats")["tasks_created"] == 1


def test_webhook(sim, hook):
    env = sim.api("/v1/video/sora-video",
                  {"model": "sora-2", "prompt": "hooked", "webHook": hook.url})
    assert env["code"] == 0
    task_id = env["data"]["id"]
    bodies = hook.wait_final()
    assert all(b["id"] == task_id for b in bodies)
    assert "code" not in bodies[0]  # bare task objects, no envelope
    assert len(bodies) >= 3
    assert bodies[-1]["status"] == "succeeded"


def test_webhook_shut_progress(sim, hook):
    env = sim.api("/v1/video/sora-video", {"model": "sora-2", "prompt": "[fail] hooked",
                                           "webHook": hook.url, "shutProgress": True})
    bodies = hook.wait_final()
    assert len(bodies) == 1
    assert bodies[0]["id"] == env["data"]["id"] and bodies[0]["status"] == "failed"


# ---- outcome triggers ------------------------------------------------------


def key_credits(sim, key=KEY):
    env = sim.api("/client/openapi/getAPIKeyCredits", {"apiKey": key}, key=None)
    assert env["code"] == 0
    return env["data"]["credits"]


def test_fail_refunds(sim):
    start = key_credits(sim)
    task_id = sim.submit("a cat [fail]")
    assert key_credits(sim) == start - 1600
    t = sim.wait_final(task_id)
    assert t["status"] == "failed"
    assert t["failure_reason"] == "error" and t["error"]
    assert key_credits(sim) == start


def test_input_moderation_at_once(sim):
    t = sim.poll(sim.submit("[moderation] something"))
    assert t["status"] == "failed" and t["failure_reason"] == "input_moderation"


def test_output_moderation_at_end(sim):
    task_id = sim.submit("[output_moderation] something")
    assert sim.poll(task_id)["status"] == "running"
    t = sim.wait_final(task_id)
    assert t["status"] == "failed" and t["failure_reason"] == "output_moderation"


@pytest.mark.parametrize("trigger,status", [("[violation]", "violation"), ("[weird]", "mystery")])
def test_other_final_statuses(sim, trigger, status):
    assert sim.wait_final(sim.submit("x " + trigger))["status"] == status


def test_slow(sim):
    task_id = sim.submit("[slow] take your time")
    time.sleep(0.7)
    assert sim.poll(task_id)["status"] == "running"
    sim.ctl("finish", {"id": task_id})
    assert sim.poll(task_id)["status"] == "succeeded"


def test_size_trigger_and_range(sim):
    t = sim.finished_video("big [size=300000]")
    path = sim.path_of(t["results"][0]["url"])
    r = sim.request("GET", path)
    assert r.status == 200 and len(r.body) == 300000
    assert int(r.headers["content-length"]) == 300000
    assert mp4_boxes(r.body)[-1] == ("free", 300000 - sum(s for _, s in mp4_boxes(r.body)[:-1]))
    r2 = sim.request("GET", path, headers={"Range": "bytes=100-199"})
    assert r2.status == 206 and r2.body == r.body[100:200]
    assert r2.headers["content-range"] == "bytes 100-199/300000"
    r3 = sim.request("GET", path, headers={"Range": "bytes=299990-"})
    assert r3.status == 206 and r3.body == r.body[-10:]


def test_download_expiry(sim):
    t = sim.finished_video()
    path = sim.path_of(t["results"][0]["url"])
    assert sim.request("GET", path).status == 200
    sim.ctl("expire", {"id": t["id"]})
    r = sim.request("GET", path)
    assert r.status == 403 and b"URL expired" in r.body
    sim.ctl("config", {"expire": 0.2})
    t = sim.finished_video()
    time.sleep(0.3)
    assert sim.request("GET", sim.path_of(t["results"][0]["url"])).status == 403


def test_download_unknown_and_unfinished(sim):
    assert sim.request("GET", "/files/nope.mp4").status == 404
    task_id = sim.submit()
    assert sim.request("GET", "/files/%s.mp4" % task_id).status == 404


def test_forget_gives_22(sim):
    task_id = sim.submit()
    sim.ctl("forget", {"id": task_id})
    assert sim.api("/v1/draw/result", {"id": task_id})["code"] == -22


# ---- characters ------------------------------------------------------------


def test_upload_character(sim):
    start = key_credits(sim)
    env = sim.api("/v1/video/sora-upload-character",
                  {"url": "https://example.com/me.mp4", "timestamps": "0,3", "webHook": "-1"})
    assert env["code"] == 0
    assert key_credits(sim) == start - 200
    t = sim.wait_final(env["data"]["id"])
    assert t["status"] == "succeeded"
    cid = t["results"][0]["character_id"]
    assert "." in cid and cid.endswith(".sora")


@pytest.mark.parametrize("ts", ["0,5", "3,1", "2,2", "abc", "", None])
def test_upload_character_bad_timestamps(sim, ts):
    body = {"url": "https://example.com/me.mp4", "webHook": "-1"}
    if ts is not None:
        body["timestamps"] = ts
    env = sim.api("/v1/video/sora-upload-character", body)
    assert env["code"] == -3 and "timestamps" in env["msg"]


def test_create_character(sim):
    pid = sim.finished_video()["results"][0]["pid"]
    env = sim.api("/v1/video/sora-create-character", {"pid": pid, "webHook": "-1"})
    assert env["code"] == 0
    t = sim.wait_final(env["data"]["id"])
    assert t["status"] == "succeeded" and t["results"][0]["character_id"].endswith(".sora")
    env = sim.api("/v1/video/sora-create-character",
                  {"pid": pid, "timestamps": "1,2.5", "webHook": "-1"})
    assert env["code"] == 0
    env = sim.api("/v1/video/sora-create-character",
                  {"pid": "s_" + "f" * 32, "timestamps": "0,3", "webHook": "-1"})
    assert env["code"] == -3 and "pid" in env["msg"]
    env = sim.api("/v1/video/sora-create-character", {"pid": pid, "webHook": "-1"},
                  key="sk-bad")
    assert env["code"] == -1


# ---- account -----------------------------------------------------------------


def test_account_credits(sim):
    env = sim.api("/client/openapi/getCredits", {"token": TOKEN}, key=None)
    assert env["code"] == 0
    before = env["data"]["credits"]
    sim.submit()
    env = sim.api("/client/openapi/getCredits", {"token": TOKEN}, key=None)
    assert env["data"]["credits"] == before - 1600
    assert sim.api("/client/openapi/getCredits", {"token": "bad-tok"}, key=None)["code"] == -1
    assert sim.api("/client/openapi/getCredits", {}, key=None)["code"] == -1
    assert sim.api("/client/openapi/getAPIKeyCredits", {"apiKey": "sk-bad"}, key=None)["code"] == -1


def test_create_api_key(sim):
    env = sim.api("/client/openapi/createAPIKey",
                  {"token": TOKEN, "type": 1, "name": "small", "credits": 2000, "expireTime": 0},
                  key=None)
    assert env["code"] == 0
    d = env["data"]
    assert set(d) >= {"id", "key", "name", "credits", "expireTime", "createTime"}
    assert re.match(r"^sk-[0-9a-f]{32}$", d["key"]) and d["name"] == "small"
    assert key_credits(sim, d["key"]) == 2000
    sim.submit(key=d["key"])
    assert key_credits(sim, d["key"]) == 400
    env = sim.api("/v1/video/sora-video", {"model": "sora-2", "prompt": "p", "webHook": "-1"},
                  key=d["key"])
    assert env["code"] == -2
    env = sim.api("/client/openapi/createAPIKey",
                  {"token": TOKEN, "type": 0, "name": "big", "credits": 0, "expireTime": 0},
                  key=None)
    assert env["code"] == 0 and key_credits(sim, env["data"]["key"]) > 0
    env = sim.api("/client/openapi/createAPIKey",
                  {"token": TOKEN, "type": 1, "name": "old", "credits": 5, "expireTime": 1000},
                  key=None)
    assert sim.api("/client/openapi/getAPIKeyCredits", {"apiKey": env["data"]["key"]},
                   key=None)["code"] == -1
    env = sim.api("/client/openapi/createAPIKey", {"token": "bad", "name": "x"}, key=None)
    assert env["code"] == -1
    env = sim.api("/client/openapi/createAPIKey", {"token": TOKEN, "credits": -5}, key=None)
    assert env["code"] == -3 and "credits" in env["msg"]


def test_model_status(sim):
    r = sim.request("GET", "/client/common/getModelStatus?model=sora-2")
    assert r.status == 200
    assert r.json()["data"] == {"status": True, "error": ""}
    sim.ctl("config", {"model_down": "maintenance"})
    assert sim.request("GET", "/client/common/getModelStatus?model=sora-2").json()["data"] == {
        "status": False, "error": "maintenance"}
    env = sim.api("/v1/video/sora-video", {"model": "sora-2", "prompt": "p", "webHook": "-1"})
    assert env["code"] != 0 and "maintenance" in env["msg"]
    sim.ctl("config", {"model_down": None})
    assert sim.request("GET", "/client/common/getModelStatus?model=sora-2").json()["data"][
        "status"] is True


# ---- variants ----------------------------------------------------------------


def test_progress_missing(sim):
    sim.ctl("config", {"progress_style": "missing"})
    task_id = sim.submit()
    assert "progress" not in sim.poll(task_id)
    assert sim.wait_final(task_id)["status"] == "succeeded"


def test_progress_jump(sim):
    sim.ctl("config", {"progress_style": "jump"})
    task_id = sim.submit()
    assert sim.poll(task_id)["progress"] == 0
    time.sleep(0.3)
    assert sim.poll(task_id)["progress"] == 0
    assert sim.wait_final(task_id)["progress"] == 100


def test_opaque_ids(sim):
    sim.ctl("config", {"id_style": "opaque"})
    task_id = sim.submit()
    assert re.match(r"^task_[A-Za-z0-9]{20}$", task_id)
    assert sim.poll(task_id)["id"] == task_id


def test_video_size_option(extra_sims):
    s = extra_sims("--gen-time", "0.2", "--video-size", "100000", "--quiet")
    t = s.wait_final(s.submit())
    r = s.request("GET", s.path_of(t["results"][0]["url"]))
    assert len(r.body) == 100000
    mp4_boxes(r.body)
    assert s.log().count("\n") == 1  # only the "listening" line with --quiet


def test_command_line_options(extra_sims):
    s = extra_sims("--gen-time", "0.2", "--progress-style", "missing", "--id-style", "opaque",
                   "--stream-bare", "--credits", "5000", "--expire", "0.2")
    assert key_credits(s) == 5000
    task_id = s.submit()
    assert task_id.startswith("task_")
    assert "progress" not in s.poll(task_id)
    t = s.wait_final(task_id)
    time.sleep(0.3)
    assert s.request("GET", s.path_of(t["results"][0]["url"])).status == 403
    text = read_stream(s, {"model": "sora-2", "prompt": "bare"})
    assert not text.startswith("data:")
    assert key_credits(s) == 5000 - 2 * 1600


def test_command_line_faults(extra_sims):
    s = extra_sims("--gen-time", "0.2", "--fault", "submit=http503:2", "--fault", "poll=http500")
    body = {"model": "sora-2", "prompt": "p", "webHook": "-1"}
    assert s.request("POST", "/v1/video/sora-video", body, key=KEY).status == 503
    assert s.request("POST", "/v1/video/sora-video", body, key=KEY).status == 503
    r = s.request("POST", "/v1/video/sora-video", body, key=KEY)
    assert r.status == 200 and r.json()["code"] == 0
    for _ in range(3):
        assert s.request("POST", "/v1/draw/result", {"id": "x"}).status == 500


def test_bad_command_line():
    for args in (["--gen-time", "soon"], ["--fault", "submit=explode"],
                 ["--fault", "poll=truncate"], ["--bogus"]):
        p = subprocess.run([SIM, *args], capture_output=True, timeout=5)
        assert p.returncode != 0, args


def test_sigterm_with_open_connections(extra_sims):
    s = extra_sims("--gen-time", "30")
    s.ctl("fault", {"kind": "poll", "mode": "stall"})
    stalled = socket.create_connection(("127.0.0.1", s.port))
    stalled.sendall(b"POST /v1/draw/result HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    streaming = s.conn(10)
    streaming.request("POST", "/v1/video/sora-video",
                      body=json.dumps({"model": "sora-2", "prompt": "long"}),
                      headers={"Authorization": "Bearer " + KEY})
    resp = streaming.getresponse()
    assert resp.status == 200
    time.sleep(0.2)
    t0 = time.monotonic()
    assert stop_sim(s) == 0
    assert time.monotonic() - t0 < 3
    stalled.close()
    streaming.close()


# ---- faults --------------------------------------------------------------------


def faultable(sim, kind):
    """(method, path, body, key) of one request of each fault kind."""
    if kind == "submit":
        return ("POST", "/v1/video/sora-video",
                {"model": "sora-2", "prompt": "p", "webHook": "-1"}, KEY)
    if kind == "poll":
        return "POST", "/v1/draw/result", {"id": sim.submit()}, None
    if kind == "download":
        return "GET", sim.path_of(sim.finished_video()["results"][0]["url"]), None, None
    return "POST", "/client/openapi/getCredits", {"token": TOKEN}, None


@pytest.mark.parametrize("kind", ["submit", "poll", "download", "account"])
@pytest.mark.parametrize("mode,status", [("http500", 500), ("http503", 503), ("http429", 429),
                                         ("http401", 401)])
def test_http_faults(sim, kind, mode, status):
    method, path, body, key = faultable(sim, kind)
    sim.ctl("fault", {"kind": kind, "mode": mode, "count": 1})
    assert sim.request(method, path, body, key=key).status == status
    assert sim.request(method, path, body, key=key).status == 200


@pytest.mark.parametrize("kind", ["submit", "poll", "download", "account"])
def test_reset_fault(sim, kind):
    method, path, body, key = faultable(sim, kind)
    sim.ctl("fault", {"kind": kind, "mode": "reset", "count": 1})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        sim.request(method, path, body, key=key)
    assert sim.request(method, path, body, key=key).status == 200


def test_reset_after_create(sim):
    start = key_credits(sim)
    sim.ctl("fault", {"kind": "submit", "mode": "reset_after_create", "count": 1})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        sim.request("POST", "/v1/video/sora-video",
                    {"model": "sora-2", "prompt": "lost", "webHook": "-1"}, key=KEY)
    stats = sim.ctl("stats")
    assert stats["tasks_created"] == 1 and stats["tasks"][0]["body"]["prompt"] == "lost"
    assert key_credits(sim) == start - 1600


@pytest.mark.parametrize("kind", ["submit", "poll", "download", "account"])
def test_stall_does_not_block_others(sim, kind):
    method, path, body, key = faultable(sim, kind)
    sim.ctl("fault", {"kind": kind, "mode": "stall", "delay": 2, "count": 1})
    t0 = time.monotonic()
    with pytest.raises((socket.timeout, TimeoutError)):
        sim.request(method, path, body, key=key, timeout=0.4)
    # the stalled request holds its connection; everything else still answers
    assert sim.request(method, path, body, key=key, timeout=2).status == 200
    assert sim.poll(sim.submit())["status"] == "running"
    assert time.monotonic() - t0 < 1.5


def test_slow_fault(sim):
    sim.ctl("fault", {"kind": "poll", "mode": "slow", "delay": 0.3})
    t0 = time.monotonic()
    env = sim.api("/v1/draw/result", {"id": "nothing"})
    assert env["code"] == -22 and time.monotonic() - t0 >= 0.3


@pytest.mark.parametrize("kind", ["submit", "poll", "download", "account"])
def test_malformed_fault(sim, kind):
    method, path, body, key = faultable(sim, kind)
    sim.ctl("fault", {"kind": kind, "mode": "malformed", "count": 1})
    r = sim.request(method, path, body, key=key)
    assert r.status == 200
    with pytest.raises(ValueError):
        json.loads(r.body)


def test_code_fault(sim):
    sim.ctl("fault", {"kind": "submit", "mode": "code", "code": -7, "msg": "busy, try later"})
    env = sim.api("/v1/video/sora-video", {"model": "sora-2", "prompt": "p", "webHook": "-1"})
    assert env["code"] == -7 and env["msg"] == "busy, try later"
    sim.ctl("fault", {"kind": "account", "mode": "code"})
    env = sim.api("/client/openapi/getCredits", {"token": TOKEN}, key=None)
    assert env["code"] == -1
    assert sim.ctl("stats")["tasks_created"] == 0


def test_truncate_fault(sim):
    method, path, _, _ = faultable(sim, "download")
    sim.ctl("fault", {"kind": "download", "mode": "truncate", "count": 1})
    conn = sim.conn(5)
    conn.request("GET", path)
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(http.client.IncompleteRead) as e:
        resp.read()
    conn.close()
    assert 0 < len(e.value.partial) < int(resp.getheader("Content-Length"))
    assert sim.ctl("stats")["downloads_completed"] == 0
    full = sim.request("GET", path)
    assert full.status == 200 and full.body.startswith(e.value.partial)
    assert sim.ctl("stats")["downloads_completed"] == 1


def test_expired_fault(sim):
    method, path, _, _ = faultable(sim, "download")
    sim.ctl("fault", {"kind": "download", "mode": "expired", "count": 1})
    r = sim.request("GET", path)
    assert r.status == 403 and r.body == b"URL expired"
    assert sim.request("GET", path).status == 200


def test_fault_clear_all_and_errors(sim):
    for kind in ("submit", "poll", "download", "account"):
        sim.ctl("fault", {"kind": kind, "mode": "http500"})
    sim.ctl("fault", {"kind": "all", "mode": "none"})
    assert all(v is None for v in sim.ctl("stats")["faults"].values())
    sim.submit()
    for bad in ({"kind": "poll", "mode": "truncate"}, {"kind": "nope", "mode": "http500"},
                {"kind": "poll", "mode": "explode"}, {"kind": "poll"},
                {"kind": "download", "mode": "reset_after_create"}):
        assert sim.request("POST", "/_sim/fault", bad).status == 400
    assert sim.request("POST", "/_sim/config", {"gen_time": "fast"}).status == 400
    assert sim.request("POST", "/_sim/config", {"no_such": 1}).status == 400
    assert sim.request("POST", "/_sim/finish", {"id": "nope"}).status == 404


def test_control_endpoints_not_faulted(sim):
    sim.ctl("fault", {"kind": "all", "mode": "http500"})
    assert sim.ctl("stats")["faults"]["poll"]["mode"] == "http500"
    sim.ctl("reset", {})
    assert sim.ctl("stats")["faults"]["poll"] is None


# ---- statistics and robustness -------------------------------------------------


def test_stats(sim):
    task_id = sim.submit("counted")
    sim.poll(task_id)
    sim.poll(task_id)
    sim.request("GET", "/client/common/getModelStatus?model=sora-2")
    stats = sim.ctl("stats")
    assert stats["tasks_created"] == 1
    t = stats["tasks"][0]
    assert t["id"] == task_id and t["endpoint"] == "/v1/video/sora-video"
    assert t["body"]["prompt"] == "counted" and t["status"] == "running"
    assert abs(t["created"] - time.time()) < 60
    assert KEY not in json.dumps(stats) and t["key"].startswith("sk-")
    assert stats["requests"]["/v1/video/sora-video"] == 1
    assert stats["requests"]["/v1/draw/result"] == 2
    assert stats["requests"]["/client/common/getModelStatus"] == 1
    assert stats["connections"] >= 4
    assert stats["credits"]["account"] == 100000 - 1600
    assert KEY not in sim.log()


def test_keep_alive_connections_counted(sim):
    conn = sim.conn()
    for _ in range(3):
        conn.request("POST", "/v1/draw/result", body=b'{"id":"x"}')
        assert json.loads(conn.getresponse().read())["code"] == -22
    conn.close()
    assert sim.ctl("stats")["connections"] == 2  # the keep-alive one and this stats call


def test_wrong_method_and_path(sim):
    assert sim.request("GET", "/v1/video/sora-video").status == 405
    assert sim.request("POST", "/nowhere", {}).status == 404
    assert sim.request("GET", "/_sim/nowhere").status == 404


def test_large_body(sim):
    big = base64.b64encode(os.urandom(3 * 1024 * 1024)).decode()
    sim.submit("big image", url="data:image/png;base64," + big)
    assert sim.ctl("stats")["tasks"][0]["body"]["url"] == "<%d bytes>" % (len(big) + 22)


def test_too_large_body_refused(sim):
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
    s.sendall(b"POST /v1/video/sora-video HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 100000000\r\nContent-Type: application/json\r\n\r\n{")
    answer = s.recv(4096)
    s.close()
    assert answer.startswith(b"HTTP/1.1 413")
    assert sim.poll(sim.submit())["status"] == "running"


def test_garbage_does_not_crash(sim):
    for raw in (b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"A" * 70000,
                b"POST /v1/draw/result HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\xff\xfe{[\""):
        s = socket.create_connection(("127.0.0.1", sim.port), timeout=5)
        try:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            s.recv(4096)
        except OSError:
            pass
        s.close()
    for body in (b"null", b"123", b"\"str\"", b'{"id": 5}', b'{"model": {"a": []}}', b"{}" * 1000):
        for path in ("/v1/video/sora-video", "/v1/draw/result", "/v1/video/sora-upload-character",
                     "/v1/video/sora-create-character", "/client/openapi/createAPIKey",
                     "/client/openapi/getAPIKeyCredits", "/client/openapi/getCredits"):
            r = sim.request("POST", path, body, key=KEY)
            assert r.status == 200 and r.json()["code"] != 0, (path, body, r.body)
    assert sim.proc.poll() is None
