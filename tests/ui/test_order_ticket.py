"""Pilot and snapshot tests of the order ticket (a host app pushes the screen)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from console.screens.confirm import ConfirmModal
from console.screens.order_ticket import OrderTicketScreen, submit_command
from engine.orders.commands import load_command
from engine.orders.syntax import parse_ticket
from engine.orders.tickets import load_ticket
from engine.orders.validation import InstrumentRules, MarketQuote
from tests.ui.helpers import wait_for
from tests.ui.screen_host import ScreenHost

RULES = InstrumentRules(
    "EUR/USD.SIM", Decimal("0.00001"), Decimal(1000), min_quantity=Decimal(1000)
)
QUOTE = MarketQuote(Decimal("1.08490"), Decimal("1.08500"))
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def ticket_app(side: str = "buy", **kwargs: Any) -> ScreenHost:
    screen = OrderTicketScreen(
        side,
        node_id="demo-sandbox",
        instrument_id="EUR/USD.SIM",
        rules=RULES,
        quote=QUOTE,
        clock=lambda: NOW,
        **kwargs,
    )
    return ScreenHost(screen)


def ticket_of(app: ScreenHost) -> OrderTicketScreen:
    screen = app.screen
    assert isinstance(screen, OrderTicketScreen)
    return screen


async def choose_type(pilot: Pilot[Any], screen: OrderTicketScreen, order_type: str) -> None:
    screen.query_one("#ticket-type", Select).value = order_type
    await wait_for(pilot, lambda: screen.order_type == order_type)


async def test_fields_follow_the_order_type() -> None:
    app = ticket_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = ticket_of(app)
        assert "price" in screen.visible_fields()
        assert "trigger_price" not in screen.visible_fields()
        await choose_type(pilot, screen, "MARKET")
        assert "price" not in screen.visible_fields()
        assert "post_only" not in screen.visible_fields()
        await choose_type(pilot, screen, "TRAILING_STOP_LIMIT")
        shown = screen.visible_fields()
        assert {"trailing_offset", "limit_offset", "trailing_offset_type"} <= set(shown)
        await choose_type(pilot, screen, "BRACKET")
        assert {"sl_trigger_price", "tp_price", "entry_type"} <= set(screen.visible_fields())
        assert "trailing_offset" not in screen.visible_fields()
        # tab walks the shown fields only: from quantity it lands on the next shown one
        await choose_type(pilot, screen, "STOP_MARKET")
        screen.query_one("#f-quantity", Input).focus()
        await pilot.press("tab")
        assert app.focused is not None and app.focused.id == "f-trigger_price"


async def test_missing_limit_price_and_off_increment_price_show_on_the_price_field() -> None:
    app = ticket_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = ticket_of(app)
        await pilot.press(*"100000", "enter")  # quantity typed, no price: enter refused
        await wait_for(pilot, lambda: screen.field_error("price") != "")
        assert "required" in screen.field_error("price")
        assert not app.dismissed
        await pilot.press("tab", *"1.085005")
        await wait_for(pilot, lambda: "price increment 0.00001" in screen.field_error("price"))
        assert "1.085005" in screen.field_error("price")
        await pilot.press("enter")
        await pilot.pause()
        assert not app.dismissed
        screen.set_field("quantity", "100500")  # off the size increment 1000
        await wait_for(pilot, lambda: "size increment" in screen.field_error("quantity"))


async def test_order_line_fills_the_form_and_submit_returns_that_ticket() -> None:
    line = "sell 50000 EUR/USD.SIM stop-limit 1.08000 1.07990 ioc reduce-only tag=manual"
    app = ticket_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = ticket_of(app)
        await pilot.press("ctrl+l")
        syntax = screen.query_one("#ticket-syntax", Input)
        assert app.focused is syntax
        syntax.value = line[:-3]  # most of it pasted, the end typed: fills as it parses
        await pilot.press(*line[-3:])
        await wait_for(pilot, lambda: screen.order_type == "STOP_LIMIT")
        assert screen.query_one("#f-trigger_price", Input).value == "1.08000"
        assert screen.query_one("#f-price", Input).value == "1.07990"
        assert screen.query_one("#f-side", Select).value == "SELL"
        assert screen.query_one("#f-time_in_force", Select).value == "IOC"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.dismissed)
    assert isinstance(app.result, dict)
    assert load_ticket(app.result) == parse_ticket(line)
    command = submit_command(app.result)
    assert command["action"] == "submit"
    assert load_command(command).ticket == parse_ticket(line)  # type: ignore[union-attr]


async def test_form_entry_submits_a_valid_ticket() -> None:
    app = ticket_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press(*"100000", "tab", *"1.08450", "enter")
        await wait_for(pilot, lambda: app.dismissed)
    assert load_ticket(app.result) == parse_ticket("buy 100000 EUR/USD.SIM limit 1.08450")


async def test_a_market_order_without_a_quote_asks_first_saying_why() -> None:
    screen = OrderTicketScreen(
        "buy",
        node_id="demo-sandbox",
        instrument_id="EUR/USD.SIM",
        rules=RULES,
        quote=None,  # the console has no quote for this instrument
        clock=lambda: NOW,
        confirm_above=Decimal(1_000_000),
    )
    app = ScreenHost(screen)
    async with app.run_test(size=(100, 40)) as pilot:
        await choose_type(pilot, screen, "MARKET")
        screen.set_field("quantity", "1000")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        question = app.screen.question
        assert "notional is unknown (no price or quote to value it at)" in question
        assert "may be above 1,000,000" in question
        await pilot.press("y")
        await wait_for(pilot, lambda: app.dismissed)
    assert load_ticket(app.result).type == "MARKET"  # type: ignore[union-attr]


async def test_escape_cancels_with_none() -> None:
    app = ticket_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("1", "escape")
        await wait_for(pilot, lambda: app.dismissed)
    assert app.result is None


async def test_notional_above_threshold_asks_first() -> None:
    app = ticket_app(confirm_above=Decimal(50_000))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = ticket_of(app)
        screen.set_field("quantity", "100000")
        screen.set_field("price", "1.08450")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert "has a notional of 108,450.00, above 50,000." in app.screen.question
        await pilot.press("n")  # back to the ticket, nothing sent
        await wait_for(pilot, lambda: app.screen is screen)
        assert not app.dismissed
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.dismissed)
    assert load_ticket(app.result).quantity == Decimal(100000)  # type: ignore[union-attr]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_ticket_with_error(snap_compare: Any, size: tuple[int, int]) -> None:
    app = ticket_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = ticket_of(app)
        screen.set_field("quantity", "100000")
        screen.set_field("price", "1.085005")
        await wait_for(pilot, lambda: screen.field_error("price") != "")
        for field in screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
