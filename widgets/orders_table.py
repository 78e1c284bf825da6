"""Orders: working orders and the last closed ones, newest last; order actions and
filters by key."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from widgets.data import OrderRow
from widgets.keyed_table import Col
from widgets.run_filter import RunFilteredTable

ORDER_ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    # (action, key, description, tooltip)
    ("modify", "m", "Modify", "Change the selected order's quantity, price or trigger"),
    ("cancel", "c", "Cancel", "Cancel the selected order (asks first)"),
    ("cancel_all", "C", "Cancel all", "Cancel every working order of the node (asks first)"),
    ("flatten", "F", "Flatten", "Cancel every order and close every position (asks first)"),
)


class OrdersTable(RunFilteredTable[OrderRow]):
    """Working and recently closed orders of every node (filters: widgets.run_filter)."""

    BORDER_TITLE = "Orders"
    MAX_ROWS = 300
    COLUMNS = (
        Col("id", "Order", priority=0, min_width=10, long=True, keep_tail=True),
        Col("side", "Side", priority=1),
        Col("type", "Type", priority=8, min_width=6),
        Col("qty", "Qty", priority=2, numeric=True),
        Col("filled", "Filled", priority=3, numeric=True),
        Col("price", "Price", priority=4, numeric=True),
        Col("status", "Status", priority=5),
        Col("instrument", "Instrument", priority=6, min_width=8),
        Col("node", "Node", priority=7, min_width=8),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, f"request('{action}')", desc, tooltip=tip, id=f"orders.{action}")
        for action, key, desc, tip in ORDER_ACTIONS
    ]

    class ActionRequested(Message):
        """The user asked for an order action on ``row`` (None when the table is empty)."""

        def __init__(self, action: str, row: OrderRow | None) -> None:
            super().__init__()
            self.action = action
            self.row = row

    def action_request(self, action: str) -> None:
        self.post_message(self.ActionRequested(action, self.row_at_cursor()))

    def row_key(self, row: OrderRow) -> str:
        return f"{row.node_id}/{row.client_order_id}"

    def cells(self, row: OrderRow) -> tuple[Any, ...]:
        side = self.styled(row.side, "success" if row.side == "BUY" else "error")
        status = (
            self.styled(row.status, "error")
            if row.status in {"REJECTED", "DENIED"}
            else (row.status)
        )
        price = row.price
        if row.trigger_price:  # stop and if-touched orders: "limit @trigger"
            limit = "" if price in ("", "-") else price
            price = f"{limit} @{row.trigger_price}".strip()
        return (
            row.client_order_id,
            side,
            row.type,
            row.quantity,
            row.filled,
            price,
            status,
            row.instrument_id,
            row.node_id,
        )
