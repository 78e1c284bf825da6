"""Tables fitted to the pane: numbers whole and right-aligned, columns dropped whole by
priority, long text cut with an ellipsis; the key bar keeps whole labels."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult

from console.screens.keys import keys_table
from tests.ui.conftest import AppFactory, sample_envelopes
from tests.ui.helpers import wait_for
from widgets.data import OrderRow, PositionRow
from widgets.key_bar import KEYS_RANK, KeyBar, fit_keys
from widgets.keyed_table import PAD, Col, fit_columns, fit_text
from widgets.orders_table import OrdersTable
from widgets.positions_table import PositionsTable

HOSTILE_NUMBERS = ["NaN", "inf", "-inf", "1e400", "-0", "0", "-12.5", "9" * 400, "1." + "3" * 39]


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[Col], list[int], int]:
    n = draw(st.integers(1, 10))
    cols = []
    for i in range(n):
        numeric = draw(st.booleans())
        cols.append(
            Col(
                f"c{i}",
                "x",
                priority=draw(st.integers(0, 9)),
                numeric=numeric,
                min_width=0 if numeric else draw(st.integers(0, 20)),
                long=draw(st.booleans()),
            )
        )
    natural = draw(st.lists(st.integers(1, 80), min_size=n, max_size=n))
    return cols, natural, draw(st.integers(-1, 260))


@settings(max_examples=400, deadline=None)
@given(layouts())
def test_fitted_columns_keep_numbers_whole_and_fit_the_room(
    layout: tuple[list[Col], list[int], int],
) -> None:
    cols, natural, room = layout
    shown, widths = fit_columns(cols, natural, room)
    assert list(shown) == sorted(shown) and len(shown) == len(widths)
    if room <= 0:
        assert widths == tuple(natural)
        return
    first = min(range(len(cols)), key=lambda i: (cols[i].priority, i))
    assert first in shown  # the most important column always shows
    for i, width in zip(shown, widths, strict=True):
        assert 1 <= width <= natural[i]
        if (cols[i].numeric or not cols[i].min_width) and len(shown) > 1:
            assert width == natural[i]  # never cut: shown whole or dropped whole
    if len(shown) > 1:
        assert sum(w + 2 * PAD for w in widths) <= room
    if sum(w + 2 * PAD for w in natural) <= room:
        assert widths == tuple(natural)  # room for everything: nothing cut or dropped


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=60), st.integers(0, 70), st.booleans())
def test_fitted_text_fits_and_says_it_was_cut(text: str, width: int, keep_tail: bool) -> None:
    source = Text(text)
    fitted = fit_text(source, width, keep_tail)
    if source.cell_len <= width:
        assert fitted is source
        return
    assert fitted.cell_len <= width
    if width >= 2:
        assert fitted.plain.startswith("…") if keep_tail else fitted.plain.endswith("…")


class _Tables(App[None]):
    def compose(self) -> ComposeResult:
        yield OrdersTable(id="orders")
        yield PositionsTable(id="positions")


def _order(i: int, quantity: str = "100000", price: str = "1.08500") -> OrderRow:
    return OrderRow(
        client_order_id=f"O-20261207-050347-002-001-{i}",
        node_id="demo-sandbox",
        instrument_id="EUR/USD.SIM",
        side="SELL" if i % 2 else "BUY",
        type="STOP_LIMIT",
        quantity=quantity,
        price=price,
        filled="0",
        status="PARTIALLY_FILLED",
        trigger_price="1.08000" if i == 1 else None,
        run_id="run-1",
        mode="sandbox",
    )


def _lines(table: Any) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.mark.parametrize("width", [40, 80, 100, 160, 200])
async def test_order_numbers_are_never_cut_at_any_width(width: int) -> None:
    app = _Tables()
    async with app.run_test(size=(width, 30)) as pilot:
        orders = app.query_one(OrdersTable)
        orders.styles.height = 14
        rows = [_order(i, quantity=q) for i, q in enumerate(HOSTILE_NUMBERS)]
        orders.set_rows(rows)
        await pilot.pause()
        shown = orders.shown_columns
        assert shown[0] == "id"  # the most important column first
        lines = _lines(orders)
        body = "\n".join(lines)
        for row, line in zip(rows, lines[1:], strict=False):
            if "qty" in shown:
                assert f" {row.quantity} " in f"{line} "  # whole, with a space before
            if "price" in shown:
                assert "1.08500" in line
        if "qty" not in shown:  # dropped whole: not even a piece of the 400 nines
            assert "9" * 12 not in body
        # Right-aligned: the price ends where its column ends in every row.
        if "price" in shown:
            ends = {
                line.rindex("1.08500") + 7
                for line in lines[1:]
                if "1.08500" in line and "@" not in line
            }
            ends |= {line.rindex("@1.08000") + 8 for line in lines[1:] if "@1.08000" in line}
            assert len(ends) == 1


async def test_columns_go_lowest_priority_first_and_come_back_with_room() -> None:
    app = _Tables()
    async with app.run_test(size=(200, 30)) as pilot:
        orders = app.query_one(OrdersTable)
        orders.set_rows([_order(i) for i in range(3)])
        await pilot.pause()
        wide = orders.shown_columns
        assert wide == [c.key for c in OrdersTable.COLUMNS]  # room for all, declared order
        await pilot.resize_terminal(60, 30)
        await pilot.pause()
        narrow = orders.shown_columns
        by_priority = sorted(OrdersTable.COLUMNS, key=lambda c: c.priority)
        assert narrow[:3] == ["id", "side", "qty"] and "node" not in narrow
        dropped = [c.key for c in by_priority if c.key not in narrow]
        kept = [c.priority for c in OrdersTable.COLUMNS if c.key in narrow]
        assert min(c.priority for c in OrdersTable.COLUMNS if c.key in dropped) > min(kept)
        await pilot.resize_terminal(200, 30)
        await pilot.pause()
        assert orders.shown_columns == wide


async def test_a_wider_number_arriving_refits_instead_of_being_cut() -> None:
    app = _Tables()
    async with app.run_test(size=(100, 30)) as pilot:
        orders = app.query_one(OrdersTable)
        orders.set_rows([_order(1, quantity="1")])
        await pilot.pause()
        orders.upsert([_order(1, quantity="123456789012")])
        await pilot.pause()
        assert "qty" in orders.shown_columns
        assert any(" 123456789012 " in f"{line} " for line in _lines(orders))


async def test_position_columns_put_instrument_and_money_first() -> None:
    app = _Tables()
    async with app.run_test(size=(80, 30)) as pilot:
        positions = app.query_one(PositionsTable)
        positions.set_rows(
            [
                PositionRow(
                    "EUR/USD.SIM-GatewayStrategy-001",
                    "demo-sandbox",
                    "EUR/USD.SIM",
                    "LONG",
                    "200000",
                    "1.09945",
                    "-1,234,567.89 USD",
                    "-4.40 USD",
                )
            ]
        )
        await pilot.pause()
        shown = positions.shown_columns
        assert shown[:6] == ["instrument", "side", "qty", "avg", "upnl", "rpnl"]
        assert "-1,234,567.89 USD" in _lines(positions)[1]


def test_key_bar_keeps_labels_whole_and_always_shows_the_keys_help() -> None:
    parts = [
        (0, Text("m Modify")),
        (0, Text("C Cancel all")),
        (1, Text("b Buy")),
        (KEYS_RANK, Text("? Keys")),
        (3, Text("/ Find")),
        (5, Text("^t Theme")),
    ]
    for width in range(0, 60):
        shown = [p.plain for p in fit_keys(parts, width)]
        assert "? Keys" in shown
        if width:
            assert len("  ".join(shown)) <= max(width, len("? Keys"))
        labels = {p.plain for _r, p in parts}
        assert set(shown) <= labels  # whole labels only, never a piece of one
    assert [p.plain for p in fit_keys(parts, 36)] == ["m Modify", "C Cancel all", "? Keys"]


def test_keys_help_wraps_every_description_whole() -> None:
    long_tip = "Show backtest runs of every node too (by default only the selected node's)"
    rows = [
        ("orders", "t", "filter.backtests", "Backtests", long_tip),
        ("app", "^q", "app.quit", "Quit", "Quit (asks about live nodes)"),
    ]
    for width in (60, 70, 100):
        console = Console(width=width, record=True, color_system=None)
        console.print(keys_table(rows, width))
        text = console.export_text()
        assert "…" not in text
        words = " ".join(text.split())
        for _scope, _key, binding_id, _action, tip in rows:
            assert binding_id in words
            for word in tip.split():
                assert word in words


def test_keys_help_puts_each_id_flush_after_its_description_when_narrow() -> None:
    # An id wrapped by the table started a cell into the description column, under a
    # word: it goes after the description's last line only when it fits there whole.
    rows = [
        ("nodes", "n", "node.create", "New", "Create a node from a template"),
        ("nodes", "e", "node.edit", "Edit", "Edit the selected node's config in a form"),
        ("nodes", "d", "node.delete", "Delete", "Delete the selected node's config (asks first)"),
        (
            "app",
            "^k",
            "app.kill-switch",
            "Kill switch",
            "Kill switch: flatten every running node, then halt it (asks once)",
        ),
    ]
    for width in range(40, 84):
        console = Console(width=width, record=True, color_system=None)
        console.print(keys_table(rows, width))
        lines = console.export_text().splitlines()
        what_col = lines[0].index("What it does")
        for _scope, _key, binding_id, _action, _tip in rows:
            (line,) = [ln for ln in lines if binding_id in ln.split()]
            at = line.index(binding_id)
            assert len(line.rstrip()) <= width
            assert at == what_col or (line[at - 2 : at] == "  " and line[at - 3] != " "), (
                width,
                line,
            )


async def test_key_bar_at_80x24_shows_whole_labels_of_each_pane(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.ingest(sample_envelopes())
        bar = app.main.query_one(KeyBar)
        for pane in "123456":
            await pilot.press(pane)
            await pilot.pause()
            active = app.screen.active_bindings.values()
            labels = {f"{app.get_key_display(a.binding)} {a.binding.description}" for a in active}
            text = str(bar.render())
            assert len(text) <= 78, (pane, text)
            parts = text.split("  ")
            assert "? Keys" in parts and all(p in labels for p in parts), (pane, parts)
            if pane == "3":
                assert parts[:4] == ["m Modify", "c Cancel", "C Cancel all", "F Flatten"]
                assert "b Buy" in parts and "s Sell" in parts
