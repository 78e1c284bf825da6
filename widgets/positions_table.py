"""Positions: open ones and the recently closed."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from widgets.data import PositionRow
from widgets.keyed_table import KeyedTable


class PositionsTable(KeyedTable[PositionRow]):
    """Positions of every node."""

    BORDER_TITLE = "Positions"
    MAX_ROWS = 200
    COLUMNS = (
        ("id", "Position"),
        ("node", "Node"),
        ("instrument", "Instrument"),
        ("side", "Side"),
        ("qty", "Qty"),
        ("avg", "Avg px"),
        ("upnl", "Unrealized"),
        ("rpnl", "Realized"),
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
            row.position_id,
            row.node_id,
            row.instrument_id,
            row.side,
            row.quantity,
            row.avg_px,
            row.unrealized_pnl,
            row.realized_pnl,
        )
