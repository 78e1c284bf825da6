"""The one-line order syntax: examples from the README, round trips, and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.orders.syntax import OrderSyntaxError, format_ticket, parse_ticket
from engine.orders.tickets import load_ticket


def test_readme_examples() -> None:
    t = parse_ticket("buy 100000 EUR/USD.SIM limit 1.0850 gtc")
    assert (t.type, t.side, t.quantity, t.price, t.time_in_force) == (  # type: ignore[union-attr]
        "LIMIT",
        "BUY",
        Decimal(100000),
        Decimal("1.0850"),
        "GTC",
    )
    s = parse_ticket("sell 1 BTCUSDT-PERP.BINANCE stop 42000 ioc reduce-only")
    assert s.model_dump(include={"type", "trigger_price", "time_in_force", "reduce_only"}) == {
        "type": "STOP_MARKET",
        "trigger_price": Decimal(42000),
        "time_in_force": "IOC",
        "reduce_only": True,
    }
    tr = parse_ticket("buy 100000 EUR/USD.SIM trailing-stop offset 20 ticks")
    assert tr.model_dump(include={"type", "trailing_offset", "trailing_offset_type"}) == {
        "type": "TRAILING_STOP_MARKET",
        "trailing_offset": Decimal(20),
        "trailing_offset_type": "TICKS",
    }
    b = parse_ticket("buy 1 X.Y bracket entry 1.08 sl 1.07 tp 1.09")
    assert b.model_dump(include={"entry_type", "entry_price", "sl_trigger_price", "tp_price"}) == {
        "entry_type": "LIMIT",
        "entry_price": Decimal("1.08"),
        "sl_trigger_price": Decimal("1.07"),
        "tp_price": Decimal("1.09"),
    }
    g = parse_ticket("sell 5 EUR/USD.SIM limit 1.09 gtd 2026-12-01T00:00Z tag=foo tag=bar")
    assert g.expire_time == datetime(2026, 12, 1, tzinfo=UTC)  # type: ignore[union-attr]
    assert g.tags == ("foo", "bar")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "line",
    [
        "buy 100000 EUR/USD.SIM",
        "sell 1 A.B limit 1.0850 ioc post-only display 1 quote-qty",
        "buy 1 A.B stop-limit 1.2 1.21 day trigger-type bid-ask emulate last-price",
        "buy 1 A.B mtl fok",
        "sell 1 A.B mit 1.1 at-the-open",
        "sell 1 A.B lit 1.1 1.09 reduce-only tag=x",
        "buy 1 A.B trailing-stop offset 5 bps trigger 1.2 activation 1.19",
        "buy 1 A.B trailing-stop-limit offset 0.001 limit-offset 0.0005 price 1.3",
        "buy 1 A.B limit 1.0 gtd 2026-12-01T00:00:00Z",
        "sell 2 A.B bracket sl 1.2 tp 1.0 post-only tag=e",
        "buy 2 A.B bracket entry market sl 1.0 tp 1.2",
    ],
)
def test_parse_format_round_trip(line: str) -> None:
    ticket = parse_ticket(line)
    assert parse_ticket(format_ticket(ticket)) == ticket


def test_format_refuses_what_the_syntax_cannot_say() -> None:
    leg = {"instrument_id": "A.B", "side": "BUY", "quantity": 1, "type": "MARKET"}
    with pytest.raises(ValueError, match="no one-line form"):
        format_ticket(load_ticket({"type": "OCO", "orders": [leg, leg]}))
    trailing_sl = load_ticket(
        {
            "type": "BRACKET",
            "instrument_id": "A.B",
            "side": "BUY",
            "quantity": 1,
            "sl_type": "TRAILING_STOP_MARKET",
            "sl_trailing_offset": "1",
            "tp_price": "2",
        }
    )
    with pytest.raises(ValueError, match="send it as JSON"):
        format_ticket(trailing_sl)


@pytest.mark.parametrize(
    ("line", "position", "token", "expected"),
    [
        ("", 1, "", "buy or sell"),
        ("hold 1 A.B", 1, "hold", "buy or sell"),
        ("buy lots A.B", 2, "lots", "a quantity"),
        ("buy 1 EURUSD", 3, "EURUSD", "an instrument id SYMBOL.VENUE"),
        ("buy 1 A.B limit", 5, "", "a limit price"),
        ("buy 1 A.B limit x", 5, "x", "a limit price"),
        ("buy 1 A.B trailing-stop 20", 5, "20", "'offset'"),
        ("buy 1 A.B bracket entry 1 tp 2", 7, "tp", "'sl'"),
        ("buy 1 A.B limit 1 gtd tomorrow", 7, "tomorrow", "an ISO 8601 expiry time"),
        ("buy 1 A.B limit 1 emulate sometimes", 7, "sometimes", "a trigger type"),
        ("buy 1 A.B limit 1 whenever", 6, "whenever", "an option: gtc"),
    ],
)
def test_errors_name_the_word_and_what_was_expected(
    line: str, position: int, token: str, expected: str
) -> None:
    with pytest.raises(OrderSyntaxError) as err:
        parse_ticket(line)
    assert (err.value.position, err.value.token) == (position, token)
    assert err.value.expected.startswith(expected)
    # A word that is a ticket field is reported under the field's name, with its number.
    issue = err.value.issue
    if err.value.field:
        assert issue.path == err.value.field and f"(word {position})" in issue.expected
    else:
        assert issue.path == f"word {position}"
