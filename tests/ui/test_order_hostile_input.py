"""Hostile values typed into every field of the order ticket and the modify dialog:
no crash, an inline message on the field, nothing sent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from textual.widgets import Input

from console.screens.modify_order import FIELDS, ModifyOrderModal
from console.screens.order_ticket import FORM_TYPES, OrderTicketScreen, field_spec, form_fields
from engine.orders.tickets import fields_for
from engine.orders.validation import InstrumentRules, MarketQuote
from tests.ui.helpers import wait_for
from tests.ui.screen_host import ScreenHost

RULES = InstrumentRules("EUR/USD.SIM", Decimal("0.00001"), Decimal(1), min_quantity=Decimal(1000))
QUOTE = MarketQuote(Decimal("1.08490"), Decimal("1.08500"))
NOW = datetime(2026, 1, 1, tzinfo=UTC)

# Refused in every number field, whatever the order type.
ALWAYS_REFUSED = [
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "9" * 400,
    "0." + "1" * 39,
    "١٢٣",
    "\uff11",  # fullwidth one
    "x" * 10_000,
]
# Refused or not depending on the field (0 is a fine limit offset): must not crash.
MAYBE = ["0", "-0", "-1.08", ""]
TIMES = ["9999-12-31T23:59Z", "0001-01-01T00:00Z", "0000-01-01", "x" * 10_000, "١٢٣"]


def _type_showing(name: str) -> str:
    return next(t for t in FORM_TYPES if name in fields_for(t))


def _text_fields() -> list[str]:
    return [n for n in form_fields() if field_spec(n)[0] in ("text", "time")]


async def test_hostile_values_in_every_ticket_field_show_on_the_field() -> None:
    screen = OrderTicketScreen(
        "buy",
        node_id="demo-sandbox",
        instrument_id="EUR/USD.SIM",
        rules=RULES,
        quote=QUOTE,
        clock=lambda: NOW,
    )
    app = ScreenHost(screen)
    async with app.run_test(size=(100, 40)) as pilot:
        screen.show_all = True
        checked = 0
        for name in _text_fields():
            order_type = _type_showing(name)
            if screen.order_type != order_type:
                screen._apply_type(order_type)
            numeric = name not in ("instrument_id", "expire_time")
            refused = (
                ALWAYS_REFUSED
                if numeric
                else TIMES
                if name == "expire_time"
                else ["A.", "x" * 10_000, " EUR"]
            )
            widget = screen.query_one(f"#f-{name}", Input)
            for value in [*refused, *(MAYBE if numeric else [])]:
                widget.value = value  # as a paste delivers it
                if value == "1e400":  # the value and key that crashed it, then tab
                    widget.focus()
                    await pilot.press("tab")
                screen._check()
                error = screen.field_error(name)
                if value in refused:
                    assert error, (name, value[:20])
                    assert len(error) < 400, (name, len(error))
                    checked += 1
                assert screen.ticket is None or value in MAYBE
            widget.value = ""
        await pilot.press("enter")
        await pilot.pause()
        assert not app.dismissed
        assert checked > 100


async def test_hostile_values_in_the_modify_dialog_show_on_the_field() -> None:
    modal = ModifyOrderModal("O-1", {"quantity": "100000", "price": "1.08", "trigger_price": None})
    app = ScreenHost(modal)
    async with app.run_test(size=(80, 24)) as pilot:
        for name, _label in FIELDS:
            widget = modal.query_one(f"#modify-{name}", Input)
            for value in [*ALWAYS_REFUSED, "0", "-0", "-1"]:
                widget.focus()
                widget.value = value
                await pilot.press("tab")
                await wait_for(pilot, lambda n=name: modal.field_error(n) != "")
                assert len(modal.field_error(name)) < 400
                await pilot.press("ctrl+s")
                await pilot.pause()
                assert not app.dismissed, (name, value[:20])
            widget.value = "" if name == "trigger_price" else modal.current[name] or ""
        # A good change still goes through.
        modal.query_one("#modify-price", Input).value = "1.09"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.dismissed)
        result: Any = app.result
        assert result == {"action": "modify", "client_order_id": "O-1", "price": "1.09"}


async def test_hostile_order_lines_show_under_the_line_and_an_unruled_ticket_says_so() -> None:
    screen = OrderTicketScreen("buy", node_id="demo-sandbox", instrument_id="EUR/USD.SIM")
    app = ScreenHost(screen)
    async with app.run_test(size=(100, 40)) as pilot:
        title = str(screen.query_one("#ticket-title").render())
        assert "no rules from the node" in title
        line_input = screen.query_one("#ticket-syntax", Input)
        error = screen.query_one("#ticket-syntax-error")
        for value in [*ALWAYS_REFUSED, *TIMES]:
            line = f"buy {value} EUR/USD.SIM limit 1.085"
            if value in TIMES:
                line = f"buy 100000 EUR/USD.SIM limit 1.085 gtd {value}"
            line_input.value = line
            line_input.focus()
            await pilot.press("enter")
            await pilot.pause()
            shown = str(error.render())
            assert shown.startswith("✗") and len(shown) < 400, (value[:20], shown[:80])
            assert not app.dismissed


def _burst(app: ScreenHost, text: str) -> None:
    # As a terminal delivers a paste or fast typing: every key queued before any is handled.
    from textual import events

    names = {"\t": "tab", ".": "full_stop", "\x7f": "backspace", "\r": "enter"}
    for ch in text:
        app.post_message(events.Key(names.get(ch, ch), ch))


async def test_a_burst_with_tabs_fills_one_field_after_another() -> None:
    screen = OrderTicketScreen("buy", node_id="n", instrument_id="EUR/USD.SIM", rules=RULES)
    app = ScreenHost(screen)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "f-quantity")
        _burst(app, "100000\t1.085")
        await wait_for(pilot, lambda: screen.query_one("#f-price", Input).value == "1.085")
        assert screen.query_one("#f-quantity", Input).value == "100000"

    modal = ModifyOrderModal("O-1", {"quantity": None, "price": None, "trigger_price": None})
    app = ScreenHost(modal)
    async with app.run_test(size=(80, 24)) as pilot:
        modal.query_one("#modify-quantity", Input).focus()
        await pilot.pause()
        _burst(app, "2000\t1.09")
        await wait_for(pilot, lambda: modal.query_one("#modify-price", Input).value == "1.09")
        assert modal.query_one("#modify-quantity", Input).value == "2000"


async def test_a_burst_with_backspaces_edits_in_key_order() -> None:
    # 1.000001, eight backspaces, 1.07, enter — in one burst — is 1.07, never 1.0000.
    screen = OrderTicketScreen("buy", node_id="n", instrument_id="EUR/USD.SIM", rules=RULES)
    app = ScreenHost(screen)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "f-quantity")
        _burst(app, "100000\t1.000001" + "\x7f" * 8 + "1.07\r")
        await wait_for(pilot, lambda: app.dismissed)
        assert app.result["price"] == "1.07" and app.result["quantity"] == "100000"

    modal = ModifyOrderModal("O-1", {"quantity": "1000", "price": "1.08", "trigger_price": None})
    app = ScreenHost(modal)
    async with app.run_test(size=(80, 24)) as pilot:
        modal.query_one("#modify-price", Input).focus()
        await pilot.press("end")
        _burst(app, "\x7f\x7f\x7f\x7f" + "1.09\r")
        await wait_for(pilot, lambda: app.dismissed)
        assert app.result == {"action": "modify", "client_order_id": "O-1", "price": "1.09"}
