"""The runbook after a restart whose views differ, through the real `gateway` CLI.

A sandbox node with two resting orders is killed -9; before its supervisor restarts it,
the venue's stored state loses one order (a venue that forgot it). The restarted node stays
HALTED: `gateway nodes reconcile` exits 1 naming the order and what each source says, an
order is refused, accepting needs --yes, and `--accept-venue --yes` closes the order on the
node, journals the venue's view and trades again (exit 0, audited). The other order is
still working in journal, cache and venue.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.host.paths import pid_file, supervisor_file
from engine.manager import NodeManager, NodeNotRunning
from engine.recovery.venue_store import load_book, save_book
from engine.runs import read_json
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.kill_loop import wait_new_run
from tests.integration.market_wait import wait_for_quotes

NODE = "recon-cli"
IID = "EUR/USD.SIM"
pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("recovery-cli")]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    workspace = Workspace(Path(tmp_path_factory.mktemp("recon")) / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, trader_id="RECON-001", strategies=[], alerts=[])
    doc["restart"] = {"policy": "on-failure", "max_restarts": 2, "backoff_seconds": 1.5}
    doc["data_clients"][0]["options"].update(rate=20, volatility_bp=0.2, start_prices={IID: 1.1})
    ConfigStore(workspace).save(doc, deep=False)

    async def start() -> None:
        manager = NodeManager(workspace)
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
        assert meta.state == "running", meta
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    asyncio.run(start())
    try:
        yield workspace
    finally:
        with contextlib.suppress(NodeNotRunning):
            asyncio.run(NodeManager(workspace).stop(NODE, timeout_s=15))


def rest(ws: Workspace, line: str) -> str:
    r = gateway("order", NODE, line, "--wait", "accepted", workspace=ws.root)
    assert r.code == 0, r.out + r.err
    found = re.search(r"O-[0-9A-Za-z-]+", r.out)
    assert found, r.out
    return found.group(0)


def reconcile(ws: Workspace, *args: str) -> tuple[int, dict]:
    r = gateway("nodes", "reconcile", NODE, "--json", *args, workspace=ws.root)
    return r.code, json.loads(r.out)


def test_a_venue_that_forgot_an_order_halts_the_node_until_its_view_is_accepted(
    ws: Workspace,
) -> None:
    kept = rest(ws, "buy 10000 EUR/USD.SIM limit 0.9 gtc")
    lost = rest(ws, "buy 20000 EUR/USD.SIM limit 0.8 gtc")
    code, out = reconcile(ws)
    assert code == 0 and out["agree"], out
    assert {r["key"] for r in out["orders"]} == {kept, lost}

    host = read_json(pid_file(ws, NODE))
    assert host is not None
    os.kill(int(host["pid"]), signal.SIGKILL)
    book = load_book(ws, NODE, "SIM")  # the venue forgets one order while the host is down
    del book.orders[lost]
    save_book(ws, NODE, book)
    wait_new_run(ws, NODE, str(host["run_id"]))

    # Runbook 1: the node says its views differ, and which.
    r = gateway("nodes", "reconcile", NODE, workspace=ws.root)
    assert r.code == 1, r.out + r.err
    assert "DIFFER" in r.out and lost in r.out and "HALTED" in r.out, r.out
    code, out = reconcile(ws)
    assert code == 1 and not out["agree"] and out["trading_state"] == "HALTED"
    row = next(x for x in out["orders"] if x["key"] == lost)
    assert row["journal"] == "ACCEPTED 0/20000" and row["venue"] == "-" and not row["agree"]
    assert next(x for x in out["orders"] if x["key"] == kept)["agree"]

    # Runbook 2: nothing trades meanwhile.
    r = gateway("order", NODE, "buy 1000 EUR/USD.SIM", "--wait", "filled", workspace=ws.root)
    assert r.code == 1 and "HALTED" in r.out + r.err, r.out + r.err

    # Runbook 3: accepting the venue's view is asked for; --yes does it.
    r = gateway("nodes", "reconcile", NODE, "--accept-venue", workspace=ws.root)
    assert r.code == 2 and "--yes" in r.err, r.err
    code, out = reconcile(ws, "--accept-venue", "--yes")
    assert code == 0 and out["agree"] and out["trading_state"] == "ACTIVE", out
    assert [o["key"] for o in out["orders"]] == [kept]

    code, out = reconcile(ws)
    assert code == 0 and out["agree"]
    audit = gateway("audit", "list", workspace=ws.root)
    assert "nodes.reconcile.accept_venue" in audit.out
    r = gateway("order", NODE, "buy 1000 EUR/USD.SIM", "--wait", "filled", workspace=ws.root)
    assert r.code == 0, r.out + r.err


def test_after_a_machine_reboot_launch_brings_back_the_same_state(ws: Workspace) -> None:
    """A reboot, as near as a test gets: supervisor, host and the workspace's redis-server
    all killed -9 at once; `gateway launch` starts Redis (its append-only file) and the node,
    which finds its orders in journal, cache and venue alike."""
    code, before = reconcile(ws)
    assert code == 0 and before["agree"], before
    working = sorted(r["key"] for r in before["orders"])
    assert working, before
    supervisor = read_json(supervisor_file(ws, NODE))
    host = read_json(pid_file(ws, NODE))
    redis = read_json(ws.run_dir / "redis.json")
    assert supervisor and host and redis
    for pid in (supervisor["pid"], host["pid"], redis["pid"]):
        os.kill(int(pid), signal.SIGKILL)
    wait_gone(int(host["pid"]))
    r = gateway("launch", NODE, workspace=ws.root, timeout=90)
    assert r.code == 0, r.out + r.err
    code, after = reconcile(ws)
    assert code == 0 and after["agree"] and after["trading_state"] == "ACTIVE", after
    assert sorted(r["key"] for r in after["orders"]) == working
    assert after["positions"] == before["positions"]


def wait_gone(pid: int, limit_s: float = 10) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
