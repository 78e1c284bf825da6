"""The notional of a ticket and the core's confirmation policy over it.

The computation (``engine.orders.notional``) meets whatever a node's rules and quotes say
(huge, tiny, 39 decimals, a multiplier of 0): a Decimal or None, never an exception. The
policy (``engine.services.orders``): above the threshold or unknown, a submit goes only
once confirmed; its refusal is the one error model (code ``unconfirmed``, exit 2, 409).
The threshold is read from settings.json by the same rules as the console's settings.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.settings import load_settings
from engine.orders.notional import notional
from engine.orders.order_settings import (
    DEFAULT_CONFIRM_ABOVE,
    confirm_threshold,
    read_order_settings,
)
from engine.orders.syntax import parse_ticket
from engine.orders.tickets import (
    AnyTicket,
    BracketTicket,
    LimitTicket,
    MarketTicket,
    OcoTicket,
    StopMarketTicket,
    load_ticket,
)
from engine.orders.validation import InstrumentRules, MarketQuote
from engine.services.notional import NotionalCheck, assess_notional
from engine.workspace import Workspace

D = Decimal
IID = "EUR/USD.SIM"
RULES = InstrumentRules(IID, D("0.00001"), D(1000), notional_currency="USD")
QUOTE = MarketQuote(D("1.08490"), D("1.08500"))
MILLION = D(1_000_000)


def rules(multiplier: Decimal = Decimal(1)) -> InstrumentRules:
    return InstrumentRules(
        IID, D("0.00001"), D(1000), multiplier=multiplier, notional_currency="USD"
    )


# --- the computation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("buy 100000 EUR/USD.SIM limit 1.08450", D("108450")),  # the price
        ("sell 100000 EUR/USD.SIM stop 1.08000", D("108000")),  # the trigger
        ("buy 100000 EUR/USD.SIM", D("108500")),  # market: the ask for a buy
        ("sell 100000 EUR/USD.SIM", D("108490")),  # … the bid for a sell
        ("sell 100000 EUR/USD.SIM stop-limit 1.08000 1.07990", D("107990")),  # price first
        # a bracket is worth its entry, not its exits
        ("buy 100000 EUR/USD.SIM bracket entry 1.0850 sl 1.0800 tp 1.0900", D("108500")),
    ],
)
def test_valued_at_price_else_trigger_else_the_touch(line: str, expected: Decimal) -> None:
    assert notional(parse_ticket(line), RULES, QUOTE) == expected


def test_the_multiplier_and_quote_quantity() -> None:
    ticket = parse_ticket("buy 3 EUR/USD.SIM limit 5000")
    assert notional(ticket, rules(D(50)), None) == D(750_000)
    quote_qty = load_ticket(
        {"type": "MARKET", "instrument_id": IID, "side": "BUY", "quantity": "2500000",
         "quote_quantity": True}
    )  # fmt: skip
    assert notional(quote_qty, None, None) == D(2_500_000)  # already money: no rules needed


def test_an_oco_is_worth_its_largest_leg() -> None:
    leg = {"type": "LIMIT", "instrument_id": IID, "side": "BUY", "quantity": "100000"}
    oco = load_ticket(
        {"type": "OCO", "orders": [{**leg, "price": "1.05"}, {**leg, "price": "1.20"}]}
    )
    assert notional(oco, RULES, QUOTE) == D("120000")
    with_market = load_ticket(
        {"type": "OCO", "orders": [{**leg, "price": "1.05"}, {**leg, "type": "MARKET"}]}
    )
    assert notional(with_market, RULES, None) is None  # one leg unknown: unknown


@pytest.mark.parametrize("multiplier", [D(0), D(-5)])
def test_a_multiplier_not_above_zero_is_unknown_not_zero(multiplier: Decimal) -> None:
    # A notional of 0 would pass any threshold; a nonsense multiplier must ask instead.
    ticket = parse_ticket("buy 100000 EUR/USD.SIM limit 1.08450")
    assert notional(ticket, rules(multiplier), QUOTE) is None


def test_without_the_instruments_rules_the_notional_is_unknown() -> None:
    # A future's multiplier is not 1: valuing it at 1 would let a 50x order through.
    assert notional(parse_ticket("buy 100000 EUR/USD.SIM limit 1.08"), None, QUOTE) is None


# Hostile numbers: what a node's rules and quotes may hold (``InstrumentRules.from_dict``
# takes any finite decimal) and what a ticket built without its loader may hold.
_hostile = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            D(0),
            D("-0"),
            D("1e-39"),
            D("0." + "0" * 38 + "1"),  # 39 decimals
            D("1." + "9" * 39),
            D("1e400"),
            D("-1e400"),
            D("9" * 400),
            D("1e999999"),
            D("1e-999999"),
            D("17014118346046"),
        ]
    ),
)


def _ticket(kind: str, side: str, quantity: Decimal, price: Decimal) -> AnyTicket:
    # model_construct: no loader in the way, so the computation meets raw hostile values.
    if kind == "LIMIT":
        return LimitTicket.model_construct(
            instrument_id=IID, side=side, quantity=quantity, price=price, quote_quantity=False
        )
    if kind == "STOP_MARKET":
        return StopMarketTicket.model_construct(
            instrument_id=IID, side=side, quantity=quantity, trigger_price=price,
            quote_quantity=False,
        )  # fmt: skip
    if kind == "BRACKET":
        return BracketTicket.model_construct(
            instrument_id=IID, side=side, quantity=quantity, entry_price=price,
            entry_trigger_price=None, quote_quantity=False,
        )  # fmt: skip
    market = MarketTicket.model_construct(
        instrument_id=IID, side=side, quantity=quantity, quote_quantity=kind == "QUOTE_QTY"
    )
    if kind == "OCO":
        return OcoTicket.model_construct(orders=(market, market))
    return market


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    kind=st.sampled_from(["LIMIT", "STOP_MARKET", "MARKET", "QUOTE_QTY", "BRACKET", "OCO"]),
    side=st.sampled_from(["BUY", "SELL"]),
    quantity=_hostile,
    price=_hostile,
    multiplier=st.one_of(st.none(), _hostile),
    bid=st.one_of(st.none(), _hostile),
    ask=_hostile,
    threshold=st.one_of(st.none(), _hostile.map(abs)),
)
def test_hostile_values_give_a_decimal_or_none_never_an_exception(
    kind: str,
    side: str,
    quantity: Decimal,
    price: Decimal,
    multiplier: Decimal | None,
    bid: Decimal | None,
    ask: Decimal,
    threshold: Decimal | None,
) -> None:
    ticket = _ticket(kind, side, quantity, price)
    the_rules = None if multiplier is None else rules(multiplier)
    quote = None if bid is None else MarketQuote(bid, ask)
    value = notional(ticket, the_rules, quote)
    assert value is None or (isinstance(value, Decimal) and value.is_finite() and value >= 0)
    # The policy's words about it are bounded too (no million-digit message).
    check = assess_notional(ticket, the_rules, quote, threshold)
    assert len(check.question()) < 400
    if check.needs_confirmation:
        error = check.refusal(None)
        assert error.code == "unconfirmed" and len(error.message) < 1000


# --- the policy -------------------------------------------------------------------------


def test_above_the_threshold_it_asks_and_an_amount_confirms_up_to_itself() -> None:
    ticket = parse_ticket("buy 5000000 EUR/USD.SIM limit 1")
    check = assess_notional(ticket, RULES, QUOTE, MILLION)
    assert check.needs_confirmation
    assert check.question() == "Notional 5,000,000.00 USD is above 1,000,000: send?"
    assert check.confirmed_by(True)
    assert check.confirmed_by(D(5_000_000))
    assert not check.confirmed_by(D("4999999.99"))  # confirmed for less than it is
    assert not check.confirmed_by(None) and not check.confirmed_by(False)
    error = check.refusal(None)
    assert (error.code, error.field, error.value, error.exit_code, error.http_status) == (
        "unconfirmed",
        "confirm_notional",
        None,
        2,
        409,
    )
    assert "5,000,000.00 USD" in error.message and "threshold 1,000,000" in error.message
    assert "5000000" in error.expected
    assert "confirmed only up to 4,000,000.00" in check.refusal(D(4_000_000)).message


def test_at_or_below_the_threshold_or_without_one_it_goes() -> None:
    at = assess_notional(parse_ticket("buy 1000000 EUR/USD.SIM limit 1"), RULES, QUOTE, MILLION)
    assert not at.needs_confirmation and at.confirmed_by(None)
    off = assess_notional(parse_ticket("buy 9000000 EUR/USD.SIM"), None, None, None)
    assert not off.needs_confirmation and off.confirmed_by(None)


def test_a_market_order_without_a_quote_is_unknown_and_needs_a_true_confirmation() -> None:
    """Decided: refuse until confirmed. A guard that let through what it cannot value would
    let through exactly the market order it cannot see the size of."""
    ticket = parse_ticket("buy 100000 EUR/USD.SIM")
    check = assess_notional(ticket, RULES, None, MILLION)
    assert check.notional is None and check.needs_confirmation
    assert check.why_unknown == "no price or quote to value it at"
    assert check.question() == (
        "Notional unknown (no price or quote to value it at), it may be above 1,000,000: send?"
    )
    assert check.confirmed_by(True)
    assert not check.confirmed_by(D(10**12))  # an amount has nothing to be compared with
    error = check.refusal(None)
    assert error.code == "unconfirmed" and "notional is unknown" in error.message
    assert error.expected.startswith("true")
    assert check.to_dict() == {
        "notional": None,
        "currency": "USD",
        "confirm_above": "1000000",
        "needs_confirmation": True,
        "why_unknown": "no price or quote to value it at",
    }


def test_no_rules_says_why_it_is_unknown() -> None:
    check = assess_notional(parse_ticket("buy 1 EUR/USD.SIM limit 1"), None, QUOTE, MILLION)
    assert check.needs_confirmation and "rules and multiplier" in check.why_unknown
    zero = assess_notional(parse_ticket("buy 1 EUR/USD.SIM limit 1"), rules(D(0)), QUOTE, MILLION)
    assert "multiplier 0 is not above 0" in zero.why_unknown


def test_huge_values_are_shown_short() -> None:
    check = NotionalCheck(D("1e45"), "USD", D("1e40"))
    assert check.question() == "Notional 1.000000e+45 USD is above 1.000000e+40: send?"


# --- the threshold in settings.json ---------------------------------------------------


def _workspace(tmp_path: Path, settings_text: str | None) -> Workspace:
    ws = Workspace(tmp_path / ".gateway").ensure()
    if settings_text is not None:
        ws.settings_path.write_text(settings_text)
    return ws


@pytest.mark.parametrize(
    ("text", "expected", "problem"),
    [
        (None, DEFAULT_CONFIRM_ABOVE, None),  # no file
        ("{}", DEFAULT_CONFIRM_ABOVE, None),
        ('{"orders": {"confirm_notional_above": "250000"}}', D(250_000), None),
        ('{"orders": {"confirm_notional_above": 5e6}}', D(5_000_000), None),
        ('{"orders": {"confirm_notional_above": null}}', None, None),  # never ask
        # Invalid: the default, never "no confirmation".
        ('{"orders": {"confirm_notional_above": -1}}', DEFAULT_CONFIRM_ABOVE, "orders.confirm"),
        ('{"orders": {"confirm_notional_above": "x"}}', DEFAULT_CONFIRM_ABOVE, "orders.confirm"),
        ('{"orders": {"confirm_notional_above": "Infinity"}}', DEFAULT_CONFIRM_ABOVE, "orders."),
        ('{"orders": 7}', DEFAULT_CONFIRM_ABOVE, "orders"),
        ("{not json", DEFAULT_CONFIRM_ABOVE, ""),
        ("[1]", DEFAULT_CONFIRM_ABOVE, "JSON object"),
        ('{"schema_version": 99, "orders": {"confirm_notional_above": null}}',
         DEFAULT_CONFIRM_ABOVE, "99"),  # a newer gateway's file: defaults, as the console
        # A bad neighbour is dropped, the value kept (as the console keeps it).
        ('{"orders": {"confirm_notional_above": "5", "x": 1}}', D(5), "orders.x"),
    ],
)  # fmt: skip
def test_the_threshold_is_read_by_the_consoles_rules(
    tmp_path: Path, text: str | None, expected: Decimal | None, problem: str | None
) -> None:
    ws = _workspace(tmp_path, text)
    assert confirm_threshold(ws) == expected
    _, problems = read_order_settings(ws)
    if problem is None:
        assert problems == []
    else:
        assert problems and problem in problems[0]
    # The console reads the same value from the same file.
    assert load_settings(ws.settings_path).settings.orders.confirm_notional_above == expected


_json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["1000000", "-1", "1e400", "0", "NaN", "2.5"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    section=st.one_of(
        _json_values,
        st.fixed_dictionaries({"confirm_notional_above": _json_values}),
        st.dictionaries(st.sampled_from(["confirm_notional_above", "other"]), _json_values),
    )
)
def test_engine_and_console_never_disagree_about_the_threshold(
    tmp_path: Path, section: Any
) -> None:
    ws = _workspace(tmp_path, json.dumps({"orders": section}))
    console = load_settings(ws.settings_path).settings.orders.confirm_notional_above
    assert confirm_threshold(ws) == console
