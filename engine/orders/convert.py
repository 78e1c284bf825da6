"""Tickets to Nautilus orders and back.

``to_nautilus(ticket, factory)`` builds the orders through the strategy's
``OrderFactory`` (so they carry its trader and strategy ids and its client order id
sequence); ``from_nautilus(order_or_list)`` reads a ticket back, and
``from_nautilus(to_nautilus(t, f)) == t`` for every valid ticket.

Order lists are built from single orders that are then linked the way Nautilus links
them: a bracket entry is ``OTO`` with ``linked_order_ids=[sl, tp]``, the children carry
``parent_order_id=entry`` and are linked to each other with ``OUO`` (or ``OCO``) and
reduce-only, exactly as ``OrderFactory.bracket`` does; an ``OCO`` list links every leg
to the others; an ``OTO`` list links ``orders[0]`` to the rest, which name it as parent.
Building the list from single orders (rather than ``OrderFactory.bracket``) keeps fields
``bracket`` cannot set, such as the stop-loss trigger type, and lets one code path serve
brackets, OCO and OTO.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.core.datetime import unix_nanos_to_dt
from nautilus_trader.model.enums import (
    ContingencyType,
    OrderSide,
    OrderType,
    TimeInForce,
    TrailingOffsetType,
    TriggerType,
)
from nautilus_trader.model.events import OrderInitialized
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, OrderListId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order, OrderList
from nautilus_trader.model.orders.unpacker import OrderUnpacker

from engine.orders.tickets import (
    AnyTicket,
    BracketTicket,
    LimitIfTouchedTicket,
    LimitTicket,
    MarketIfTouchedTicket,
    MarketTicket,
    MarketToLimitTicket,
    OcoTicket,
    OtoTicket,
    StopLimitTicket,
    StopMarketTicket,
    TrailingStopLimitTicket,
    TrailingStopMarketTicket,
)
from engine.orders.validation import InstrumentRules

type SingleTicketT = (
    MarketTicket
    | LimitTicket
    | StopMarketTicket
    | StopLimitTicket
    | MarketToLimitTicket
    | MarketIfTouchedTicket
    | LimitIfTouchedTicket
    | TrailingStopMarketTicket
    | TrailingStopLimitTicket
)

_SINGLE_MODELS: dict[str, Any] = {
    "MARKET": MarketTicket,
    "LIMIT": LimitTicket,
    "STOP_MARKET": StopMarketTicket,
    "STOP_LIMIT": StopLimitTicket,
    "MARKET_TO_LIMIT": MarketToLimitTicket,
    "MARKET_IF_TOUCHED": MarketIfTouchedTicket,
    "LIMIT_IF_TOUCHED": LimitIfTouchedTicket,
    "TRAILING_STOP_MARKET": TrailingStopMarketTicket,
    "TRAILING_STOP_LIMIT": TrailingStopLimitTicket,
}


def ticket_size(ticket: AnyTicket) -> int:
    """Return how many Nautilus orders `ticket` becomes (and client order ids it needs)."""
    if isinstance(ticket, BracketTicket):
        return 3
    if isinstance(ticket, OcoTicket | OtoTicket):
        return len(ticket.orders)
    return 1


def to_nautilus(
    ticket: AnyTicket,
    factory: OrderFactory,
    *,
    instrument: Instrument | RulesPrecision | None = None,
    client_order_ids: Sequence[ClientOrderId] | None = None,
) -> Order | OrderList:
    """Build the Nautilus order (or order list) a ticket describes.

    Parameters
    ----------
    ticket : AnyTicket
        A ticket that passed :func:`engine.orders.validation.validate_ticket`.
    factory : OrderFactory
        The factory of the strategy that will submit the orders.
    instrument : Instrument, optional
        When given, prices and quantities take the instrument's precision.
    client_order_ids : Sequence[ClientOrderId], optional
        Ids to use, :func:`ticket_size` of them (entry, stop-loss, take-profit for a
        bracket); by default the factory generates them.

    Returns
    -------
    Order | OrderList
        A single order for a single ticket, else an ``OrderList`` in ticket order
        (a bracket is ``[entry, stop_loss, take_profit]`` like ``OrderFactory.bracket``).
    """
    ids = list(client_order_ids) if client_order_ids is not None else None
    if ids is not None and len(ids) != ticket_size(ticket):
        raise ValueError(f"expected {ticket_size(ticket)} client order ids, got {len(ids)}")
    if not isinstance(ticket, BracketTicket | OcoTicket | OtoTicket):
        return build_single(ticket, factory, instrument=instrument, client_order_id=_at(ids, 0))
    if isinstance(ticket, BracketTicket):
        entry, sl, tp = bracket_legs(ticket)
        parts = [
            build_single(leg, factory, instrument=instrument, client_order_id=_at(ids, i))
            for i, leg in enumerate((entry, sl, tp))
        ]
        return link_bracket(parts, factory, ContingencyType[ticket.contingency_type])
    parts = [
        build_single(leg, factory, instrument=instrument, client_order_id=_at(ids, i))
        for i, leg in enumerate(ticket.orders)
    ]
    if isinstance(ticket, OcoTicket):
        return link_oco(parts, factory)
    return link_oto(parts, factory)


def _at(ids: list[ClientOrderId] | None, index: int) -> ClientOrderId | None:
    return None if ids is None else ids[index]


def build_single(
    ticket: SingleTicketT,
    factory: OrderFactory,
    *,
    instrument: Instrument | RulesPrecision | None = None,
    client_order_id: ClientOrderId | None = None,
) -> Order:
    """Build one order through the factory method named for the ticket's type."""
    t = ticket
    px = _price_maker(instrument)
    qty = _qty_maker(instrument)
    common: dict[str, Any] = {
        "instrument_id": InstrumentId.from_str(t.instrument_id),
        "order_side": OrderSide[t.side],
        "quantity": qty(t.quantity),
        "time_in_force": TimeInForce[t.time_in_force],
        "reduce_only": t.reduce_only,
        "quote_quantity": t.quote_quantity,
        "tags": list(t.tags) or None,
        "client_order_id": client_order_id,
    }
    if not isinstance(t, MarketTicket):
        common["expire_time"] = t.expire_time
    if not isinstance(t, MarketTicket | MarketToLimitTicket):
        common["emulation_trigger"] = TriggerType[t.emulation_trigger]
    if isinstance(
        t,
        StopMarketTicket
        | StopLimitTicket
        | MarketIfTouchedTicket
        | LimitIfTouchedTicket
        | TrailingStopMarketTicket
        | TrailingStopLimitTicket,
    ):
        common["trigger_type"] = TriggerType[t.trigger_type]
        common["trigger_price"] = _opt(px, t.trigger_price)
    if isinstance(
        t, LimitTicket | StopLimitTicket | LimitIfTouchedTicket | TrailingStopLimitTicket
    ):
        common["post_only"] = t.post_only
        common["price"] = _opt(px, t.price)
    if isinstance(
        t,
        LimitTicket
        | StopLimitTicket
        | MarketToLimitTicket
        | LimitIfTouchedTicket
        | TrailingStopLimitTicket,
    ):
        common["display_qty"] = _opt(qty, t.display_qty)
    if isinstance(t, TrailingStopMarketTicket | TrailingStopLimitTicket):
        common["trailing_offset"] = t.trailing_offset
        common["trailing_offset_type"] = TrailingOffsetType[t.trailing_offset_type]
        common["activation_price"] = _opt(px, t.activation_price)
    if isinstance(t, TrailingStopLimitTicket):
        common["limit_offset"] = t.limit_offset

    method = getattr(factory, t.type.lower())
    order: Order = method(**common)
    if order.is_quote_quantity != t.quote_quantity:
        # OrderFactory.market_to_limit (1.231) drops quote_quantity; restore it.
        values = OrderInitialized.to_dict(order.init_event)
        values["quote_quantity"] = t.quote_quantity
        order = OrderUnpacker.from_init(OrderInitialized.from_dict(values))
    return order


