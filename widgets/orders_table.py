"""Orders: working orders and the last closed ones, newest last; order actions by key."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message

from widgets.data import OrderRow
from widgets.keyed_table import KeyedTable

ORDER_ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    # (action, key, description, tooltip)
    ("modify", "m", "Modify", "Change the selected order's quantity, price or trigger"),
    ("cancel", "c", "Cancel", "Cancel the selected order (asks first)"),
    ("cancel_all", "C", "Cancel all", "Cancel every working order of the node (asks first)"),
    ("flatten", "F", "Flatten", "Cancel every order and close every position (asks first)"),
)


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
            row.node_id,
            row.instrument_id,
            side,
            row.type,
            row.quantity,
            price,
            row.filled,
            status,
        )
