"""Positions: open ones and the recently closed."""

from __future__ import annotations

from typing import Any

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