class RulesPrecision:
    """Makes prices and quantities at an instrument's precision from its plain rules.

    Stands in for a Nautilus ``Instrument`` where only :class:`InstrumentRules` are
    known (a dry run away from the node); values are on the increment already (checked).
    """

    def __init__(self, rules: InstrumentRules) -> None:
        self.price_precision = _decimals(rules.price_increment)
        self.size_precision = _decimals(rules.size_increment)

    def make_price(self, value: Decimal) -> Price:
        return Price.from_str(_plain_str(_at_precision(value, self.price_precision)))

    def make_qty(self, value: Decimal) -> Quantity:
        return Quantity.from_str(_plain_str(_at_precision(value, self.size_precision)))


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _at_precision(value: Decimal, precision: int) -> Decimal:
    exponent = value.as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) else 0
    if decimals > precision:  # off the increment: keep it exact rather than round it
        return value
    return value.quantize(Decimal(1).scaleb(-precision))


def _price_maker(instrument: Instrument | RulesPrecision | None) -> Any:
    if instrument is not None:
        return instrument.make_price
    return lambda value: Price.from_str(_plain_str(value))


def _qty_maker(instrument: Instrument | RulesPrecision | None) -> Any:
    if instrument is not None:
        return instrument.make_qty
    return lambda value: Quantity.from_str(_plain_str(value))


