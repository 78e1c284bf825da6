"""KeyedTable's fast cell rendering draws exactly what DataTable draws."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from themes.loader import load_themes
from widgets.data import OrderRow
from widgets.orders_table import OrdersTable


class _OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield OrdersTable(id="orders")


def _row(i: int) -> OrderRow:
    return OrderRow(
        client_order_id=f"O-[b]{i}[/b]",  # markup: DataTable parses str cells as markup
        node_id="demo-sandbox",
        instrument_id="EUR/USD.SIM",
        side="BUY" if i % 2 else "SELL",  # theme-coloured Text
        type="STOP_LIMIT",
        quantity="100000",
        price="1.1",
        filled="0",
        status="REJECTED" if i == 0 else "ACCEPTED",
        trigger_price="1.2" if i == 2 else None,
    )


@pytest.mark.parametrize("theme", ["gateway-dark", "gateway-light", "gateway-high-contrast"])
async def test_fast_cells_equal_datatable_cells(theme: str) -> None:
    app = _OneTable()
    async with app.run_test(size=(120, 12)) as pilot:
        for loaded in load_themes().themes:
            app.register_theme(loaded)
        app.theme = theme
        table = app.query_one(OrdersTable)
        table.set_rows([_row(i) for i in range(3)])
        table.focus()
        await pilot.pause()
        compared = 0
        for row in range(3):
            for column in range(len(OrdersTable.COLUMNS)):
                for width in (3, 6, 12, 30):  # cropped, exact and padded cells
                    for cursor, hover in ((False, False), (True, False), (False, True)):
                        fast = table._render_cell(
                            row, column, table.rich_style, width, cursor, hover
                        )
                        table._cell_render_cache.clear()  # its key ignores the width
                        slow = DataTable._render_cell(
                            table, row, column, table.rich_style, width, cursor, hover
                        )
                        assert fast == slow, (row, column, width, cursor, hover)
                        compared += 1
        assert compared == 3 * 9 * 4 * 3
