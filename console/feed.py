"""Turn engine envelopes into the plain rows the panes show, one batch per UI tick.

Only this module knows the envelope payload shapes (engine.host.events); widgets get
immutable rows. State kept here is bounded: working orders plus the last closed ones,
a fixed equity history, a fixed alert list.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from widgets.data import AlertRow, EventLine, MetricSnapshot, OrderRow, PositionRow

CLOSED_ORDERS_KEPT = 200
POSITIONS_KEPT = 200
EQUITY_POINTS = 120
# Lines per tick the event log gets: beyond this a burst shows its newest lines plus every
# important event (risk, alerts, node changes, denials, warnings); the journal has the rest.
EVENT_LINES_PER_TICK = 300
_IMPORTANT_KINDS = frozenset({"risk", "alert", "node", "system", "result"})
_IMPORTANT_TYPES = frozenset({"OrderDenied", "OrderRejected", "OrderModifyRejected"})
_QUIET_LEVELS = frozenset({"DEBUG", "INFO", "debug", "info"})
_ORDER_STATUS = {
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
    "OrderModifyRejected": "MODIFY_REJECTED",
    "OrderCancelRejected": "CANCEL_REJECTED",
    "OrderUpdated": "ACCEPTED",
    "OrderFilled": "FILLED",
}


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """The live state of one node's current run, from its node/progress/metric events."""

    node_id: str
    run_id: str
    state: str
    mode: str | None = None
    since_ns: int | None = None  # when it started running
    progress: float | None = None
    pnl: str | None = None


@dataclass(slots=True)
class PaneBatch:
    """Everything one tick changes, per pane; empty parts leave their pane alone."""

    events: list[EventLine] = field(default_factory=list)
    orders: list[OrderRow] = field(default_factory=list)
    positions: list[PositionRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    metrics: list[MetricSnapshot] = field(default_factory=list)
    nodes: dict[str, NodeStatus] = field(default_factory=dict)
    results: list[tuple[str, str]] = field(default_factory=list)  # (node_id, run_id)
    missed: int = 0
    skipped_lines: int = 0  # routine events of a burst not turned into log lines

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.orders
            or self.positions
            or self.alerts
            or self.metrics
            or self.nodes
            or self.results
            or self.missed
        )


