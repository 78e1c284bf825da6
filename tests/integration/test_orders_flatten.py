"""Close and flatten mean flat: real sandbox nodes, NETTING and HEDGING, several strategies.

Each node (a real node host: offline random-walk EUR/USD, Nautilus sandbox execution)
runs two :class:`~tests.integration.opening_strategy.OpenOnce` strategies besides the
gateway's: one opens 2 500 000 long in one market order (the sandbox's L1 book fills it
up to the quote's size and leaves it PARTIALLY_FILLED), the other two 300 000 shorts and
keeps a limit order working. The CLI's close/flatten must leave the node flat (read back
from the node's cache, not from the command's answer) and say so with exit 0; a close
that cannot finish in its time exits 1 naming what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.journal import JournalReader
from engine.manager import NodeManager, NodeNotRunning
from engine.orders.session import OrderSession
from engine.runs import latest_run
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes
from tests.integration.opening_strategy import opening

IID = "EUR/USD.SIM"
pytestmark = pytest.mark.timeout(240)


def node_doc(node_id: str, oms_type: str) -> dict[str, Any]:
    doc = copy.deepcopy(demo_sandbox())
    doc.update(
        node_id=node_id,
        strategies=[
            opening("101", instrument_id=IID, side="BUY", quantity="2500000"),
            opening(
                "102",
                instrument_id=IID,
                side="SELL",
                quantity="300000",
                orders=2,
                resting_offset="0.05",
            ),
        ],
    )
    doc.pop("restart", None)
    doc["venues"][0]["oms_type"] = oms_type
    doc["data_clients"][0]["options"].update(rate=20, volatility_bp=0.5, start_prices={IID: 1.1})
    return doc


@pytest.fixture(scope="module", params=["NETTING", "HEDGING"])
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, str]]:
    oms = str(request.param)
    node_id = f"flat-{oms.lower()}"
    ws = Workspace(Path(tmp_path_factory.mktemp(node_id)) / ".gateway").ensure()
    ConfigStore(ws).save(node_doc(node_id, oms), deep=False)
    manager = NodeManager(ws)

    async def start() -> None:
        handle = await manager.launch(node_id)
        meta = await manager.wait_state(node_id, {"running", "failed", "stopped"}, timeout_s=60)
        assert meta.state == "running", meta
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    asyncio.run(start())
    try:
        yield ws, node_id
    finally:
        with contextlib.suppress(NodeNotRunning):  # the last test stops it itself
            asyncio.run(NodeManager(ws).stop(node_id, timeout_s=20))


def exposure(ws: Workspace, node_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = asyncio.run(NodeManager(ws).command(node_id, "exposure"))
    assert reply.get("ok") is True, reply
    return reply


def wait_exposure(ws: Workspace, node_id: str, ok: Any, limit_s: float = 20) -> dict[str, Any]:
    async def poll() -> dict[str, Any]:
        manager = NodeManager(ws)
        for _ in range(int(limit_s / 0.2)):
            reply: dict[str, Any] = await manager.command(node_id, "exposure")
            if ok(reply):
                return reply
            await asyncio.sleep(0.2)
        raise AssertionError(f"exposure never got there: {reply}")

    return asyncio.run(poll())


def buy(ws: Workspace, node_id: str, qty: str, side: str = "BUY") -> None:
    async def send() -> None:
        session = await OrderSession.open(ws, node_id)
        try:
            ticket = {"type": "MARKET", "instrument_id": IID, "side": side, "quantity": qty}
            reply = await session.send({"action": "submit", "ticket": ticket})
            assert reply.get("ok") is True, reply
            (coid,) = reply["client_order_ids"]
            # Filled, or (above the quote's size) partly filled and left working.
            await session.until(
                lambda: (
                    (row := session.table.get(coid)) is not None and Decimal(row.filled_qty) > 0
                ),
                10,
            )
        finally:
            await session.close()

    asyncio.run(send())


def flatten_json(ws: Workspace, node_id: str, *args: str) -> tuple[int, dict[str, Any]]:
    r = gateway("orders", *args, "--yes", "--json", workspace=ws.root, timeout=120)
    assert r.out, r.err
    return r.code, json.loads(r.out)


def test_flatten_closes_every_strategys_positions_and_working_orders(
    node: tuple[Workspace, str],
) -> None:
    ws, node_id = node
    oms = "HEDGING" if "hedging" in node_id else "NETTING"
    # Both strategies opened (a 2.5M market order, beyond the top of book, and a resting limit).
    start = wait_exposure(
        ws,
        node_id,
        lambda r: (
            {p["strategy_id"] for p in r["positions"]} >= {"OpenOnce-101", "OpenOnce-102"}
            and any(o["order_type"] == "LIMIT" for o in r["open_orders"])
        ),
    )
    buy(ws, node_id, "400000")  # and the gateway's own
    start = exposure(ws, node_id)
    owners = {p["strategy_id"].split("-")[0] for p in start["positions"]}
    assert owners == {"OpenOnce", "GatewayStrategy"}, start
    assert len({p["strategy_id"] for p in start["positions"]}) == 3, start
    if oms == "HEDGING":  # one position per order there
        assert len([p for p in start["positions"] if p["strategy_id"] == "OpenOnce-102"]) == 2

    code, out = flatten_json(ws, node_id, "flatten", node_id)
    assert code == 0, out
    assert out["ok"] is True and out["positions_left"] == [] and out["orders_left"] == []
    assert set(out["closed"]) == {p["position_id"] for p in start["positions"]}
    after = exposure(ws, node_id)
    assert after["positions"] == [] and after["net"] == {}, after
    # What stays "open" in the cache is only what the venue said it no longer knows.
    stale = {o["client_order_id"] for o in out["stale_orders"]}
    assert {o["client_order_id"] for o in after["open_orders"]} <= stale, (after, out)
    assert not any(o["order_type"] == "LIMIT" for o in after["open_orders"])

    # Every time: positions of several sizes (some above the quote's 1M), flat again.
    for side, sizes in (
        ("BUY", ("100000", "2300000")),
        ("SELL", ("700000",)),
        ("BUY", ("1500000", "250000")),
    ):
        for qty in sizes:
            buy(ws, node_id, qty, side)
        assert exposure(ws, node_id)["positions"], sizes
        code, out = flatten_json(ws, node_id, "flatten", node_id)
        assert code == 0 and out["ok"] is True, out
        assert exposure(ws, node_id)["positions"] == [], sizes


def test_close_an_instrument_then_a_close_that_cannot_finish_says_what_is_left(
    node: tuple[Workspace, str],
) -> None:
    ws, node_id = node
    total = Decimal(0)
    for _ in range(10):
        buy(ws, node_id, "900000")
        total = sum(Decimal(v) for v in exposure(ws, node_id)["net"].values())
        if total >= Decimal("2500000"):
            break
    assert total >= Decimal("2500000")

    # A halted node refuses every order, closing ones too: the close cannot finish, and
    # says what is left (exit 1).
    halt = gateway("risk", "halt", node_id, "--reason", "test", workspace=ws.root)
    assert halt.code == 0, halt.err
    try:
        r = gateway(
            "orders",
            "close",
            node_id,
            "--instrument",
            IID,
            "--yes",
            "--timeout",
            "3",
            workspace=ws.root,
            timeout=60,
        )
        assert r.code == 1, (r.out, r.err)
        assert "NOT flat" in r.err and "still open:" in r.err, r.err
        left = exposure(ws, node_id)["positions"]
        assert left and all(p["position_id"] in r.err for p in left), (left, r.err)
    finally:
        assert gateway("risk", "resume", node_id, workspace=ws.root).code == 0

    code, out = flatten_json(ws, node_id, "close", node_id, "--instrument", IID)
    assert code == 0 and out["ok"] is True, out
    assert out["rounds"] >= 1, out
    assert exposure(ws, node_id)["positions"] == []

    # Nothing left to close: the node says so, exit 1 naming the instrument.
    r = gateway("orders", "close", node_id, "--instrument", IID, "--yes", workspace=ws.root)
    assert r.code == 1 and "unknown_position" in r.err and IID in r.err, r.err


def test_kill_switch_flattens_every_running_node(node: tuple[Workspace, str]) -> None:
    ws, node_id = node
    buy(ws, node_id, "300000", "SELL")
    buy(ws, node_id, "1800000", "SELL")
    assert exposure(ws, node_id)["positions"]

    r = gateway("orders", "flatten", "--all", "--yes", "--json", workspace=ws.root, timeout=120)
    assert r.code == 0, (r.out, r.err)
    out = json.loads(r.out)
    assert out["ok"] is True and [n["node_id"] for n in out["nodes"]] == [node_id], out
    assert out["nodes"][0]["positions_left"] == [] and out["nodes"][0]["orders_left"] == []
    assert exposure(ws, node_id)["positions"] == []


def test_stop_with_flatten_closes_what_stalls_and_reports_what_is_left(
    node: tuple[Workspace, str],
) -> None:
    ws, node_id = node
    for _ in range(3):
        buy(ws, node_id, "900000")
    buy(ws, node_id, "2000000", "SELL")  # and one above the quote's size the other way
    assert exposure(ws, node_id)["positions"]
    run = latest_run(ws, node_id)
    assert run is not None

    r = gateway("stop", node_id, "--flatten", "--json", workspace=ws.root, timeout=120)
    assert r.code == 0, r.err
    reader = JournalReader(run.path)
    try:
        events = reader.read(0, 1_000_000)
    finally:
        reader.close()
    (flattened,) = [e for e in events if e.type == "StopFlattened"]
    assert flattened.payload["closed"] and flattened.payload["left"] == [], flattened.payload
