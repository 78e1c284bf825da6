"""Fold order events from a node's stream into one status row per client order id.

Pure and incremental: :class:`OrderStatusTable` takes envelope batches (from
``NodeManager.attach`` or the console's EventBus) and keeps the latest state of every
order; the CLI (``gateway orders list``) and the console's orders pane share it.
Nautilus order events carry ``to_dict`` payloads (``client_order_id``, ``order_side`` …).

Status follows Nautilus's order state machine: a pending update or cancel that is
rejected (``OrderModifyRejected`` / ``OrderCancelRejected``) or an ``OrderUpdated``
returns the order to the state it had before; a fill makes it ``PARTIALLY_FILLED``
until the filled quantity reaches the order's quantity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.events.envelope import Envelope

# Event type -> the status it sets (events not listed keep the status).
STATUS_OF = {
    "OrderInitialized": "INITIALIZED",
    "OrderDenied": "DENIED",
    "OrderEmulated": "EMULATED",
    "OrderReleased": "RELEASED",
    "OrderSubmitted": "SUBMITTED",
    "OrderAccepted": "ACCEPTED",
    "OrderRejected": "REJECTED",
    "OrderCanceled": "CANCELED",
    "OrderExpired": "EXPIRED",
    "OrderTriggered": "TRIGGERED",
    "OrderPendingUpdate": "PENDING_UPDATE",
    "OrderPendingCancel": "PENDING_CANCEL",
}
RESTORING = frozenset({"OrderModifyRejected", "OrderCancelRejected", "OrderUpdated"})
CLOSED_STATUSES = frozenset({"DENIED", "REJECTED", "CANCELED", "EXPIRED", "FILLED"})
STATUSES = (
    "INITIALIZED",
    "DENIED",
    "EMULATED",
    "RELEASED",
    "SUBMITTED",
    "ACCEPTED",
    "REJECTED",
    "CANCELED",
    "EXPIRED",
    "TRIGGERED",
    "PENDING_UPDATE",
    "PENDING_CANCEL",
    "PARTIALLY_FILLED",
    "FILLED",
)


@dataclass(frozen=True, slots=True)
class OrderRow:
    """The latest known state of one order (plain data, safe to hand to widgets).

    Prices and quantities are decimal strings as Nautilus writes them; ``None`` when
    the order has no such field (a market order's price) or it was not seen.
    """

    client_order_id: str
    instrument_id: str = ""
    strategy_id: str = ""
    side: str = ""
    order_type: str = ""
    quantity: str | None = None
    filled_qty: str = "0"
    avg_px: str | None = None
    price: str | None = None
    trigger_price: str | None = None
    time_in_force: str = ""
    status: str = "INITIALIZED"
    last_event: str = ""
    venue_order_id: str | None = None
    reason: str | None = None
    tags: tuple[str, ...] = ()
    seq: int = 0
    ts_ns: int = 0
    # The status before a pending update/cancel, restored when it is rejected or done.
    previous_status: str = "INITIALIZED"

    @property
    def is_open(self) -> bool:
        """Whether the order can still work (not filled, canceled, rejected …)."""
        return self.status not in CLOSED_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-safe data."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["is_open"] = self.is_open
        del data["previous_status"]
        return data


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value).replace("_", ""))
    except InvalidOperation:
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


_FIELDS = tuple(OrderRow.__dataclass_fields__)
_PENDING = ("PENDING_UPDATE", "PENDING_CANCEL")
_REASONED = frozenset(
    {"OrderDenied", "OrderRejected", "OrderModifyRejected", "OrderCancelRejected"}
)


class _OrderState:
    """One order's state while it is folded: mutable (a burst of events costs no copies),
    turned into a frozen :class:`OrderRow` only when a row is asked for."""

    __slots__ = (*_FIELDS, "filled", "avg", "_row")
    client_order_id: str
    instrument_id: str
    strategy_id: str
    side: str
    order_type: str
    quantity: str | None
    filled_qty: str
    avg_px: str | None
    price: str | None
    trigger_price: str | None
    time_in_force: str
    status: str
    last_event: str
    venue_order_id: str | None
    reason: str | None
    tags: tuple[str, ...]
    seq: int
    ts_ns: int
    previous_status: str

    def __init__(self, client_order_id: str) -> None:
        for name in _FIELDS:
            setattr(self, name, OrderRow.__dataclass_fields__[name].default)
        self.client_order_id = client_order_id
        self.filled = Decimal(0)
        self.avg: Decimal | None = None
        self._row: OrderRow | None = None

    @classmethod
    def of(cls, row: OrderRow) -> _OrderState:
        state = cls(row.client_order_id)
        for name in _FIELDS:
            setattr(state, name, getattr(row, name))
        state.filled = _dec(row.filled_qty) or Decimal(0)
        state.avg = _dec(row.avg_px)
        state._row = row
        return state

    def row(self) -> OrderRow:
        if self._row is None:
            self.filled_qty = str(self.filled)
            self.avg_px = None if self.avg is None else str(self.avg)
            self._row = OrderRow(*(getattr(self, name) for name in _FIELDS))
        return self._row

    def apply(self, env: Envelope) -> None:
        """Fold one order event in (Nautilus's order state machine, see the module doc)."""
        p = env.payload
        self._row = None
        kind = self.last_event = env.type
        self.seq, self.ts_ns = env.seq, env.ts_ns
        if not self.instrument_id and p.get("instrument_id"):
            self.instrument_id = str(p["instrument_id"])
        if not self.strategy_id and p.get("strategy_id"):
            self.strategy_id = str(p["strategy_id"])
        if p.get("venue_order_id"):
            self.venue_order_id = str(p["venue_order_id"])
        if kind == "OrderInitialized":
            options = p.get("options") or {}
            self.side = str(p.get("order_side", ""))
            self.order_type = str(p.get("order_type", ""))
            self.quantity = _text(p.get("quantity"))
            self.price = _text(options.get("price"))
            self.trigger_price = _text(options.get("trigger_price"))
            self.time_in_force = str(p.get("time_in_force", ""))
            self.tags = tuple(str(t) for t in (p.get("tags") or ()))
        elif kind == ORDER_RESTORED:  # a whole order, as a restarted node's cache holds it
            self.side = str(p.get("order_side", ""))
            self.order_type = str(p.get("order_type", ""))
            self.quantity = _text(p.get("quantity"))
            self.price = _text(p.get("price"))
            self.trigger_price = _text(p.get("trigger_price"))
            self.time_in_force = str(p.get("time_in_force", ""))
            self.tags = tuple(str(t) for t in (p.get("tags") or ()))
            self.filled = _dec(p.get("filled_qty")) or Decimal(0)
            self.avg = _dec(p.get("avg_px"))
            self.status = str(p.get("status") or "UNKNOWN")
            return
        elif kind in _REASONED:
            self.reason = _text(p.get("reason"))
        elif kind == "OrderUpdated":
            for name in ("quantity", "price", "trigger_price"):
                if p.get(name) is not None:
                    setattr(self, name, str(p[name]))
        status = STATUS_OF.get(kind)
        if status is not None:
            if status in _PENDING and self.status not in _PENDING:
                self.previous_status = self.status
            self.status = status
        elif kind in RESTORING:
            if self.status in _PENDING:
                self.status = self.previous_status
        elif kind == "OrderFilled":
            self._fill(p)

    def _fill(self, p: dict[str, Any]) -> None:
        last_qty = _dec(p.get("last_qty")) or Decimal(0)
        last_px = _dec(p.get("last_px"))
        before = self.filled
        filled = self.filled = before + last_qty
        if last_px is not None and filled > 0:
            avg = self.avg
            notional = (avg * before if avg is not None else Decimal(0)) + last_px * last_qty
            self.avg = (notional / filled).normalize()
        if not self.side and p.get("order_side"):
            self.side = str(p["order_side"])
        if not self.order_type and p.get("order_type"):
            self.order_type = str(p["order_type"])
        quantity = _dec(self.quantity)
        self.status = "FILLED" if quantity is None or filled >= quantity else "PARTIALLY_FILLED"


ORDER_RESTORED = "OrderRestored"  # journaled by a restarted host for each order it holds


def restored_order_payload(order: Any) -> dict[str, Any]:
    """The ``OrderRestored`` payload of a Nautilus order (from its ``to_dict()``)."""
    d = order.to_dict()
    tags = d.get("tags")
    return {
        "client_order_id": d["client_order_id"],
        "instrument_id": d.get("instrument_id"),
        "strategy_id": d.get("strategy_id"),
        "venue_order_id": d.get("venue_order_id"),
        "order_side": d.get("side"),
        "order_type": d.get("type"),
        "quantity": d.get("quantity"),
        "price": d.get("price"),
        "trigger_price": d.get("trigger_price"),
        "time_in_force": d.get("time_in_force"),
        "filled_qty": d.get("filled_qty"),
        "avg_px": None if d.get("avg_px") is None else str(d["avg_px"]),
        "status": d.get("status"),
        "tags": list(tags) if isinstance(tags, list | tuple) else [],
    }


def apply_event(row: OrderRow | None, env: Envelope) -> OrderRow | None:
    """Return `row` updated by one order envelope (``None`` if `env` is not an order event).

    Parameters
    ----------
    row : OrderRow or None
        The order's current row, or ``None`` for an order not seen yet.
    env : Envelope
        An envelope of kind ``order``.
    """
    coid = env.payload.get("client_order_id")
    if env.kind != "order" or not isinstance(coid, str):
        return None
    state = _OrderState(coid) if row is None else _OrderState.of(row)
    state.apply(env)
    return state.row()


class OrderStatusTable:
    """The status rows of every order seen in a stream, updated batch by batch.

    Parameters
    ----------
    max_closed : int, optional
        Keep at most this many closed orders (the oldest go first); working orders are
        always kept. ``None`` keeps everything.
    """

    def __init__(self, max_closed: int | None = None) -> None:
        self._orders: dict[str, _OrderState] = {}
        self._max_closed = max_closed

    def apply(self, batch: Iterable[Envelope]) -> set[str]:
        """Fold a batch of envelopes in; return the client order ids whose rows changed."""
        changed: set[str] = set()
        for env in batch:
            state = self.fold(env)
            if state is not None:
                changed.add(state.client_order_id)
        if changed:
            self.trim()
        return changed

    def fold(self, env: Envelope) -> _OrderState | None:
        """Fold one envelope in; return its order's state (``None``: not an order event).

        Callers folding one event at a time call :meth:`trim` once their batch is done.
        """
        if env.kind != "order":
            return None
        coid = env.payload.get("client_order_id")
        if not isinstance(coid, str):
            return None
        state = self._orders.get(coid)
        if state is None:
            state = self._orders[coid] = _OrderState(coid)
        state.apply(env)
        return state

    def trim(self) -> None:
        """Drop the oldest closed orders beyond ``max_closed`` (working ones always stay)."""
        if self._max_closed is None:
            return
        keep = self._max_closed
        closed = [o for o in self._orders.values() if o.status in CLOSED_STATUSES]
        if len(closed) <= keep:
            return
        closed.sort(key=lambda o: o.seq)
        for state in closed[: len(closed) - keep]:
            del self._orders[state.client_order_id]

    def get(self, client_order_id: str) -> OrderRow | None:
        """Return one order's row, or ``None`` if it was not seen."""
        state = self._orders.get(client_order_id)
        return None if state is None else state.row()

    def rows(self, *, open_only: bool = False) -> list[OrderRow]:
        """Return the rows in the order their orders first appeared."""
        rows = (o.row() for o in self._orders.values())
        return [r for r in rows if r.is_open or not open_only]

    def __len__(self) -> int:
        return len(self._orders)


def fold_orders(envelopes: Iterable[Envelope], *, open_only: bool = False) -> list[OrderRow]:
    """Return one row per order in `envelopes`, in order of first appearance."""
    table = OrderStatusTable()
    table.apply(envelopes)
    return table.rows(open_only=open_only)
