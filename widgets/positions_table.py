"""Positions: open ones and the recently closed; position actions and filters by key."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from widgets.data import PositionRow
from widgets.keyed_table import Col
from widgets.run_filter import RunFilteredTable


class PositionsTable(RunFilteredTable[PositionRow]):
    """Positions of every node (filters: widgets.run_filter)."""

    BORDER_TITLE = "Positions"
    MAX_ROWS = 200
    COLUMNS = (
        Col("instrument", "Instrument", priority=0, min_width=8),
        Col("side", "Side", priority=1),
        Col("qty", "Qty", priority=2, numeric=True),
        Col("avg", "Avg px", priority=3, numeric=True),
        Col("upnl", "Unrealized", priority=4, numeric=True),
        Col("rpnl", "Realized", priority=5, numeric=True),
        Col("node", "Node", priority=6, min_width=8),
        Col("id", "Position", priority=7, min_width=10, long=True, keep_tail=True),
    )

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "x",
            "request('close_position')",
            "Close",
            tooltip="Close the selected position at market (asks first)",
            id="positions.close",
        ),
        Binding(
            "F",
            "request('flatten')",
            "Flatten",
            tooltip="Cancel every order and close every position of the node (asks first)",
            id="positions.flatten",
        ),
    ]

    class ActionRequested(Message):
        """The user asked for a position action on ``row`` (None when the table is empty)."""

        def __init__(self, action: str, row: PositionRow | None) -> None:
            super().__init__()
            self.action = action
            self.row = row

    def action_request(self, action: str) -> None:
        self.post_message(self.ActionRequested(action, self.row_at_cursor()))

    def row_key(self, row: PositionRow) -> str:
        return f"{row.node_id}/{row.position_id}"

    def cells(self, row: PositionRow) -> tuple[Any, ...]:
        return (
            row.instrument_id,
            row.side,
            row.quantity,
            row.avg_px,
            row.unrealized_pnl,
            row.realized_pnl,
            row.node_id,
            row.position_id,
        )
