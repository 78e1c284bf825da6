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
        self._metrics: dict[str, dict[str, str]] = {}

    def open_orders(self, node_id: str) -> int:
        return sum(1 for o in self.orders.values() if o.node_id == node_id and not o.closed)

    def apply(self, envelopes: Iterable[Any], missed: int = 0) -> PaneBatch:
        """Translate a drained batch of envelopes into one PaneBatch."""
        batch = PaneBatch(missed=missed)
        touched_orders: dict[str, OrderRow] = {}
        touched_positions: dict[str, PositionRow] = {}
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
            batch.events.append(event_line(env))
            if kind == "order":
                row = self._order(env, payload)
                if row is not None:
                    touched_orders[f"{row.node_id}/{row.client_order_id}"] = row
                    if row.status in {"DENIED", "REJECTED"}:
                        batch.alerts.append(
                            AlertRow(
                                env.seq,
                                env.ts_ns,
                                env.node_id,
                                "error",
                                f"{env.type} {row.client_order_id}: "
                                f"{payload.get('reason', '')}".strip(),
                            )
                        )
            elif kind == "position":
                prow = self._position(env, payload)
                touched_positions[f"{prow.node_id}/{prow.position_id}"] = prow
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
        batch.orders = list(touched_orders.values())
        batch.positions = list(touched_positions.values())
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

    def _order(self, env: Any, p: dict[str, Any]) -> OrderRow | None:
        coid = p.get("client_order_id")
        if not coid:
            return None
        key = f"{env.node_id}/{coid}"
        prev = self.orders.get(key)
        status = _ORDER_STATUS.get(env.type, env.type.removeprefix("Order").upper())
        filled = prev.filled if prev else "0"
        if env.type == "OrderFilled":
            total = _float(filled) or 0.0
            total += _float(p.get("last_qty")) or 0.0
            filled = str(int(total)) if total.is_integer() else str(total)
            qty = _float(prev.quantity) if prev else None
            if qty is not None and total < qty:
                status = "PARTIALLY_FILLED"
        row = OrderRow(
            client_order_id=str(coid),
            node_id=env.node_id,
            instrument_id=str(p.get("instrument_id", prev.instrument_id if prev else "")),
            side=str(p.get("order_side", p.get("side", prev.side if prev else ""))),
            type=str(p.get("order_type", prev.type if prev else "")),
            quantity=str(p.get("quantity", prev.quantity if prev else "")),
            price=str(p.get("price") or p.get("last_px") or (prev.price if prev else "") or "-"),
            filled=filled,
            status=status,
            ts_ns=env.ts_ns,
        )
        self.orders[key] = row
        self.orders.move_to_end(key)
        return row

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
        closed = [k for k, o in self.orders.items() if o.closed]
        for key in closed[: max(0, len(closed) - CLOSED_ORDERS_KEPT)]:
            del self.orders[key]
        while len(self.positions) > POSITIONS_KEPT:
            self.positions.popitem(last=False)


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
