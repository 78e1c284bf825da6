"""Turn engine envelopes into the plain rows the panes show, one batch per UI tick.

Only this module knows the envelope payload shapes (engine.host.events); widgets get
immutable rows. State kept here is bounded: working orders plus the last closed ones,
a fixed equity history, a fixed alert list.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.host.events import TERMINAL_STATES
from engine.orders.status import OrderRow as FoldedOrder
from engine.orders.status import OrderStatusTable
from widgets.data import AlertRow, EventLine, MetricSnapshot, OrderRow, PositionRow

CLOSED_ORDERS_KEPT = 200
POSITIONS_KEPT = 200
ALERTS_KEPT = 200  # resolved alerts and one-off risk events; active ones are always kept
HISTORY_POINTS = 120  # samples per sparkline: two minutes at one sample a second
# Lines per tick the event log gets: beyond this a burst shows its newest lines plus every
# important event (risk, alerts, node changes, denials, warnings); the journal has the rest.
EVENT_LINES_PER_TICK = 300
FOLD_STEP = 1000  # envelopes folded between two turns of the UI loop (about 1.5 ms)
_IMPORTANT_KINDS = frozenset({"risk", "alert", "node", "system", "result"})
_IMPORTANT_TYPES = frozenset({"OrderDenied", "OrderRejected", "OrderModifyRejected"})
_QUIET_LEVELS = frozenset({"DEBUG", "INFO", "debug", "info"})


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """The live state of one node's current run, from its node/progress/metric events."""

    node_id: str
    run_id: str
    state: str
    mode: str | None = None
    since_ns: int | None = None  # when it started running
    until_ns: int | None = None  # when the run ended (stopped, completed, failed)
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
        self.alerts: OrderedDict[str, AlertRow] = OrderedDict()
        self.instruments: dict[str, str] = {}  # node -> last instrument seen in its events
        self._open_counts: dict[str, int] = {}
        # The engine's order fold (the one the CLI and the API list), one per node: client
        # order ids are unique within a node, not across nodes.
        self._order_folds: dict[str, OrderStatusTable] = {}
        self._metrics: dict[str, MetricSnapshot] = {}
        self._history: dict[str, tuple[deque[float], deque[float], deque[float]]] = {}

    def open_orders(self, node_id: str) -> int:
        """Working orders of ``node_id`` as of the last batch (safe from another thread)."""
        return self._open_counts.get(node_id, 0)

    def apply(
        self, envelopes: Iterable[Any], missed: int = 0, max_lines: int = EVENT_LINES_PER_TICK
    ) -> PaneBatch:
        """Translate a drained batch of envelopes into one PaneBatch."""
        folding = self.folding(envelopes, missed, max_lines)
        while (batch := step(folding)) is None:
            pass
        return batch

    def folding(
        self,
        envelopes: Iterable[Any],
        missed: int = 0,
        max_lines: int = EVENT_LINES_PER_TICK,
        step: int = FOLD_STEP,
    ) -> Generator[None, None, PaneBatch]:
        """:meth:`apply` in steps: yields after every ``step`` envelopes, returns the batch.

        The console runs the steps as a task that gives the loop back between them, so a
        keystroke never waits for a whole burst to be folded.
        """
        batch = PaneBatch(missed=missed)
        loggable: list[Any] = []
        important: list[int] = []  # indexes in loggable, kept even when a burst is cut
        # Fold each order's (and position's) events of this batch into one row update: a
        # burst of 10k events touches a few hundred rows.
        orders: dict[str, tuple[Any, str]] = {}  # node/coid -> (its last envelope, coid)
        positions: dict[str, tuple[Any, dict[str, Any]]] = {}
        touched_metrics: set[str] = set()
        alerts_changed = False
        for i, env in enumerate(envelopes, 1):
            if not i % step:
                yield
            kind = env.kind
            payload = env.payload if isinstance(env.payload, dict) else {}
            if kind == "progress":
                self._status(env, progress=_float(payload.get("fraction")))
                batch.nodes[env.node_id] = self.nodes[env.node_id]
                continue  # progress would flood the log; the node list shows it
            if kind == "metric":
                self._metric(env, payload)
                touched_metrics.add(env.node_id)
                # The sample's rows are the node's positions marked now: they bring the
                # unrealized PnL that position events do not carry.
                for sampled in _sampled_positions(payload):
                    positions[f"{env.node_id}/{sampled['position_id']}"] = (env, sampled)
                continue
            if _important(env):
                important.append(len(loggable))
            loggable.append(env)
            if kind == "order":
                coid = payload.get("client_order_id")
                if not coid:
                    continue
                fold = self._order_folds.get(env.node_id)
                if fold is None:
                    fold = self._order_folds[env.node_id] = OrderStatusTable(CLOSED_ORDERS_KEPT)
                if fold.fold(env) is not None:
                    orders[f"{env.node_id}/{coid}"] = (env, coid)
                if payload.get("instrument_id"):
                    self.instruments[env.node_id] = str(payload["instrument_id"])
                if env.type in {"OrderDenied", "OrderRejected"}:
                    alerts_changed = True
                    self._alert(
                        env,
                        f"{env.node_id}/{env.seq}",
                        "error",
                        f"{env.type} {coid}: {payload.get('reason', '')}".strip(),
                    )
            elif kind == "position":
                positions[f"{env.node_id}/{payload.get('position_id', '?')}"] = (env, payload)
                if payload.get("instrument_id"):
                    self.instruments[env.node_id] = str(payload["instrument_id"])
            elif kind == "risk":
                alerts_changed = True
                self._risk(env, payload)
            elif kind == "alert":
                alerts_changed = True
                self._rule_alert(env, payload)
            elif kind == "node" and env.type == "NodeStateChanged":
                state = str(payload.get("state", "running"))
                since = env.ts_ns if state == "running" else None
                prev = self.nodes.get(env.node_id)
                if prev is not None and prev.run_id == env.run_id and state != "running":
                    since = prev.since_ns
                until = env.ts_ns if state in TERMINAL_STATES else None  # uptime stops there
                self._status(
                    env, state=state, mode=payload.get("mode"), since_ns=since, until_ns=until
                )
                batch.nodes[env.node_id] = self.nodes[env.node_id]
            elif kind == "result":
                batch.results.append((env.node_id, env.run_id))
        yield  # what follows is a few ms for a burst: a turn of the loop before it
        batch.events, batch.skipped_lines = _log_lines(loggable, important, max_lines)
        for fold in self._order_folds.values():
            fold.trim()
        for key, (env, coid) in orders.items():
            folded = self._order_folds[env.node_id].get(coid)
            if folded is None:  # closed and trimmed within this very batch
                continue
            shown = self.orders.get(key)
            mode = self._mode_of(env) or (shown.mode if shown is not None else None)
            row = order_row(env.node_id, env.run_id, mode, folded)
            self.orders[key] = row
            self.orders.move_to_end(key)
            batch.orders.append(row)
        batch.positions = [self._position(env, p) for env, p in positions.values()]
        batch.metrics = [self.snapshot(n) for n in sorted(touched_metrics)]
        self._bound()
        if alerts_changed:
            batch.alerts = self.alert_rows()
        return batch

    # -- alerts -------------------------------------------------------------------
    def _alert(
        self,
        env: Any,
        key: str,
        severity: str,
        message: str,
        *,
        state: str = "event",
        source: str = "risk",
        ts_ns: int | None = None,
    ) -> None:
        row = AlertRow(
            env.seq,
            ts_ns or env.ts_ns,
            env.node_id,
            severity,
            message,
            key=key,
            state=state,
            source=source,
        )
        self.alerts.pop(key, None)
        self.alerts[key] = row

    def _rule_alert(self, env: Any, p: dict[str, Any]) -> None:
        key = str(p.get("alert_id") or f"{env.node_id}/{env.seq}")
        severity = str(p.get("severity", "warning"))
        message = str(p.get("message") or _summary(env.type, p))
        if env.type == "AlertRaised":
            ts = p.get("raised_ts_ns")
            self._alert(
                env,
                key,
                severity,
                message,
                state="active",
                source="rule",
                ts_ns=ts if isinstance(ts, int) else None,
            )
        elif env.type == "AlertResolved":
            duration = _float(p.get("duration_s"))
            if duration is not None:
                message += f" (after {duration:.0f} s)"
            self._alert(env, key, severity, message, state="resolved", source="rule")
        else:
            self._alert(env, f"{env.node_id}/{env.seq}", severity, message, source="rule")

    def _risk(self, env: Any, p: dict[str, Any]) -> None:
        if env.type == "TradingStateChanged":
            state = str(p.get("state") or p.get("trading_state") or "?")
            key = f"{env.node_id}:trading_state"
            if state.upper() == "ACTIVE":
                if key in self.alerts:
                    self._alert(env, key, "info", "trading state ACTIVE", state="resolved")
                return
            severity = "error" if state.upper() == "HALTED" else "warning"
            self._alert(env, key, severity, f"trading state {state}", state="active")
            return
        self._alert(env, f"{env.node_id}/{env.seq}", "warning", _summary(env.type, p))

    def alert_rows(self) -> list[AlertRow]:
        """Active alerts (oldest first), then the history (resolved and one-off events)."""
        rows = list(self.alerts.values())
        return [r for r in rows if r.active] + [r for r in rows if not r.active]

    def _status(self, env: Any, **changes: Any) -> None:
        prev = self.nodes.get(env.node_id)
        if prev is not None and env.run_id < prev.run_id:
            return  # the rest of an older run's journal: the row shows the newer run
        if prev is None or prev.run_id != env.run_id:
            base = {"state": "running", "mode": None, "since_ns": None, "until_ns": None}
            if prev is not None and "state" not in changes:
                base["state"] = prev.state
            prev = NodeStatus(env.node_id, env.run_id, **base)  # type: ignore[arg-type]
        values = {
            "node_id": prev.node_id,
            "run_id": env.run_id,
            "state": prev.state,
            "mode": prev.mode,
            "since_ns": prev.since_ns,
            "until_ns": prev.until_ns,
            "progress": prev.progress,
            "pnl": prev.pnl,
        }
        values.update(
            {k: v for k, v in changes.items() if v is not None or k in ("since_ns", "until_ns")}
        )
        self.nodes[env.node_id] = NodeStatus(**values)

    def _mode_of(self, env: Any) -> str | None:
        """The mode of ``env``'s run, if its node's state events said it."""
        status = self.nodes.get(env.node_id)
        return status.mode if status is not None and status.run_id == env.run_id else None

    def _position(self, env: Any, p: dict[str, Any]) -> PositionRow:
        pid = str(p.get("position_id", "?"))
        key = f"{env.node_id}/{pid}"
        side = str(p.get("side", p.get("entry", "")))
        unrealized = _pnl_text(p, "unrealized_pnl")
        if unrealized is None:
            # PositionOpened carries none: keep the last sample's figure until the next one.
            prev = self.positions.get(key)
            unrealized = prev.unrealized_pnl if prev is not None and side != "FLAT" else "-"
        row = PositionRow(
            position_id=pid,
            node_id=env.node_id,
            instrument_id=str(p.get("instrument_id", "")),
            side=side,
            quantity=str(p.get("quantity", p.get("signed_qty", ""))),
            avg_px=str(p.get("avg_px_open", "")),
            unrealized_pnl=unrealized,
            realized_pnl=_pnl_text(p, "realized_pnl") or "-",
            run_id=env.run_id,
            mode=self._mode_of(env),
        )
        self.positions[key] = row
        self.positions.move_to_end(key)
        return row

    def _metric(self, env: Any, p: dict[str, Any]) -> None:
        """Reduce a ``MetricsSample`` (engine/telemetry/sampler.py) to the pane's figures."""
        pnl = {
            code: v
            for code, figures in _dict(_dict(p.get("pnl")).get("total")).items()
            if (v := _float(_dict(figures).get("total"))) is not None
        }
        equity: dict[str, float] = {}
        for account in _dict(p.get("accounts")).values():
            for code, value in _dict(_dict(account).get("equity")).items():
                if (v := _float(value)) is not None:
                    equity[code] = equity.get(code, 0.0) + v
        drawdowns = [
            v
            for figures in _dict(p.get("drawdown")).values()
            if (v := _float(_dict(figures).get("pct"))) is not None
        ]
        latency = _dict(_dict(p.get("latency_ms")).get("submit_to_accept"))
        process = _dict(p.get("process"))
        p99 = _float(latency.get("p99"))
        rss = _float(process.get("rss_bytes"))
        hist = self._history.get(env.node_id)
        if hist is None:
            hist = self._history[env.node_id] = (
                deque(maxlen=HISTORY_POINTS),
                deque(maxlen=HISTORY_POINTS),
                deque(maxlen=HISTORY_POINTS),
            )
        if pnl:
            hist[0].append(pnl[sorted(pnl)[0]])
        if p99 is not None:
            hist[1].append(p99)
        if rss is not None:
            hist[2].append(rss)
        self._metrics[env.node_id] = MetricSnapshot(
            env.node_id,
            pnl=tuple(sorted(pnl.items())),
            equity=tuple(sorted(equity.items())),
            drawdown_pct=max(drawdowns) if drawdowns else None,
            orders_open=_int(_dict(p.get("orders")).get("open")),
            positions_open=_int(_dict(p.get("positions")).get("open")),
            latency_p50_ms=_float(latency.get("p50")),
            latency_p99_ms=p99,
            cpu_percent=_float(process.get("cpu_percent")),
            rss_bytes=int(rss) if rss is not None else None,
            pnl_history=tuple(hist[0]),
            latency_history=tuple(hist[1]),
            rss_history=tuple(hist[2]),
        )
        if pnl:
            self._status(env, pnl=money(pnl))

    def snapshot(self, node_id: str) -> MetricSnapshot:
        """The node's latest metrics (empty before its first sample)."""
        return self._metrics.get(node_id) or MetricSnapshot(node_id)

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
        history = [k for k, a in self.alerts.items() if not a.active]
        for key in history[: max(0, len(history) - ALERTS_KEPT)]:
            del self.alerts[key]


