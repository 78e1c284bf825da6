"""Every validation rule reports its field, the value and what was expected."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from engine.orders.issues import OrderValidationError
from engine.orders.tickets import load_ticket
from engine.orders.validation import InstrumentRules, MarketQuote, validate_ticket

EUR = "EUR/USD.SIM"
RULES = InstrumentRules(
    instrument_id=EUR,
    price_increment=D("0.00001"),
    size_increment=D("1"),
    min_quantity=D("1000"),
    max_quantity=D("10000000"),
    min_notional=D("1000"),
    max_notional=D("50000000"),
    min_price=D("0.5"),
    max_price=D("2"),
    notional_currency="USD",
)
QUOTE = MarketQuote(bid=D("1.08490"), ask=D("1.08500"))


def _issues(data: dict[str, Any], **kw: Any) -> list[tuple[str, Any, str]]:
    ticket = load_ticket({"instrument_id": EUR, "side": "BUY", "quantity": "10000", **data})
    return [(i.path, i.to_dict()["value"], i.expected) for i in validate_ticket(ticket, **kw)]


def test_valid_ticket_has_no_issues() -> None:
    assert _issues({"type": "LIMIT", "price": "1.08000"}, instrument=RULES, quote=QUOTE) == []


@pytest.mark.parametrize(
    ("data", "path", "value", "expected"),
    [
        ({"type": "MARKET", "quantity": "0"}, "quantity", "0", "a quantity greater than 0"),
        ({"type": "MARKET", "time_in_force": "GTD"}, "time_in_force", "GTD", "GTC, IOC, FOK"),
        (
            {"type": "STOP_MARKET", "trigger_price": "1.1", "time_in_force": "AT_THE_OPEN"},
            "time_in_force",
            "AT_THE_OPEN",
            "GTC, IOC, FOK, GTD or DAY for STOP_MARKET",
        ),
        ({"type": "LIMIT", "price": "1", "time_in_force": "GTD"}, "expire_time", None, "an expiry"),
        (
            {"type": "LIMIT", "price": "1", "expire_time": "2030-01-01T00:00Z"},
            "expire_time",
            "2030-01-01T00:00:00+00:00",
            "no expiry time unless time_in_force is GTD",
        ),
        (
            {"type": "LIMIT", "price": "1", "post_only": True, "time_in_force": "IOC"},
            "post_only",
            True,
            "post_only false with time_in_force IOC",
        ),
        (
            {"type": "LIMIT", "price": "1", "display_qty": "20000"},
            "display_qty",
            "20000",
            "a display quantity in (0, 10000]",
        ),
        (
            {"type": "TRAILING_STOP_MARKET", "trailing_offset": "0"},
            "trailing_offset",
            "0",
            "an offset above 0",
        ),
        (
            {"type": "TRAILING_STOP_LIMIT", "trailing_offset": "1", "limit_offset": "-1"},
            "limit_offset",
            "-1",
            "an offset of 0 or more",
        ),
    ],
)
def test_rules_by_type_and_time_in_force(
    data: dict[str, Any], path: str, value: Any, expected: str
) -> None:
    ((got_path, got_value, got_expected),) = _issues(data)
    assert (got_path, got_value) == (path, value)
    assert got_expected.startswith(expected)


def test_gtd_expiry_must_be_in_the_future() -> None:
    from datetime import UTC, datetime

    issues = _issues(
        {"type": "LIMIT", "price": "1", "time_in_force": "GTD", "expire_time": "2020-01-01T00:00Z"},
        now=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert issues == [
        ("expire_time", "2020-01-01T00:00:00+00:00", "a time after 2025-01-01T00:00:00+00:00")
    ]


@pytest.mark.parametrize(
    ("data", "path", "value", "expected"),
    [
        (
            {"type": "LIMIT", "price": "1.085001"},
            "price",
            "1.085001",
            "a multiple of the price increment 0.00001",
        ),
        ({"type": "LIMIT", "price": "0.4"}, "price", "0.4", "at least the minimum price 0.5"),
        ({"type": "LIMIT", "price": "2.5"}, "price", "2.5", "at most the maximum price 2"),
        (
            {"type": "LIMIT", "price": "1", "quantity": "1000.5"},
            "quantity",
            "1000.5",
            "a multiple of the size increment 1",
        ),
        (
            {"type": "LIMIT", "price": "1", "quantity": "20000000"},
            "quantity",
            "20000000",
            "at most the maximum 10000000",
        ),
        (
            {"type": "LIMIT", "price": "1", "quantity": "10000", "display_qty": "100.5"},
            "display_qty",
            "100.5",
            "a multiple of the size increment 1",
        ),
        (
            {
                "type": "TRAILING_STOP_MARKET",
                "trailing_offset": "1.5",
                "trailing_offset_type": "TICKS",
            },
            "trailing_offset",
            "1.5",
            "a whole number of ticks",
        ),
        (
            {"type": "TRAILING_STOP_MARKET", "trailing_offset": "0.000001"},
            "trailing_offset",
            "0.000001",
            "a multiple of the price increment",
        ),
    ],
)
def test_rules_by_instrument(data: dict[str, Any], path: str, value: Any, expected: str) -> None:
    ((got_path, got_value, got_expected),) = _issues(data, instrument=RULES)
    assert (got_path, got_value) == (path, value)
    assert got_expected.startswith(expected)


def test_min_quantity_and_min_notional_are_both_reported() -> None:
    issues = _issues({"type": "LIMIT", "price": "1", "quantity": "500"}, instrument=RULES)
    assert issues == [
        ("quantity", "500", "at least the minimum 1000"),
        ("quantity", "500", "a notional of at least 1000 USD (was 500 at 1)"),
    ]


def test_max_notional_uses_the_quote_for_market_orders() -> None:
    rules = InstrumentRules(EUR, D("0.00001"), D("1"), max_notional=D("1000000"))
    issues = _issues({"type": "MARKET", "quantity": "1000000"}, instrument=rules, quote=QUOTE)
    assert issues == [
        ("quantity", "1000000", "a notional of at most 1000000 (was 1085000.00000 at 1.08500)")
    ]


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        (
            {"type": "STOP_MARKET", "trigger_price": "1.08500"},
            "trigger_price",
            "above the ask 1.08500",
        ),
        (
            {"type": "STOP_LIMIT", "side": "SELL", "trigger_price": "1.08490", "price": "1.08"},
            "trigger_price",
            "below the bid 1.08490",
        ),
        (
            {"type": "MARKET_IF_TOUCHED", "trigger_price": "1.08600"},
            "trigger_price",
            "below the ask",
        ),
        (
            {
                "type": "LIMIT_IF_TOUCHED",
                "side": "SELL",
                "trigger_price": "1.08400",
                "price": "1.09",
            },
            "trigger_price",
            "above the bid",
        ),
        (
            {"type": "TRAILING_STOP_MARKET", "trailing_offset": "0.001", "trigger_price": "1.08"},
            "trigger_price",
            "above the ask",
        ),
        (
            {"type": "LIMIT", "price": "1.08500", "post_only": True},
            "price",
            "below the ask 1.08500 for a post-only BUY",
        ),
        (
            {"type": "LIMIT", "side": "SELL", "price": "1.08490", "post_only": True},
            "price",
            "above the bid 1.08490",
        ),
    ],
)
def test_trigger_side_relative_to_the_quote(data: dict[str, Any], path: str, expected: str) -> None:
    ((got_path, _, got_expected),) = _issues(data, quote=QUOTE)
    assert got_path == path
    assert got_expected.startswith(expected)


def test_every_problem_is_reported_at_once() -> None:
    issues = _issues(
        {
            "type": "STOP_LIMIT",
            "quantity": "1000.5",
            "trigger_price": "1.084",
            "price": "1.0850001",
            "time_in_force": "AT_THE_CLOSE",
            "post_only": True,
            "display_qty": "5000",
        },
        instrument=RULES,
        quote=QUOTE,
    )
    assert [i[0] for i in issues] == [
        "time_in_force",
        "display_qty",
        "price",
        "quantity",
        "trigger_price",
    ]


def test_bracket_rules() -> None:
    base = {"type": "BRACKET", "entry_type": "LIMIT", "entry_price": "1.08"}
    assert _issues({**base, "tp_price": "1.09"}) == [
        ("sl_trigger_price", None, "a value, required for a STOP_MARKET leg")
    ]
    assert _issues(
        {**base, "entry_type": "MARKET", "sl_trigger_price": "1.07", "tp_price": "1.09"}
    ) == [("entry_price", "1.08", "no value for a MARKET leg")]
    assert _issues({**base, "sl_trigger_price": "1.09", "tp_price": "1.07"}) == [
        ("sl_trigger_price", "1.09", "below the entry 1.08 for a BUY"),
        ("tp_price", "1.07", "above the entry 1.08 for a BUY"),
    ]
    assert _issues(
        {**base, "sl_trigger_price": "1.07", "tp_price": "1.09", "sl_time_in_force": "GTD"}
    ) == [("sl_time_in_force", "GTD", "GTC, IOC, FOK or DAY (children take no expiry)")]
    assert _issues(
        {**base, "entry_price": "1.080001", "sl_trigger_price": "1.07", "tp_price": "1.09"},
        instrument=RULES,
    ) == [("entry_price", "1.080001", "a multiple of the price increment 0.00001")]


def test_list_rules_name_the_leg() -> None:
    leg = {"instrument_id": EUR, "side": "BUY", "quantity": "10000"}
    ticket = load_ticket(
        {
            "type": "OCO",
            "orders": [
                {**leg, "type": "LIMIT", "price": "1.08"},
                {**leg, "type": "STOP_MARKET", "trigger_price": "1.08", "instrument_id": "X.Y"},
            ],
        }
    )
    got = [(i.path, i.expected) for i in validate_ticket(ticket, quote=QUOTE)]
    assert got == [
        ("orders[1].instrument_id", f"{EUR} (all orders of a list trade one instrument)"),
        ("orders[1].trigger_price", "above the ask 1.08500 for a BUY STOP_MARKET"),
    ]
    one = load_ticket({"type": "OTO", "orders": [{**leg, "type": "MARKET"}]})
    assert [i.path for i in validate_ticket(one)] == ["orders"]


def test_structural_errors_name_fields() -> None:
    with pytest.raises(OrderValidationError) as err:
        load_ticket(
            {
                "type": "limit",
                "instrument_id": EUR,
                "side": "hold",
                "quantity": "lots",
                "trailing_offset": "1",
            }
        )
    got = {i["path"]: i for i in err.value.to_dict()["issues"]}
    assert set(got) == {"side", "quantity", "price", "trailing_offset"}
    assert got["price"]["expected"] == "a value (this field is required)"
    assert got["trailing_offset"]["expected"] == "no such field for this order type"
    assert got["quantity"]["value"] == "lots"


def test_rules_read_from_a_nautilus_instrument() -> None:
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    rules = InstrumentRules.from_instrument(TestInstrumentProvider.default_fx_ccy("EUR/USD"))
    assert rules.instrument_id == EUR
    assert rules.price_increment == D("0.00001")
    assert rules.min_quantity == D("1000")
    assert rules.notional_currency == "USD"


def test_rules_and_quotes_travel_as_plain_json_exactly() -> None:
    import json

    from engine.orders.validation import InstrumentRules, MarketQuote

    rules = InstrumentRules(
        "EUR/USD.SIM", D("0.00001"), D("1000"), min_quantity=D("1000"),
        max_notional=D("1000000"), notional_currency="USD",
    )  # fmt: skip
    assert InstrumentRules.from_dict(json.loads(json.dumps(rules.to_dict()))) == rules
    quote = MarketQuote(D("1.10002"), D("1.10004"))
    assert MarketQuote.from_dict(json.loads(json.dumps(quote.to_dict()))) == quote
    with pytest.raises(ValueError, match="price_increment: got 'x', expected a decimal"):
        InstrumentRules.from_dict({**rules.to_dict(), "price_increment": "x"})
    with pytest.raises(ValueError, match="size_increment: missing"):
        InstrumentRules.from_dict({"instrument_id": "X", "price_increment": "0.1"})
