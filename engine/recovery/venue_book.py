"""What a sandbox venue remembers: its working orders, net positions and balances.

A pure fold over the order events the venue generates (``OrderAccepted``, ``OrderFilled``,
``OrderCanceled`` ...), as dicts (a Nautilus event's ``to_dict``). A real venue keeps this
on its side of the wire; Nautilus's sandbox venue keeps it only in memory, so the node host
folds the venue's events here and stores the book (``engine.recovery.venue_store``) before
the node sees each event.

Positions are net per instrument (the sandbox's NETTING view: what a venue's position
report says), with the average price of the open quantity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any

SCHEMA_VERSION = 1
# Events after which the venue no longer works the order.
CLOSING = frozenset({"OrderCanceled", "OrderExpired", "OrderRejected"})


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """A working order as the venue holds it (strings keep Nautilus's precision)."""

    client_order_id: str
    venue_order_id: str | None
    instrument_id: str
    strategy_id: str
    side: str
    type: str
    quantity: str
    filled_qty: str
    status: str
    time_in_force: str
    price: str | None = None
    trigger_price: str | None = None
    expire_time_ns: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    ts_last: int = 0

    @property
    def leaves(self) -> Decimal:
        return Decimal(self.quantity) - Decimal(self.filled_qty)


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A net position: signed quantity (long > 0) and the average price of what is open."""

    instrument_id: str
    net: str
    avg_px: str | None
    ts_last: int = 0

    @property
    def side(self) -> str:
        n = Decimal(self.net)
        return "FLAT" if n == 0 else ("LONG" if n > 0 else "SHORT")


@dataclass(slots=True)
class VenueBook:
    """One sandbox venue's state. ``seq`` counts the events folded in (a change counter)."""

    venue: str
    orders: dict[str, VenueOrder] = field(default_factory=dict)
    positions: dict[str, VenuePosition] = field(default_factory=dict)
    balances: list[dict[str, str]] = field(default_factory=list)
    trade_ids: list[str] = field(default_factory=list)  # the last few, to refuse a replay
    seq: int = 0

    # -- the fold ------------------------------------------------------------------------
    def apply(self, type: str, event: dict[str, Any], order: dict[str, Any] | None = None) -> bool:
        """Fold one venue event in; return whether the book changed.

        ``order`` is the order's own ``to_dict`` as the node knew it before this event
        (its side, type, quantity, prices), needed when the venue first takes the order.
        """
        coid = str(event.get("client_order_id") or "")
        if not coid:
            return False
        ts = int(event.get("ts_event") or 0)
        known = self.orders.get(coid)
        if type == "OrderAccepted":
            if order is None:
                return False
            base = known or _order_from(order, ts)
            self.orders[coid] = replace(
                base,
                venue_order_id=_str(event.get("venue_order_id")),
                status="ACCEPTED",
                ts_last=ts,
            )
        elif type == "OrderTriggered" and known is not None:
            self.orders[coid] = replace(known, status="TRIGGERED", ts_last=ts)
        elif type == "OrderUpdated" and known is not None:
            self.orders[coid] = replace(
                known,
                quantity=str(event.get("quantity") or known.quantity),
                price=_str(event.get("price")) or known.price,
                trigger_price=_str(event.get("trigger_price")) or known.trigger_price,
                ts_last=ts,
            )
        elif type == "OrderFilled":
            return self._fill(coid, event, order, ts)
        elif type in CLOSING and known is not None:
            del self.orders[coid]
        else:
            return False
        self.seq += 1
        return True

    def _fill(
        self, coid: str, event: dict[str, Any], order: dict[str, Any] | None, ts: int
    ) -> bool:
        trade_id = str(event.get("trade_id") or "")
        if trade_id and trade_id in self.trade_ids:
            return False  # the same execution twice: the venue does not fill twice
        qty = Decimal(str(event["last_qty"]))
        px = Decimal(str(event["last_px"]))
        side = str(event.get("order_side") or (order or {}).get("side") or "")
        signed = qty if side == "BUY" else -qty
        instrument = str(event["instrument_id"])
        self.positions[instrument] = _net_after(
            self.positions.get(instrument), instrument, signed, px, ts
        )
        known = self.orders.get(coid)
        if known is None and order is not None:
            known = _order_from(order, ts)
        if known is not None:
            filled = Decimal(known.filled_qty) + qty
            if filled >= Decimal(known.quantity):
                self.orders.pop(coid, None)
            else:
                self.orders[coid] = replace(
                    known,
                    venue_order_id=_str(event.get("venue_order_id")) or known.venue_order_id,
                    filled_qty=str(filled),
                    status="PARTIALLY_FILLED",
                    ts_last=ts,
                )
        if trade_id:
            self.trade_ids = [*self.trade_ids[-63:], trade_id]
        self.seq += 1
        return True

    def set_balances(self, balances: list[dict[str, str]]) -> bool:
        if balances == self.balances:
            return False
        self.balances = balances
        self.seq += 1
        return True

    # -- what it says ----------------------------------------------------------------------
    def open_positions(self) -> dict[str, VenuePosition]:
        return {k: p for k, p in self.positions.items() if Decimal(p.net) != 0}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "venue": self.venue,
            "seq": self.seq,
            "orders": [asdict(o) for o in self.orders.values()],
            "positions": [asdict(p) for p in self.positions.values()],
            "balances": self.balances,
            "trade_ids": self.trade_ids,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VenueBook:
        """Read a stored book; ``ValueError`` names what is wrong (never a guess)."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version: got {version!r}, expected {SCHEMA_VERSION}")
        try:
            orders = [VenueOrder(**o) for o in data.get("orders", [])]
            positions = [VenuePosition(**p) for p in data.get("positions", [])]
            for o in orders:
                for name in ("quantity", "filled_qty"):
                    _number(getattr(o, name), f"orders[{o.client_order_id}].{name}")
            for p in positions:
                _number(p.net, f"positions[{p.instrument_id}].net")
                if p.avg_px is not None:
                    _number(p.avg_px, f"positions[{p.instrument_id}].avg_px")
            return cls(
                venue=str(data["venue"]),
                orders={o.client_order_id: o for o in orders},
                positions={p.instrument_id: p for p in positions},
                balances=[dict(b) for b in data.get("balances", [])],
                trade_ids=[str(t) for t in data.get("trade_ids", [])],
                seq=int(data.get("seq", 0)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"venue book: {exc}") from None


def _number(value: Any, field: str) -> None:
    try:
        ok = isinstance(value, str) and Decimal(value).is_finite()
    except ArithmeticError:
        ok = False
    if not ok:
        raise ValueError(f"{field}: got {value!r}, expected a decimal number as text")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _order_from(order: dict[str, Any], ts: int) -> VenueOrder:
    return VenueOrder(
        client_order_id=str(order["client_order_id"]),
        venue_order_id=_str(order.get("venue_order_id")),
        instrument_id=str(order["instrument_id"]),
        strategy_id=str(order.get("strategy_id") or ""),
        side=str(order["side"]),
        type=str(order["type"]),
        quantity=str(order["quantity"]),
        filled_qty=str(order.get("filled_qty") or "0"),
        status=str(order.get("status") or "ACCEPTED"),
        time_in_force=str(order.get("time_in_force") or "GTC"),
        price=_str(order.get("price")),
        trigger_price=_str(order.get("trigger_price")),
        expire_time_ns=order.get("expire_time_ns"),
        post_only=bool(order.get("is_post_only")),
        reduce_only=bool(order.get("is_reduce_only")),
        ts_last=ts,
    )


def _net_after(
    pos: VenuePosition | None, instrument: str, signed: Decimal, px: Decimal, ts: int
) -> VenuePosition:
    """Net position after a fill: adding keeps a weighted average price, reducing keeps it,
    crossing through flat starts the new side at the fill's price."""
    net = Decimal(pos.net) if pos else Decimal(0)
    avg = Decimal(pos.avg_px) if pos and pos.avg_px else None
    new = net + signed
    if new == 0:
        new_avg: Decimal | None = None
    elif net == 0 or (net > 0) != (new > 0):
        new_avg = px
    elif abs(new) > abs(net):
        new_avg = ((avg or px) * abs(net) + px * abs(signed)) / abs(new)
    else:
        new_avg = avg
    return VenuePosition(instrument, str(new), None if new_avg is None else str(_trim(new_avg)), ts)


def _trim(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1e-12")).normalize()
