"""Position and balance snapshots (engine/orders/portfolio.py) on real Nautilus objects,
the console's reading of them, and the node-id check of the client side."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.model.enums import OmsType, OrderSide
from nautilus_trader.model.identifiers import PositionId, StrategyId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.component import TestComponentStubs
from nautilus_trader.test_kit.stubs.data import TestDataStubs
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from console.feed import FeedState, _pnl_text, _sampled_positions
from engine.events import Envelope
from engine.feed.walk import RandomWalk
from engine.orders.portfolio import (
    SnapshotError,
    _price_text,
    position_counts,
    positions_snapshot,
    request_snapshot,
)

EURUSD = TestInstrumentProvider.default_fx_ccy("EUR/USD")


def _position(side: OrderSide, qty: int, px: str, strategy: str) -> Position:
    order = TestExecStubs.market_order(
        instrument=EURUSD, order_side=side, quantity=Quantity.from_int(qty)
    )
    fill = TestEventStubs.order_filled(
        order,
        instrument=EURUSD,
        strategy_id=StrategyId(strategy),
        position_id=PositionId(f"P-{strategy}-{side.name}"),
        last_px=Price.from_str(px),
    )
    return Position(instrument=EURUSD, fill=fill)


def _cache_with(*positions: Position, bid: float = 1.1, ask: float = 1.1002) -> Any:
    cache = TestComponentStubs.cache()
    cache.add_instrument(EURUSD)
    cache.add_quote_tick(TestDataStubs.quote_tick(EURUSD, bid_price=bid, ask_price=ask))
    for p in positions:
        cache.add_position(p, OmsType.HEDGING)
    return cache


def test_rows_mark_longs_at_the_bid_and_shorts_at_the_ask() -> None:
    long = _position(OrderSide.BUY, 100_000, "1.09000", "S-1")
    short = _position(OrderSide.SELL, 50_000, "1.12000", "S-2")
    cache = _cache_with(long, short, bid=1.1, ask=1.1002)
    snap = positions_snapshot(cache, ts_ns=1)
    rows = {r["strategy_id"]: r for r in snap["positions"]}
    assert rows["S-1"]["side"] == "LONG" and rows["S-1"]["mark_price"] == "1.10000"
    assert rows["S-1"]["unrealized_pnl"] == "1000.00"  # (1.10000 - 1.09000) * 100000
    assert rows["S-2"]["side"] == "SHORT" and rows["S-2"]["mark_price"] == "1.10020"
    assert rows["S-2"]["unrealized_pnl"] == "990.00"  # (1.12000 - 1.10020) * 50000
    assert rows["S-2"]["signed_qty"] == "-50000" and rows["S-2"]["avg_px_open"] == "1.12000"
    assert snap["totals"]["USD"]["unrealized"] == "1990.00"
    assert snap["counts"] == {
        "open": 2,
        "closed": 0,
        "by_strategy": {"S-1": {"open": 1, "closed": 0}, "S-2": {"open": 1, "closed": 0}},
    }


def test_a_position_closed_by_another_strategy_is_counted_once_under_its_owner() -> None:
    """The 2-open-but-3-by-strategy bug: Nautilus indexes a position under every strategy
    whose order touched it (``Cache.add_position_id`` with the order's strategy), so the
    gateway closing EMACross's position made ``positions_open_count(strategy_id=...)``
    count it for both strategies."""
    from nautilus_trader.model.identifiers import ClientOrderId, Venue

    ema = _position(OrderSide.BUY, 100_000, "1.10000", "EMACross-000")
    own = _position(OrderSide.BUY, 50_000, "1.10000", "GatewayStrategy-001")
    cache = _cache_with(ema, own)
    # What the execution engine does when the gateway's closing order names EMACross's position.
    gateway = StrategyId("GatewayStrategy-001")
    cache.add_position_id(ema.id, Venue("SIM"), ClientOrderId("O-close"), gateway)
    per_strategy = [cache.positions_open_count(strategy_id=s) for s in (ema.strategy_id, gateway)]
    assert (sum(per_strategy), cache.positions_open_count()) == (3, 2)  # Nautilus's index
    counts = position_counts(cache)
    assert counts["open"] == 2
    assert counts["by_strategy"] == {
        "EMACross-000": {"open": 1, "closed": 0},
        "GatewayStrategy-001": {"open": 1, "closed": 0},
    }


def test_no_price_yet_means_no_unrealized_figure() -> None:
    cache = TestComponentStubs.cache()
    cache.add_instrument(EURUSD)
    cache.add_position(_position(OrderSide.BUY, 1000, "1.10000", "S-1"), OmsType.HEDGING)
    (row,) = positions_snapshot(cache, ts_ns=0)["positions"]
    assert row["unrealized_pnl"] is None and row["mark_price"] is None
    assert position_counts(cache)["open"] == 1


@given(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False), st.integers(0, 9))
def test_average_prices_are_exact_and_padded(value: float, precision: int) -> None:
    text = _price_text(value, precision)
    assert Decimal(text) == Decimal(repr(value))  # nothing rounded away
    assert len(text.partition(".")[2]) >= precision


# --- the console's reading of samples: hostile payloads never raise ----------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200)
@given(JSONISH)
def test_console_fold_survives_any_sample(payload: Any) -> None:
    sample = {"positions": payload} if not isinstance(payload, dict) else payload
    rows = _sampled_positions(sample)
    assert all(isinstance(r, dict) and r.get("position_id") for r in rows)
    env = Envelope(
        seq=1, ts_ns=1, node_id="n", run_id="r", kind="metric", type="MetricsSample", payload=sample
    )
    FeedState().apply([env])


@given(
    st.one_of(st.none(), st.text(max_size=30), st.floats(), st.integers()),
    st.sampled_from([None, "USD", "BTC"]),
)
def test_pnl_text(value: Any, currency: str | None) -> None:
    text = _pnl_text({"x": value, "currency": currency}, "x")
    if value is None:
        assert text is None
    else:
        assert text is not None and text.startswith(str(value))
        if currency:
            assert text.endswith(currency)


def test_sample_rows_bring_unrealized_pnl_to_the_pane() -> None:
    opened = Envelope(
        seq=1,
        ts_ns=1,
        node_id="n",
        run_id="r",
        kind="position",
        type="PositionOpened",
        payload={
            "position_id": "P",
            "instrument_id": "EUR/USD.SIM",
            "side": "LONG",
            "quantity": "100000",
            "avg_px_open": 1.1,
            "realized_pnl": "-2.20 USD",
        },
    )
    row = {
        "position_id": "P",
        "instrument_id": "EUR/USD.SIM",
        "side": "LONG",
        "quantity": "100000",
        "avg_px_open": "1.10000",
        "unrealized_pnl": "188.00",
        "realized_pnl": "-2.20",
        "currency": "USD",
    }
    sample = Envelope(
        seq=2,
        ts_ns=2,
        node_id="n",
        run_id="r",
        kind="metric",
        type="MetricsSample",
        payload={"positions": {"open": 1, "closed": 0, "by_strategy": {}, "rows": [row]}},
    )
    state = FeedState()
    state.apply([opened])
    assert state.positions["n/P"].unrealized_pnl == "-"  # the event carries none
    batch = state.apply([sample])
    assert [r.unrealized_pnl for r in batch.positions] == ["188.00 USD"]
    assert state.snapshot("n").positions_open == 1
    # A later event without the figure keeps the last sampled one.
    state.apply([msgspec.structs.replace(opened, seq=3, type="PositionChanged")])
    assert state.positions["n/P"].unrealized_pnl == "188.00 USD"


# --- the client side: node ids are checked before anything is sent ----------------------


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def command(self, node_id: str, cmd: str, **_: Any) -> dict[str, Any]:
        self.calls.append((node_id, cmd))
        return {"ok": True, "positions": []}


HOSTILE = ["", "A", "../x", "x/y", "١٢٣", "x" * 10_000, "nan", "-x", "x-", " x", "x\n", "é"]


@pytest.mark.parametrize("node_id", HOSTILE)
def test_bad_node_ids_are_refused_before_sending(node_id: str) -> None:
    manager = _Recorder()
    if node_id in ("nan",):  # a valid slug: it is sent
        asyncio.run(request_snapshot(manager, node_id, "positions"))
        assert manager.calls == [("nan", "positions")]
        return
    with pytest.raises(SnapshotError) as info:
        asyncio.run(request_snapshot(manager, node_id, "positions"))
    assert info.value.exit_code == 2 and info.value.code == "invalid_node_id"
    assert "expected a node id" in info.value.message and len(info.value.message) < 300
    assert manager.calls == []


@given(st.text(max_size=80))
def test_any_text_is_either_sent_or_refused_with_exit_2(node_id: str) -> None:
    manager = _Recorder()
    try:
        asyncio.run(request_snapshot(manager, node_id, "balances"))
    except SnapshotError as exc:
        assert exc.exit_code == 2 and manager.calls == []
    else:
        assert manager.calls == [(node_id, "balances")]


def test_refusal_from_the_node_is_reported_with_its_code() -> None:
    class Refusing(_Recorder):
        async def command(self, node_id: str, cmd: str, **_: Any) -> dict[str, Any]:
            return {"ok": False, "code": "not_running", "message": "node x has no positions"}

    with pytest.raises(SnapshotError) as info:
        asyncio.run(request_snapshot(Refusing(), "x", "positions"))
    assert (info.value.code, info.value.exit_code) == ("not_running", 1)
    with pytest.raises(SnapshotError) as info:
        asyncio.run(request_snapshot(_Recorder(), "x", "orders"))
    assert info.value.exit_code == 2


# --- the offline feed: each trade goes out before its quote -----------------------------


def test_walk_puts_each_trade_before_its_quote() -> None:
    from nautilus_trader.model.data import QuoteTick, TradeTick

    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    walk = RandomWalk(
        instrument, seed=1, start_price=1.1, volatility_bp=1.0, spread_ticks=2, trade_every=5
    )
    ticks = walk.next_ticks(20, ts_ns=1)
    assert isinstance(ticks[-1], QuoteTick)
    kinds = ["T" if isinstance(t, TradeTick) else "Q" for t in ticks]
    assert kinds.count("T") == 4 and kinds.count("Q") == 20
    for i, tick in enumerate(ticks):
        if isinstance(tick, TradeTick):
            quote = ticks[i + 1]
            assert isinstance(quote, QuoteTick)
            assert tick.price in (quote.bid_price, quote.ask_price)
    assert not math.isnan(float(ticks[-1].bid_price))
