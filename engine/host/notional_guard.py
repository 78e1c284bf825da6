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
    from engine.orders.commands import SubmitTicket
    from engine.orders.dryrun import instrument_path
    from engine.services.notional import assess_notional

    if not isinstance(command, SubmitTicket) or not isinstance(guard, dict):
        return None
    threshold = _decimal(guard.get("above"))
    if threshold is None:
        return None
    raw = guard.get("confirm")
    confirm: bool | Decimal | None = raw if isinstance(raw, bool) else _decimal(raw)
    _, instrument_id = instrument_path(command.ticket)
    rules, quote = strategy.rules_and_quote(instrument_id)
    check = assess_notional(command.ticket, rules, quote, threshold)
    if check.confirmed_by(confirm):
        return None
    error = check.refusal(confirm)
    return {
        "ok": False,
        "code": "unconfirmed",
        "message": error.message,
        "field": error.field,
        "value": error.value,
        "expected": error.expected,
        "issues": [],
    }
