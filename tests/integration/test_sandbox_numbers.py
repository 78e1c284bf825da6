"""One set of numbers: positions snapshot, metrics sample, Prometheus and the console fold.

A real sandbox node host on a market that does not move (a random walk with a
vanishing step, so every reader at any moment marks positions at the same prices)
holds positions in two instruments, one long and one short, with realized PnL from a
partial close. Then:

- ``gateway positions NODE --json`` (a real CLI process, the node's snapshot),
- the node's latest metrics sample (what ``gateway metrics`` prints),
- Prometheus's exposition of that sample,
- the console's fold of the node's events (positions pane rows, metrics pane),
- ``gateway balances NODE --json`` and the sample's accounts,

must agree figure for figure: ids, sides, quantities, average prices, unrealized and
realized PnL, the open-position count and its per-strategy split.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from console.cli.orders import OrderSession
from console.feed import FeedState
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.manager import NodeManager
from engine.runs import find_run
from engine.telemetry.journal_samples import latest_sample
from engine.telemetry.prometheus import MetricsRegistry
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes

NODE = "numbers-sbx"
EUR, GBP = "EUR/USD.SIM", "GBP/USD.SIM"
pytestmark = pytest.mark.timeout(150)


def sandbox_doc() -> dict[str, Any]:
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, strategies=[])
    doc.pop("restart", None)
    doc["data_clients"][0]["options"].update(
        instrument_ids=[EUR, GBP],
        rate=20,
        # Mid-way between two increments with a vanishing step: the prices never change.
        volatility_bp=1e-9,
        start_prices={EUR: 1.100005, GBP: 1.250005},
    )
    return doc


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace(Path(tmp_path_factory.mktemp("numbers")) / ".gateway").ensure()
    ConfigStore(ws).save(sandbox_doc(), deep=False)
    manager = NodeManager(ws)

    async def start() -> None:
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
        assert meta.state == "running", meta
        await asyncio.to_thread(wait_for_quotes, handle.run_dir, instruments=2)

    asyncio.run(start())
    try:
        yield ws
    finally:
        asyncio.run(NodeManager(ws).stop(NODE, timeout_s=15))


async def trade(ws: Workspace) -> int:
    """Open long EUR, short GBP, partly close EUR; return the last fill's sequence number."""
    session = await OrderSession.open(ws, NODE)
    try:
        for side, qty, iid in (
            ("BUY", "300000", EUR),
            ("SELL", "200000", GBP),
            ("SELL", "100000", EUR),
        ):
            reply = await session.send(
                {
                    "action": "submit",
                    "ticket": {
                        "type": "MARKET",
                        "instrument_id": iid,
                        "side": side,
                        "quantity": qty,
                    },
                }
            )
            assert reply.get("ok"), reply
            assert await session.wait_for([str(reply["client_order_ids"][0])], "filled", 8)
        # And one working order, so open-order counts have something to agree on.
        resting = {"type": "LIMIT", "instrument_id": EUR, "side": "BUY", "quantity": "1000"}
        reply = await session.send({"action": "submit", "ticket": {**resting, "price": "1.00000"}})
        assert reply.get("ok"), reply
        assert await session.wait_for([str(reply["client_order_ids"][0])], "accepted", 8)
        return session.last_seq
    finally:
        await session.close()


def sample_after(ws: Workspace, seq: int, limit_s: float = 20) -> dict[str, Any]:
    run_dir = find_run(ws, NODE).path
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        env = latest_sample(run_dir)
        if env is not None and env.seq > seq:
            return dict(env.payload)
        time.sleep(0.2)
    raise AssertionError(f"no metrics sample after seq {seq} within {limit_s}s")


async def console_fold(ws: Workspace) -> FeedState:
    state = FeedState()
    async for batch in NodeManager(ws).attach(NODE, 0, follow=False):
        state.apply(batch)
    return state


def cli_json(ws: Workspace, *args: str) -> dict[str, Any]:
    result = gateway(*args, "--json", workspace=ws.root)
    assert result.code == 0, (result.out, result.err)
    data: dict[str, Any] = json.loads(result.out)
    return data


