"""The node list: id, mode, state, uptime, PnL, open orders; node actions from the keyboard."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.message import Message

from widgets.data import NodeRow
from widgets.keyed_table import Col, KeyedTable

_STATE_COLOUR = {
    "running": "success",
    "starting": "warning",
    "stopping": "warning",
    "completed": "primary",
    "failed": "error",
    "invalid": "error",
}

NODE_ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    # (action, key, description, tooltip)
    ("create", "n", "New", "Create a node from a template"),
    ("edit", "e", "Edit", "Edit the selected node's config in a form"),
    ("validate", "v", "Validate", "Validate the selected node's config with NautilusTrader"),
    ("launch", "l", "Launch", "Launch the selected node"),
    ("stop", "x", "Stop", "Stop the selected node"),
    ("restart", "r", "Restart", "Stop and launch the selected node again"),
    ("delete", "delete,d", "Delete", "Delete the selected node's config (asks first)"),
    ("log", "o", "Log", "Open the selected node's log"),
    ("results", "R", "Results", "Open the results of the node's latest run"),
)


# Shown on the list's border when the workspace has no node config yet.
EMPTY_HINT = "no nodes yet: press n, or gateway demo init"


def format_uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    secs = int(seconds)
    hours, rem = divmod(secs, 3600)
    mins, secs = divmod(rem, 60)
    return f"{hours}:{mins:02d}:{secs:02d}" if hours < 100 else f"{hours // 24}d{hours % 24:02d}h"


class NodeList(KeyedTable[NodeRow]):
    """Every configured node with its live state; Enter edits, keys run node actions."""

    BORDER_TITLE = "Nodes"
    COLUMNS = (
        Col("node", "Node", priority=0, min_width=10),
        Col("mode", "Mode", priority=2),
        Col("state", "State", priority=1),
        Col("uptime", "Uptime", priority=4, numeric=True),
        Col("pnl", "PnL", priority=3, numeric=True),
        Col("orders", "Open", priority=5, numeric=True),
    )
    BINDINGS = [
        Binding(
            key,
            f"request('{action}')",
            desc,
            tooltip=tip,
            id=f"node.{action}",
            show=action in {"create", "edit", "launch", "stop"},
        )
        for action, key, desc, tip in NODE_ACTIONS
    ]

    class ActionRequested(Message):
        """The user asked for a node action on ``row`` (None when the list is empty)."""

        def __init__(self, action: str, row: NodeRow | None) -> None:
            super().__init__()
            self.action = action
            self.row = row

    def row_key(self, row: NodeRow) -> str:
        return row.key

    def cells(self, row: NodeRow) -> tuple[Any, ...]:
        colour = _STATE_COLOUR.get(row.state)
        state = self.styled(row.state, colour) if colour else row.state
        return (
            row.node_id,
            row.mode,
            state,
            format_uptime(row.uptime_s),
            row.pnl or "-",
            str(row.open_orders) if row.open_orders else "-",
        )

    @property
    def selected(self) -> NodeRow | None:
        return self.row_at_cursor()

    def action_request(self, action: str) -> None:
        self.post_message(self.ActionRequested(action, self.selected))

    def on_data_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
        event.stop()
        self.action_request("edit")
