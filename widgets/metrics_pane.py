"""Metrics: the latest values per node and a short equity history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Sparkline, Static

from widgets.data import MetricSnapshot
from widgets.keyed_table import KeyedTable


class _MetricRows(KeyedTable[tuple[str, str, str]]):
    MAX_ROWS = 200
    COLUMNS = (("node", "Node"), ("metric", "Metric"), ("value", "Value"))

    def row_key(self, row: tuple[str, str, str]) -> str:
        return f"{row[0]}/{row[1]}"

    def cells(self, row: tuple[str, str, str]) -> tuple[Any, ...]:
        return row


class MetricsPane(Vertical):
    """Per-node metrics (PnL, equity, counters) with the equity of one node as a sparkline."""

    BORDER_TITLE = "Metrics"
    DEFAULT_CSS = """
    MetricsPane { height: 1fr; }
    MetricsPane > #metrics-caption { height: 1; padding: 0 1; color: $text-muted; }
    MetricsPane > Sparkline { height: 2; margin: 0 1; }
    MetricsPane > _MetricRows { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._snapshots: dict[str, MetricSnapshot] = {}

    def compose(self) -> ComposeResult:
        yield Static("equity: no data yet", id="metrics-caption")
        yield Sparkline([], id="metrics-spark")
        yield _MetricRows(id="metrics-table")

    def focus(self, scroll_visible: bool = True) -> MetricsPane:
        self.query_one(_MetricRows).focus(scroll_visible)
        return self

    def update_snapshots(self, snapshots: Sequence[MetricSnapshot]) -> None:
        """Replace each given node's snapshot (the latest wins; call about once a second)."""
        for snap in snapshots:
            self._snapshots[snap.node_id] = snap
        rows = [
            (node, name, value)
            for node, snap in sorted(self._snapshots.items())
            for name, value in snap.values
        ]
        self.query_one(_MetricRows).set_rows(rows)
        with_history = [s for s in self._snapshots.values() if s.equity_history]
        if with_history:
            snap = sorted(with_history, key=lambda s: s.node_id)[0]
            self.query_one(Sparkline).data = list(snap.equity_history)
            self.query_one("#metrics-caption", Static).update(
                f"equity {snap.node_id}: {snap.equity_history[-1]:,.2f}"
            )
