"""Risk rules on their own: what REDUCING and HALTED let through, each limit at its edge,
and limits a user types being refused whole, naming every field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.risk.limits import LimitsError, RiskLimits, apply_changes, parse_rate
from engine.risk.rules import Exposure, OrderFacts, RateWindow, check_limits, check_state

IID = "EUR/USD.SIM"
qty = st.decimals(min_value=1, max_value=10_000_000, places=0)
net_qty = st.decimals(min_value=-10_000_000, max_value=10_000_000, places=0)


def facts(signed: Decimal | int, notional: Decimal | int | None = None, **kw: Any) -> OrderFacts:
    n = None if notional is None else Decimal(notional)
    return OrderFacts(IID, Decimal(signed), n, "USD", **kw)


def flat(open_orders: int = 0) -> Exposure:
    return Exposure(Decimal(0), Decimal(0), open_orders)


@given(q=qty, net=net_qty, buy=st.booleans())
def test_reducing_lets_through_only_what_shrinks_the_position(
    q: Decimal, net: Decimal, buy: bool
) -> None:
    signed = q if buy else -q
    reason = check_state("REDUCING", facts(signed), Exposure(net, abs(net), 0))
    shrinks = net != 0 and (signed > 0) != (net > 0) and q <= abs(net)
    assert (reason is None) == shrinks
    if reason is not None:
        assert "REDUCING" in reason and IID in reason


@given(q=qty, net=net_qty, buy=st.booleans())
def test_halted_denies_everything_and_active_nothing(q: Decimal, net: Decimal, buy: bool) -> None:
    f = facts(q if buy else -q)
    assert check_state("HALTED", f, Exposure(net, abs(net), 0)) is not None
    assert check_state("ACTIVE", f, Exposure(net, abs(net), 0)) is None


def test_notional_just_inside_passes_and_just_over_is_denied_with_rule_limit_and_value() -> None:
    limits = RiskLimits(max_notional_per_order=Decimal(100000))
    assert check_limits(limits, facts(1, 100000), flat()) is None
    reason = check_limits(limits, facts(1, Decimal("100000.01")), flat())
    assert reason is not None
    assert "max_notional_per_order" in reason and "100000.01" in reason and "100000" in reason
    per_instrument = check_limits(
        RiskLimits(), facts(1, 60), flat(), instrument_notional_limit=Decimal(50)
    )
    assert per_instrument is not None and f"[{IID}]" in per_instrument
    unknown = check_limits(limits, facts(1, None), flat())
    assert unknown is not None and "no price" in unknown


def test_net_and_gross_position_limits() -> None:
    limits = RiskLimits(max_position_net=Decimal(1000), max_position_gross=Decimal(1500))
    long_900 = Exposure(Decimal(900), Decimal(900), 0)
    assert check_limits(limits, facts(100), long_900) is None
    reason = check_limits(limits, facts(101), long_900)
    assert reason is not None and "max_position_net" in reason and "1001" in reason
    # Reducing an over-limit position is always allowed.
    over = Exposure(Decimal(1200), Decimal(1200), 0)
    assert check_limits(limits, facts(-100), over) is None
    hedged = Exposure(Decimal(0), Decimal(1400), 0)  # long and short 700 each (HEDGING)
    gross = check_limits(limits, facts(200), hedged)
    assert gross is not None and "max_position_gross" in gross


def test_gross_limit_counts_what_the_order_does_to_the_position_it_trades_into() -> None:
    limits = RiskLimits(max_position_gross=Decimal(300_000))
    # NETTING, short 100k, buy 500k: the position flips to long 400k (not 600k gross).
    short = Exposure(Decimal(-100_000), Decimal(100_000), 0, acted_on=Decimal(-100_000))
    reason = check_limits(limits, facts(500_000), short)
    assert reason is not None and "would be 400000 gross" in reason, reason
    assert check_limits(limits, facts(400_000), short) is None  # flips to 300k: at the limit
    # Two strategies on NETTING, long and short 100k (net 0, gross 200k): adding to either
    # grows gross, reducing either shrinks it.
    two = Exposure(Decimal(0), Decimal(200_000), 0, acted_on=Decimal(100_000))
    reason = check_limits(limits, facts(150_000), two)
    assert reason is not None and "350000" in reason, reason
    assert check_limits(limits, facts(100_000), two) is None
    assert check_limits(limits, facts(-100_000), two) is None
    # HEDGING, long 250k: a sell with no position id opens a short of its own: gross grows
    # although the net shrinks.
    hedging_new = Exposure(Decimal(250_000), Decimal(250_000), 0, acted_on=Decimal(0))
    reason = check_limits(limits, facts(-100_000), hedging_new)
    assert reason is not None and "350000" in reason, reason
    # ... and the same sell into the long position reduces it.
    hedging_close = Exposure(Decimal(250_000), Decimal(250_000), 0, acted_on=Decimal(250_000))
    assert check_limits(limits, facts(-100_000), hedging_close) is None


def test_reducing_on_hedging_lets_through_only_what_reduces_the_position_it_trades_into() -> None:
    long_300 = Decimal(300_000)
    new_short = Exposure(long_300, long_300, 0, acted_on=Decimal(0), hedging=True)
    reason = check_state("REDUCING", facts(-100_000), new_short)
    assert reason is not None and "REDUCING" in reason
    into_long = Exposure(long_300, long_300, 0, acted_on=long_300, hedging=True)
    assert check_state("REDUCING", facts(-100_000), into_long) is None
    netting = Exposure(long_300, long_300, 0, acted_on=Decimal(0))  # NETTING: the net counts
    assert check_state("REDUCING", facts(-100_000), netting) is None


@given(q=net_qty, acted=net_qty, other=qty, limit=qty)
def test_gross_limit_denies_exactly_what_ends_above_it_and_grows_gross(
    q: Decimal, acted: Decimal, other: Decimal, limit: Decimal
) -> None:
    if q == 0:
        return
    gross = abs(acted) + other  # the acted-on position and others
    exposure = Exposure(acted, gross, 0, acted_on=acted)
    reason = check_limits(RiskLimits(max_position_gross=limit), facts(q), exposure)
    after = other + abs(acted + q)
    assert (reason is not None) == (after > limit and after > gross)


def test_open_orders_limit_counts_the_new_order() -> None:
    limits = RiskLimits(max_open_orders=3)
    assert check_limits(limits, facts(1), flat(open_orders=2)) is None
    reason = check_limits(limits, facts(1), flat(open_orders=3))
    assert reason is not None and "max_open_orders" in reason


def test_rate_per_instrument_slides() -> None:
    window = RateWindow("2/00:00:01")
    assert window.check(IID, 0.0) is None
    assert window.check(IID, 0.5) is None
    reason = window.check(IID, 0.9)
    assert reason is not None and "max_order_rate_per_instrument" in reason
    assert window.check("GBP/USD.SIM", 0.9) is None  # per instrument
    assert window.check(IID, 1.01) is None  # the first fell out of the window


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"max_open_orders": "0"}, {"max_open_orders"}),
        ({"max_notional_per_order": "NaN"}, {"max_notional_per_order"}),
        ({"max_notional_per_order": "-5"}, {"max_notional_per_order"}),
        ({"max_daily_loss": "1e400"}, {"max_daily_loss"}),
        ({"max_drawdown": "inf"}, {"max_drawdown"}),
        ({"max_order_rate_per_instrument": "5/0:0:1"}, {"max_order_rate_per_instrument"}),
        ({"max_order_rate_per_instrument": "0/00:00:01"}, {"max_order_rate_per_instrument"}),
        ({"on_drawdown": "PANIC"}, {"on_drawdown"}),
        ({"foo": "1", "max_open_orders": "x"}, {"foo", "max_open_orders"}),
    ],
)
def test_bad_limits_are_refused_whole_naming_every_field(
    changes: dict[str, Any], fields: set[str]
) -> None:
    current = RiskLimits(max_open_orders=7)
    with pytest.raises(LimitsError) as err:
        apply_changes(current, changes)
    assert {i["field"] for i in err.value.issues} == fields
    assert current.max_open_orders == 7


def test_none_clears_a_limit() -> None:
    limits = apply_changes(RiskLimits(max_open_orders=7), {"max_open_orders": "none"})
    assert limits.max_open_orders is None


@given(name=st.sampled_from(list(RiskLimits.model_fields)), value=st.text(max_size=50))
def test_any_typed_value_is_taken_or_refused_naming_its_field(name: str, value: str) -> None:
    try:
        apply_changes(RiskLimits(), {name: value})
    except LimitsError as exc:
        assert {i["field"] for i in exc.issues} == {name}


@pytest.mark.parametrize("bad", ["", "1/1", "a/00:00:01", "1/00:60:00", "1/00:00:00"])
def test_rate_strings(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)
    assert parse_rate("10/00:00:01") == (10, 1.0)