def test_positions_metrics_prometheus_and_console_agree(node: Workspace) -> None:
    last = asyncio.run(trade(node))
    sample = sample_after(node, last)
    snap = cli_json(node, "positions", NODE)
    fold = asyncio.run(console_fold(node))

    rows = {r["position_id"]: r for r in snap["positions"]}
    assert {r["instrument_id"]: r["side"] for r in rows.values()} == {EUR: "LONG", GBP: "SHORT"}
    assert {r["instrument_id"]: r["quantity"] for r in rows.values()} == {
        EUR: "200000",
        GBP: "200000",
    }
    eur = next(r for r in rows.values() if r["instrument_id"] == EUR)
    assert Decimal(eur["unrealized_pnl"]) != 0 and Decimal(eur["realized_pnl"]) < 0, eur

    # The snapshot and the sample: the same rows, the same counts.
    assert {r["position_id"]: r for r in sample["positions"]["rows"]} == rows
    assert snap["counts"] == {k: sample["positions"][k] for k in ("open", "closed", "by_strategy")}
    counts = snap["counts"]
    assert counts["open"] == len(rows) == 2
    assert counts["open"] == sum(c["open"] for c in counts["by_strategy"].values())

    # Per instrument, the portfolio's unrealized PnL is the sum of the rows'.
    for iid, figures in sample["pnl"]["by_instrument"].items():
        want = sum(Decimal(r["unrealized_pnl"]) for r in rows.values() if r["instrument_id"] == iid)
        assert Decimal(str(figures["unrealized"])) == want, (iid, figures, want)
    total_unrealized = sum(Decimal(r["unrealized_pnl"]) for r in rows.values())
    assert Decimal(str(sample["pnl"]["total"]["USD"]["unrealized"])) == total_unrealized
    assert Decimal(snap["totals"]["USD"]["unrealized"]) == total_unrealized
    (sid,) = {r["strategy_id"] for r in rows.values()}  # the gateway's own strategy
    by_strategy = sample["pnl"]["by_strategy"][sid]["USD"]
    assert Decimal(str(by_strategy["unrealized"])) == total_unrealized

    # Prometheus says the same.
    registry = MetricsRegistry()
    registry.update(NODE, sample)
    text = registry.exposition()[0].decode()
    open_series = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gateway_positions{") and 'state="open"' in line
    ]
    assert sum(open_series) == counts["open"], text
    unrealized_line = next(
        line
        for line in text.splitlines()
        if line.startswith("gateway_pnl{") and 'kind="unrealized"' in line
    )
    assert Decimal(unrealized_line.rsplit(" ", 1)[1]) == total_unrealized

    # The console: a positions pane row per open position, with its unrealized PnL (not
    # "-"), and the metrics pane's open count.
    pane = {row.position_id: row for row in fold.positions.values() if row.node_id == NODE}
    for pid, row in rows.items():
        shown = pane[pid]
        assert shown.unrealized_pnl == f"{row['unrealized_pnl']} USD", (shown, row)
        assert shown.realized_pnl == f"{row['realized_pnl']} USD", (shown, row)
        assert (shown.side, shown.quantity) == (row["side"], row["quantity"])
        assert Decimal(shown.avg_px) == Decimal(row["avg_px_open"])
    assert fold.snapshot(NODE).positions_open == counts["open"]

    # Open orders: the sample, the console's fold and `gateway orders list` agree.
    listed = json.loads(gateway("orders", "list", NODE, "--json", workspace=node.root).out)
    open_listed = [o for o in listed if o["is_open"]]
    assert sample["orders"]["open"] == len(open_listed) == fold.open_orders(NODE) == 1
    assert fold.snapshot(NODE).orders_open == 1

    # The text output of the CLI prints the same figures.
    text_out = gateway("positions", NODE, workspace=node.root)
    assert text_out.code == 0
    assert f"2 open positions ({sid} 2)" in text_out.out
    for row in rows.values():
        assert row["unrealized_pnl"] in text_out.out


def test_balances_agree_with_the_sample(node: Workspace) -> None:
    sample = sample_after(node, 0)
    snap = cli_json(node, "balances", NODE)
    (account,) = snap["accounts"]
    assert account["account_id"] == "SIM-001" and account["type"] == "MARGIN"
    (usd,) = account["balances"]
    assert Decimal(usd["total"]) == Decimal(usd["locked"]) + Decimal(usd["free"])
    sampled = sample["accounts"]["SIM"]
    assert Decimal(usd["total"]) == Decimal(str(sampled["balance_total"]["USD"]))
    # Positions are open (the test above, or none when run alone): margins match too.
    margin_sum = sum((Decimal(m["maintenance"]) for m in account["margins"]), Decimal(0))
    assert margin_sum == Decimal(str(sum(sampled["margin_maint"].values(), 0.0)))


def test_bad_node_ids_exit_2_and_stopped_nodes_exit_1(node: Workspace) -> None:
    for bad in ("../x", "A", "", "١٢٣", "x" * 10_000):
        for cmd in ("positions", "balances"):
            result = gateway(cmd, bad, workspace=node.root)
            assert result.code == 2, (cmd, bad, result)
            assert "expected a node id" in result.err and "Traceback" not in result.err
    result = gateway("positions", "not-running", "--json", workspace=node.root)
    assert result.code == 1
    assert json.loads(result.out)["code"] == "not_running"
