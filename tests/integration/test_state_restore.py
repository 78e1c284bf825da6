"""A sandbox node comes back with its orders, positions and accounts (issue 19).

One real sandbox node (module scope, the workspace's own redis-server), no strategy but
the gateway's, so its state changes only by the orders sent here:

- a graceful stop and start: the persisted state and the node's own view are identical;
- a kill -9 of the host: its supervisor's new run restores the same;
- the workspace's redis-server killed under the running node: the node says so (event and
  alert), the server is back on its port, an order accepted meanwhile is in Redis after.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.journal import JournalReader
from engine.manager import NodeManager
from engine.services.core import Services
from engine.state.integrity import event_list_keys
from engine.state.redis_server import read_info, running_server
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes

NODE = "keeper"
IID = "EUR/USD.SIM"
pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("state-restore")]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _running(ws: Workspace, not_run: str | None = None, timeout_s: float = 60) -> str:
    """The run id of the node's running host (other than ``not_run``)."""
    manager = NodeManager(ws)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for s in await manager.ps():
            if s.node_id == NODE and s.alive and s.state == "running" and s.run_id != not_run:
                return s.run_id
        await asyncio.sleep(0.1)
    raise AssertionError(f"{NODE} not running again within {timeout_s} s")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace(Path(tmp_path_factory.mktemp("restore")) / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(
        node_id=NODE,
        trader_id="KEEP-001",
        strategies=[],
        restart={"policy": "on-failure", "max_restarts": 3, "backoff_seconds": 0.2},
    )
    ConfigStore(ws).save(doc, deep=False)

    async def start() -> None:
        handle = await NodeManager(ws).launch(NODE)
        await _running(ws)
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    run(start())
    try:
        yield ws
    finally:
        with contextlib.suppress(Exception):  # the last test stops it itself
            run(NodeManager(ws).stop(NODE, timeout_s=15))


async def order(ws: Workspace, ticket: dict[str, Any]) -> str:
    reply = await NodeManager(ws).command(
        NODE, "order", command={"action": "submit", "ticket": {"instrument_id": IID, **ticket}}
    )
    assert reply.get("ok"), reply
    return str(reply["client_order_ids"][0])


async def exposure(ws: Workspace) -> dict[str, Any]:
    reply = await NodeManager(ws).command(NODE, "exposure", instrument_id=None)
    assert reply.get("ok"), reply
    return {"positions": reply["positions"], "open_orders": reply["open_orders"]}


async def settle(ws: Workspace, want: Any, timeout_s: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        seen = await exposure(ws)
        if want(seen) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.1)


def persisted(ws: Workspace) -> dict[str, Any]:
    state: dict[str, Any] = run(Services(ws).state.show(NODE))
    return state


def _rows(state: dict[str, Any]) -> dict[str, Any]:
    """Orders and positions as persisted, and which accounts. Not the balances: the sandbox
    venue starts over from its starting balances at each start and reports them, which
    Nautilus appends to the restored account (the venue's own state is not persisted yet)."""
    return {
        "counts": state["counts"],
        "orders": state["orders"],
        "positions": state["positions"],
        "accounts": [a["account_id"] for a in state["accounts"]],
    }


def test_a_graceful_stop_and_start_restores_identical_state(node: Workspace) -> None:
    async def trade() -> dict[str, Any]:
        await order(node, {"type": "LIMIT", "side": "BUY", "quantity": "1000", "price": "1.00000"})
        await order(node, {"type": "MARKET", "side": "BUY", "quantity": "2000"})
        return await settle(node, lambda s: s["positions"] and s["open_orders"])

    before = run(trade())
    assert len(before["positions"]) == 1 and len(before["open_orders"]) == 1, before
    stored = persisted(node)
    assert stored["counts"]["orders"] == 2 and stored["counts"]["orders_open"] == 1, stored
    assert stored["counts"]["positions_open"] == 1 and stored["counts"]["accounts"] == 1

    first = run(_running(node))
    r = gateway("stop", NODE, workspace=node.root)
    assert r.code == 0, r.err
    assert _rows(persisted(node)) == _rows(stored)  # a stop changes nothing persisted
    r = gateway("launch", NODE, workspace=node.root)
    assert r.code == 0, r.err
    run(_running(node, not_run=first))
    assert run(exposure(node)) == before
    assert _rows(persisted(node)) == _rows(stored)


def test_a_host_killed_by_kill_9_comes_back_with_its_state(node: Workspace) -> None:
    before = run(exposure(node))
    stored = persisted(node)
    killed = run(_running(node))
    pid = next(s.pid for s in run(NodeManager(node).ps()) if s.node_id == NODE)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    run(_running(node, not_run=killed))  # the supervisor's restart
    assert run(exposure(node)) == before
    assert _rows(persisted(node)) == _rows(stored)


def _events(ws: Workspace, types: set[str]) -> list[Any]:
    run_id = run(_running(ws))
    with JournalReader(ws.runs_dir / NODE / run_id) as reader:
        return [e for e in reader.read() if e.type in types]


def test_redis_killed_under_a_running_node_is_seen_and_repaired(node: Workspace) -> None:
    info = read_info(node)
    assert info is not None
    os.kill(info["pid"], signal.SIGKILL)
    time.sleep(0.2)
    during = run(
        order(node, {"type": "LIMIT", "side": "BUY", "quantity": "3000", "price": "1.00000"})
    )
    watched = {"PersistenceLost", "PersistenceRestored", "AlertRaised", "AlertResolved"}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen = [
            e
            for e in _events(node, watched)
            if e.kind != "alert" or "persistence" in str(e.payload.get("rule"))
        ]
        if any(e.type == "PersistenceRestored" for e in seen):
            break
        time.sleep(0.2)
    types = [e.type for e in seen]
    assert types[:2] == ["PersistenceLost", "AlertRaised"], types
    assert types[-2:] == ["PersistenceRestored", "AlertResolved"], types
    lost = seen[0].payload
    assert lost["url"].endswith(f":{info['port']}") and "not being saved" in lost["message"]
    back = running_server(node)
    assert back is not None and back.port == info["port"]  # restarted by the node's watch
    # The order accepted while Redis was away is persisted, each of its events once.
    stored = persisted(node)
    row = next(o for o in stored["orders"] if o["client_order_id"] == during)
    assert row["status"] == "ACCEPTED", row
    client = back.client()
    for key in event_list_keys(client, "KEEP-001"):
        items = client.lrange(key, 0, -1)
        assert len(items) == len(set(items)), key
    assert run(_running(node))  # still running


def test_nodes_state_shows_it_everywhere_and_resets_only_a_stopped_node(node: Workspace) -> None:
    from api.client import GatewayClient
    from tests.integration.api_support import running_server

    r = gateway("nodes", "state", NODE, "--json", workspace=node.root)
    assert r.code == 0, r.err
    shown = json.loads(r.out)
    assert shown["counts"]["orders_open"] == 2 and shown["key_prefix"] == "trader-KEEP-001:"
    assert shown["redis"]["source"] == "workspace redis-server"
    text = gateway("nodes", "state", NODE, workspace=node.root)
    assert "orders 3 (2 open)" in text.out and "open orders:" in text.out, text.out
    with running_server(node) as server:
        over_http = GatewayClient(server.url, server.token("reader", "read")).node_state(NODE)
    assert _rows(over_http.model_dump()) == _rows(shown)

    r = gateway("nodes", "state", NODE, "--reset", "--yes", workspace=node.root)
    assert r.code == 1 and "stop it first" in r.err, r.err
    assert gateway("stop", NODE, workspace=node.root).code == 0
    r = gateway("nodes", "state", NODE, "--reset", workspace=node.root, stdin="")
    assert r.code == 2 and "--yes" in r.err, r.err  # no terminal to confirm on
    r = gateway("nodes", "state", NODE, "--reset", "--yes", workspace=node.root)
    assert r.code == 0 and "Redis keys deleted" in r.out, r.err
    after = json.loads(gateway("nodes", "state", NODE, "--json", workspace=node.root).out)
    assert after["counts"] == dict.fromkeys(after["counts"], 0) and after["keys"] == 0
    backtest = gateway("nodes", "state", "nope", workspace=node.root)
    assert backtest.code == 2 and "no node 'nope'" in backtest.err
