"""Plain data the widgets display: immutable rows built by the console from engine events.

Widgets never see engine objects; the console translates envelopes into these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from widgets.plain_text import plain

EVENT_KINDS = (
    "order",
    "position",
    "account",
    "risk",
    "system",
    "node",
    "log",
    "metric",
    "alert",
    "progress",
    "result",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_LEVEL_SHORT = {"WARNING": "WARN", "CRITICAL": "CRIT"}


@dataclass(frozen=True, slots=True)
class NodeRow:
    """One node in the node list."""

    node_id: str
    mode: str
    state: str  # idle, starting, running, stopping, stopped, completed, failed, invalid
    uptime_s: float | None = None
    pnl: str | None = None
    open_orders: int = 0
    run_id: str | None = None
    problem: str | None = None  # why the config is invalid, when it is

    @property
    def key(self) -> str:
        return f"{self.node_id}/{self.mode}"

    @property
    def live(self) -> bool:
        return self.state in {"starting", "running", "stopping"}


@dataclass(frozen=True, slots=True)
class EventLine:
    """One event as the event log shows it."""

    seq: int
    ts_ns: int
    node_id: str
    kind: str
    type: str
    text: str
    level: str = "INFO"

    def render(self) -> str:
        secs, nanos = divmod(self.ts_ns, 1_000_000_000)
        hh, rem = divmod(secs % 86_400, 3600)
        mm, ss = divmod(rem, 60)
        stamp = f"{hh:02d}:{mm:02d}:{ss:02d}.{nanos // 1_000_000:03d}"
        level = _LEVEL_SHORT.get(self.level, self.level[:5])
        # The text is the node's (a strategy's log line): shown as text, never as codes.
        return f"{stamp} {level:<5} {self.node_id:<14.14} {self.kind:<8} {plain(self.text)}"


@dataclass(frozen=True, slots=True)
class OrderRow:
    """A working or recently closed order."""

    client_order_id: str
    node_id: str
    instrument_id: str
    side: str
    type: str
    quantity: str
    price: str
    filled: str
    status: str
    ts_ns: int = 0
    trigger_price: str | None = None
    run_id: str = ""
    mode: str | None = None  # of its run: backtest, sandbox or live (None: not known)

    @property
    def closed(self) -> bool:
        return self.status in {"FILLED", "CANCELED", "REJECTED", "DENIED", "EXPIRED"}


@dataclass(frozen=True, slots=True)
class PositionRow:
    """An open or recently closed position."""

    position_id: str
    node_id: str
    instrument_id: str
    side: str
    quantity: str
    avg_px: str
    unrealized_pnl: str
    realized_pnl: str
    run_id: str = ""
    mode: str | None = None  # of its run: backtest, sandbox or live (None: not known)

    @property
    def closed(self) -> bool:
        return self.side.upper() == "FLAT"


@dataclass(frozen=True, slots=True)
class MetricSnapshot:
    """The latest metrics sample of one node, reduced to what the metrics pane shows.

    Money is per currency code; ``None`` where the sample had no such figure. The
    histories are the last samples (about one a second), oldest first.
    """

    node_id: str
    pnl: tuple[tuple[str, float], ...] = ()  # (currency, total PnL)
    equity: tuple[tuple[str, float], ...] = ()  # (currency, equity summed over venues)
    drawdown_pct: float | None = None
    orders_open: int | None = None
    positions_open: int | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    cpu_percent: float | None = None
    rss_bytes: int | None = None
    pnl_history: tuple[float, ...] = field(default_factory=tuple)
    latency_history: tuple[float, ...] = field(default_factory=tuple)
    rss_history: tuple[float, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert: a rule's raised/resolved alert, a denied order, a trading-state change.

    ``key`` identifies it across updates (an alert id; a resolve replaces its raise);
    ``state`` is ``active``, ``resolved`` or ``event`` (a one-off, such as a denial).
    """

    seq: int
    ts_ns: int
    node_id: str
    severity: str  # info, warning, error, critical
    message: str
    key: str = ""
    state: str = "event"
    source: str = "risk"  # risk (trading state, denials) or rule (alert rules)

    @property
    def active(self) -> bool:
        return self.state == "active"
