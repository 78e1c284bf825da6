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
from dataclasses import asdict, dataclass, replace
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


def apply_event(row: OrderRow | None, env: Envelope) -> OrderRow | None:
    """Return `row` updated by one order envelope (``None`` if `env` is not an order event).

    Parameters
    ----------
    row : OrderRow or None
        The order's current row, or ``None`` for an order not seen yet.
    env : Envelope
        An envelope of kind ``order``.
    """
    p = env.payload
    coid = p.get("client_order_id")
    if env.kind != "order" or not isinstance(coid, str):
        return None
    if row is None:
        row = OrderRow(client_order_id=coid)
    changes: dict[str, Any] = {"last_event": env.type, "seq": env.seq, "ts_ns": env.ts_ns}
    for key, field in (("instrument_id", "instrument_id"), ("strategy_id", "strategy_id")):
        if p.get(key) and not getattr(row, field):
            changes[field] = str(p[key])
    if p.get("venue_order_id"):
        changes["venue_order_id"] = str(p["venue_order_id"])
    kind = env.type
    if kind == "OrderInitialized":
        options = p.get("options") or {}
        changes.update(
            side=str(p.get("order_side", "")),
            order_type=str(p.get("order_type", "")),
            quantity=_text(p.get("quantity")),
            price=_text(options.get("price")),
            trigger_price=_text(options.get("trigger_price")),
            time_in_force=str(p.get("time_in_force", "")),
            tags=tuple(str(t) for t in (p.get("tags") or ())),
        )
    if kind in ("OrderDenied", "OrderRejected", "OrderModifyRejected", "OrderCancelRejected"):
        changes["reason"] = _text(p.get("reason"))
    if kind == "OrderUpdated":
        for field in ("quantity", "price", "trigger_price"):
            if p.get(field) is not None:
                changes[field] = str(p[field])
    if kind in STATUS_OF:
        status = STATUS_OF[kind]
        if status in ("PENDING_UPDATE", "PENDING_CANCEL") and row.status not in (
            "PENDING_UPDATE",
            "PENDING_CANCEL",
        ):
            changes["previous_status"] = row.status
        changes["status"] = status
    elif kind in RESTORING:
        if row.status in ("PENDING_UPDATE", "PENDING_CANCEL"):
            changes["status"] = row.previous_status
    elif kind == "OrderFilled":
        changes.update(_fill(row, p))
    return replace(row, **changes)


def _fill(row: OrderRow, p: dict[str, Any]) -> dict[str, Any]:
    last_qty = _dec(p.get("last_qty")) or Decimal(0)
    last_px = _dec(p.get("last_px"))
    before = _dec(row.filled_qty) or Decimal(0)
    filled = before + last_qty
    out: dict[str, Any] = {"filled_qty": str(filled)}
    if last_px is not None and filled > 0:
        avg = _dec(row.avg_px)
        notional = (avg * before if avg is not None else Decimal(0)) + last_px * last_qty
        out["avg_px"] = str((notional / filled).normalize())
    if not row.side and p.get("order_side"):
        out["side"] = str(p["order_side"])
    if not row.order_type and p.get("order_type"):
        out["order_type"] = str(p["order_type"])
    quantity = _dec(row.quantity)
    out["status"] = "FILLED" if quantity is None or filled >= quantity else "PARTIALLY_FILLED"
    return out


class OrderStatusTable:
    """The status rows of every order seen in a stream, updated batch by batch.

    Parameters
    ----------
    max_closed : int, optional
        Keep at most this many closed orders (the oldest go first); working orders are
        always kept. ``None`` keeps everything.
    """

    def __init__(self, max_closed: int | None = None) -> None:
        self._rows: dict[str, OrderRow] = {}
        self._max_closed = max_closed

    def apply(self, batch: Iterable[Envelope]) -> set[str]:
        """Fold a batch of envelopes in; return the client order ids whose rows changed."""
        changed: set[str] = set()
        rows = self._rows
        for env in batch:
            if env.kind != "order":
                continue
            coid = env.payload.get("client_order_id")
            if not isinstance(coid, str):
                continue
            new = apply_event(rows.get(coid), env)
            if new is not None:
                rows[coid] = new
                changed.add(coid)
        if self._max_closed is not None and changed:
            self._trim(self._max_closed)
        return changed

    def _trim(self, keep: int) -> None:
        closed = [r for r in self._rows.values() if not r.is_open]
        if len(closed) <= keep:
            return
        closed.sort(key=lambda r: r.seq)
        for row in closed[: len(closed) - keep]:
            del self._rows[row.client_order_id]

    def get(self, client_order_id: str) -> OrderRow | None:
        """Return one order's row, or ``None`` if it was not seen."""
        return self._rows.get(client_order_id)

    def rows(self, *, open_only: bool = False) -> list[OrderRow]:
        """Return the rows in the order their orders first appeared."""
        return [r for r in self._rows.values() if r.is_open or not open_only]

    def __len__(self) -> int:
        return len(self._rows)


def fold_orders(envelopes: Iterable[Envelope], *, open_only: bool = False) -> list[OrderRow]:
    """Return one row per order in `envelopes`, in order of first appearance."""
    table = OrderStatusTable()
    table.apply(envelopes)
    return table.rows(open_only=open_only)
