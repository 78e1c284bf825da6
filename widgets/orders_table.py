"""Orders: working orders and the last closed ones, newest last."""

from __future__ import annotations

from typing import Any

from widgets.data import OrderRow
from widgets.keyed_table import KeyedTable


class OrdersTable(KeyedTable[OrderRow]):
    """Working and recently closed orders of every node."""

    BORDER_TITLE = "Orders"
    MAX_ROWS = 300
    COLUMNS = (
        ("id", "Order"),
        ("node", "Node"),
        ("instrument", "Instrument"),
        ("side", "Side"),
        ("type", "Type"),
        ("qty", "Qty"),
        ("price", "Price"),
        ("filled", "Filled"),
        ("status", "Status"),
    )

    def row_key(self, row: OrderRow) -> str:
        return f"{row.node_id}/{row.client_order_id}"

    def cells(self, row: OrderRow) -> tuple[Any, ...]:
        side = self.styled(row.side, "success" if row.side == "BUY" else "error")
        status = (
            self.styled(row.status, "error")
            if row.status in {"REJECTED", "DENIED"}
            else (row.status)
        )
        return (
            row.client_order_id,
            row.node_id,
            row.instrument_id,
            side,
            row.type,
            row.quantity,
            row.price,
            row.filled,
            status,
        )
