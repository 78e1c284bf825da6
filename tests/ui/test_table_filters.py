"""The orders and positions filters (open, this node, this run, backtests), / in every
table, and the results screen's tab keys: pilot tests on a demo workspace."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import DataTable, TabbedContent

from console.feed import FeedState
from console.screens.results import ResultsScreen
from engine.events.envelope import Envelope
from engine.workspace import Workspace
from tests.ui.conftest import T0_NS, AppFactory, sample_envelopes
from tests.ui.helpers import wait_for
from tests.ui.test_snapshots import write_run
from widgets.alerts_table import AlertsTable
from widgets.find_table import RowsTable
from widgets.node_list import NodeList
from widgets.orders_table import OrdersTable
from widgets.positions_table import PositionsTable


def _env(seq: int, node: str, run: str, kind: str, type_: str, payload: dict[str, Any]) -> Envelope:
    return Envelope(seq, T0_NS + seq * 1_000_000, node, run, kind, type_, payload)


def earlier_sandbox_run() -> list[Envelope]:
    """demo-sandbox's run before run-1, which left an order working (as a crash would)."""
    return [
        _env(1, "demo-sandbox", "run-0", "node", "NodeStateChanged",
             {"state": "running", "previous": "starting", "mode": "sandbox"}),
        _env(2, "demo-sandbox", "run-0", "order", "OrderInitialized",
             {"client_order_id": "O-OLD", "instrument_id": "EUR/USD.SIM", "order_side": "BUY",
              "order_type": "LIMIT", "quantity": "5000", "price": "1.00000"}),
        _env(3, "demo-sandbox", "run-0", "order", "OrderAccepted", {"client_order_id": "O-OLD"}),
    ]  # fmt: skip


def backtest_run() -> list[Envelope]:
    """A finished demo-backtest run: one filled order, one closed position."""
    node, run = "demo-backtest", "bt-1"
    return [
        _env(1, node, run, "node", "NodeStateChanged",
             {"state": "running", "previous": "starting", "mode": "backtest"}),
        _env(2, node, run, "order", "OrderInitialized",
             {"client_order_id": "O-BT1", "instrument_id": "EUR/USD.SIM", "order_side": "SELL",
              "order_type": "MARKET", "quantity": "100000"}),
        _env(3, node, run, "order", "OrderFilled",
             {"client_order_id": "O-BT1", "last_qty": "100000", "last_px": "1.09000"}),
        _env(4, node, run, "position", "PositionClosed",
             {"position_id": "EUR/USD.SIM-BT-000", "instrument_id": "EUR/USD.SIM",
              "side": "FLAT", "quantity": "0", "avg_px_open": "1.09000",
              "realized_pnl": "5.00 USD"}),
        _env(5, node, run, "node", "NodeStateChanged",
             {"state": "completed", "previous": "running", "mode": "backtest"}),
    ]  # fmt: skip


def test_feed_rows_carry_their_run_and_its_mode() -> None:
    state = FeedState()
    state.apply(backtest_run())
    state.apply(earlier_sandbox_run())
    state.apply(sample_envelopes())
    orders = {o.client_order_id: o for o in state.orders.values()}
    assert (orders["O-BT1"].run_id, orders["O-BT1"].mode) == ("bt-1", "backtest")
    assert (orders["O-OLD"].run_id, orders["O-OLD"].mode) == ("run-0", "sandbox")
    assert (orders["O-0002"].run_id, orders["O-0002"].mode) == ("run-1", "sandbox")
    positions = {p.position_id: p for p in state.positions.values()}
    assert positions["EUR/USD.SIM-BT-000"].mode == "backtest"
    assert positions["EUR/USD.SIM-BT-000"].closed
    assert not positions["EUR/USD.SIM-EMACross-000"].closed


