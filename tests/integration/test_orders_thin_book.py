"""Close and flatten against a thin book: partial fills followed to the end, or what is left.

The node (a real node host: offline random-walk EUR/USD, Nautilus's sandbox execution) has
a thin venue: the feed streams a book of 3 levels of 100 000 a side (``book_levels``,
``quote_size``) and the sandbox matches on it (``book_type: L2_MBP``), so a market order
fills at most 300 000 and its rest is left unfilled (Nautilus's matching engine does not
match a market order's rest again; a cancel of it is refused as unknown). A strategy
holds one position of 1 200 000, four times the book (on HEDGING too: its adds go into
the same position). A close must go through several rounds of partial fills, each on a
later tick, to get flat (exit 0); with a timeout too short it exits 1 and the position
read back from the node afterwards is what it said was left.
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
from engine.manager import NodeManager, NodeNotRunning
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes
from tests.integration.opening_strategy import opening
from tests.integration.test_orders_flatten import buy, exposure, wait_exposure

IID = "EUR/USD.SIM"
DEPTH = Decimal(300_000)  # 3 levels of 100 000
BIG = Decimal(1_200_000)
pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("thin-book")]


def node_doc(node_id: str, oms_type: str) -> dict[str, Any]:
    doc = copy.deepcopy(demo_sandbox())
    if oms_type == "HEDGING":  # one order opens the position, three more add to it
        big = opening("301", instrument_id=IID, side="BUY", quantity="300000", adds=3)
    else:  # four orders net into one position
        big = opening("301", instrument_id=IID, side="BUY", quantity="300000", orders=4)
    doc.update(node_id=node_id, strategies=[big])
    doc.pop("restart", None)
    doc["venues"][0]["oms_type"] = oms_type
    doc["data_clients"][0]["options"].update(
        rate=20, volatility_bp=0.2, start_prices={IID: 1.1}, book_levels=3, quote_size=100_000
    )
    doc["exec_clients"][0]["options"] = {"book_type": "L2_MBP"}
    return doc


@pytest.fixture(scope="module", params=["NETTING", "HEDGING"])
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, str]]:
    oms = str(request.param)
    node_id = f"thin-{oms.lower()}"
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
        with contextlib.suppress(NodeNotRunning):
            asyncio.run(NodeManager(ws).stop(node_id, timeout_s=20))


def held(reply: dict[str, Any], strategy: str = "OpenOnce-301") -> Decimal:
    return sum(
        (Decimal(p["quantity"]) for p in reply["positions"] if p["strategy_id"] == strategy),
        Decimal(0),
    )


def test_a_close_too_short_for_the_book_exits_1_with_what_the_node_still_holds(
    node: tuple[Workspace, str],
) -> None:
    ws, node_id = node
    start = wait_exposure(ws, node_id, lambda r: held(r) == BIG)
    (position,) = [p for p in start["positions"] if p["strategy_id"] == "OpenOnce-301"]

    # Time for one round of partial fills only: exit 1, the text says what is left.
    r = gateway(
        "orders", "close", node_id, "--instrument", IID, "--yes", "--timeout", "0.3",
        workspace=ws.root, timeout=60,
    )  # fmt: skip
    assert r.code == 1, (r.out, r.err)
    assert "NOT flat" in r.err and f"still open: {position['position_id']}" in r.err, r.err
    assert 0 < held(exposure(ws, node_id)) < BIG

    r = gateway(
        "orders", "close", node_id, "--instrument", IID, "--yes", "--json", "--timeout", "0.3",
        workspace=ws.root, timeout=60,
    )  # fmt: skip
    assert r.code == 1, (r.out, r.err)
    out = json.loads(r.out)
    assert out["ok"] is False and out["code"] == "not_flat", out
    (left,) = out["positions_left"]
    assert left["position_id"] == position["position_id"], out
    # Read back from the node, not from the message: still open, partly closed, and no
    # more than the command said was left.
    after = exposure(ws, node_id)
    now = held(after)
    assert now == BIG - 2 * DEPTH, after  # one round of each close went through
    assert now <= Decimal(left["quantity"]), (after, out)


def test_close_and_flatten_follow_partial_fills_until_flat(node: tuple[Workspace, str]) -> None:
    ws, node_id = node
    assert held(exposure(ws, node_id)) == 2 * DEPTH  # what the first test left
    for _ in range(2):  # and the gateway's own, at the book's depth each
        buy(ws, node_id, "300000")
    before = exposure(ws, node_id)
    total = sum((Decimal(p["quantity"]) for p in before["positions"]), Decimal(0))
    assert total >= 3 * DEPTH, before

    r = gateway("orders", "flatten", node_id, "--yes", "--json", workspace=ws.root, timeout=120)
    assert r.code == 0, (r.out, r.err)
    out = json.loads(r.out)
    assert out["ok"] is True and out["positions_left"] == [], out
    assert set(out["closed"]) == {p["position_id"] for p in before["positions"]}, out
    # More than one round: the book could not take it at once; each round filled partly.
    assert out["rounds"] >= 2 and len(out["closing_orders"]) >= 3, out
    partial = [o for o in out["stale_orders"] if Decimal(o["filled_qty"]) < Decimal(o["quantity"])]
    assert partial and all(Decimal(o["filled_qty"]) > 0 for o in partial), out
    after = exposure(ws, node_id)
    assert after["positions"] == [] and after["net"] == {}, after

    # Again, one instrument, by close: flat, exit 0, in rounds.
    for _ in range(4):
        buy(ws, node_id, "300000", "SELL")
    net = Decimal(exposure(ws, node_id)["net"][IID])
    assert net <= -2 * DEPTH, net  # NETTING one position, HEDGING four
    r = gateway(
        "orders", "close", node_id, "--instrument", IID, "--yes", "--json",
        workspace=ws.root, timeout=120,
    )  # fmt: skip
    assert r.code == 0, (r.out, r.err)
    assert json.loads(r.out)["ok"] is True
    assert exposure(ws, node_id)["positions"] == []


def test_the_gross_limit_counts_a_hedging_sell_as_a_position_of_its_own(
    node: tuple[Workspace, str],
) -> None:
    ws, node_id = node
    buy(ws, node_id, "300000")  # long 300k, the gateway's
    r = gateway("risk", "set", node_id, "max_position_gross=400000", workspace=ws.root)
    assert r.code == 0, r.err
    try:
        r = gateway("order", node_id, "sell 200000 EUR/USD.SIM", "--wait", "filled",
                    workspace=ws.root)  # fmt: skip
        text = r.out + r.err
        if node_id.endswith("hedging"):  # a short of its own beside the long: 500k gross
            assert r.code == 1 and "RISK max_position_gross" in text, text
            assert "500000" in text and "400000" in text, text
        else:  # NETTING: it reduces the long
            assert r.code == 0 and "FILLED" in text, text
        # REDUCING: on HEDGING that sell would open a short of its own, so it is denied.
        assert (
            gateway("risk", "set", node_id, "max_position_gross=none", workspace=ws.root).code == 0
        )
        assert gateway("risk", "reduce", node_id, workspace=ws.root).code == 0
        r = gateway("order", node_id, "sell 50000 EUR/USD.SIM", "--wait", "filled",
                    workspace=ws.root)  # fmt: skip
        text = r.out + r.err
        if node_id.endswith("hedging"):
            assert r.code == 1 and "RISK trading_state: REDUCING" in text, text
        else:
            assert r.code == 0 and "FILLED" in text, text
    finally:
        assert gateway("risk", "resume", node_id, workspace=ws.root).code == 0
        assert (
            gateway("risk", "set", node_id, "max_position_gross=none", workspace=ws.root).code == 0
        )
        r = gateway("orders", "flatten", node_id, "--yes", workspace=ws.root, timeout=60)
        assert r.code == 0, r.err
