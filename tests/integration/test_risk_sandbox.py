"""Runtime risk on a real sandbox node (NETTING, MARGIN account: the kind Nautilus's own
notional check skips): each limit denies at its edge, REDUCING means reduce only, a halt
stops every order and survives a kill -9 of the host, bad limits change nothing.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.host.paths import pid_file
from engine.manager import NodeManager
from engine.orders.status import OrderStatusTable
from engine.risk.store import state_path
from engine.runs import read_json, read_meta
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes

NODE = "risk-sbx"
IID = "EUR/USD.SIM"
pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("risk-sandbox")]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    workspace = Workspace(Path(tmp_path_factory.mktemp("risk")) / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, strategies=[])
    doc["restart"] = {"policy": "on-failure", "max_restarts": 1, "backoff_seconds": 0.2}
    doc["data_clients"][0]["options"].update(rate=20, volatility_bp=0.2, start_prices={IID: 1.1})
    doc["risk"] = {"max_order_submit_rate": "1000/00:00:01"}
    # The default "trading-halted" rule, with a command that records what it is given.
    doc["alerts"] = [
        {
            "name": "trading-halted",
            "metric": "risk.trading_state",
            "op": "==",
            "threshold": "HALTED",
            "severity": "critical",
            "command": ["sh", "-c", f"cat >> {workspace.root / 'halt-alerts.jsonl'}; echo"],
        }
    ]
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
        asyncio.run(NodeManager(workspace).stop(NODE, timeout_s=15))


def risk(ws: Workspace, *args: str) -> Any:
    result = gateway("risk", *args, "--json", workspace=ws.root)
    return result.code, json.loads(result.out) if result.out.strip() else None, result.err


def order(ws: Workspace, line: str) -> tuple[int, str]:
    result = gateway("order", NODE, line, "--wait", "filled", workspace=ws.root)
    return result.code, result.out + result.err


def test_notional_limit_on_a_margin_account_denies_just_over_and_allows_just_inside(
    ws: Workspace,
) -> None:
    code, out, _ = risk(ws, "set", NODE, "max_notional_per_order=50000")
    assert code == 0 and out["risk"]["limits"]["max_notional_per_order"] == "50000"
    code, text = order(ws, "buy 44000 EUR/USD.SIM")  # ~48,400 USD at 1.1
    assert code == 0 and "FILLED" in text, text
    code, text = order(ws, "buy 47000 EUR/USD.SIM")  # ~51,700 USD
    assert code == 1 and "DENIED" in text and "max_notional_per_order" in text, text
    assert "50000" in text
    code, out, _ = risk(ws, "set", NODE, "max_notional_per_order=none")
    assert code == 0 and out["risk"]["limits"]["max_notional_per_order"] is None


def test_reducing_lets_only_reductions_through(ws: Workspace) -> None:
    code, out, _ = risk(ws, "reduce", NODE)
    assert code == 0 and out["risk"]["trading_state"] == "REDUCING"
    try:
        code, text = order(ws, "buy 1000 EUR/USD.SIM")  # adds to the long
        assert code == 1 and "REDUCING" in text, text
        code, text = order(ws, "sell 100000 EUR/USD.SIM")  # would flip to short
        assert code == 1 and "REDUCING" in text, text
        code, text = order(ws, "sell 4000 EUR/USD.SIM")  # reduces
        assert code == 0 and "FILLED" in text, text
        code, text = order(ws, "sell 40000 EUR/USD.SIM")  # closes: flat
        assert code == 0 and "FILLED" in text, text
        code, text = order(ws, "sell 1000 EUR/USD.SIM")  # from flat: opens a position
        assert code == 1 and "REDUCING" in text, text
    finally:
        code, out, _ = risk(ws, "resume", NODE)
    assert code == 0 and out["risk"]["trading_state"] == "ACTIVE"


def _cancel_all(ws: Workspace) -> None:
    r = gateway("orders", "cancel-all", NODE, "--yes", workspace=ws.root)
    assert r.code == 0, r.err


def test_open_orders_and_order_rate_limits_deny_the_one_beyond(ws: Workspace) -> None:
    code, _, _ = risk(ws, "set", NODE, "max_open_orders=2")
    assert code == 0
    try:
        for _ in range(2):
            code, text = order_accepted(ws, "buy 1000 EUR/USD.SIM limit 1.05")
            assert code == 0, text
        code, text = order_accepted(ws, "buy 1000 EUR/USD.SIM limit 1.05")
        assert code == 1 and "max_open_orders" in text and "2" in text, text
    finally:
        _cancel_all(ws)
        assert risk(ws, "set", NODE, "max_open_orders=none")[0] == 0

    code, _, _ = risk(ws, "set", NODE, "max_order_rate_per_instrument=3/00:00:30")
    assert code == 0
    try:
        for _ in range(3):
            code, text = order_accepted(ws, "buy 1000 EUR/USD.SIM limit 1.05")
            assert code == 0, text
        code, text = order_accepted(ws, "buy 1000 EUR/USD.SIM limit 1.05")
        assert code == 1 and "max_order_rate_per_instrument" in text, text
    finally:
        _cancel_all(ws)
        assert risk(ws, "set", NODE, "max_order_rate_per_instrument=none")[0] == 0


def test_net_position_limit_allows_up_to_it_and_denies_beyond(ws: Workspace) -> None:
    code, _, _ = risk(ws, "set", NODE, "max_position_net=50000", "max_position_gross=50000")
    assert code == 0
    try:
        code, text = order(ws, "buy 50000 EUR/USD.SIM")
        assert code == 0 and "FILLED" in text, text
        code, text = order(ws, "buy 1000 EUR/USD.SIM")
        assert code == 1 and "max_position_net" in text and "51000" in text, text
    finally:
        assert risk(ws, "set", NODE, "max_position_net=none", "max_position_gross=none")[0] == 0
        code, text = order(ws, "sell 50000 EUR/USD.SIM")
        assert code == 0, text


def _wait_state(ws: Workspace, state: str, limit_s: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while True:
        out = risk(ws, "show", NODE)[1]
        if out["risk"]["trading_state"] == state or time.monotonic() > deadline:
            return dict(out)
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("limit", "measure", "action"),
    [("max_daily_loss", "daily_pnl", "HALTED"), ("max_drawdown", "drawdown", "REDUCING")],
)
def test_a_loss_limit_crossed_by_a_fill_moves_the_node_to_its_state(
    ws: Workspace, limit: str, measure: str, action: str
) -> None:
    now = risk(ws, "show", NODE)[1]["usage"][measure].get("USD", "0")
    for _ in range(10):  # a day in profit cannot cross a loss limit with one buy: lose first
        if measure != "daily_pnl" or Decimal(now) < 0:
            break
        for line in ("buy 100000 EUR/USD.SIM", "sell 100000 EUR/USD.SIM"):
            assert order(ws, line)[0] == 0  # a round trip costs the spread and commissions
        now = risk(ws, "show", NODE)[1]["usage"][measure].get("USD", "0")
    lost = abs(Decimal(now))  # the loss (or drawdown) so far today
    # Just above today's loss: the next buy's commission (2.20) and spread cross it, unless
    # the market rises by more than both before the next check (a wider edge made the test
    # depend on the random walk's next ticks).
    edge = lost + Decimal("0.01")
    on = "on_daily_loss" if limit == "max_daily_loss" else "on_drawdown"
    code, _, err = risk(ws, "set", NODE, f"{limit}={edge}", f"{on}={action}")
    assert code == 0, err
    try:
        assert risk(ws, "show", NODE)[1]["risk"]["trading_state"] == "ACTIVE"
        code, text = order(ws, "buy 100000 EUR/USD.SIM")
        assert code == 0 and "FILLED" in text, text
        out = _wait_state(ws, action, limit_s=10)
        assert out["risk"]["trading_state"] == action, out
        assert f"RISK {limit}" in out["risk"]["reason"], out
    finally:
        assert risk(ws, "set", NODE, f"{limit}=none")[0] == 0
        assert risk(ws, "resume", NODE)[0] == 0
        code, text = order(ws, "sell 100000 EUR/USD.SIM")
        assert code == 0, text


def order_accepted(ws: Workspace, line: str) -> tuple[int, str]:
    result = gateway("order", NODE, line, "--wait", "accepted", workspace=ws.root)
    return result.code, result.out + result.err


async def _flood(ws: Workspace, n: int) -> list[str]:
    import random

    rng = random.Random(7)
    manager = NodeManager(ws)
    ids: list[str] = []
    for i in range(n):
        side = rng.choice(["BUY", "SELL"])
        kind = rng.choice(["MARKET", "LIMIT"])
        ticket: dict[str, Any] = {
            "type": kind,
            "instrument_id": IID,
            "side": side,
            "quantity": str(rng.randint(1, 50) * 1000),
            "tags": [f"flood-{i}"],
        }
        if kind == "LIMIT":  # marketable: would fill at once if let through
            ticket["price"] = "1.20000" if side == "BUY" else "1.00000"
        reply = await manager.command(NODE, "order", command={"action": "submit", "ticket": ticket})
        ids += [str(x) for x in reply.get("client_order_ids") or ()]
    return ids


def _statuses(ws: Workspace, run_dir: Path) -> dict[str, str]:
    from engine.journal.reader import JournalReader

    table = OrderStatusTable()
    table.apply(JournalReader(run_dir).read())
    return {r.client_order_id: r.status for r in table.rows()}


def test_after_a_halt_a_flood_of_orders_gets_nothing_through(ws: Workspace) -> None:
    code, out, _ = risk(ws, "halt", NODE, "--reason", "flood test")
    assert code == 0 and out["risk"]["trading_state"] == "HALTED"
    ids = asyncio.run(_flood(ws, 40))
    assert len(ids) == 40
    run_dir = Path(str(read_json(pid_file(ws, NODE))["run_dir"]))
    deadline = time.monotonic() + 10
    while True:
        statuses = _statuses(ws, run_dir)
        if all(statuses.get(i) == "DENIED" for i in ids) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [i for i in ids if statuses.get(i) != "DENIED"] == []


def test_a_halt_raises_a_critical_alert_that_runs_its_command(ws: Workspace) -> None:
    from engine.journal.reader import JournalReader

    run_dir = Path(str(read_json(pid_file(ws, NODE))["run_dir"]))
    deadline = time.monotonic() + 10
    raised: list[Any] = []
    while not raised and time.monotonic() < deadline:
        raised = [
            e
            for e in JournalReader(run_dir).read()
            if e.type == "AlertRaised" and e.payload.get("rule") == "trading-halted"
        ]
        time.sleep(0.2)
    assert raised, "no trading-halted alert in the journal"
    assert raised[-1].payload["severity"] == "critical"
    record = ws.root / "halt-alerts.jsonl"
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "trading-halted" in record.read_text()


def test_a_halted_node_comes_back_halted_after_kill_9_with_its_limits(ws: Workspace) -> None:
    code, out, _ = risk(ws, "set", NODE, "max_open_orders=9", "max_position_net=250000")
    assert code == 0
    time.sleep(1.2)  # the day's PnL is stored at most once a second
    before = json.loads(state_path(ws, NODE).read_text())
    assert before["trading_state"] == "HALTED"
    day_pnl = before["loss_baseline"]["day_pnl"]
    host = read_json(pid_file(ws, NODE))
    assert host is not None
    os.kill(int(host["pid"]), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        data = read_json(pid_file(ws, NODE)) or {}
        if data.get("run_id") not in (None, host["run_id"]):
            meta = read_meta(Path(data["run_dir"]))
            if meta is not None and meta.state == "running":
                break
        assert time.monotonic() < deadline, "the supervisor did not restart the node"
        time.sleep(0.2)
    code, out, _ = risk(ws, "show", NODE)
    assert code == 0 and out["running"] is True
    assert out["risk"]["trading_state"] == "HALTED"
    assert out["risk"]["limits"] == before["limits"]
    assert out["risk"]["limits"]["max_open_orders"] == 9
    # Flat before the kill: the new run goes on from the stored day's PnL, not from 0.
    # (as amounts: the stored "7" and a measured "7.0" are the same PnL)
    now_pnl = {ccy: Decimal(v) for ccy, v in out["usage"]["daily_pnl"].items()}
    assert now_pnl == {ccy: Decimal(v) for ccy, v in day_pnl.items()}, (out["usage"], day_pnl)
    code, text = order(ws, "buy 1000 EUR/USD.SIM")
    assert code == 1 and "HALTED" in text, text


def test_bad_limits_are_refused_naming_each_field_and_nothing_changes(ws: Workspace) -> None:
    before = state_path(ws, NODE).read_bytes()
    for args in (
        ["max_open_orders=-1"],
        ["max_notional_per_order=NaN", "max_drawdown=abc"],
        ["max_order_rate_per_instrument=10/1s"],
        ["no_such_rule=1"],
        ["max_daily_loss"],
    ):
        result = gateway("risk", "set", NODE, *args, workspace=ws.root)
        assert result.code == 2, (args, result.out, result.err)
        assert "Traceback" not in result.err
        for arg in args:
            assert arg.split("=")[0] in result.err, (args, result.err)
    bad_state = gateway("risk", "halt", workspace=ws.root)
    assert bad_state.code == 2
    assert state_path(ws, NODE).read_bytes() == before
    audit = gateway("audit", "list", "--action", "risk", "--json", workspace=ws.root)
    actions = [e["action"] for e in json.loads(audit.out)]
    assert {"risk.set", "risk.halt", "risk.reduce", "risk.resume"} <= set(actions)
    assert gateway("audit", "verify", workspace=ws.root).code == 0


def test_gross_position_limit_denies_the_order_beyond_it_and_allows_the_one_within(
    ws: Workspace,
) -> None:
    assert risk(ws, "resume", NODE)[0] == 0  # after the kill -9 test's halt
    code, out, _ = risk(ws, "set", NODE, "max_position_gross=60000")
    assert code == 0 and out["risk"]["limits"]["max_position_gross"] == "60000"
    try:
        code, text = order(ws, "buy 60000 EUR/USD.SIM")  # exactly at the limit
        assert code == 0 and "FILLED" in text, text
        # A dry run says so first, with the node's reason (exit 1, nothing sent).
        dry = gateway("order", NODE, "buy 1000 EUR/USD.SIM", "--dry-run", workspace=ws.root)
        assert dry.code == 1 and "would deny it: RISK max_position_gross" in dry.err, dry.err
        code, text = order(ws, "buy 1000 EUR/USD.SIM")
        assert code == 1, text
        assert "DENIED" in text and "RISK max_position_gross" in text, text
        assert "61000" in text and "60000" in text, text  # the value and the limit
        code, text = order(ws, "sell 20000 EUR/USD.SIM")  # reduces: within
        assert code == 0 and "FILLED" in text, text
        code, text = order(ws, "buy 20000 EUR/USD.SIM")  # back to the limit, not beyond
        assert code == 0 and "FILLED" in text, text
    finally:
        assert risk(ws, "set", NODE, "max_position_gross=none")[0] == 0
        code, text = order(ws, "sell 60000 EUR/USD.SIM")
        assert code == 0, text


def _restart(ws: Workspace) -> None:
    """Stop the node's host and start it again (a new run of the same node, the same day)."""
    assert gateway("stop", NODE, workspace=ws.root, timeout=60).code == 0

    async def start() -> Path:
        manager = NodeManager(ws)
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
        assert meta.state == "running", meta
        return Path(handle.run_dir)

    run_dir = asyncio.run(start())
    wait_for_quotes(run_dir)