def _plain_str(value: Decimal) -> str:
    # Nautilus parses "1.0850" but not "1.085E+1".
    return format(value, "f")


def _opt(make: Any, value: Decimal | None) -> Any:
    return None if value is None else make(value)


# --- linking ------------------------------------------------------------------------------


def relink(
    order: Order,
    *,
    contingency_type: ContingencyType,
    order_list_id: OrderListId | None,
    linked_order_ids: Sequence[ClientOrderId] | None = None,
    parent_order_id: ClientOrderId | None = None,
) -> Order:
    """Return a copy of a fresh (initialized) order with contingency links set.

    The factory's single-order methods cannot set links, so the order is rebuilt from
    its ``OrderInitialized`` event with the links changed, as Nautilus itself rebuilds
    orders from that event.
    """
    values = OrderInitialized.to_dict(order.init_event)
    values["contingency_type"] = contingency_type.name
    values["order_list_id"] = None if order_list_id is None else order_list_id.value
    values["linked_order_ids"] = [o.value for o in linked_order_ids] if linked_order_ids else None
    values["parent_order_id"] = None if parent_order_id is None else parent_order_id.value
    rebuilt: Order = OrderUnpacker.from_init(OrderInitialized.from_dict(values))
    return rebuilt


def link_bracket(
    orders: Sequence[Order], factory: OrderFactory, contingency_type: ContingencyType
) -> OrderList:
    """Link ``[entry, stop_loss, take_profit]`` as ``OrderFactory.bracket`` does."""
    entry, sl, tp = orders
    list_id = factory.generate_order_list_id()
    ids = (sl.client_order_id, tp.client_order_id)
    linked = [
        relink(
            entry,
            contingency_type=ContingencyType.OTO,
            order_list_id=list_id,
            linked_order_ids=ids,
        ),
        relink(
            sl,
            contingency_type=contingency_type,
            order_list_id=list_id,
            linked_order_ids=[tp.client_order_id],
            parent_order_id=entry.client_order_id,
        ),
        relink(
            tp,
            contingency_type=contingency_type,
            order_list_id=list_id,
            linked_order_ids=[sl.client_order_id],
            parent_order_id=entry.client_order_id,
        ),
    ]
    return OrderList(order_list_id=list_id, orders=linked)


def link_oco(
    orders: Sequence[Order],
    factory: OrderFactory,
    contingency_type: ContingencyType = ContingencyType.OCO,
) -> OrderList:
    """Link every order to all the others with ``OCO`` (or `contingency_type`)."""
    list_id = factory.generate_order_list_id()
    ids = [o.client_order_id for o in orders]
    linked = [
        relink(
            o,
            contingency_type=contingency_type,
            order_list_id=list_id,
            linked_order_ids=[i for i in ids if i != o.client_order_id],
        )
        for o in orders
    ]
    return OrderList(order_list_id=list_id, orders=linked)


def link_oto(orders: Sequence[Order], factory: OrderFactory) -> OrderList:
    """Link ``orders[0]`` as ``OTO`` parent of the others."""
    list_id = factory.generate_order_list_id()
    parent, *children = orders
    linked = [
        relink(
            parent,
            contingency_type=ContingencyType.OTO,
            order_list_id=list_id,
            linked_order_ids=[c.client_order_id for c in children],
        ),
        *(
            relink(
                c,
                contingency_type=ContingencyType.NO_CONTINGENCY,
                order_list_id=list_id,
                parent_order_id=parent.client_order_id,
            )
            for c in children
        ),
    ]
    return OrderList(order_list_id=list_id, orders=linked)


# --- bracket legs -------------------------------------------------------------------------


