"""Pre-trade checks as pure functions: an order's facts and the node's exposure in, a
denial reason (naming the rule, the limit and the value) or ``None`` out.

Kept free of Nautilus so every rule is tested on its own; ``engine.risk.guard`` gathers
the facts from the kernel's cache and portfolio.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from engine.risk.limits import RiskLimits, TradingStateName, parse_rate


@dataclass(frozen=True, slots=True)
class OrderFacts:
    instrument_id: str
    signed_qty: Decimal  # + buy, - sell
    notional: Decimal | None  # None: no price known to value it
    currency: str = ""
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class Exposure:
    net: Decimal  # signed net position of the instrument
    gross: Decimal  # sum of absolute open position quantities of the instrument
    open_orders: int  # working orders of the whole node
    # Signed quantity of the position the order trades into: the strategy's net position
    # on NETTING, the named position (or 0, a new one) on HEDGING; None: ``net``.
    acted_on: Decimal | None = None
    hedging: bool = False  # the order's venue keeps a position per order (HEDGING OMS)


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


def increases_exposure(facts: OrderFacts, net: Decimal) -> bool:
    """Whether the order could leave the absolute position larger or on the other side."""
    if net == 0:
        return True
    if (facts.signed_qty > 0) == (net > 0):
        return True
    return abs(facts.signed_qty) > abs(net)


def check_state(state: TradingStateName, facts: OrderFacts, exposure: Exposure) -> str | None:
    if state == "HALTED":
        return "RISK trading_state: HALTED, no new orders"
    # On HEDGING an order reduces only the position it trades into (one with no position
    # id opens a position of its own, whatever the net); elsewhere the instrument's net.
    base = exposure.net
    if exposure.hedging and exposure.acted_on is not None:
        base = exposure.acted_on
    if state == "REDUCING" and increases_exposure(facts, base):
        return (
            f"RISK trading_state: REDUCING, the order ({_fmt(facts.signed_qty)}) would not only "
            f"reduce the position {_fmt(base)} of {facts.instrument_id}"
        )
    return None


def check_limits(
    limits: RiskLimits,
    facts: OrderFacts,
    exposure: Exposure,
    *,
    instrument_notional_limit: Decimal | None = None,
) -> str | None:
    """The first limit the order breaches, else ``None``."""
    for name, limit in (
        ("max_notional_per_order", limits.max_notional_per_order),
        (f"max_notional_per_order[{facts.instrument_id}]", instrument_notional_limit),
    ):
        if limit is None:
            continue
        if facts.notional is None:
            return f"RISK {name}: no price to value the order against the limit {_fmt(limit)}"
        if facts.notional > limit:
            return (
                f"RISK {name}: notional {_fmt(facts.notional)} {facts.currency} exceeds the "
                f"limit {_fmt(limit)}".replace("  ", " ")
            )
    if facts.reduce_only and not increases_exposure(facts, exposure.net):
        return None  # a reduce-only order that reduces never breaches a position limit
    after = exposure.net + facts.signed_qty
    net_limit = limits.max_position_net
    if net_limit is not None and abs(after) > net_limit and abs(after) > abs(exposure.net):
        return (
            f"RISK max_position_net: {facts.instrument_id} would be {_fmt(after)}, "
            f"beyond the limit {_fmt(net_limit)}"
        )
    if limits.max_position_gross is not None:
        base = exposure.net if exposure.acted_on is None else exposure.acted_on
        gross_after = exposure.gross - abs(base) + abs(base + facts.signed_qty)
        if gross_after > limits.max_position_gross and gross_after > exposure.gross:
            return (
                f"RISK max_position_gross: {facts.instrument_id} would be {_fmt(gross_after)} "
                f"gross, beyond the limit {_fmt(limits.max_position_gross)}"
            )
    if limits.max_open_orders is not None and exposure.open_orders + 1 > limits.max_open_orders:
        return (
            f"RISK max_open_orders: {exposure.open_orders} working orders, the limit is "
            f"{limits.max_open_orders}"
        )
    return None


class RateWindow:
    """Orders per instrument in a sliding window (``max_order_rate_per_instrument``)."""

    def __init__(self, rate: str | None) -> None:
        self.rate = rate
        self._n, self._secs = parse_rate(rate) if rate else (0, 0.0)
        self._seen: dict[str, deque[float]] = {}

    def check(self, instrument_id: str, now_s: float) -> str | None:
        """Count the order at ``now_s`` unless it breaches the rate (then say so)."""
        if not self.rate:
            return None
        seen = self._seen.setdefault(instrument_id, deque())
        while seen and seen[0] <= now_s - self._secs:
            seen.popleft()
        if len(seen) >= self._n:
            return (
                f"RISK max_order_rate_per_instrument: {len(seen)} orders for {instrument_id} "
                f"within {self._secs:g} s, the limit is {self.rate}"
            )
        seen.append(now_s)
        return None