def test_the_days_loss_the_peak_and_reducing_survive_a_restart(ws: Workspace) -> None:
    assert risk(ws, "resume", NODE)[0] == 0
    for _ in range(20):  # round trips until the day shows a loss (each pays the spread)
        assert order(ws, "buy 100000 EUR/USD.SIM")[0] == 0
        assert order(ws, "sell 100000 EUR/USD.SIM")[0] == 0
        usage = risk(ws, "show", NODE)[1]["usage"]
        if Decimal(usage["daily_pnl"]["USD"]) < -1:
            break
    lost = -Decimal(usage["daily_pnl"]["USD"])  # flat now: realized only, it stays put
    peak = Decimal(usage["equity_peak"]["USD"])
    assert lost > 1 and usage["day_timezone"] == "UTC", usage
    # 90% of the daily limit lost; the node is asked to reduce only.
    limit = (lost / Decimal("0.9")).quantize(Decimal("0.01"))
    assert risk(ws, "set", NODE, f"max_daily_loss={limit}")[0] == 0
    assert risk(ws, "reduce", NODE, "--reason", "restart test")[0] == 0
    time.sleep(1.2)  # the baseline is stored at most once a second
    stored = json.loads(state_path(ws, NODE).read_text())["loss_baseline"]
    assert Decimal(stored["day_pnl"]["USD"]) == -lost, stored

    _restart(ws)
    out = risk(ws, "show", NODE)[1]
    assert out["risk"]["trading_state"] == "REDUCING", out
    assert out["risk"]["limits"]["max_daily_loss"] == str(limit)
    # The new run's portfolio starts empty; the day's loss and the peak go on from the last.
    assert Decimal(out["usage"]["daily_pnl"]["USD"]) == -lost, out["usage"]
    assert Decimal(out["usage"]["equity_peak"]["USD"]) >= peak, out["usage"]
    # No fresh limit: a limit just under what was lost before the restart halts the node.
    assert risk(ws, "resume", NODE)[0] == 0
    assert risk(ws, "set", NODE, f"max_daily_loss={lost - Decimal('0.01')}")[0] == 0
    try:
        out = _wait_state(ws, "HALTED")
        assert out["risk"]["trading_state"] == "HALTED", out
        assert "RISK max_daily_loss" in out["risk"]["reason"], out
    finally:
        assert risk(ws, "set", NODE, "max_daily_loss=none")[0] == 0
        assert risk(ws, "resume", NODE)[0] == 0
