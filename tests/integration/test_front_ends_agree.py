"""One order fold, every front end: the console's orders pane, ``gateway orders list`` and
``GET /nodes/{id}/orders`` show the same rows for the same node events (issue 17).

Real parts: the ``gateway`` CLI in a subprocess, a ``gateway serve`` process on a loopback
port, the console (Pilot) fed the run's journal through the same path its EventBus drain
takes. The journal holds what made the fronts disagree before: partial fills, modifies
rejected and done, a bracket (entry filled in two parts, take-profit canceled, stop-loss
triggered then canceled), expiries, denials, rejections, a cancel rejected.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from api.client import GatewayClient
from console.app import GatewayApp
from console.services import WorkspaceServices
from console.settings import load_settings
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.events.envelope import Envelope
from engine.journal import JournalReader, JournalWriter
from engine.manager import NodeManager
from engine.runs import Run, create_run, update_meta
from engine.workspace import Workspace
from tests.integration.api_support import Server, running_server
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes
from tests.ui.helpers import wait_for
from themes.loader import load_themes
from widgets.orders_table import OrdersTable
from widgets.positions_table import PositionsTable

NODE = "fronts"
EUR = "EUR/USD.SIM"
pytestmark = pytest.mark.timeout(180)

# (client order id, event type, payload extras): Nautilus ``to_dict`` shapes.
_LIMIT = {"order_type": "LIMIT", "time_in_force": "GTC"}
STORY: list[tuple[str, str, dict[str, Any]]] = [
    # A partly filled order whose modify is rejected: still partly filled.
    ("O-PART", "OrderInitialized", {**_LIMIT, "order_side": "BUY", "quantity": "100000",
                                    "options": {"price": "1.09000"}}),
    ("O-PART", "OrderSubmitted", {}),
    ("O-PART", "OrderAccepted", {"venue_order_id": "V-1"}),
    ("O-PART", "OrderFilled", {"last_qty": "40000", "last_px": "1.09000"}),
    ("O-PART", "OrderPendingUpdate", {}),
    ("O-PART", "OrderModifyRejected", {"reason": "ORDER_MODIFY_REJECTED too late"}),
    # A modify done: the new price and quantity.
    ("O-MOD", "OrderInitialized", {**_LIMIT, "order_side": "SELL", "quantity": "50000",
                                   "options": {"price": "1.12000"}}),
    ("O-MOD", "OrderAccepted", {}),
    ("O-MOD", "OrderPendingUpdate", {}),
    ("O-MOD", "OrderUpdated", {"quantity": "30000", "price": "1.11500"}),
    # A bracket: entry filled in two parts, take-profit canceled, stop triggered, canceled.
    ("O-ENTRY", "OrderInitialized", {"order_type": "MARKET", "order_side": "BUY",
                                     "quantity": "100000", "time_in_force": "GTC",
                                     "order_list_id": "OL-1", "contingency_type": "OTO"}),
    ("O-TP", "OrderInitialized", {**_LIMIT, "order_side": "SELL", "quantity": "100000",
                                  "options": {"price": "1.15000"}, "order_list_id": "OL-1",
                                  "contingency_type": "OCO"}),
    ("O-SL", "OrderInitialized", {"order_type": "STOP_MARKET", "order_side": "SELL",
                                  "quantity": "100000", "time_in_force": "GTC",
                                  "options": {"trigger_price": "1.05000"},
                                  "order_list_id": "OL-1", "contingency_type": "OCO"}),
    ("O-ENTRY", "OrderAccepted", {}),
    ("O-ENTRY", "OrderFilled", {"last_qty": "60000", "last_px": "1.10000"}),
    ("O-ENTRY", "OrderFilled", {"last_qty": "40000", "last_px": "1.10100"}),
    ("O-TP", "OrderAccepted", {}),
    ("O-SL", "OrderAccepted", {}),
    ("O-SL", "OrderTriggered", {}),
    ("O-TP", "OrderCanceled", {}),
    ("O-SL", "OrderPendingCancel", {}),
    ("O-SL", "OrderCanceled", {}),
    # A day order expiring, a cancel rejected, a denial, a venue rejection.
    ("O-EXP", "OrderInitialized", {**_LIMIT, "time_in_force": "GTD", "order_side": "BUY",
                                   "quantity": "1000", "options": {"price": "1.00000"}}),
    ("O-EXP", "OrderAccepted", {}),
    ("O-EXP", "OrderExpired", {}),
    ("O-CXL", "OrderInitialized", {**_LIMIT, "order_side": "BUY", "quantity": "2000",
                                   "options": {"price": "1.01000"}}),
    ("O-CXL", "OrderAccepted", {}),
    ("O-CXL", "OrderPendingCancel", {}),
    ("O-CXL", "OrderCancelRejected", {"reason": "unknown order"}),
    ("O-DENY", "OrderInitialized", {**_LIMIT, "order_side": "BUY", "quantity": "9000000",
                                    "options": {"price": "1.10000"}}),
    ("O-DENY", "OrderDenied", {"reason": "max_notional_per_order"}),
    ("O-REJ", "OrderInitialized", {"order_type": "MARKET", "order_side": "SELL",
                                   "quantity": "1000", "time_in_force": "IOC"}),
    ("O-REJ", "OrderSubmitted", {}),
    ("O-REJ", "OrderRejected", {"reason": "no market"}),
]  # fmt: skip

EXPECTED = {  # client order id -> (status, filled)
    "O-PART": ("PARTIALLY_FILLED", "40000"),
    "O-MOD": ("ACCEPTED", "0"),
    "O-ENTRY": ("FILLED", "100000"),
    "O-TP": ("CANCELED", "0"),
    "O-SL": ("CANCELED", "0"),
    "O-EXP": ("EXPIRED", "0"),
    "O-CXL": ("ACCEPTED", "0"),
    "O-DENY": ("DENIED", "0"),
    "O-REJ": ("REJECTED", "0"),
}


def write_story(workspace: Workspace) -> Run:
    """A finished sandbox run of ``NODE`` whose journal holds :data:`STORY`."""
    run = create_run(workspace, NODE, "sandbox")
    writer = JournalWriter(run.path, NODE, run.run_id, autoflush=False)
    try:
        for i, (coid, type_, extra) in enumerate(STORY, 1):
            payload = {"client_order_id": coid, "instrument_id": EUR, **extra}
            payload.setdefault("strategy_id", "GatewayStrategy-000")
            writer.append("order", type_, payload, 1_767_225_600_000_000_000 + i)
        writer.flush()
    finally:
        writer.close()
    update_meta(run.path, state="stopped", ended="2026-01-01T00:00:09.000Z", exit_code=0)
    return run


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Run, Server]]:
    ws = Workspace(Path(tmp_path_factory.mktemp("fronts")) / ".gateway").ensure()
    run = write_story(ws)
    with running_server(ws) as server:
        yield ws, run, server


def view(
    coid: str, side: str, kind: str, qty: str | None, filled: str, price: str | None,
    trigger: str | None, status: str, instrument: str,
) -> tuple[str, ...]:  # fmt: skip
    """The fields every front end shows, as the orders pane renders them."""
    return (coid, side, kind, qty or "", filled, price or "-", trigger or "-", status, instrument)


def of_listed(row: dict[str, Any]) -> tuple[str, ...]:
    return view(
        row["client_order_id"], row["side"], row["order_type"], row["quantity"],
        row["filled_qty"], row["price"], row["trigger_price"], row["status"],
        row["instrument_id"],
    )  # fmt: skip


async def console_rows(workspace: Workspace, envelopes: list[Envelope]) -> list[tuple[str, ...]]:
    """What the console's orders pane holds once ``envelopes`` reached it."""
    app = GatewayApp(
        WorkspaceServices(workspace),
        settings=load_settings(workspace.settings_path),
        settings_path=workspace.settings_path,
        themes=load_themes(workspace.root / "themes"),
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.ingest(envelopes)  # what a tick's EventBus drain hands the fold
        table = app.main.query_one(OrdersTable)
        await wait_for(pilot, lambda: len(table.all_rows) == len(EXPECTED))
        return [
            view(
                r.client_order_id,
                r.side,
                r.type,
                r.quantity,
                r.filled,
                r.price,
                r.trigger_price,
                r.status,
                r.instrument_id,
            )
            for r in table.all_rows
        ]


async def test_console_cli_and_api_show_the_same_order_rows(
    story: tuple[Workspace, Run, Server],
) -> None:
    ws, run, server = story
    cli = gateway("orders", "list", NODE, "--json", workspace=ws.root)
    assert cli.code == 0, (cli.out, cli.err)
    listed: list[dict[str, Any]] = json.loads(cli.out)

    with GatewayClient(server.url, server.token("reader", "read")) as client:
        api = client.orders(NODE)
    assert (api.node_id, api.run_id, api.damaged) == (NODE, run.run_id, None)
    # The CLI and the API: the same rows, field for field.
    assert [r.model_dump() for r in api.orders] == listed

    with JournalReader(run.path) as reader:
        envelopes = reader.read()
    shown = await console_rows(ws, envelopes)
    assert sorted(shown) == sorted(of_listed(r) for r in listed)

    # And the rows are right: the states Nautilus's order state machine gives.
    assert {r["client_order_id"]: (r["status"], r["filled_qty"]) for r in listed} == EXPECTED
    by_id = {r["client_order_id"]: r for r in listed}
    assert (by_id["O-MOD"]["quantity"], by_id["O-MOD"]["price"]) == ("30000", "1.11500")
    assert by_id["O-ENTRY"]["avg_px"] == "1.1004"
    assert by_id["O-SL"]["trigger_price"] == "1.05000"


def test_open_only_lists_agree(story: tuple[Workspace, Run, Server]) -> None:
    ws, _run, server = story
    cli = gateway("orders", "list", NODE, "--open", "--json", workspace=ws.root)
    assert cli.code == 0, cli.err
    with GatewayClient(server.url, server.token("reader-open", "read")) as client:
        api = client.orders(NODE, open_only=True)
    assert [r.model_dump() for r in api.orders] == json.loads(cli.out)
    assert {r.client_order_id for r in api.orders} == {"O-PART", "O-MOD", "O-CXL"}


# -- a real sandbox node: the console attached live, orders from the API and the CLI -------

LIVE = "fronts-sbx"


def live_doc() -> dict[str, Any]:
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=LIVE, strategies=[])
    doc.pop("restart", None)
    doc["data_clients"][0]["options"].update(
        instrument_ids=[EUR],
        rate=20,
        volatility_bp=1e-9,  # a market that does not move: every reader marks alike
        start_prices={EUR: 1.100005},
    )
    return doc


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Server]]:
    ws = Workspace(Path(tmp_path_factory.mktemp("fronts-live")) / ".gateway").ensure()
    ConfigStore(ws).save(live_doc(), deep=False)

    async def start() -> None:
        handle = await NodeManager(ws).launch(LIVE)
        meta = await NodeManager(ws).wait_state(
            LIVE, {"running", "failed", "stopped"}, timeout_s=60
        )
        assert meta.state == "running", meta
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    asyncio.run(start())
    try:
        with running_server(ws) as server:
            yield ws, server
    finally:
        asyncio.run(NodeManager(ws).stop(LIVE, timeout_s=15))


