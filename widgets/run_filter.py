"""The filters the orders and positions panes share: open only, this node, this run, and
whether backtest runs show.

By default both panes show every sandbox and live run's rows, of every node, plus the
rows of the node selected in the node list whatever its mode: a trader must never miss a
working order of a live node, while a backtest's thousands of simulated orders are history,
shown when its node is selected or when asked for (``t``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from textual.binding import Binding, BindingType

from widgets.keyed_table import KeyedTable


class RunRow(Protocol):
    """What the filters read of a row."""

    @property
    def node_id(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def mode(self) -> str | None: ...
    @property
    def closed(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Scope:
    """What "this node" and "this run" mean now: the node list's selected node and each
    node's current run."""

    node_id: str | None = None
    runs: tuple[tuple[str, str], ...] = ()  # (node id, its current run id)


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Which rows show; the defaults are the module's."""

    open_only: bool = False
    this_node: bool = False
    this_run: bool = False
    backtests: bool = False

    def accepts(self, row: RunRow, scope: Scope) -> bool:
        if self.open_only and row.closed:
            return False
        selected = row.node_id == scope.node_id
        if self.this_node and scope.node_id is not None and not selected:
            return False
        if self.this_run and row.run_id:
            current = dict(scope.runs).get(row.node_id)
            if current is not None and row.run_id != current:
                return False
        # A row of unknown mode shows: hiding a live order would be worse than showing one.
        return self.backtests or selected or row.mode != "backtest"

    def describe(self, scope: Scope) -> list[str]:
        parts = []
        if self.open_only:
            parts.append("open")
        if self.this_node:
            parts.append(f"node {scope.node_id}" if scope.node_id else "node (none selected)")
        if self.this_run:
            parts.append("this run")
        if self.backtests:
            parts.append("+backtests")
        return parts


RowT = TypeVar("RowT", bound=RunRow)

FILTER_KEYS: tuple[tuple[str, str, str, str], ...] = (
    # (field, key, description, tooltip)
    ("open_only", "o", "Open", "Show only open ones (again: all)"),
    ("this_node", "n", "Node", "Show only the node selected in the node list (again: all)"),
    ("this_run", "r", "Run", "Show only each node's current run (again: earlier runs too)"),
    (
        "backtests",
        "t",
        "Backtests",
        "Show backtest runs of every node too (by default only the selected node's)",
    ),
)


class RunFilteredTable(KeyedTable[RowT]):
    """A KeyedTable of node-run rows with the shared filters on o, n, r and t."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, f"toggle_filter('{name}')", desc, tooltip=tip, id=f"filter.{name}")
        for name, key, desc, tip in FILTER_KEYS
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.run_filter = RunFilter()
        self.scope = Scope()

    def accepts(self, row: RowT) -> bool:
        return self.run_filter.accepts(row, self.scope)

    def filter_parts(self) -> list[str]:
        return self.run_filter.describe(self.scope)

    def reset_filters(self) -> None:
        self.run_filter = RunFilter()

    def evictable(self, row: RowT) -> bool:
        return row.closed

    def set_scope(self, scope: Scope) -> None:
        """The selected node or a node's run changed: show what the filters accept now."""
        if scope != self.scope:
            self.scope = scope
            self.refilter()

    def set_filter(self, run_filter: RunFilter) -> None:
        self.run_filter = run_filter
        self.refilter()

    def action_toggle_filter(self, name: str) -> None:
        current: Any = self.run_filter
        values = {f: getattr(current, f) for f, *_ in FILTER_KEYS}
        values[name] = not values[name]
        self.set_filter(RunFilter(**values))
