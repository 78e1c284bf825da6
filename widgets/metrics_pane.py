"""Metrics: one row per node (PnL, equity, drawdown, orders, latency, resources), a totals
row across nodes, and sparklines of the selected node's PnL, latency p99 and memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Sparkline, Static

from widgets.data import MetricSnapshot
from widgets.keyed_table import Col, KeyedTable

TOTAL_KEY = "Σ total"


def _money(amounts: Sequence[tuple[str, float]], decimals: int = 2) -> str:
    return ", ".join(f"{value:,.{decimals}f} {code}" for code, value in amounts) or "-"


def _opt(value: float | int | None, fmt: str = "{:,.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def _mb(value: float | int | None) -> str:
    return "-" if value is None else f"{value / 1_048_576:,.0f}"


def totals(snapshots: Sequence[MetricSnapshot]) -> MetricSnapshot:
    """Sum PnL and equity per currency and the order and position counts over nodes."""
    pnl: dict[str, float] = {}
    equity: dict[str, float] = {}
    for snap in snapshots:
        for code, value in snap.pnl:
            pnl[code] = pnl.get(code, 0.0) + value
        for code, value in snap.equity:
            equity[code] = equity.get(code, 0.0) + value

    def total(values: list[int | None]) -> int | None:
        known = [v for v in values if v is not None]
        return sum(known) if known else None

    rss = [s.rss_bytes for s in snapshots]
    return MetricSnapshot(
        TOTAL_KEY,
        pnl=tuple(sorted(pnl.items())),
        equity=tuple(sorted(equity.items())),
        orders_open=total([s.orders_open for s in snapshots]),
        positions_open=total([s.positions_open for s in snapshots]),
        rss_bytes=total(rss),
    )


class MetricsTable(KeyedTable[MetricSnapshot]):
    """The per-node figures; the last row sums them."""

    MAX_ROWS = 200
    COLUMNS = (
        Col("node", "Node", priority=0, min_width=8),
        Col("pnl", "PnL", priority=1, numeric=True),
        Col("equity", "Equity", priority=2, numeric=True),
        Col("dd", "DD %", priority=3, numeric=True),
        Col("orders", "Ord", priority=5, numeric=True),
        Col("positions", "Pos", priority=6, numeric=True),
        Col("p50", "p50 ms", priority=8, numeric=True),
        Col("p99", "p99 ms", priority=4, numeric=True),
        Col("cpu", "CPU%", priority=7, numeric=True),
        Col("rss", "RSS MB", priority=9, numeric=True),
    )

    def row_key(self, row: MetricSnapshot) -> str:
        return row.node_id

    def cells(self, row: MetricSnapshot) -> tuple[Any, ...]:
        pnl: str | Text = _money(row.pnl)
        if row.pnl:
            negative = any(v < 0 for _c, v in row.pnl)
            pnl = self.styled(_money(row.pnl), "error" if negative else "success")
        node = self.styled(row.node_id, "accent") if row.node_id == TOTAL_KEY else row.node_id
        return (
            node,
            pnl,
            _money(row.equity, 0),  # cents of equity are noise at this width
            _opt(row.drawdown_pct, "{:.2f}"),
            _opt(row.orders_open, "{}"),
            _opt(row.positions_open, "{}"),
            _opt(row.latency_p50_ms, "{:.2f}"),
            _opt(row.latency_p99_ms, "{:.2f}"),
            _opt(row.cpu_percent),
            _mb(row.rss_bytes),
        )


class MetricsPane(Vertical):
    """Per-node metrics with a totals row; sparklines of the node under the cursor."""

    BORDER_TITLE = "Metrics"
    DEFAULT_CSS = """
    MetricsPane { height: 1fr; }
    MetricsPane > #metrics-caption { height: 1; padding: 0 1; color: $text-muted; }
    MetricsPane > #metrics-sparks { height: 3; }
    MetricsPane .spark { width: 1fr; height: 3; margin: 0 1; }
    MetricsPane .spark > Static { height: 1; color: $text-muted; }
    MetricsPane .spark > Sparkline { height: 2; }
    MetricsPane > MetricsTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._snapshots: dict[str, MetricSnapshot] = {}
        self._shown: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("metrics: no samples yet", id="metrics-caption")
        with Horizontal(id="metrics-sparks"):
            for name in ("pnl", "latency", "rss"):
                with Vertical(classes="spark"):
                    yield Static("", id=f"spark-{name}-label")
                    yield Sparkline([], id=f"spark-{name}")
        yield MetricsTable(id="metrics-table")

    def focus(self, scroll_visible: bool = True) -> MetricsPane:
        self.query_one(MetricsTable).focus(scroll_visible)
        return self

    @property
    def snapshots(self) -> dict[str, MetricSnapshot]:
        return dict(self._snapshots)

    def update_snapshots(self, snapshots: Sequence[MetricSnapshot]) -> None:
        """Replace each given node's snapshot (the latest wins; call about once a second)."""
        for snap in snapshots:
            self._snapshots[snap.node_id] = snap
        nodes = [self._snapshots[n] for n in sorted(self._snapshots)]
        table = self.query_one(MetricsTable)
        table.set_rows([*nodes, totals(nodes)] if nodes else [])
        self._show_sparks()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_sparks()

    def _show_sparks(self) -> None:
        table = self.query_one(MetricsTable)
        row = table.row_at_cursor()
        node = row.node_id if row is not None and row.node_id in self._snapshots else None
        if node is None and self._snapshots:
            node = sorted(self._snapshots)[0]
        snap = self._snapshots.get(node) if node else None
        if snap is None:
            return
        self.query_one("#metrics-caption", Static).update(
            f"{snap.node_id}: last {max(len(snap.pnl_history), len(snap.rss_history))} samples",
            layout=False,  # fixed one-line captions: no relayout per sample
        )
        pnl_code = snap.pnl[0][0] if snap.pnl else ""
        last_pnl = f"{snap.pnl_history[-1]:,.2f} {pnl_code}" if snap.pnl_history else "-"
        parts = (
            ("pnl", f"PnL {last_pnl}", snap.pnl_history),
            (
                "latency",
                f"latency p99 {_opt(snap.latency_p99_ms, '{:.2f}')} ms",
                snap.latency_history,
            ),
            ("rss", f"RSS {_mb(snap.rss_bytes)} MB", snap.rss_history),
        )
        for name, label, data in parts:
            self.query_one(f"#spark-{name}-label", Static).update(label, layout=False)
            spark = self.query_one(f"#spark-{name}", Sparkline)
            if list(spark.data or ()) != list(data):
                spark.data = list(data)