class FeedState:
    """Aggregate envelopes into orders, positions, alerts, metrics and node states."""

    def __init__(self) -> None:
        self.orders: OrderedDict[str, OrderRow] = OrderedDict()
        self.positions: OrderedDict[str, PositionRow] = OrderedDict()
        self.nodes: dict[str, NodeStatus] = {}
        self._equity: dict[str, deque[float]] = {}
        self._open_counts: dict[str, int] = {}
        self._metrics: dict[str, dict[str, str]] = {}

    def open_orders(self, node_id: str) -> int:
        """Working orders of ``node_id`` as of the last batch (safe from another thread)."""
        return self._open_counts.get(node_id, 0)

    def apply(
        self, envelopes: Iterable[Any], missed: int = 0, max_lines: int = EVENT_LINES_PER_TICK
    ) -> PaneBatch:
        """Translate a drained batch of envelopes into one PaneBatch."""
        batch = PaneBatch(missed=missed)
        loggable: list[Any] = []
        # Fold each order's (and position's) events of this batch into one row update: a
        # burst of 10k events touches a few hundred rows.
        orders: dict[str, _OrderAcc] = {}
        positions: dict[str, tuple[Any, dict[str, Any]]] = {}
        touched_metrics: set[str] = set()
        for env in envelopes:
            kind = env.kind
            payload = env.payload if isinstance(env.payload, dict) else {}
            if kind == "progress":
                self._status(env, progress=_float(payload.get("fraction")))
                batch.nodes[env.node_id] = self.nodes[env.node_id]
                continue  # progress would flood the log; the node list shows it
            if kind == "metric":
                self._metric(env, payload)
                touched_metrics.add(env.node_id)
                continue
            loggable.append(env)
            if kind == "order":
                coid = payload.get("client_order_id")
                if not coid:
                    continue
                key = f"{env.node_id}/{coid}"
                acc = orders.get(key)
                if acc is None:
                    acc = orders[key] = _OrderAcc(env.node_id, str(coid), self.orders.get(key))
                acc.add(env.type, payload, env.ts_ns)
                if env.type in {"OrderDenied", "OrderRejected"}:
                    batch.alerts.append(
                        AlertRow(
                            env.seq,
                            env.ts_ns,
                            env.node_id,
                            "error",
                            f"{env.type} {coid}: {payload.get('reason', '')}".strip(),
                        )
                    )
            elif kind == "position":
                positions[f"{env.node_id}/{payload.get('position_id', '?')}"] = (env, payload)
            elif kind == "risk":
                batch.alerts.append(
                    AlertRow(
                        env.seq, env.ts_ns, env.node_id, "warning", _summary(env.type, payload)
                    )
                )
            elif kind == "alert":
                batch.alerts.append(
                    AlertRow(
                        env.seq,
                        env.ts_ns,
                        env.node_id,
                        str(payload.get("severity", "warning")),
                        str(payload.get("message", _summary(env.type, payload))),
                    )
                )
            elif kind == "node" and env.type == "NodeStateChanged":
                state = str(payload.get("state", "running"))
                since = env.ts_ns if state == "running" else None
                prev = self.nodes.get(env.node_id)
                if prev is not None and prev.run_id == env.run_id and state != "running":
                    since = prev.since_ns
                self._status(env, state=state, mode=payload.get("mode"), since_ns=since)
                batch.nodes[env.node_id] = self.nodes[env.node_id]
            elif kind == "result":
                batch.results.append((env.node_id, env.run_id))
        batch.events, batch.skipped_lines = _log_lines(loggable, max_lines)
        for key, acc in orders.items():
            row = acc.row()
            self.orders[key] = row
            self.orders.move_to_end(key)
            batch.orders.append(row)
        batch.positions = [self._position(env, p) for env, p in positions.values()]
        batch.metrics = [self.snapshot(n) for n in sorted(touched_metrics)]
        self._bound()
        return batch

    def _status(self, env: Any, **changes: Any) -> None:
        prev = self.nodes.get(env.node_id)
        if prev is None or prev.run_id != env.run_id:
            base = {"state": "running", "mode": None, "since_ns": None}
            if prev is not None and "state" not in changes:
                base["state"] = prev.state
            prev = NodeStatus(env.node_id, env.run_id, **base)  # type: ignore[arg-type]
        values = {
            "node_id": prev.node_id,
            "run_id": env.run_id,
            "state": prev.state,
            "mode": prev.mode,
            "since_ns": prev.since_ns,
            "progress": prev.progress,
            "pnl": prev.pnl,
        }
        values.update({k: v for k, v in changes.items() if v is not None or k == "since_ns"})
        self.nodes[env.node_id] = NodeStatus(**values)

    def _position(self, env: Any, p: dict[str, Any]) -> PositionRow:
        pid = str(p.get("position_id", "?"))
        row = PositionRow(
            position_id=pid,
            node_id=env.node_id,
            instrument_id=str(p.get("instrument_id", "")),
            side=str(p.get("side", p.get("entry", ""))),
            quantity=str(p.get("quantity", p.get("signed_qty", ""))),
            avg_px=str(p.get("avg_px_open", "")),
            unrealized_pnl=str(p.get("unrealized_pnl", "-")),
            realized_pnl=str(p.get("realized_pnl", "-")),
        )
        key = f"{env.node_id}/{pid}"
        self.positions[key] = row
        self.positions.move_to_end(key)
        return row

    def _metric(self, env: Any, p: dict[str, Any]) -> None:
        values = self._metrics.setdefault(env.node_id, {})
        for name, value in p.items():
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                values[str(name)] = _num(value) if isinstance(value, float) else str(value)
        equity = _float(p.get("equity"))
        if equity is not None:
            self._equity.setdefault(env.node_id, deque(maxlen=EQUITY_POINTS)).append(equity)
        pnl = p.get("total_pnl", p.get("pnl"))
        if pnl is not None:
            self._status(env, pnl=str(pnl))

    def snapshot(self, node_id: str) -> MetricSnapshot:
        values = tuple(sorted(self._metrics.get(node_id, {}).items()))
        return MetricSnapshot(node_id, values, tuple(self._equity.get(node_id, ())))

    def _bound(self) -> None:
        counts: dict[str, int] = {}
        for order in self.orders.values():
            if not order.closed:
                counts[order.node_id] = counts.get(order.node_id, 0) + 1
        self._open_counts = counts  # replaced whole: readers on the UI thread see old or new
        closed = [k for k, o in self.orders.items() if o.closed]
        for key in closed[: max(0, len(closed) - CLOSED_ORDERS_KEPT)]:
            del self.orders[key]
        while len(self.positions) > POSITIONS_KEPT:
            self.positions.popitem(last=False)


