"""Tickets become the Nautilus orders they describe, and read back unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.model.enums import (
    ContingencyType,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
from nautilus_trader.model.identifiers import InstrumentId, StrategyId, TraderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import OrderList

from engine.orders.convert import from_nautilus, to_nautilus
from engine.orders.tickets import TIME_IN_FORCE, TRIGGER_TYPES, load_ticket

EUR = "EUR/USD.SIM"
EXPIRY = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def factory() -> OrderFactory:
    return OrderFactory(TraderId("T-001"), StrategyId("S-001"), TestClock())


def _full(kind: str) -> dict[str, Any]:
    """A ticket of `kind` with every field it accepts set away from its default."""
    base: dict[str, Any] = {
        "type": kind,
        "instrument_id": EUR,
        "side": "SELL",
        "quantity": "25000",
        "time_in_force": "GTD",
        "expire_time": EXPIRY.isoformat(),
        "reduce_only": True,
        "quote_quantity": True,
        "tags": ["a", "b"],
    }
    if kind == "MARKET":
        base["time_in_force"] = "IOC"
        del base["expire_time"]
    if kind not in ("MARKET", "MARKET_TO_LIMIT"):
        base["emulation_trigger"] = "BID_ASK"
    if kind in ("LIMIT", "STOP_LIMIT", "LIMIT_IF_TOUCHED", "TRAILING_STOP_LIMIT"):
        base.update(price="1.08500", post_only=True)
    if kind in (
        "LIMIT",
        "STOP_LIMIT",
        "MARKET_TO_LIMIT",
        "LIMIT_IF_TOUCHED",
        "TRAILING_STOP_LIMIT",
    ):
        base["display_qty"] = "5000"
    if kind in (
        "STOP_MARKET",
        "STOP_LIMIT",
        "MARKET_IF_TOUCHED",
        "LIMIT_IF_TOUCHED",
        "TRAILING_STOP_MARKET",
        "TRAILING_STOP_LIMIT",
    ):
        base.update(trigger_price="1.08400", trigger_type="LAST_PRICE")
    if kind in ("TRAILING_STOP_MARKET", "TRAILING_STOP_LIMIT"):
        base.update(trailing_offset="20", trailing_offset_type="TICKS", activation_price="1.08300")
    if kind == "TRAILING_STOP_LIMIT":
        base["limit_offset"] = "5"
    return base


SINGLE = [
    "MARKET",
    "LIMIT",
    "STOP_MARKET",
    "STOP_LIMIT",
    "MARKET_TO_LIMIT",
    "MARKET_IF_TOUCHED",
    "LIMIT_IF_TOUCHED",
    "TRAILING_STOP_MARKET",
    "TRAILING_STOP_LIMIT",
]


@pytest.mark.parametrize("kind", SINGLE)
def test_every_field_of_every_type_reaches_the_nautilus_order(
    kind: str, factory: OrderFactory
) -> None:
    data = _full(kind)
    ticket = load_ticket(data)
    order = to_nautilus(ticket, factory)
    assert not isinstance(order, OrderList)
    assert order.order_type == OrderType[kind]
    assert order.instrument_id == InstrumentId.from_str(EUR)
    assert order.side == OrderSide.SELL
    assert order.quantity == Quantity.from_str("25000")
    assert order.time_in_force == TimeInForce[data["time_in_force"]]
    assert order.is_reduce_only and order.is_quote_quantity
    assert order.tags == ["a", "b"]
    assert order.strategy_id == StrategyId("S-001")
    if "expire_time" in data:
        assert order.expire_time_ns == int(EXPIRY.timestamp()) * 1_000_000_000
    if "emulation_trigger" in data:
        assert order.emulation_trigger == TriggerType.BID_ASK
    if "price" in data:
        assert order.price == Price.from_str("1.08500")
        assert order.is_post_only
    if "display_qty" in data:
        assert order.display_qty == Quantity.from_str("5000")
    if "trigger_price" in data:
        assert order.trigger_price == Price.from_str("1.08400")
        assert order.trigger_type == TriggerType.LAST_PRICE
    if "trailing_offset" in data:
        assert order.trailing_offset == Decimal("20")
        assert order.trailing_offset_type == TrailingOffsetType.TICKS
        assert order.activation_price == Price.from_str("1.08300")
    if "limit_offset" in data:
        assert order.limit_offset == Decimal("5")
    assert from_nautilus(order) == ticket


def test_bracket_is_linked_like_order_factory_bracket(factory: OrderFactory) -> None:
    ticket = load_ticket(
        {
            "type": "BRACKET",
            "instrument_id": EUR,
            "side": "BUY",
            "quantity": "1000",
            "entry_type": "LIMIT",
            "entry_price": "1.08",
            "sl_trigger_price": "1.07",
            "tp_price": "1.09",
        }
    )
    ours = to_nautilus(ticket, factory)
    theirs = factory.bracket(
        instrument_id=InstrumentId.from_str(EUR),
        order_side=OrderSide.BUY,
        quantity=Quantity.from_str("1000"),
        entry_order_type=OrderType.LIMIT,
        entry_price=Price.from_str("1.08"),
        sl_trigger_price=Price.from_str("1.07"),
        tp_price=Price.from_str("1.09"),
    )
    assert isinstance(ours, OrderList)

    def shape(ol: OrderList) -> list[tuple[Any, ...]]:
        ids = {o.client_order_id: i for i, o in enumerate(ol.orders)}
        return [
            (
                o.order_type,
                o.side,
                o.contingency_type,
                o.is_reduce_only,
                o.is_post_only,
                sorted(ids[i] for i in o.linked_order_ids or []),
                None if o.parent_order_id is None else ids[o.parent_order_id],
                o.tags,
                str(getattr(o, "price", None)),
                str(getattr(o, "trigger_price", None)),
            )
            for o in ol.orders
        ]

    assert shape(ours) == shape(theirs)
    assert from_nautilus(ours) == ticket
    assert from_nautilus(theirs) == ticket


def test_oco_and_oto_links(factory: OrderFactory) -> None:
    legs = [
        {
            "type": "STOP_MARKET",
            "instrument_id": EUR,
            "side": "BUY",
            "quantity": 1,
            "trigger_price": "1.1",
        },
        {"type": "LIMIT", "instrument_id": EUR, "side": "BUY", "quantity": 1, "price": "1.0"},
        {"type": "LIMIT", "instrument_id": EUR, "side": "SELL", "quantity": 1, "price": "1.2"},
    ]
    oco = to_nautilus(load_ticket({"type": "OCO", "orders": legs}), factory)
    assert isinstance(oco, OrderList)
    ids = [o.client_order_id for o in oco.orders]
    for o in oco.orders:
        assert o.contingency_type == ContingencyType.OCO
        assert o.order_list_id == oco.id
        assert set(o.linked_order_ids) == set(ids) - {o.client_order_id}
    oto = to_nautilus(load_ticket({"type": "OTO", "orders": legs}), factory)
    assert isinstance(oto, OrderList)
    parent, *children = oto.orders
    assert parent.contingency_type == ContingencyType.OTO
    assert parent.linked_order_ids == [c.client_order_id for c in children]
    assert all(c.parent_order_id == parent.client_order_id for c in children)
    assert from_nautilus(oco).type == "OCO" and from_nautilus(oto).type == "OTO"


def test_client_order_ids_can_be_reserved(factory: OrderFactory) -> None:
    ids = [factory.generate_client_order_id() for _ in range(2)]
    ticket = load_ticket({"type": "MARKET", "instrument_id": EUR, "side": "BUY", "quantity": 1})
    with pytest.raises(ValueError, match="expected 1 client order ids, got 2"):
        to_nautilus(ticket, factory, client_order_ids=ids)
    order = to_nautilus(ticket, factory, client_order_ids=ids[:1])
    assert not isinstance(order, OrderList)
    assert order.client_order_id == ids[0]


# --- property: ticket -> order -> ticket is the identity ----------------------------------

prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2"), places=5)
qtys = st.integers(min_value=1, max_value=10_000_000).map(Decimal)
tags = st.lists(st.text("abcxyz_", min_size=1, max_size=6), max_size=3).map(tuple)
expiries = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
trigger_types = st.sampled_from(TRIGGER_TYPES)


@st.composite
def single_tickets(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    kind = kind or draw(st.sampled_from(SINGLE))
    data: dict[str, Any] = {
        "type": kind,
        "instrument_id": EUR,
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "quantity": draw(qtys),
        "reduce_only": draw(st.booleans()),
        "quote_quantity": draw(st.booleans()),
        "tags": draw(tags),
    }
    auction = kind in ("MARKET", "LIMIT")
    tifs = [t for t in TIME_IN_FORCE if auction or t not in ("AT_THE_OPEN", "AT_THE_CLOSE")]
    if kind == "MARKET":
        tifs.remove("GTD")
    data["time_in_force"] = draw(st.sampled_from(tifs))
    if data["time_in_force"] == "GTD":
        data["expire_time"] = draw(expiries)
    if kind not in ("MARKET", "MARKET_TO_LIMIT"):
        data["emulation_trigger"] = draw(st.sampled_from(("NO_TRIGGER", *TRIGGER_TYPES)))
    if kind in ("LIMIT", "STOP_LIMIT", "LIMIT_IF_TOUCHED"):
        data["price"] = draw(prices)
    if kind == "TRAILING_STOP_LIMIT":
        data["price"] = draw(st.none() | prices)
    if kind in ("LIMIT", "STOP_LIMIT", "LIMIT_IF_TOUCHED", "TRAILING_STOP_LIMIT"):
        data["post_only"] = draw(st.booleans())
    if kind in (
        "LIMIT",
        "STOP_LIMIT",
        "MARKET_TO_LIMIT",
        "LIMIT_IF_TOUCHED",
        "TRAILING_STOP_LIMIT",
    ):
        data["display_qty"] = draw(st.none() | st.integers(1, int(data["quantity"])).map(Decimal))
    if kind in ("STOP_MARKET", "STOP_LIMIT", "MARKET_IF_TOUCHED", "LIMIT_IF_TOUCHED"):
        data["trigger_price"] = draw(prices)
        data["trigger_type"] = draw(trigger_types)
    if kind in ("TRAILING_STOP_MARKET", "TRAILING_STOP_LIMIT"):
        data["trigger_price"] = draw(st.none() | prices)
        data["trigger_type"] = draw(trigger_types)
        data["trailing_offset"] = draw(st.decimals(Decimal("0.00001"), Decimal(100), places=5))
        data["trailing_offset_type"] = draw(st.sampled_from(["PRICE", "BASIS_POINTS", "TICKS"]))
        data["activation_price"] = draw(st.none() | prices)
    if kind == "TRAILING_STOP_LIMIT":
        data["limit_offset"] = draw(st.decimals(Decimal(0), Decimal(100), places=5))
    return data


@st.composite
def any_tickets(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from([*SINGLE, "OCO", "OTO", "BRACKET"]))
    if kind in ("OCO", "OTO"):
        return {"type": kind, "orders": draw(st.lists(single_tickets(), min_size=2, max_size=3))}
    if kind != "BRACKET":
        return draw(single_tickets(kind))
    entry = draw(
        st.sampled_from(["MARKET", "LIMIT", "MARKET_IF_TOUCHED", "LIMIT_IF_TOUCHED", "STOP_LIMIT"])
    )
    sl = draw(st.sampled_from(["STOP_MARKET", "TRAILING_STOP_MARKET"]))
    tp = draw(st.sampled_from(["LIMIT", "LIMIT_IF_TOUCHED", "MARKET_IF_TOUCHED"]))
    data: dict[str, Any] = {
        "type": "BRACKET",
        "instrument_id": EUR,
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "quantity": draw(qtys),
        "contingency_type": draw(st.sampled_from(["OUO", "OCO"])),
        "entry_type": entry,
        "sl_type": sl,
        "tp_type": tp,
        "entry_tags": draw(tags),
        "sl_tags": draw(tags),
        "tp_tags": draw(tags),
        "sl_trigger_price": draw(prices) if sl == "STOP_MARKET" else draw(st.none() | prices),
        "sl_trigger_type": draw(trigger_types),
    }
    if entry != "MARKET":
        data["emulation_trigger"] = draw(st.sampled_from(("NO_TRIGGER", *TRIGGER_TYPES)))
        data["time_in_force"] = "GTD"
        data["expire_time"] = draw(expiries)
    if entry in ("LIMIT", "LIMIT_IF_TOUCHED", "STOP_LIMIT"):
        data["entry_price"] = draw(prices)
        data["entry_post_only"] = draw(st.booleans())
    if entry in ("MARKET_IF_TOUCHED", "LIMIT_IF_TOUCHED", "STOP_LIMIT"):
        data["entry_trigger_price"] = draw(prices)
        data["entry_trigger_type"] = draw(trigger_types)
    if sl == "TRAILING_STOP_MARKET":
        data["sl_trailing_offset"] = draw(st.decimals(Decimal("0.00001"), Decimal(1), places=5))
    if tp in ("LIMIT", "LIMIT_IF_TOUCHED"):
        data["tp_price"] = draw(prices)
        data["tp_post_only"] = draw(st.booleans())
    if tp in ("LIMIT_IF_TOUCHED", "MARKET_IF_TOUCHED"):
        data["tp_trigger_price"] = draw(prices)
        data["tp_trigger_type"] = draw(trigger_types)
    return data


@settings(max_examples=300, deadline=None)
@given(any_tickets())
def test_ticket_to_order_to_ticket_is_the_identity(data: dict[str, Any]) -> None:
    factory = OrderFactory(TraderId("T-001"), StrategyId("S-001"), TestClock())
    ticket = load_ticket(data)
    assert from_nautilus(to_nautilus(ticket, factory)) == ticket
