"""Alert notifications through a real command and a real webhook on loopback."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from engine.telemetry.alerts import GIB, AlertEngine, AlertRule, notify, post_webhook, run_command

S = 1_000_000_000


def sample(ts_s: float, gib: float) -> dict[str, Any]:
    return {"ts_ns": int(ts_s * S), "process": {"rss_bytes": gib * GIB}}


def test_command_gets_the_alert_as_json_on_stdin_and_no_host_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_TEST_SECRET", "hunter2")
    out = tmp_path / "alert.json"
    script = (
        "import json, os, sys; d = json.load(sys.stdin); "
        "d['env_secret'] = os.environ.get('GATEWAY_TEST_SECRET'); "
        f"open({str(out)!r}, 'w').write(json.dumps(d))"
    )
    rule = AlertRule(
        name="mem",
        metric="process.rss_bytes",
        threshold=2 * GIB,
        command=(sys.executable, "-c", script),
    )
    threads: list[threading.Thread] = []
    engine = AlertEngine([rule], notifier=lambda r, e: threads.append(notify(r, e)))
    [raised] = engine.evaluate("n1", sample(0, 3))
    for t in threads:
        t.join(timeout=20)
    got = json.loads(out.read_text())
    assert got["type"] == "AlertRaised"
    assert got["alert_id"] == raised.alert_id == "n1:mem:process.rss_bytes"
    assert got["value"] == 3 * GIB
    assert got["env_secret"] is None


def test_command_timeout_and_missing_command_do_not_raise(tmp_path: Path) -> None:
    rule = AlertRule(name="x", metric="a", threshold=1)
    engine = AlertEngine([rule], notify_default=False)
    [event] = engine.evaluate("n", {"ts_ns": 0, "a": 2})
    slow = (sys.executable, "-c", "import time; time.sleep(10)")
    assert run_command(slow, event, timeout=0.5) == -1
    assert run_command((str(tmp_path / "no-such-command"),), event) == -1


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append({"ct": self.headers["Content-Type"], "body": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_webhook_receives_raise_and_resolve() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        rule = AlertRule(
            name="mem",
            metric="process.rss_bytes",
            threshold=2 * GIB,
            clear_threshold=1.5 * GIB,
            webhook_url=url,
        )
        threads: list[threading.Thread] = []
        engine = AlertEngine([rule], notifier=lambda r, e: threads.append(notify(r, e)))
        engine.evaluate("n1", sample(0, 3))
        for t in threads:
            t.join(timeout=10)
        engine.evaluate("n1", sample(5, 1))
        for t in threads:
            t.join(timeout=10)
        types = [r["body"]["type"] for r in _Hook.received]
        assert types == ["AlertRaised", "AlertResolved"]
        assert {r["ct"] for r in _Hook.received} == {"application/json"}
        assert _Hook.received[1]["body"]["duration_s"] == 5.0
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_down_returns_minus_one_quickly() -> None:
    rule = AlertRule(name="x", metric="a", threshold=1)
    [event] = AlertEngine([rule], notify_default=False).evaluate("n", {"ts_ns": 0, "a": 2})
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    port = server.server_port
    server.server_close()  # nothing listens there now
    assert post_webhook(f"http://127.0.0.1:{port}/hook", event, timeout=2) == -1