class _OrderAcc:
    """One order's state while a batch is folded; becomes one OrderRow."""

    __slots__ = (
        "client_order_id",
        "filled",
        "instrument_id",
        "node_id",
        "price",
        "quantity",
        "side",
        "status",
        "ts_ns",
        "type",
    )

    def __init__(self, node_id: str, client_order_id: str, prev: OrderRow | None) -> None:
        self.node_id = node_id
        self.client_order_id = client_order_id
        self.instrument_id = prev.instrument_id if prev else ""
        self.side = prev.side if prev else ""
        self.type = prev.type if prev else ""
        self.quantity = prev.quantity if prev else ""
        self.price = prev.price if prev else "-"
        self.filled = (_float(prev.filled) or 0.0) if prev else 0.0
        self.status = prev.status if prev else ""
        self.ts_ns = prev.ts_ns if prev else 0

    def add(self, type_: str, p: dict[str, Any], ts_ns: int) -> None:
        self.ts_ns = ts_ns
        self.status = _ORDER_STATUS.get(type_) or type_.removeprefix("Order").upper()
        if "instrument_id" in p:
            self.instrument_id = str(p["instrument_id"])
        side = p.get("order_side") or p.get("side")
        if side:
            self.side = str(side)
        if "order_type" in p:
            self.type = str(p["order_type"])
        if "quantity" in p:
            self.quantity = str(p["quantity"])
        price = p.get("price") or p.get("last_px")
        if price:
            self.price = str(price)
        if type_ == "OrderFilled":
            self.filled += _float(p.get("last_qty")) or 0.0
            qty = _float(self.quantity)
            if qty is not None and self.filled < qty:
                self.status = "PARTIALLY_FILLED"

    def row(self) -> OrderRow:
        filled = self.filled
        return OrderRow(
            client_order_id=self.client_order_id,
            node_id=self.node_id,
            instrument_id=self.instrument_id,
            side=self.side,
            type=self.type,
            quantity=self.quantity,
            price=self.price,
            filled=str(int(filled)) if filled.is_integer() else str(filled),
            status=self.status,
            ts_ns=self.ts_ns,
        )


def _log_lines(envelopes: list[Any], limit: int) -> tuple[list[EventLine], int]:
    """The newest ``limit`` envelopes as lines, plus the important ones before them."""
    if len(envelopes) <= limit:
        return [event_line(e) for e in envelopes], 0
    head = [e for e in envelopes[:-limit] if _important(e)]
    return [event_line(e) for e in (*head, *envelopes[-limit:])], len(envelopes) - limit - len(head)


def _important(env: Any) -> bool:
    if env.kind in _IMPORTANT_KINDS or env.type in _IMPORTANT_TYPES:
        return True
    return env.kind == "log" and env.payload.get("level", "INFO") not in _QUIET_LEVELS


def event_line(env: Any) -> EventLine:
    """One envelope as a log line."""
    payload = env.payload if isinstance(env.payload, dict) else {}
    level = "INFO"
    if env.kind == "log":
        level = str(payload.get("level", "INFO")).upper()
        text = f"{payload.get('component', '')}: {payload.get('message', '')}"
    elif env.kind == "node" and env.type == "NodeStateChanged":
        text = f"state {payload.get('previous', '?')} -> {payload.get('state', '?')}"
        if payload.get("reason"):
            text += f" ({payload['reason']})"
    elif env.kind == "node" and env.type == "NodeError":
        level = "ERROR"
        text = f"error: {payload.get('message', payload.get('error', ''))}"
    elif env.kind == "alert":
        level = "WARNING"
        text = str(payload.get("message", _summary(env.type, payload)))
    else:
        text = _summary(env.type, payload)
        if env.type in {"OrderDenied", "OrderRejected"} or env.kind in {"risk", "alert"}:
            level = "WARNING"
    return EventLine(env.seq, env.ts_ns, env.node_id, env.kind, env.type, text, level)


_SUMMARY_KEYS = (
    "client_order_id",
    "order_side",
    "order_type",
    "quantity",
    "last_qty",
    "instrument_id",
    "price",
    "last_px",
    "position_id",
    "realized_pnl",
    "reason",
    "state",
    "trading_state",
)


def _summary(type_: str, payload: dict[str, Any]) -> str:
    parts = [type_]
    for key in _SUMMARY_KEYS:
        value = payload.get(key)
        if value not in (None, "", "None"):
            parts.append(f"{key}={value}")
    return " ".join(parts)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value).split(" ")[0])
    except ValueError:
        return None


def _num(value: float | int | str) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if not value.is_integer() else f"{int(value):,}"
    return str(value)