def trade(server: Server) -> dict[str, str]:
    """Orders through the API; returns the client order ids by role."""
    ids: dict[str, str] = {}
    with GatewayClient(server.url, server.token("trader", "read,trade"), timeout=60) as client:

        def submit(role: str, **ticket: str) -> None:
            command = {"action": "submit", "ticket": {"instrument_id": EUR, **ticket}}
            reply = client.send_order(LIVE, command, f"key-{role}").reply
            assert reply.get("ok"), reply
            ids[role] = str(reply["client_order_ids"][0])

        submit("buy", type="MARKET", side="BUY", quantity="200000")
        submit("resting", type="LIMIT", side="BUY", quantity="1000", price="1.00000")
        submit("doomed", type="LIMIT", side="BUY", quantity="2000", price="1.00100")
        submit("sell", type="MARKET", side="SELL", quantity="50000")
        modify = {"action": "modify", "client_order_id": ids["resting"], "price": "1.00050"}
        assert client.order_action(LIVE, modify).ok
    return ids


async def test_a_live_node_reads_alike_in_the_console_the_cli_and_the_api(
    live: tuple[Workspace, Server],
) -> None:
    ws, server = live
    app = GatewayApp(
        WorkspaceServices(ws),
        settings=load_settings(ws.settings_path),
        settings_path=ws.settings_path,
        themes=load_themes(ws.root / "themes"),
    )
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        ids = await asyncio.to_thread(trade, server)
        cancel = await asyncio.to_thread(
            gateway, "orders", "cancel", LIVE, ids["doomed"], "--yes", workspace=ws.root
        )
        assert cancel.code == 0, (cancel.out, cancel.err)
        want = {
            ids["buy"]: "FILLED",
            ids["sell"]: "FILLED",
            ids["resting"]: "ACCEPTED",
            ids["doomed"]: "CANCELED",
        }
        orders = app.main.query_one(OrdersTable)
        positions = app.main.query_one(PositionsTable)

        def settled() -> bool:
            shown = {r.client_order_id: r for r in orders.all_rows}
            return {k: shown[k].status for k in want if k in shown} == want and (
                shown[ids["resting"]].price == "1.00050"
            )

        await wait_for(pilot, settled, timeout=30)
        cli = await asyncio.to_thread(gateway, "orders", "list", LIVE, "--json", workspace=ws.root)
        assert cli.code == 0, cli.err
        listed: list[dict[str, Any]] = json.loads(cli.out)
        with GatewayClient(server.url, server.token("reader-live", "read")) as client:
            api = await asyncio.to_thread(client.orders, LIVE)
            # Positions: wait for the console's pane to show a sample's unrealized PnL.
            await wait_for(
                pilot,
                lambda: any(r.unrealized_pnl not in ("-", "") for r in positions.all_rows),
                timeout=30,
            )
            api_positions = await asyncio.to_thread(client.positions, LIVE)
        cli_positions = await asyncio.to_thread(
            gateway, "positions", LIVE, "--json", workspace=ws.root
        )
        shown_orders = [
            view(
                r.client_order_id, r.side, r.type, r.quantity, r.filled, r.price,
                r.trigger_price, r.status, r.instrument_id,
            )
            for r in orders.all_rows
            if r.node_id == LIVE
        ]  # fmt: skip
        shown_positions = [r for r in positions.all_rows if r.node_id == LIVE]

    assert [r.model_dump() for r in api.orders] == listed
    assert sorted(shown_orders) == sorted(of_listed(r) for r in listed)
    assert {r["client_order_id"]: r["status"] for r in listed} == want

    assert cli_positions.code == 0, cli_positions.err
    snap = json.loads(cli_positions.out)
    (row,) = snap["positions"]
    (api_row,) = api_positions.positions
    assert api_row.model_dump() == row  # one snapshot shape; the market does not move
    (shown,) = shown_positions
    assert (shown.position_id, shown.side, shown.quantity) == (
        row["position_id"], row["side"], row["quantity"],
    )  # fmt: skip
    assert (shown.side, shown.quantity) == ("LONG", "150000")
    assert Decimal(shown.avg_px) == Decimal(row["avg_px_open"])
    assert shown.unrealized_pnl == f"{row['unrealized_pnl']} {row['currency']}"
    assert shown.realized_pnl == f"{row['realized_pnl']} {row['currency']}"
