"""Every order type, modify, cancel and a managed bracket on one real sandbox node.

One node host (offline random-walk EUR/USD around 1.1, Nautilus sandbox execution) is
launched for the module; orders go through the node channel exactly as the CLI and the
console send them, and their states are read back from the node's event stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.config.store import ConfigStore
from engine.manager import NodeManager
from engine.orders.session import OrderSession
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes
from tests.integration.sandbox_docs import quiet_sandbox

NODE = "orders-sbx"
IID = "EUR/USD.SIM"
pytestmark = pytest.mark.timeout(90)


def sandbox_doc() -> dict[str, Any]:
    doc = quiet_sandbox(NODE)
    return doc


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace(Path(tmp_path_factory.mktemp("orders")) / ".gateway").ensure()
    ConfigStore(ws).save(sandbox_doc(), deep=False)
    manager = NodeManager(ws)

    async def start() -> None:
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
        assert meta.state == "running", meta
        # Until the first quote the venue has no market (market orders are rejected).
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    asyncio.run(start())
    try:
        yield ws
    finally:
        asyncio.run(NodeManager(ws).stop(NODE, timeout_s=15))


async def submit(
    session: OrderSession, ticket: dict[str, Any], wait: str = "accepted", limit_s: float = 5
) -> list[str]:
    reply = await session.send({"action": "submit", "ticket": ticket})
    assert reply.get("ok") is True, reply
    ids = [str(i) for i in reply["client_order_ids"]]
    await session.wait_for(ids[:1], wait, limit_s)
    return ids


def t(kind: str, side: str = "BUY", qty: str = "10000", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "instrument_id": IID, "side": side, "quantity": qty, **fields}


# Far from the 1.1 market so resting orders stay resting.
SINGLE_TYPES = [
    (t("MARKET"), "FILLED"),
    (t("LIMIT", price="1.07000"), "ACCEPTED"),
    (t("STOP_MARKET", trigger_price="1.13000"), "ACCEPTED"),
    (t("STOP_LIMIT", trigger_price="1.13000", price="1.13100"), "ACCEPTED"),
    (t("MARKET_TO_LIMIT"), "FILLED"),
    (t("MARKET_IF_TOUCHED", trigger_price="1.07000"), "ACCEPTED"),
    (t("LIMIT_IF_TOUCHED", trigger_price="1.07000", price="1.06900"), "ACCEPTED"),
    (
        t("TRAILING_STOP_MARKET", "SELL", trailing_offset="100", trailing_offset_type="TICKS"),
        "ACCEPTED",
    ),
    (
        t(
            "TRAILING_STOP_LIMIT",
            "SELL",
            trailing_offset="100",
            limit_offset="50",
            trailing_offset_type="TICKS",
        ),
        "ACCEPTED",
    ),
    (t("LIMIT", price="1.07000", emulation_trigger="BID_ASK"), "EMULATED"),
]


async def test_every_order_type_reaches_its_state(node: Workspace) -> None:
    session = await OrderSession.open(node, NODE)
    try:
        got = {}
        for ticket, expected in SINGLE_TYPES:
            wait = "filled" if expected == "FILLED" else "accepted"
            (coid,) = await submit(session, ticket, wait)
            row = session.table.get(coid)
            label = ticket["type"] + ("+emulated" if "emulation_trigger" in ticket else "")
            got[label] = (row.status if row else None, expected)
        assert all(status == expected for status, expected in got.values()), got

        # GTD expires at its time.
        expire = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        gtd = t("LIMIT", price="1.07000", time_in_force="GTD", expire_time=expire)
        (coid,) = await submit(session, gtd)
        assert await session.wait_for([coid], "filled", 6)  # settles as not fillable
        row = session.table.get(coid)
        assert row is not None and row.status == "EXPIRED"
    finally:
        await session.close()


async def test_modify_then_cancel_a_working_order(node: Workspace) -> None:
    session = await OrderSession.open(node, NODE)
    try:
        (coid,) = await submit(session, t("LIMIT", price="1.07000"))
        reply = await session.send(
            {"action": "modify", "client_order_id": coid, "price": "1.06500", "quantity": "20000"}
        )
        assert reply.get("ok") is True, reply
        for _ in range(50):
            row = session.table.get(coid)
            if row is not None and row.last_event == "OrderUpdated":
                break
            await asyncio.sleep(0.05)
        assert row is not None and (row.status, row.quantity) == ("ACCEPTED", "20000")
        assert row.price is not None and float(row.price) == pytest.approx(1.065)

        reply = await session.send({"action": "cancel", "client_order_id": coid})
        assert reply.get("ok") is True, reply
        assert await session.wait_for([coid], "filled", 5)
        assert session.table.get(coid).status == "CANCELED"  # type: ignore[union-attr]

        again = await session.send({"action": "cancel", "client_order_id": coid})
        assert (again.get("ok"), again.get("code")) == (False, "order_not_open")
    finally:
        await session.close()


async def test_a_stop_on_the_wrong_side_is_refused_naming_the_field(node: Workspace) -> None:
    session = await OrderSession.open(node, NODE)
    try:
        reply = await session.send(
            {"action": "submit", "ticket": t("STOP_MARKET", trigger_price="1.00000")}
        )
        assert (reply.get("ok"), reply.get("code")) == (False, "invalid_order")
        assert [i["path"] for i in reply["issues"]] == ["trigger_price"]
    finally:
        await session.close()


async def test_managed_bracket_protects_the_fill_and_cleans_up(node: Workspace) -> None:
    session = await OrderSession.open(node, NODE)
    try:
        await session.send({"action": "flatten_all"})
        bracket = {
            "type": "BRACKET",
            "instrument_id": IID,
            "side": "BUY",
            "quantity": "10000",
            "sl_trigger_price": "1.05000",
            "tp_price": "1.15000",
        }
        entry, sl, tp = await submit(session, bracket, "filled")
        assert await session.wait_for([sl, tp], "accepted", 5)
        statuses = [session.table.get(i).status for i in (entry, sl, tp)]  # type: ignore[union-attr]
        assert statuses == ["FILLED", "ACCEPTED", "ACCEPTED"]

        reply = await session.send({"action": "close_position", "instrument_id": IID})
        assert reply.get("ok") is True, reply
        # The exits are not reduce-only, so the gateway cancels them once flat.
        assert await session.wait_for([sl, tp], "filled", 5)
        assert [session.table.get(i).status for i in (sl, tp)] == ["CANCELED", "CANCELED"]  # type: ignore[union-attr]
    finally:
        await session.close()


def test_cli_submits_waits_lists_and_cancels_all(node: Workspace) -> None:
    root = node.root
    r = gateway(
        "order",
        NODE,
        f"buy 10000 {IID} limit 1.07 tag=cli",
        "--wait",
        "accepted",
        "-o",
        "json",
        workspace=root,
    )
    assert r.code == 0, r.err
    out = json.loads(r.out)
    (coid,) = out["client_order_ids"]
    assert out["orders"][0]["status"] == "ACCEPTED" and out["orders"][0]["tags"] == ["cli"]

    # A stop below the market is invalid input, checked with the node's quote: exit 2.
    r = gateway("order", NODE, f"buy 10000 {IID} stop 1.0", workspace=root)
    assert r.code == 2 and "trigger_price" in r.err

    r = gateway("orders", "list", NODE, "--open", "--json", workspace=root)
    assert r.code == 0, r.err
    assert coid in {row["client_order_id"] for row in json.loads(r.out)}

    r = gateway("orders", "cancel-all", NODE, "--yes", "--json", workspace=root)
    assert r.code == 0, r.err
    assert coid in json.loads(r.out)["canceled"]


def test_market_command_gives_rules_and_the_latest_quote(node: Workspace) -> None:
    from decimal import Decimal

    from engine.orders.validation import InstrumentRules, MarketQuote

    async def ask(instrument_id: str) -> dict[str, Any]:
        return await NodeManager(node).command(NODE, "market", instrument_id=instrument_id)

    reply = asyncio.run(ask(IID))
    assert reply["ok"] is True, reply
    rules = InstrumentRules.from_dict(reply["instrument"])
    assert (rules.instrument_id, rules.price_increment) == (IID, Decimal("0.00001"))
    quote = MarketQuote.from_dict(reply["quote"])
    assert Decimal("1.0") < quote.bid < quote.ask < Decimal("1.2")

    unknown = asyncio.run(ask("GBP/JPY.SIM"))
    assert unknown["ok"] is False and unknown["code"] == "unknown_instrument"
    assert unknown["field"] == "instrument_id" and unknown["value"] == "GBP/JPY.SIM"


def test_cli_modify_and_cancel_wait_for_the_venues_answer(node: Workspace) -> None:
    root = node.root
    r = gateway(
        "order", NODE, f"buy 10000 {IID} limit 1.07 post-only", "-o", "json", workspace=root
    )
    assert r.code == 0, r.err
    (coid,) = json.loads(r.out)["client_order_ids"]

    # A negative price is invalid on its face: refused before sending (exit 2).
    r = gateway("orders", "modify", NODE, coid, "--price", "-1", workspace=root)
    assert r.code == 2 and "price" in r.err, (r.out, r.err)
    # The venue refuses a post-only price through the market: exit 1 with its reason.
    r = gateway("orders", "modify", NODE, coid, "--price", "1.20", workspace=root)
    assert r.code == 1, (r.out, r.err)
    assert "rejected by the venue" in r.err, r.err

    r = gateway("orders", "modify", NODE, coid, "--price", "1.06", "--json", workspace=root)
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["ok"] is True and out["answers"][0]["event"] == "OrderUpdated", out

    r = gateway("orders", "cancel", NODE, coid, "--yes", "--json", workspace=root)
    assert r.code == 0, r.err
    assert json.loads(r.out)["canceled"] == [coid]
    r = gateway("orders", "cancel", NODE, coid, "--yes", workspace=root)
    assert r.code == 1 and "order_not_open" in r.err, r.err

    # A non-ASCII id would panic in Nautilus's Rust core and abort the node host: it is
    # refused naming the field, by the CLI (exit 2) and by the host for any other client.
    r = gateway("orders", "cancel", NODE, "é", "--yes", workspace=root)
    assert r.code == 2 and "client_order_id: got 'é'" in r.err, r.err

    async def raw() -> dict[str, Any]:
        return await NodeManager(node).command(
            NODE, "order", command={"action": "cancel", "client_order_id": "١٢٣"}
        )

    reply = asyncio.run(raw())
    assert reply["code"] == "invalid_order" and reply["issues"][0]["path"] == "client_order_id"
    assert asyncio.run(NodeManager(node).command(NODE, "status"))["state"] == "running"

    # --no-wait: the node took it; the venue's answer is not awaited.
    r = gateway("order", NODE, f"buy 10000 {IID} limit 1.07", "-o", "json", workspace=root)
    (coid,) = json.loads(r.out)["client_order_ids"]
    r = gateway("orders", "cancel", NODE, coid, "--yes", "--no-wait", workspace=root)
    assert r.code == 0 and "not waiting" in r.out, r.err


def test_every_order_command_from_the_cli_is_in_the_audit_log(node: Workspace) -> None:
    root = node.root
    r = gateway("order", NODE, f"buy 10000 {IID} limit 1.07", "-o", "json", workspace=root)
    assert r.code == 0, r.err
    (coid,) = json.loads(r.out)["client_order_ids"]
    r = gateway("orders", "cancel", NODE, coid, "--yes", workspace=root)
    assert r.code == 0, r.err
    r = gateway("orders", "cancel", NODE, coid, "--yes", workspace=root)  # not open any more
    assert r.code == 1

    listed = gateway("audit", "list", "--action", "orders", "--json", workspace=root)
    entries = [e for e in json.loads(listed.out) if e["target"].get("node_id") == NODE]
    submit = [e for e in entries if e["action"] == "orders.submit"]
    cancels = [
        e
        for e in entries
        if e["action"] == "orders.cancel" and e["request"]["command"].get("client_order_id") == coid
    ]
    assert any(coid in (e["result"].get("client_order_ids") or []) for e in submit), submit
    assert [e["result"]["ok"] for e in cancels[-2:]] == [True, False], cancels
    assert all(e["via"] == "cli" for e in entries)
    assert gateway("audit", "verify", workspace=root).code == 0