def bracket_legs(
    b: BracketTicket, *, children_reduce_only: bool = True
) -> tuple[SingleTicketT, SingleTicketT, SingleTicketT]:
    """Return the entry, stop-loss and take-profit of a bracket as single tickets."""
    exit_side = "SELL" if b.side == "BUY" else "BUY"
    base: dict[str, Any] = {
        "instrument_id": b.instrument_id,
        "quantity": b.quantity,
        "quote_quantity": b.quote_quantity,
    }
    entry_kw: dict[str, Any] = {
        **base,
        "side": b.side,
        "time_in_force": b.time_in_force,
        "tags": b.entry_tags,
    }
    if b.entry_type != "MARKET":
        entry_kw["expire_time"] = b.expire_time
        entry_kw["emulation_trigger"] = b.emulation_trigger
    if b.entry_type in ("LIMIT", "LIMIT_IF_TOUCHED", "STOP_LIMIT"):
        entry_kw["price"] = b.entry_price
        entry_kw["post_only"] = b.entry_post_only
    if b.entry_type in ("MARKET_IF_TOUCHED", "LIMIT_IF_TOUCHED", "STOP_LIMIT"):
        entry_kw["trigger_price"] = b.entry_trigger_price
        entry_kw["trigger_type"] = b.entry_trigger_type
    entry = _SINGLE_MODELS[b.entry_type].model_validate(entry_kw)

    child: dict[str, Any] = {
        **base,
        "side": exit_side,
        "reduce_only": children_reduce_only,
        "emulation_trigger": b.emulation_trigger,
    }
    sl_kw: dict[str, Any] = {
        **child,
        "time_in_force": b.sl_time_in_force,
        "tags": b.sl_tags,
        "trigger_type": b.sl_trigger_type,
        "trigger_price": b.sl_trigger_price,
    }
    if b.sl_type == "TRAILING_STOP_MARKET":
        sl_kw["trailing_offset"] = b.sl_trailing_offset
        sl_kw["trailing_offset_type"] = b.sl_trailing_offset_type
    sl = _SINGLE_MODELS[b.sl_type].model_validate(sl_kw)

    tp_kw: dict[str, Any] = {**child, "time_in_force": b.tp_time_in_force, "tags": b.tp_tags}
    if b.tp_type in ("LIMIT", "LIMIT_IF_TOUCHED"):
        tp_kw["price"] = b.tp_price
        tp_kw["post_only"] = b.tp_post_only
    if b.tp_type in ("LIMIT_IF_TOUCHED", "MARKET_IF_TOUCHED"):
        tp_kw["trigger_price"] = b.tp_trigger_price
        tp_kw["trigger_type"] = b.tp_trigger_type
    tp = _SINGLE_MODELS[b.tp_type].model_validate(tp_kw)
    return entry, sl, tp


def bracket_from_legs(
    entry: SingleTicketT,
    sl: SingleTicketT,
    tp: SingleTicketT,
    contingency_type: str = "OUO",
) -> BracketTicket:
    """Return the bracket ticket whose :func:`bracket_legs` are the given legs."""
    kw: dict[str, Any] = {
        "instrument_id": entry.instrument_id,
        "side": entry.side,
        "quantity": entry.quantity,
        "quote_quantity": entry.quote_quantity,
        "emulation_trigger": getattr(sl, "emulation_trigger", "NO_TRIGGER"),
        "contingency_type": contingency_type,
        "entry_type": entry.type,
        "entry_price": getattr(entry, "price", None),
        "entry_trigger_price": getattr(entry, "trigger_price", None),
        "entry_trigger_type": getattr(entry, "trigger_type", "DEFAULT"),
        "time_in_force": entry.time_in_force,
        "expire_time": entry.expire_time,
        "entry_post_only": getattr(entry, "post_only", False),
        "entry_tags": entry.tags,
        "sl_type": sl.type,
        "sl_trigger_price": getattr(sl, "trigger_price", None),
        "sl_trigger_type": getattr(sl, "trigger_type", "DEFAULT"),
        "sl_trailing_offset": getattr(sl, "trailing_offset", None),
        "sl_trailing_offset_type": getattr(sl, "trailing_offset_type", "PRICE"),
        "sl_time_in_force": sl.time_in_force,
        "sl_tags": sl.tags,
        "tp_type": tp.type,
        "tp_price": getattr(tp, "price", None),
        "tp_trigger_price": getattr(tp, "trigger_price", None),
        "tp_trigger_type": getattr(tp, "trigger_type", "DEFAULT"),
        "tp_time_in_force": tp.time_in_force,
        "tp_post_only": getattr(tp, "post_only", True),
        "tp_tags": tp.tags,
    }
    return BracketTicket.model_validate(kw)


