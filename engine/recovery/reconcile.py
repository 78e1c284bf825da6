"""Compare a node's three views of its state: journal, Nautilus's cache, the venue.

Pure: :func:`reconcile` takes three :class:`StateView` and returns one row per order that
any view holds as working, and one row per instrument any view holds a position in, each
saying what every source says and whether they agree. A restarted node runs when every
row agrees; otherwise it stays HALTED until the user accepts the venue's view or stops it.

What counts as the same: an order is working or not (closed and unknown are the same: not
working), and when working, its quantity and filled quantity match where a view knows
them; a position is the net signed quantity per instrument.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

SOURCES = ("journal", "cache", "venue")


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One order as one view knows it."""

    status: str
    working: bool
    instrument_id: str = ""
    side: str = ""
    quantity: str | None = None
    filled_qty: str | None = None
    venue_order_id: str | None = None

    def says(self) -> str:
        """A short human reading: ``ACCEPTED 0/100000``."""
        if self.quantity is None:
            return self.status
        return f"{self.status} {_num(self.filled_qty or '0')}/{_num(self.quantity)}"


@dataclass(frozen=True, slots=True)
class StateView:
    """What one source says: orders by client order id, net positions by instrument."""

    source: str
    orders: dict[str, OrderFacts] = field(default_factory=dict)
    positions: dict[str, str] = field(default_factory=dict)
    available: bool = True  # False: the source could not be read (``problem`` says why)
    problem: str = ""

    def working(self) -> dict[str, OrderFacts]:
        return {k: o for k, o in self.orders.items() if o.working}

    def net(self, instrument_id: str) -> Decimal:
        return _dec(self.positions.get(instrument_id)) or Decimal(0)


@dataclass(frozen=True, slots=True)
class Row:
    """One order or position: what each source says, and whether they agree."""

    kind: str  # "order" | "position"
    key: str  # client order id | instrument id
    instrument_id: str
    journal: str
    cache: str
    venue: str
    agree: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Reconciliation:
    orders: tuple[Row, ...]
    positions: tuple[Row, ...]
    problems: tuple[str, ...] = ()  # a source that could not be read

    @property
    def agree(self) -> bool:
        return not self.problems and all(r.agree for r in (*self.orders, *self.positions))

    def differences(self) -> list[Row]:
        return [r for r in (*self.orders, *self.positions) if not r.agree]

    def summary(self) -> str:
        if self.agree:
            n, m = len(self.orders), len(self.positions)
            return (
                f"journal, cache and venue agree: {n} working order{'s' * (n != 1)}, "
                f"{m} position{'s' * (m != 1)}"
            )
        parts = []
        bad_orders = sum(not r.agree for r in self.orders)
        bad_positions = sum(not r.agree for r in self.positions)
        if bad_orders:
            parts.append(f"{bad_orders} order{'s' * (bad_orders != 1)}")
        if bad_positions:
            parts.append(f"{bad_positions} position{'s' * (bad_positions != 1)}")
        verb = " differs" if bad_orders + bad_positions == 1 else " differ"
        text = " and ".join(parts) + verb if parts else ""
        return "; ".join([*([text] if text else []), *self.problems])

    def to_dict(self) -> dict[str, Any]:
        return {
            "agree": self.agree,
            "summary": self.summary(),
            "orders": [r.to_dict() for r in self.orders],
            "positions": [r.to_dict() for r in self.positions],
            "problems": list(self.problems),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reconciliation:
        return cls(
            tuple(Row(**r) for r in data.get("orders", [])),
            tuple(Row(**r) for r in data.get("positions", [])),
            tuple(str(p) for p in data.get("problems", [])),
        )


ABSENT = "-"


def reconcile(journal: StateView, cache: StateView, venue: StateView) -> Reconciliation:
    """Compare the three views, order by order and position by position."""
    views = (journal, cache, venue)
    problems = tuple(f"{v.source}: {v.problem}" for v in views if not v.available)
    keys = sorted({k for v in views for k in v.working()})
    dupes = _duplicated_venue_ids(cache)
    orders = tuple(_order_row(k, views, dupes.get(k, "")) for k in keys)
    instruments = sorted(
        {i for v in views for i, n in v.positions.items() if (_dec(n) or Decimal(0)) != 0}
    )
    positions = tuple(_position_row(i, views) for i in instruments)
    return Reconciliation(orders, positions, problems)


def _order_row(key: str, views: tuple[StateView, ...], dupe: str) -> Row:
    facts = [v.orders.get(key) for v in views]
    says = [f.says() if f is not None else ABSENT for f in facts]
    working = {bool(f is not None and f.working) for f in facts}
    agree = len(working) == 1 and not dupe
    note = dupe
    if agree and working == {True}:
        for attr in ("quantity", "filled_qty"):
            known = {_dec(getattr(f, attr)) for f in facts if f is not None}
            known.discard(None)
            if len(known) > 1:
                agree = False
                note = f"{attr} differs"
    if not agree and not note:
        holders = [
            v.source for v, f in zip(views, facts, strict=True) if f is not None and f.working
        ]
        note = f"working only in {', '.join(holders)}"
    instrument = next((f.instrument_id for f in facts if f is not None and f.instrument_id), "")
    return Row("order", key, instrument, says[0], says[1], says[2], agree, note)


def _position_row(instrument: str, views: tuple[StateView, ...]) -> Row:
    nets = [v.net(instrument) for v in views]
    says = [_signed(n) for n in nets]
    agree = len(set(nets)) == 1
    note = "" if agree else "net quantity differs"
    return Row("position", instrument, instrument, says[0], says[1], says[2], agree, note)


def _duplicated_venue_ids(cache: StateView) -> dict[str, str]:
    """Two working orders in the cache on one venue order id: a duplicated order."""
    counts = Counter(o.venue_order_id for o in cache.working().values() if o.venue_order_id)
    out = {}
    for key, o in cache.working().items():
        if o.venue_order_id and counts[o.venue_order_id] > 1:
            n = counts[o.venue_order_id]
            out[key] = f"duplicated: venue order {o.venue_order_id} held by {n} orders"
    return out


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _num(value: str) -> str:
    d = _dec(value)
    return value if d is None else f"{d.normalize():f}"


def _signed(n: Decimal) -> str:
    if n == 0:
        return "flat"
    return f"{'long' if n > 0 else 'short'} {abs(n).normalize():f}"
