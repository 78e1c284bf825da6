"""The main screen: node list, event log, orders, positions, metrics and risk alerts.

Wide terminals (>= 140x40) show every pane in a grid (orders, positions and events get
the most room); smaller ones show one pane at a time under a tab bar, switched with 1-6 or
[ and ]. ``/`` in a table opens the find field at the bottom; the orders and positions
filters follow the node selected in the node list (widgets.run_filter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.events import Resize
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static, Tab, Tabs

from widgets.alerts_table import AlertsTable
from widgets.event_log import EventLog
from widgets.find_table import FindableTable
from widgets.key_bar import KeyBar
from widgets.metrics_pane import MetricsPane
from widgets.node_list import NodeList
from widgets.orders_table import OrdersTable
from widgets.positions_table import PositionsTable
from widgets.run_filter import Scope

if TYPE_CHECKING:
    from console.app import GatewayApp

PANES: tuple[tuple[str, str], ...] = (
    ("nodes", "Nodes"),
    ("events", "Events"),
    ("orders", "Orders"),
    ("positions", "Positions"),
    ("metrics", "Metrics"),
    ("alerts", "Alerts"),
)
WIDE_MIN = (140, 40)


class MainScreen(Screen[None]):
    """Every pane of the console; node actions come from the node list's keys."""

    BINDINGS = [
        *[
            Binding(
                str(i + 1),
                f"show_pane('{pane}')",
                label,
                show=False,
                tooltip=f"Show and focus the {label.lower()} pane",
                id=f"pane.{pane}",
            )
            for i, (pane, label) in enumerate(PANES)
        ],
        Binding(
            "right_square_bracket",
            "cycle_pane(1)",
            "Next pane",
            show=False,
            tooltip="Show the next pane",
            id="pane.next",
        ),
        Binding(
            "left_square_bracket",
            "cycle_pane(-1)",
            "Previous pane",
            show=False,
            tooltip="Show the previous pane",
            id="pane.previous",
        ),
    ]

    # Screen repaints all of itself when the focus moves (~16 ms at 160x48); the panes
    # whose focus styles change repaint themselves, so the rest need not.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self, event_log_lines: int = 5000) -> None:
        super().__init__(id="main")
        self.event_log_lines = event_log_lines
        self.current = "nodes"
        self._finding: FindableTable | None = None  # the table the find field is for

    @property
    def gateway(self) -> GatewayApp:
        from console.app import GatewayApp

        assert isinstance(self.app, GatewayApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static(self.app.title, id="title-bar")
        yield Tabs(
            *[Tab(f"{i + 1} {label}", id=f"tab-{pane}") for i, (pane, label) in enumerate(PANES)],
            id="pane-tabs",
        )
        with Container(id="deck"):
            yield NodeList(id="nodes", classes="pane")
            yield EventLog(self.event_log_lines, id="events", classes="pane")
            yield MetricsPane(id="metrics", classes="pane")
            yield OrdersTable(id="orders", classes="pane")
            yield PositionsTable(id="positions", classes="pane")
            yield AlertsTable(id="alerts", classes="pane")
        yield KeyBar(id="key-bar")
        yield Input(placeholder="text to find; Enter applies, Esc clears", id="table-find")

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False
        self._layout(self.size.width, self.size.height)
        self.action_show_pane("nodes")
        self.gateway._refresh_rows()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width, event.size.height)

    @property
    def wide(self) -> bool:
        return self.has_class("-wide")

    def _layout(self, width: int, height: int) -> None:
        wide = width >= WIDE_MIN[0] and height >= WIDE_MIN[1]
        if wide != self.wide:
            self.set_class(wide, "-wide")
            if not wide:  # back to tabs: show the pane the user was in
                self.action_show_pane(self.current)

    def pane(self, pane_id: str) -> Widget:
        return self.query_one(f"#{pane_id}")

    def focused_pane(self) -> Widget | None:
        """The pane holding the focus, if any."""
        node = self.focused
        while node is not None and not (isinstance(node, Widget) and node.has_class("pane")):
            node = node.parent if isinstance(node.parent, Widget) else None
        return node

    # -- actions ------------------------------------------------------------------
    def action_show_pane(self, pane_id: str) -> None:
        if not self.wide:
            # Class changes restyle every pane; in the wide grid they change nothing seen.
            for pane, _label in PANES:
                self.pane(pane).set_class(pane == pane_id, "-current")
            tabs = self.query_one(Tabs)
            if tabs.active != f"tab-{pane_id}":
                tabs.active = f"tab-{pane_id}"
        self.current = pane_id
        # set_focus now rather than focus() later: keys typed right after go to this pane.
        widget = self.pane(pane_id)
        target = (
            widget
            if widget.can_focus
            else next(
                (w for w in widget.query("*") if w.can_focus and not isinstance(w, Input)),
                widget,
            )
        )
        self.set_focus(target)

    def action_cycle_pane(self, step: int) -> None:
        ids = [p for p, _ in PANES]
        current = self.focused_pane()
        index = (
            ids.index(current.id)
            if current is not None and current.id in ids
            else (ids.index(self.current))
        )
        self.action_show_pane(ids[(index + step) % len(ids)])

    @on(Tabs.TabActivated)
    def _tab(self, event: Tabs.TabActivated) -> None:
        pane = (event.tab.id or "tab-nodes").removeprefix("tab-")
        if pane != self.current:
            self.action_show_pane(pane)

    # -- filters ------------------------------------------------------------------
    def update_scope(self) -> None:
        """Tell the orders and positions filters the selected node and each node's run."""
        nodes = self.query(NodeList)
        selected = nodes.first().selected if nodes else None
        runs = {r.node_id: r.run_id for r in self.gateway.node_rows if r.run_id}
        scope = Scope(selected.node_id if selected else None, tuple(sorted(runs.items())))
        for orders in self.query(OrdersTable):
            orders.set_scope(scope)
        for positions in self.query(PositionsTable):
            positions.set_scope(scope)

    @on(DataTable.RowHighlighted, "NodeList")
    def _node_selected(self, event: DataTable.RowHighlighted) -> None:
        self.update_scope()

    def open_find(self, table: FindableTable) -> Input:
        """Show the find field for ``table`` and focus it at once (typed keys follow)."""
        self._finding = table
        field = self.query_one("#table-find", Input)
        field.value = table.find_text
        field.add_class("-shown")
        self.set_focus(field)
        return field

    @on(FindableTable.FindRequested)
    def _find(self, event: FindableTable.FindRequested) -> None:
        event.stop()
        self.open_find(event.table)

    @on(Input.Submitted, "#table-find")
    def _found(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_find(event.value)

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.focused is self.query_one("#table-find", Input):
            event.stop()
            self._close_find("")

    def _close_find(self, text: str) -> None:
        self.query_one("#table-find", Input).remove_class("-shown")
        table, self._finding = self._finding, None
        if table is not None:
            table.set_find(text)
            self.set_focus(table)

    @on(OrdersTable.ActionRequested)
    def _order_action(self, event: OrdersTable.ActionRequested) -> None:
        event.stop()
        self.gateway.orders.order_action(event.action, event.row)

    @on(PositionsTable.ActionRequested)
    def _position_action(self, event: PositionsTable.ActionRequested) -> None:
        event.stop()
        self.gateway.orders.position_action(event.action, event.row)

    @on(NodeList.ActionRequested)
    def _node_action(self, event: NodeList.ActionRequested) -> None:
        event.stop()
        self.gateway.node_action(event.action, event.row)