# --- orders back to tickets ---------------------------------------------------------------


def from_nautilus(source: Order | OrderList | Sequence[Order]) -> AnyTicket:
    """Read the ticket that describes an order or an order list.

    A list whose first order is ``OTO`` with two children linked to each other by
    ``OUO``/``OCO`` (one a stop, one a take-profit) reads as a ``BRACKET``; other
    ``OTO`` lists read as ``OTO``; a list of ``OCO`` orders as ``OCO``.
    """
    if isinstance(source, Order):
        return single_from_order(source)
    orders = list(source.orders) if isinstance(source, OrderList) else list(source)
    if not orders:
        raise ValueError("no orders to read a ticket from")
    if len(orders) == 1:
        return single_from_order(orders[0])
    legs = [single_from_order(o) for o in orders]
    first = orders[0]
    if first.contingency_type == ContingencyType.OTO:
        kids = orders[1:]
        kid_kinds = {k.contingency_type for k in kids}
        if len(kids) == 2 and kid_kinds <= {ContingencyType.OUO, ContingencyType.OCO}:
            sl_i = 0 if legs[1].type in ("STOP_MARKET", "TRAILING_STOP_MARKET") else 1
            sl, tp = legs[1 + sl_i], legs[2 - sl_i]
            kind = ContingencyType(kids[0].contingency_type).name
            return bracket_from_legs(legs[0], sl, tp, kind)
        return OtoTicket(orders=tuple(legs))
    return OcoTicket(orders=tuple(legs))


def single_from_order(order: Order) -> SingleTicketT:
    """Read the single-order ticket that describes `order`."""
    kind = OrderType(order.order_type).name
    kw: dict[str, Any] = {
        "instrument_id": order.instrument_id.value,
        "side": OrderSide(order.side).name,
        "quantity": order.quantity.as_decimal(),
        "time_in_force": TimeInForce(order.time_in_force).name,
        "reduce_only": order.is_reduce_only,
        "quote_quantity": order.is_quote_quantity,
        "tags": tuple(order.tags or ()),
    }
    if kind != "MARKET":
        expire_ns = order.expire_time_ns
        kw["expire_time"] = unix_nanos_to_dt(expire_ns) if expire_ns else None
    if kind not in ("MARKET", "MARKET_TO_LIMIT"):
        kw["emulation_trigger"] = TriggerType(order.emulation_trigger).name
    if kind in ("LIMIT", "STOP_LIMIT", "LIMIT_IF_TOUCHED", "TRAILING_STOP_LIMIT"):
        kw["post_only"] = order.is_post_only
        kw["price"] = _dec(order.price)
    if kind in _DISPLAY_QTY_TYPES:
        kw["display_qty"] = _dec(order.display_qty)
    if kind in (
        "STOP_MARKET",
        "STOP_LIMIT",
        "MARKET_IF_TOUCHED",
        "LIMIT_IF_TOUCHED",
        "TRAILING_STOP_MARKET",
        "TRAILING_STOP_LIMIT",
    ):
        kw["trigger_type"] = TriggerType(order.trigger_type).name
        kw["trigger_price"] = _dec(order.trigger_price)
    if kind in ("TRAILING_STOP_MARKET", "TRAILING_STOP_LIMIT"):
        kw["trailing_offset"] = Decimal(order.trailing_offset)
        kw["trailing_offset_type"] = TrailingOffsetType(order.trailing_offset_type).name
        kw["activation_price"] = _dec(order.activation_price)
    if kind == "TRAILING_STOP_LIMIT":
        kw["limit_offset"] = Decimal(order.limit_offset)
    ticket: SingleTicketT = _SINGLE_MODELS[kind].model_validate(kw)
    return ticket


_DISPLAY_QTY_TYPES = (
    "LIMIT",
    "STOP_LIMIT",
    "MARKET_TO_LIMIT",
    "LIMIT_IF_TOUCHED",
    "TRAILING_STOP_LIMIT",
)


def _dec(value: Price | Quantity | None) -> Decimal | None:
    return None if value is None else value.as_decimal()


def utc(dt: datetime) -> datetime:
    """Return `dt` in UTC (naive datetimes are taken as UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