def order_row(node_id: str, run_id: str, mode: str | None, folded: FoldedOrder) -> OrderRow:
    """The orders pane's row for one order of the engine's fold: its fields as they are,
    ``-`` where the order has none (a market order's price)."""
    return OrderRow(
        client_order_id=folded.client_order_id,
        node_id=node_id,
        instrument_id=folded.instrument_id,
        side=folded.side,
        type=folded.order_type,
        quantity=folded.quantity or "",
        price=folded.price or "-",
        filled=folded.filled_qty,
        status=folded.status,
        ts_ns=folded.ts_ns,
        trigger_price=folded.trigger_price,
        run_id=run_id,
        mode=mode,
    )


def step(folding: Generator[None, None, PaneBatch]) -> PaneBatch | None:
    """Run one step of :meth:`FeedState.folding`; the batch once it is done, else None."""
    try:
        next(folding)
    except StopIteration as done:
        batch: PaneBatch = done.value
        return batch
    return None


def _log_lines(
    envelopes: list[Any], important: list[int], limit: int
) -> tuple[list[EventLine], int]:
    """The newest ``limit`` envelopes as lines, plus the ``important`` ones before them."""
    if len(envelopes) <= limit:
        return [event_line(e) for e in envelopes], 0
    cut = len(envelopes) - limit
    head = [envelopes[i] for i in important if i < cut]
    return [event_line(e) for e in (*head, *envelopes[cut:])], cut - len(head)


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
    "component_id",
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


def _sampled_positions(sample: dict[str, Any]) -> list[dict[str, Any]]:
    """The open-position rows of a metrics sample (``engine.orders.portfolio`` rows)."""
    rows = _dict(sample.get("positions")).get("rows")
    if not isinstance(rows, list):
        return []
    return [r for r in rows if isinstance(r, dict) and r.get("position_id")]


def _pnl_text(p: dict[str, Any], key: str) -> str | None:
    """A PnL as the pane shows it, ``"188.00 USD"``, from an event or a sample row."""
    value = p.get(key)
    if value is None:
        return None
    text = str(value)
    currency = p.get("currency")
    if currency and not text.endswith(str(currency)):  # sample rows: amount and currency apart
        text = f"{text} {currency}"
    return text


def _float(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(str(value).split(" ")[0])
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def money(amounts: dict[str, float]) -> str:
    """``{"USD": 12.5}`` as ``12.50 USD`` (currencies in code order, comma-separated)."""
    return ", ".join(f"{amounts[code]:,.2f} {code}" for code in sorted(amounts))
