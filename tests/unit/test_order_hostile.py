"""Hostile values against the order parser and validator: refused naming the field, never
a traceback; and what they accept, NautilusTrader's own objects and pre-trade checks take.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.core.datetime import dt_to_unix_nanos
from nautilus_trader.model import objects
from nautilus_trader.model.identifiers import StrategyId, TraderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order, OrderList
from nautilus_trader.test_kit.providers import TestInstrumentProvider

from engine.orders import numbers
from engine.orders.commands import load_command
from engine.orders.convert import to_nautilus
from engine.orders.issues import OrderValidationError
from engine.orders.syntax import OrderSyntaxError, parse_ticket
from engine.orders.tickets import AnyTicket, load_ticket
from engine.orders.validation import (
    InstrumentRules,
    MarketQuote,
    check_modify_values,
    validate_ticket,
)

INSTRUMENT = TestInstrumentProvider.default_fx_ccy("EUR/USD")
RULES = InstrumentRules.from_instrument(INSTRUMENT)
QUOTE = MarketQuote(Decimal("1.08490"), Decimal("1.08500"))
NOW = datetime(2026, 1, 1, tzinfo=UTC)

HOSTILE_NUMBERS = [
    "NaN",
    "nan",
    "sNaN",
    "inf",
    "-inf",
    "Infinity",
    "1e400",
    "-1e400",
    "9" * 400,
    "0." + "1" * 39,
    "1e-17",
    "١٢٣",
    "\uff11",  # fullwidth one
    "1_000",
    "0x10",
    "1,5",
    "",
    "x" * 10_000,
    "17014118346047",
]
NUMBER_FIELDS = ["quantity", "price"]


def _refused_on(exc: OrderSyntaxError | OrderValidationError, field: str) -> bool:
    issues = [exc.issue] if isinstance(exc, OrderSyntaxError) else list(exc.issues)
    return any(i.path.split(".")[-1] == field for i in issues)


def test_limits_are_those_of_the_installed_nautilus_build() -> None:
    assert numbers.MAX_DECIMALS == objects.FIXED_PRECISION
    assert Decimal(int(objects.PRICE_MAX)) == numbers.PRICE_MAX
    assert Decimal(int(objects.QUANTITY_MAX)) == numbers.QUANTITY_MAX
    assert numbers.MAX_MAGNITUDE <= numbers.QUANTITY_MAX
    # The extremes we accept are ones Nautilus holds.
    Price(float(numbers.PRICE_MAX), 0)
    Price(-float(numbers.PRICE_MAX), 0)
    Quantity(float(numbers.MAX_MAGNITUDE), 0)
    Price.from_str("0." + "0" * (numbers.MAX_DECIMALS - 1) + "1")
    dt_to_unix_nanos(numbers.EXPIRE_MAX - timedelta(microseconds=1))
    with pytest.raises(OverflowError):
        dt_to_unix_nanos(datetime(2263, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("value", HOSTILE_NUMBERS)
@pytest.mark.parametrize("field", NUMBER_FIELDS)
def test_hostile_numbers_are_refused_naming_the_field(value: str, field: str) -> None:
    line = {
        "quantity": f"buy {value} EUR/USD.SIM limit 1.085",
        "price": f"buy 100000 EUR/USD.SIM limit {value}",
    }[field]
    if value == "":
        line = line.replace("  ", " ")
    with pytest.raises((OrderSyntaxError, OrderValidationError)) as syntax_err:
        parse_ticket(line)
    if value:  # an empty word is the end of the line: named by its position
        assert _refused_on(syntax_err.value, field), syntax_err.value

    ticket = {"type": "LIMIT", "instrument_id": "EUR/USD.SIM", "side": "BUY"}
    ticket |= {"quantity": "100000", "price": "1.085", field: value}
    with pytest.raises(OrderValidationError) as json_err:
        load_ticket(json.dumps(ticket))
    assert _refused_on(json_err.value, field), json_err.value
    assert all(len(str(i)) < 400 for i in json_err.value.issues)  # 10k characters cut short

    with pytest.raises(OrderValidationError) as modify_err:
        load_command({"action": "modify", "client_order_id": "O-1", field: value})
    assert _refused_on(modify_err.value, field)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (float("nan"), "quantity"),
        (float("inf"), "price"),
        (10**400, "quantity"),
        (True, "price"),
        ([1], "price"),
        ({"a": 1}, "quantity"),
    ],
)
def test_hostile_json_values_are_refused_naming_the_field(raw: Any, field: str) -> None:
    ticket = {"type": "LIMIT", "instrument_id": "EUR/USD.SIM", "side": "BUY"}
    ticket |= {"quantity": "100000", "price": "1.085", field: raw}
    with pytest.raises(OrderValidationError) as err:
        load_ticket(ticket)
    assert _refused_on(err.value, field)


@pytest.mark.parametrize("value", ["0", "-0", "-1.08", "-0.00001"])
def test_zero_and_negative_prices_are_refused_unless_the_instrument_allows_them(
    value: str,
) -> None:
    ticket = parse_ticket(f"buy 100000 EUR/USD.SIM limit {value}")
    for rules in (None, RULES):
        assert "price" in {i.path for i in validate_ticket(ticket, instrument=rules, now=NOW)}
    spread = InstrumentRules(
        "EUR/USD.SIM", Decimal("0.00001"), Decimal(1), allows_negative_price=True
    )
    assert "price" not in {i.path for i in validate_ticket(ticket, instrument=spread, now=NOW)}
    assert [
        i.path
        for i in check_modify_values(None, quantity=None, price=Decimal(value), trigger_price=None)
    ] == ["price"]


def test_zero_and_negative_zero_quantities_are_refused() -> None:
    for value in ("0", "-0", "0.0", "-5"):
        ticket = load_ticket(
            {"type": "MARKET", "instrument_id": "A.B", "side": "BUY", "quantity": value}
        )
        assert [i.path for i in validate_ticket(ticket, now=NOW)] == ["quantity"]
    assert str(parse_ticket("buy -0 A.B").quantity) == "0"  # -0 reads as 0


@pytest.mark.parametrize(
    ("stamp", "refused"),
    [
        ("9999-12-31T23:59Z", True),
        ("2262-04-11T23:47Z", True),
        ("0001-01-01T00:00Z", True),
        ("0000-01-01T00:00Z", True),
        ("2261-12-31T23:59Z", False),
    ],
)
def test_expiry_years_nautilus_cannot_hold_are_refused(stamp: str, refused: bool) -> None:
    line = f"buy 100000 EUR/USD.SIM limit 1.085 gtd {stamp}"
    if not refused:
        ticket = parse_ticket(line)
        assert validate_ticket(ticket, instrument=RULES, now=NOW) == []
        build(ticket)
        return
    with pytest.raises((OrderSyntaxError, OrderValidationError)) as err:
        parse_ticket(line)
    assert _refused_on(err.value, "expire_time")
    with pytest.raises(OrderValidationError) as json_err:
        load_ticket(
            {
                "type": "LIMIT",
                "instrument_id": "A.B",
                "side": "BUY",
                "quantity": "1",
                "price": "1",
                "time_in_force": "GTD",
                "expire_time": stamp,
            }
        )
    assert _refused_on(json_err.value, "expire_time")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        "",
        "[]",
        "1e400",
        '{"type": "LIMIT", "orders": ' + "[" * 5000 + "]" * 5000 + "}",
    ],
)
def test_nested_and_odd_json_is_an_input_error(text: str) -> None:
    with pytest.raises(OrderValidationError):
        load_ticket(text)
    with pytest.raises(OrderValidationError):
        load_command(text)


@pytest.mark.parametrize(
    "instrument",
    ["EURUSD", "A.", ".SIM", "x" * 10_000 + ".SIM", "A.S\x00IM", " EUR/USD.SIM", "A.B C"],
)
def test_malformed_instrument_ids_are_refused(instrument: str) -> None:
    with pytest.raises(OrderValidationError) as err:
        load_ticket({"type": "MARKET", "instrument_id": instrument, "side": "BUY", "quantity": "1"})
    assert _refused_on(err.value, "instrument_id")


def test_the_validator_never_raises_on_bounded_extremes() -> None:
    # 17014118346046 at any increment: the remainders the default context cannot compute.
    rules = InstrumentRules(
        "A.B", Decimal("1e-16"), Decimal("1e-16"), min_notional=Decimal(1), max_notional=Decimal(2)
    )
    ticket = parse_ticket("buy 17014118346046 A.B limit 17014118346046")
    assert {i.path for i in validate_ticket(ticket, instrument=rules, quote=QUOTE, now=NOW)} == {
        "quantity"
    }
    ticket = parse_ticket("buy 0.0000000000000001 A.B limit 0.0000000000000001")
    validate_ticket(ticket, instrument=RULES, quote=QUOTE, now=NOW)


# --- properties ---------------------------------------------------------------------------

FACTORY = OrderFactory(TraderId("T-001"), StrategyId("S-001"), TestClock())


def build(ticket: AnyTicket) -> list[Order]:
    built = to_nautilus(ticket, FACTORY, instrument=INSTRUMENT)
    return list(built.orders) if isinstance(built, OrderList) else [built]


def assert_nautilus_takes(ticket: AnyTicket) -> None:
    """What validate_ticket passes, Nautilus builds exactly and its RiskEngine's
    price/quantity checks (engine.pyx ``_check_price``/``_check_quantity``) pass."""
    for order in build(ticket):
        for price in (getattr(order, "price", None), getattr(order, "trigger_price", None)):
            if price is not None:
                assert price.precision <= INSTRUMENT.price_precision
                assert price.raw > 0
        qty = order.quantity
        assert qty.precision <= INSTRUMENT.size_precision
        assert INSTRUMENT.min_quantity <= qty <= INSTRUMENT.max_quantity
    single: Any = ticket
    if getattr(single, "price", None) is not None:
        assert build(ticket)[0].price.as_decimal() == single.price  # not rounded


numbers_text = st.one_of(
    st.sampled_from(
        [
            *HOSTILE_NUMBERS,
            "0",
            "-0",
            "-1",
            "1",
            "100000",
            "1.08",
            "1.085",
            "1.000001",
            "100001.5",
            "1e5",
            "1E+5",
            "0.00001",
            "1000",
            "50000000",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(min_size=0, max_size=12),
)
kinds = st.sampled_from(
    [
        "",
        "limit {p}",
        "stop {p}",
        "stop-limit {p} {p2}",
        "mit {p}",
        "lit {p} {p2}",
        "trailing-stop offset {p} ticks",
        "mtl",
        "bracket entry {p} sl {p2} tp {p3}",
    ]
)
options = st.lists(
    st.sampled_from(
        [
            "gtc",
            "ioc",
            "fok",
            "day",
            "post-only",
            "reduce-only",
            "gtd 2026-06-01T00:00Z",
            "gtd 9999-12-31T23:59Z",
            "gtd 0001-01-01T00:00Z",
            "display {q}",
            "tag=x",
        ]
    ),
    max_size=3,
)


@st.composite
def order_lines(draw: st.DrawFn) -> str:
    q = draw(numbers_text)
    fill = {k: draw(numbers_text) for k in ("p", "p2", "p3")}
    kind = draw(kinds).format(**fill)
    opts = " ".join(o.format(q=draw(numbers_text)) for o in draw(options))
    side = draw(st.sampled_from(["buy", "sell"]))
    instrument = draw(st.sampled_from(["EUR/USD.SIM", "FOO/BAR.SIM", "١٢٣.SIM", "A."]))
    return " ".join(w for w in (side, q, instrument, kind, opts) if w)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_lines())
def test_every_order_line_is_accepted_or_refused_naming_a_field(line: str) -> None:
    try:
        ticket = parse_ticket(line)
    except OrderSyntaxError as exc:
        assert exc.issue.path and exc.issue.expected
        return
    except OrderValidationError as exc:
        assert exc.issues and all(i.path for i in exc.issues), exc
        return
    issues = validate_ticket(ticket, instrument=RULES, quote=QUOTE, now=NOW)
    assert all(i.path for i in issues), issues
    if not issues:
        assert_nautilus_takes(ticket)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    numbers_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def json_tickets(draw: st.DrawFn) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "type": draw(
            st.sampled_from(["LIMIT", "MARKET", "STOP_MARKET", "limit", "BRACKET", "OCO", "nope"])
        ),
        "instrument_id": draw(st.sampled_from(["EUR/USD.SIM", "A.", "FOO/BAR.SIM"])),
        "side": draw(st.sampled_from(["BUY", "sell", "hold"])),
        "quantity": draw(st.one_of(numbers_text, json_values)),
    }
    for name in draw(
        st.lists(
            st.sampled_from(
                [
                    "price",
                    "trigger_price",
                    "expire_time",
                    "time_in_force",
                    "display_qty",
                    "orders",
                    "sl_trigger_price",
                    "tp_price",
                    "extra",
                ]
            ),
            max_size=3,
            unique=True,
        )
    ):
        ticket[name] = draw(st.one_of(numbers_text, json_values))
    return ticket


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_tickets())
def test_every_json_ticket_is_accepted_or_refused_naming_a_field(data: dict[str, Any]) -> None:
    try:
        text = json.dumps(data)
    except ValueError:
        return  # not JSON at all (a float NaN is, in Python's json)
    try:
        ticket = load_ticket(text)
    except OrderValidationError as exc:
        assert exc.issues and all(i.expected for i in exc.issues), exc
        return
    issues = validate_ticket(ticket, instrument=RULES, quote=QUOTE, now=NOW)
    assert all(i.path for i in issues), issues
    if not issues:
        assert_nautilus_takes(ticket)


@settings(max_examples=300, deadline=None)
@given(st.one_of(numbers_text, st.text(max_size=80), st.integers(), st.floats()))
def test_a_number_is_representable_or_refused(raw: Any) -> None:
    try:
        value = numbers.parse_number(raw)
    except ValueError as exc:
        assert str(exc)
        return
    assert value.is_finite() and abs(value) <= numbers.PRICE_MAX
    Price.from_str(format(value, "f"))  # Nautilus takes it as written
