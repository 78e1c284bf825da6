"""The notional confirmation, checked in the node as a submit is sent.

The service passes the workspace's threshold and what the sender confirmed with the order
command; the node values the ticket with its own rules and latest quote at that moment
(``engine.services.notional``, the same rule the front ends show) and refuses, code
``unconfirmed``, what is not confirmed. Checked here, not by asking the node for its
market first: no second round trip on every submit, and a node slow to answer under load
never makes a small order "of unknown notional".
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.orders.strategy import GatewayStrategy


def guard_arg(threshold: Decimal | None, confirm: bool | Decimal | None) -> dict[str, Any] | None:
    """What the service sends with a submit (``None``: no threshold, nothing to check)."""
    if threshold is None:
        return None
    shown = str(confirm) if isinstance(confirm, Decimal) else confirm
    return {"above": str(threshold), "confirm": shown}


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        return None
    return out if out.is_finite() else None


def notional_refusal(strategy: GatewayStrategy, command: Any, guard: Any) -> dict[str, Any] | None:
    """The node's refusal of an unconfirmed submit, or ``None`` when it may go."""
    from engine.orders.commands import ModifyOrder, SubmitTicket
    from engine.orders.dryrun import instrument_path
    from engine.services.notional import assess_notional

    if not isinstance(command, SubmitTicket | ModifyOrder) or not isinstance(guard, dict):
        return None
    threshold = _decimal(guard.get("above"))
    if threshold is None:
        return None
    raw = guard.get("confirm")
    confirm: bool | Decimal | None = raw if isinstance(raw, bool) else _decimal(raw)
    if isinstance(command, ModifyOrder):
        check = _modify_check(strategy, command, threshold)
        if check is None:
            return None
    else:
        _, instrument_id = instrument_path(command.ticket)
        rules, quote = strategy.rules_and_quote(instrument_id)
        check = assess_notional(command.ticket, rules, quote, threshold)
    if check.confirmed_by(confirm):
        return None
    error = check.refusal(confirm)
    message = error.message
    if isinstance(command, ModifyOrder):  # the refusal's words are a submit's
        message = message.replace("order not sent", "modify not sent").replace(
            "gateway order --yes", "gateway orders modify --yes"
        )
    return {
        "ok": False,
        "code": "unconfirmed",
        "message": message,
        "field": error.field,
        "value": error.value,
        "expected": error.expected,
        "issues": [],
    }


def _modify_check(strategy: GatewayStrategy, command: Any, threshold: Decimal) -> Any:
    """A modify's check: ``None`` unless it raises the order's notional above the
    threshold (an order already that size, confirmed when sent, may be re-priced)."""
    from nautilus_trader.model.identifiers import ClientOrderId

    from engine.orders.notional import notional_currency
    from engine.services.notional import NotionalCheck

    order = strategy.cache.order(ClientOrderId(command.client_order_id))
    if order is None:
        return None  # the strategy answers unknown_order
    rules, quote = strategy.rules_and_quote(order.instrument_id.value)
    if rules is None or not rules.multiplier.is_finite() or rules.multiplier <= 0:
        return None  # the node cannot value it; the order was valued when sent
    touch = None
    if quote is not None:
        touch = quote.ask if order.side.name == "BUY" else quote.bid

    def price_of(price: Any, trigger: Any) -> Decimal | None:
        for value in (price, trigger, touch):
            if value is not None:
                return Decimal(str(value))
        return None

    old_px = price_of(
        order.price if order.has_price else None,
        order.trigger_price if order.has_trigger_price else None,
    )
    new_px = price_of(
        command.price if command.price is not None else (order.price if order.has_price else None),
        command.trigger_price
        if command.trigger_price is not None
        else (order.trigger_price if order.has_trigger_price else None),
    )
    if new_px is None or old_px is None:
        return None
    old_qty = Decimal(str(order.quantity))
    new_qty = Decimal(str(command.quantity)) if command.quantity is not None else old_qty
    before = old_qty * old_px * rules.multiplier
    after = new_qty * new_px * rules.multiplier
    if after <= threshold or after <= before:
        return None
    return NotionalCheck(after, notional_currency(rules), threshold)
