"""A dry run's look at the node's risk guard: would it deny this order, and why.

The node's answer to ``risk show`` (trading state, limits, what they are measured against)
and the same pure rules the guard runs (:mod:`engine.risk.rules`) give the verdict, so a
dry run does not call an order valid that the node would deny at once (HALTED, a notional
or position limit). What the guard counts only as orders arrive (the order rate) or what a
dry run cannot measure as the node does is named in ``not_checked``. A real submission is
not refused here: the node denies it, with its journal entry and risk event.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.orders.tickets import AnyTicket, BracketTicket, OcoTicket, OtoTicket
from engine.orders.validation import InstrumentRules, MarketQuote
from engine.risk.limits import TRADING_STATES, RiskLimits
from engine.risk.rules import Exposure, OrderFacts, check_limits, check_state

RISK_CHECKS = "the node's trading state and risk limits"


@dataclass(frozen=True, slots=True)
class RiskPreview:
    denial: str | None  # the guard's reason, as the node would give it
    not_checked: tuple[str, ...] = ()


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dec(value: Any) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return d if d.is_finite() else Decimal(0)


def preview(
    ticket: AnyTicket,
    node_id: str,
    reply: dict[str, Any] | None,
    rules: InstrumentRules | None,
    quote: MarketQuote | None,
    *,
    unreachable: str = "",
) -> RiskPreview:
    """Whether the node's risk guard would deny `ticket`, from its ``risk show`` `reply`."""
    if reply is None or reply.get("ok") is not True:
        why = unreachable or str((reply or {}).get("message") or "no answer")
        return RiskPreview(None, (f"{RISK_CHECKS}: node {node_id} could not say ({why})",))
    risk, usage = _obj(reply.get("risk")), _obj(reply.get("usage"))
    state = risk.get("trading_state")
    try:
        limits = RiskLimits.model_validate(_obj(risk.get("limits")))
    except ValueError as exc:
        return RiskPreview(
            None, (f"{RISK_CHECKS}: node {node_id} answered unreadable limits ({exc})",)
        )
    if state not in TRADING_STATES:
        return RiskPreview(None, (f"{RISK_CHECKS}: node {node_id} answered state {state!r}",))
    if isinstance(ticket, OcoTicket | OtoTicket | BracketTicket):
        if state == "HALTED":  # every order of the list is denied
            return RiskPreview("RISK trading_state: HALTED, no new orders")
        return RiskPreview(None, (f"{RISK_CHECKS} for each order of a list: checked when sent",))
    qty = Decimal(ticket.quantity)
    iid = ticket.instrument_id
    signed = qty if ticket.side == "BUY" else -qty
    price = getattr(ticket, "price", None) or getattr(ticket, "trigger_price", None)
    if price is None and quote is not None:
        price = quote.ask if ticket.side == "BUY" else quote.bid
    notional = currency = None
    if ticket.quote_quantity:
        notional = qty
    elif price is not None and rules is not None:
        notional = qty * Decimal(price) * rules.multiplier
        currency = rules.notional_currency
    facts = OrderFacts(iid, signed, notional, currency or "", bool(ticket.reduce_only))
    net = _dec(_obj(usage.get("positions")).get(iid, 0))
    gross = _dec(_obj(usage.get("gross")).get(iid, abs(net)))
    working = usage.get("open_orders")
    exposure = Exposure(net, gross, working if isinstance(working, int) else 0)
    denial = None if ticket.reduce_only else check_state(state, facts, exposure)
    denial = denial or check_limits(limits, facts, exposure)
    not_checked = []
    if limits.max_order_rate_per_instrument:
        not_checked.append("max_order_rate_per_instrument: the node counts orders as they arrive")
    if limits.max_position_gross is not None:
        not_checked.append(
            "max_position_gross: measured against the instrument's net position; the node "
            "counts the position the order trades into"
        )
    return RiskPreview(denial, tuple(not_checked))