async def test_orders_and_positions_filters(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        for batch in (backtest_run(), earlier_sandbox_run(), sample_envelopes()):
            app.ingest(batch)
        await pilot.pause()
        main = app.main
        orders = main.query_one(OrdersTable)
        positions = main.query_one(PositionsTable)
        nodes = main.query_one(NodeList)

        def shown() -> list[str]:
            return [r.client_order_id for r in orders.rows_data]

        def shown_positions() -> list[str]:
            return [r.position_id for r in positions.rows_data]

        # The node list starts on demo-backtest: its run shows, with every live one.
        assert nodes.selected is not None and nodes.selected.node_id == "demo-backtest"
        assert shown() == ["O-BT1", "O-OLD", "O-0001", "O-0002", "O-0003"]
        # demo-sandbox selected: the backtest's rows are history, behind t.
        await pilot.press("1", "down")
        await wait_for(pilot, lambda: "O-BT1" not in shown())
        assert shown() == ["O-OLD", "O-0001", "O-0002", "O-0003"]
        assert orders.border_title == "Orders · 4 of 5"
        assert shown_positions() == ["EUR/USD.SIM-EMACross-000"]
        await pilot.press("3", "t")
        assert "O-BT1" in shown() and orders.border_title == "Orders · +backtests"
        await pilot.press("t", "o")  # open only: the working ones
        assert shown() == ["O-OLD", "O-0002"]
        await pilot.press("r")  # and of the node's current run only
        assert shown() == ["O-0002"]
        assert orders.border_title == "Orders · open · this run · 1 of 5"
        await pilot.press("a")
        assert shown() == ["O-OLD", "O-0001", "O-0002", "O-0003"]
        await pilot.press("t", "n")  # backtests on, but only the selected node
        assert shown() == ["O-OLD", "O-0001", "O-0002", "O-0003"]
        await pilot.press("a", "4", "t", "o")
        assert shown_positions() == ["EUR/USD.SIM-EMACross-000"]  # the closed one hides
        await pilot.press("a")
        # / finds text in any column, shown or not (the node is no column at this width).
        await pilot.press("3", "slash")
        await pilot.press(*"0002", "enter")
        assert shown() == ["O-0002"] and orders.has_focus
        assert orders.border_title == "Orders · /0002 · 1 of 5"
        await pilot.press("slash", "escape")
        assert shown() == ["O-OLD", "O-0001", "O-0002", "O-0003"] and orders.has_focus
        await pilot.press("slash", *"EUR/USD", "enter")
        assert len(shown()) == 4
        await pilot.press("slash", *"no such order", "enter")
        assert shown() == [] and orders.border_title == "Orders · /no such order · 0 of 5"


async def test_find_works_in_the_node_list_and_alerts(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.ingest(sample_envelopes())
        await pilot.pause()
        nodes = app.main.query_one(NodeList)
        await pilot.press("1", "slash", *"sandbox", "enter")
        assert [r.node_id for r in nodes.rows_data] == ["demo-sandbox"]
        app._refresh_rows()  # the once-a-second refresh keeps the filter
        assert [r.node_id for r in nodes.rows_data] == ["demo-sandbox"]
        alerts = app.main.query_one(AlertsTable)
        await pilot.press("6", "slash", *"denied", "enter")
        assert [a.message for a in alerts.rows_data] == [
            "OrderDenied O-0003: max_notional_per_order"
        ]


async def test_results_tabs_on_number_and_bracket_keys(
    make_app: AppFactory, workspace: Workspace
) -> None:
    write_run(workspace)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        screen = app.screen
        await wait_for(pilot, lambda: bool(screen.query("#results-stats")))
        await pilot.pause()
        tabs = screen.query_one(TabbedContent)

        def active() -> str:
            return tabs.active

        await pilot.press("2")
        assert active() == "tab-fills"
        focused = app.focused
        assert isinstance(focused, DataTable) and focused.id == "report-fills"
        await pilot.press("right_square_bracket")
        assert active() == "tab-positions"
        await pilot.press("right_square_bracket")  # wraps around
        assert active() == "tab-stats"
        await pilot.press("left_square_bracket")
        assert active() == "tab-positions"
        await pilot.press("1")
        assert active() == "tab-stats"
        await pilot.press("9")
        await wait_for(pilot, lambda: any("no tab 9" in n.message for n in app._notifications))
        assert active() == "tab-stats"
        bar = str(screen.query_one("#results-keys").render())
        assert "[ Prev tab" in bar and "] Next tab" in bar
        # / narrows the tab's table; the title says how far. Sent in one burst from the
        # statistics tab: 2 switches the tab before the / behind it is read.
        await pilot.press("1")
        send_burst(app, [("2", "2"), ("slash", "/"), *[(c, c) for c in "sell"], ("enter", "\r")])
        await wait_for(
            pilot, lambda: screen.query_one("#report-fills", RowsTable).find_text == "sell"
        )
        fills = screen.query_one("#report-fills", DataTable)
        assert fills.row_count == 1 and "SELL" in str(fills.get_row_at(0)[1])
        title = str(screen.query_one("#results-title").render())
        assert title.startswith("/sell: 1 of 2 rows · Results of demo-backtest")
        await pilot.press("slash", "escape")
        assert fills.row_count == 2 and fills.has_focus


def send_burst(app: Any, keys: list[tuple[str, str | None]]) -> None:
    """Send ``keys`` as the terminal driver sends a paste: all at once, no wait between."""
    driver = app._driver
    assert driver is not None
    for key, char in keys:
        event = events.Key(key, char)
        event.set_sender(app)
        driver.send_message(event)


async def test_a_burst_switching_pane_then_finding_lands_in_the_new_pane(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.ingest(sample_envelopes())
        await pilot.press("1")
        orders = app.main.query_one(OrdersTable)
        nodes = app.main.query_one(NodeList)
        send_burst(app, [("3", "3"), ("slash", "/"), *[(c, c) for c in "0002"], ("enter", "\r")])
        await wait_for(pilot, lambda: orders.find_text == "0002")
        assert nodes.find_text == "" and app.main.current == "orders"
        assert [r.client_order_id for r in orders.rows_data] == ["O-0002"]


async def test_find_takes_keys_sent_in_one_burst(make_app: AppFactory) -> None:
    # Over SSH or from a paste, "/", the text and Enter arrive together: none of the text
    # may reach the table's keys (5 would switch to the metrics pane).
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.ingest(sample_envelopes())
        await pilot.press("3")
        orders = app.main.query_one(OrdersTable)
        burst = [("slash", "/"), *[(c, c) for c in "0002"], ("minus", "-"), ("5", "5")]
        send_burst(app, [*burst, ("enter", "\r")])
        await wait_for(pilot, lambda: orders.find_text == "0002-5")
        assert app.main.current == "orders" and orders.has_focus
        assert orders.rows_data == []
