"""The demo sandbox node through the real CLI: it trades, outlives its launcher, takes manual
orders, restarts after kill -9, serves its logs, and stops gracefully.

One node runs for the whole module (its tests run in file order): a sandbox node takes
several seconds to start on this shared machine, and each test acts on it as a user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.events.envelope import Envelope, from_json_line
from engine.host.paths import pid_file, supervisor_file
from engine.journal import JournalReader
from engine.manager import NodeManager
from engine.runs import read_json, read_meta, run_path
from engine.workspace import Workspace
from tests.integration.cli import GATEWAY, gateway
from tests.integration.market_wait import wait_for_quotes

NODE = "demo-sandbox"
# The tests follow one node through its life (launch, orders, logs, kill, stop), so they
# must run in order on one xdist worker (`make test` runs `--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("live-sandbox")
FILL_WAIT_S = 45


@dataclass
class Live:
    workspace: Workspace
    env: dict[str, str]
    run_id: str = ""
    seen: list[Envelope] = field(default_factory=list)


def _read_until(stream: IO[str], pred: Any, limit_s: float, out: list[Envelope]) -> Envelope:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            raise AssertionError("the stream ended early")
        env = from_json_line(line)
        out.append(env)
        if pred(env):
            return env
    raise AssertionError(f"no matching event within {limit_s}s")


def _journal(workspace: Workspace, run_id: str) -> list[Envelope]:
    reader = JournalReader(run_path(workspace, NODE, run_id))
    try:
        return reader.read(0, 1_000_000)
    finally:
        reader.close()


def _wait_journal(workspace: Workspace, run_id: str, pred: Any, limit_s: float) -> Envelope:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        for env in _journal(workspace, run_id):
            if pred(env):
                return env
        time.sleep(0.2)
    raise AssertionError(f"no matching event in the journal within {limit_s}s")


def _kill_pid_from(path: Path) -> None:
    data = read_json(path) or {}
    with contextlib.suppress(ProcessLookupError, TypeError, ValueError):
        os.kill(int(data.get("pid")), signal.SIGKILL)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    workspace = Workspace(tmp_path_factory.mktemp("live") / ".gateway").ensure()
    doc = demo_sandbox()
    doc["restart"] = {"policy": "on-failure", "max_restarts": 1, "backoff_seconds": 0.2}
    ConfigStore(workspace).save(doc, deep=False)
    env = {**os.environ, "GATEWAY_HOME": str(workspace.root), "NO_COLOR": "1"}
    state = Live(workspace, env)
    yield state
    _kill_pid_from(supervisor_file(workspace, NODE))
    _kill_pid_from(pid_file(workspace, NODE))


def test_launch_follows_to_running_and_the_node_outlives_its_killed_launcher(live: Live) -> None:
    launcher = subprocess.Popen(
        [*GATEWAY, "launch", NODE, "--follow", "--json"],
        env=live.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert launcher.stdout is not None
        running = _read_until(
            launcher.stdout,
            lambda e: e.type == "NodeStateChanged" and e.payload["state"] == "running",
            40,
            live.seen,
        )
        live.run_id = running.run_id
        # EMA cross trades: a fill reaches the launcher's stream (bounded wait).
        fill = _read_until(
            launcher.stdout, lambda e: e.type == "OrderFilled", FILL_WAIT_S, live.seen
        )
        assert fill.payload["instrument_id"] == "EUR/USD.SIM"
        assert fill.payload["strategy_id"] == "EMACross-000"
    finally:
        launcher.kill()  # the launching process dies; the node must not
        launcher.wait()
    last = live.seen[-1].seq
    assert [e.seq for e in live.seen] == list(range(1, last + 1))  # nothing missed

    listed = json.loads(gateway("ps", "--json", workspace=live.workspace.root).out)
    assert [(s["node_id"], s["state"], s["alive"]) for s in listed] == [(NODE, "running", True)]

    # A new process attaches from the last seq it saw: no gap, no duplicate.
    attach = subprocess.Popen(
        [*GATEWAY, "attach", NODE, "--from", str(last), "--json"],
        env=live.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert attach.stdout is not None
        more: list[Envelope] = []
        for _ in range(5):
            more.append(from_json_line(attach.stdout.readline()))
    finally:
        attach.kill()
        attach.wait()
    assert [e.seq for e in more] == list(range(last + 1, last + 6))
    # What clients saw is what the journal holds, fills included.
    journal = {e.seq: e for e in _journal(live.workspace, live.run_id)}
    for env in live.seen + more:
        assert (journal[env.seq].type, journal[env.seq].payload) == (env.type, env.payload)
    assert any(e.type == "OrderFilled" for e in journal.values())
    kinds = {(e.type, e.payload.get("kind"), e.payload.get("connected")) for e in live.seen}
    assert ("ClientConnectionChanged", "data", True) in kinds
    assert ("ClientConnectionChanged", "exec", True) in kinds


def test_manual_orders_through_the_order_command(live: Live) -> None:
    manager = NodeManager(live.workspace)
    market = {"type": "market", "instrument_id": "EUR/USD.SIM", "side": "BUY", "quantity": "1000"}
    # Far below the market: it rests at the venue.
    limit = {**market, "type": "limit", "price": "0.50000", "quantity": "10000"}

    async def send(command: dict[str, Any]) -> dict[str, Any]:
        return await manager.command(NODE, "order", command=command)

    filled = asyncio.run(send({"action": "submit", "ticket": market}))
    resting = asyncio.run(send({"action": "submit", "ticket": limit}))
    bad = asyncio.run(send({"action": "submit", "ticket": {**market, "type": "limit"}}))
    unknown = asyncio.run(send({"action": "cancel", "client_order_id": "O-NOPE"}))

    assert filled["ok"] and resting["ok"], (filled, resting)
    (fill_id,) = filled["client_order_ids"]
    (rest_id,) = resting["client_order_ids"]
    env = _wait_journal(
        live.workspace,
        live.run_id,
        lambda e: e.type == "OrderFilled" and e.payload["client_order_id"] == fill_id,
        10,
    )
    assert env.payload["strategy_id"] == "GatewayStrategy-001"
    _wait_journal(
        live.workspace,
        live.run_id,
        lambda e: e.type == "OrderAccepted" and e.payload["client_order_id"] == rest_id,
        10,
    )
    assert bad["ok"] is False and bad["code"] == "invalid_order"
    assert [i["path"] for i in bad["issues"]] == ["ticket.price"]
    assert unknown == {
        "ok": False,
        "code": "unknown_order",
        "message": "no order O-NOPE in this node",
        "issues": [],
        "field": "client_order_id",
        "value": "O-NOPE",
    }


def test_logs_are_filtered_by_level(live: Live) -> None:
    info = gateway("logs", NODE, "--level", "INFO", "--json", workspace=live.workspace.root)
    warn = gateway("logs", NODE, "--level", "ERROR", "--json", workspace=live.workspace.root)
    assert info.code == 0 and warn.code == 0
    info_lines = [from_json_line(line).payload for line in info.out.splitlines()]
    assert any(p["component"] == "TradingNode" for p in info_lines)
    assert {p["level"] for p in info_lines} >= {"INFO"}
    assert all(from_json_line(line).payload["level"] == "ERROR" for line in warn.out.splitlines())


def test_kill_9_is_failed_within_1s_and_the_restart_policy_starts_a_new_run(live: Live) -> None:
    host = read_json(pid_file(live.workspace, NODE))
    assert host is not None and host["run_id"] == live.run_id
    old_dir = run_path(live.workspace, NODE, live.run_id)
    os.kill(int(host["pid"]), signal.SIGKILL)
    t0 = time.monotonic()
    while (meta := read_meta(old_dir)) is None or meta.state != "failed":
        assert time.monotonic() - t0 < 1.0, "the dead host was not marked failed within 1 s"
        time.sleep(0.01)
    assert meta.exit_code == -signal.SIGKILL
    assert "signal 9" in (meta.error or "")

    deadline = time.monotonic() + 40
    while True:
        data = read_json(pid_file(live.workspace, NODE)) or {}
        if data.get("run_id") not in (None, live.run_id):
            new_meta = read_meta(Path(data["run_dir"]))
            if new_meta is not None and new_meta.state == "running":
                break
        assert time.monotonic() < deadline, "the restart policy did not start a running run"
        time.sleep(0.2)
    assert new_meta.extra["restart_of"] == live.run_id and new_meta.extra["restart"] == 1
    assert new_meta.extra["seq_base"] > 0  # the node's sequence continues (docs/recovery.md)
    live.run_id = new_meta.run_id


def test_graceful_stop_flattens_and_ends_stopped(live: Live) -> None:
    # The restarted run may reach `running` before its feed's first quote, when the sandbox
    # venue still rejects a market order ("no market"), as a venue with an empty book would.
    wait_for_quotes(run_path(live.workspace, NODE, live.run_id))
    manager = NodeManager(live.workspace)
    ticket = {"type": "market", "instrument_id": "EUR/USD.SIM", "side": "SELL", "quantity": "5000"}
    reply = asyncio.run(
        manager.command(NODE, "order", command={"action": "submit", "ticket": ticket})
    )
    assert reply["ok"], reply
    (order_id,) = reply["client_order_ids"]
    # The fill reaches the journal a moment after the reply: wait for it, so the node
    # certainly holds a position (5,000 off whatever EMA cross holds) when it is flattened.
    ended = _wait_journal(
        live.workspace,
        live.run_id,
        lambda e: (
            e.payload.get("client_order_id") == order_id
            and e.type in {"OrderFilled", "OrderRejected", "OrderDenied", "OrderCanceled"}
        ),
        15,
    )
    assert ended.type == "OrderFilled", (ended.type, ended.payload)
    stopped = gateway("stop", NODE, "--flatten", "--json", workspace=live.workspace.root)
    assert stopped.code == 0, stopped.err
    assert json.loads(stopped.out)["state"] == "stopped"
    events = _journal(live.workspace, live.run_id)
    flattened = [e for e in events if e.type == "StopFlattened"]
    assert len(flattened) == 1 and flattened[0].payload["closed"]
    assert events[-1].type == "NodeStateChanged" and events[-1].payload["state"] == "stopped"
    # No restart after a requested stop; nothing is left running.
    time.sleep(0.5)
    assert not supervisor_file(live.workspace, NODE).exists()
    assert json.loads(gateway("ps", "--json", workspace=live.workspace.root).out) == []
