"""Every single order type with every time in force, on one real sandbox node host.

What a trader expects of a venue, checked against Nautilus's sandbox as the gateway
runs it (``engine.feed.sandbox``): an IOC/FOK limit that cannot fill ends CANCELED (it
never rests), a marketable one fills; an IOC larger than the book fills what is there
and cancels the rest; a FOK larger than the book is canceled unfilled; a market order
larger than the top of the book fills completely (it slips); a quote-quantity order
fills its base equivalent; triggered types rest until triggered whatever their TIF;
at-the-open/close market and limit orders are rejected by the venue with its reason
(it has no sessions), other types refused before submit.

The market is a random walk around 1.1 with a 1,000,000 top of book on each side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from console.cli.orders import OrderSession
from engine.config.store import ConfigStore
from engine.manager import NodeManager
from engine.workspace import Workspace
from tests.integration.market_wait import wait_for_quotes
from tests.integration.sandbox_docs import quiet_sandbox

NODE = "tif-sbx"
IID = "EUR/USD.SIM"
TIFS = ("GTC", "IOC", "FOK", "DAY", "GTD", "AT_THE_OPEN", "AT_THE_CLOSE")
pytestmark = pytest.mark.timeout(150)


def sandbox_doc() -> dict[str, Any]:
    doc = quiet_sandbox(NODE)
    return doc


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace(Path(tmp_path_factory.mktemp("tif")) / ".gateway").ensure()
    ConfigStore(ws).save(sandbox_doc(), deep=False)
    manager = NodeManager(ws)

    async def start() -> None:
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
        assert meta.state == "running", meta
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    asyncio.run(start())
    try:
        yield ws
    finally:
        asyncio.run(NodeManager(ws).stop(NODE, timeout_s=15))


def ticket(kind: str, tif: str, side: str = "BUY", qty: str = "10000", **f: Any) -> dict[str, Any]:
    out = {"type": kind, "instrument_id": IID, "side": side, "quantity": qty, **f}
    out["time_in_force"] = tif
    if tif == "GTD":
        out["expire_time"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    return out


# Prices far from the 1.1 market: resting orders stay resting, marketable ones cross.
RESTING = "ACCEPTED"
TYPES: dict[str, dict[str, Any]] = {
    "MARKET": {},
    "LIMIT (away)": {"type": "LIMIT", "price": "1.07000"},
    "LIMIT (marketable)": {"type": "LIMIT", "price": "1.13000"},
    "STOP_MARKET": {"trigger_price": "1.13000"},
    "STOP_LIMIT": {"trigger_price": "1.13000", "price": "1.13100"},
    "MARKET_TO_LIMIT": {},
    "MARKET_IF_TOUCHED": {"trigger_price": "1.07000"},
    "LIMIT_IF_TOUCHED": {"trigger_price": "1.07000", "price": "1.06900"},
    "TRAILING_STOP_MARKET": {
        "side": "SELL",
        "trailing_offset": "100",
        "trailing_offset_type": "TICKS",
    },
    "TRAILING_STOP_LIMIT": {
        "side": "SELL",
        "trailing_offset": "100",
        "limit_offset": "50",
        "trailing_offset_type": "TICKS",
    },
}


def expected(label: str, tif: str) -> str:
    """The state a trader expects (``refused`` = the gateway refuses it before submit)."""
    if tif in ("AT_THE_OPEN", "AT_THE_CLOSE"):
        # Only market and limit orders take them; the sandbox venue has no sessions and
        # rejects them, saying so.
        return (
            "REJECTED" if label in ("MARKET", "LIMIT (away)", "LIMIT (marketable)") else "refused"
        )
    if label == "MARKET":
        return "refused" if tif == "GTD" else "FILLED"
    if label == "MARKET_TO_LIMIT":
        return "FILLED"
    if label == "LIMIT (marketable)":
        return "FILLED"
    if label == "LIMIT (away)":
        return "CANCELED" if tif in ("IOC", "FOK") else RESTING
    # Triggered types: the TIF applies once triggered; until then they rest.
    return RESTING


CASES = [(label, tif) for label in TYPES for tif in TIFS]


def build(label: str, tif: str) -> dict[str, Any]:
    spec = dict(TYPES[label])
    kind = spec.pop("type", label)
    side = spec.pop("side", "BUY")
    return ticket(kind, tif, side, **spec)


async def outcome(session: OrderSession, t: dict[str, Any], want: str) -> tuple[str, Any]:
    """Submit ``t`` and return (final status or ``refused``, the row or the reply)."""
    reply = await session.send({"action": "submit", "ticket": t})
    if not reply.get("ok"):
        return "refused", reply
    (coid,) = [str(i) for i in reply["client_order_ids"]]
    wait = "accepted" if want == RESTING else "filled"
    assert await session.wait_for([coid], wait, 8), (t, session.table.get(coid))
    return session.table.get(coid).status, session.table.get(coid)  # type: ignore[union-attr]


async def test_every_type_and_time_in_force(node: Workspace) -> None:
    session = await OrderSession.open(node, NODE)
    try:
        got: dict[tuple[str, str], tuple[str, str]] = {}
        rows: dict[tuple[str, str], Any] = {}
        for label, tif in CASES:
            want = expected(label, tif)
            status, row = await outcome(session, build(label, tif), want)
            got[(label, tif)] = (status, want)
            rows[(label, tif)] = row
        wrong = {k: v for k, v in got.items() if v[0] != v[1]}
        assert not wrong, wrong
        # The refusal names the field and says what is expected.
        for key in (("MARKET", "GTD"), ("STOP_MARKET", "AT_THE_OPEN")):
            refused = rows[key]
            assert refused["code"] == "invalid_order"
            assert any(i["path"] == "time_in_force" for i in refused["issues"]), refused
        rejected = rows[("LIMIT (away)", "AT_THE_CLOSE")]
        assert "AT_THE_CLOSE is not currently supported" in (rejected.reason or ""), rejected

        # An IOC/FOK that was canceled never rests: a second later it is still canceled,
        # with nothing filled, and resting orders are still working.
        await asyncio.sleep(1.5)
        for key in (("LIMIT (away)", "IOC"), ("LIMIT (away)", "FOK")):
            row = session.table.get(rows[key].client_order_id)
            assert row is not None and row.status == "CANCELED", row
            assert Decimal(row.filled_qty or "0") == 0, row
        for key in (("LIMIT (away)", "GTC"), ("STOP_MARKET", "IOC")):
            row = session.table.get(rows[key].client_order_id)
            assert row is not None and row.status == RESTING, row
    finally:
        await session.send({"action": "cancel_all"})
        await session.close()


async def test_sizes_beyond_the_book_and_quote_quantity(node: Workspace) -> None:
    session = await OrderSession.open(node, NODE)
    try:
        # A market order twice the top of book fills completely (the rest one tick worse).
        status, row = await outcome(session, ticket("MARKET", "GTC", qty="2000000"), "FILLED")
        assert status == "FILLED" and Decimal(row.filled_qty) == 2_000_000, row

        # IOC beyond the book: fills what the top offers and cancels the rest.
        big_ioc = ticket("LIMIT", "IOC", "SELL", qty="2000000", price="1.07000")
        status, row = await outcome(session, big_ioc, "CANCELED")
        assert status == "CANCELED", row
        assert 0 < Decimal(row.filled_qty) < 2_000_000, row

        # FOK beyond the book: canceled with nothing filled.
        big_fok = ticket("LIMIT", "FOK", "SELL", qty="2000000", price="1.07000")
        status, row = await outcome(session, big_fok, "CANCELED")
        assert status == "CANCELED" and Decimal(row.filled_qty or "0") == 0, row

        # Quote quantity: 1000 USD of EUR/USD near 1.1 is about 909 EUR, filled.
        qq = ticket("MARKET", "GTC", qty="1000", quote_quantity=True)
        status, row = await outcome(session, qq, "FILLED")
        assert status == "FILLED", row
        assert 880 <= Decimal(row.filled_qty) <= 940, row
        qq_limit = ticket("LIMIT", "IOC", qty="1000", price="1.13000", quote_quantity=True)
        status, row = await outcome(session, qq_limit, "FILLED")
        assert status == "FILLED" and 880 <= Decimal(row.filled_qty) <= 890, row  # at 1.13
    finally:
        await session.send({"action": "flatten_all"})
        await session.close()
