"""A dry run: check a ticket with the node's own rules, without sending it.

The node host answers a ``market`` command with the instrument's rules and its latest
bid/ask (``GatewayStrategy.market``); :func:`dry_run` asks for them and runs the same
:func:`engine.orders.validation.validate_ticket` the node runs on submission, so a dry
run refuses what the node would refuse. It also asks for the node's risk state (``risk
show``) and says whether the node's risk guard would deny the order
(:mod:`engine.orders.risk_preview`). When the node cannot answer (not running, a
backtest, too slow), the checks that need it are listed in ``not_checked`` rather than
passed in silence.

Plain data in and out, no Textual and no Nautilus: the CLI, the console and a service
layer call it alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from engine.orders.issues import OrderIssue
from engine.orders.tickets import AnyTicket, OcoTicket, OtoTicket
from engine.orders.validation import InstrumentRules, MarketQuote, validate_ticket

RULE_CHECKS = (
    "the instrument's rules (price and size increments, minimum and maximum quantity and "
    "notional, price limits, whether prices may be 0 or negative: positive prices only "
    "were accepted)"
)
QUOTE_CHECKS = (
    "the market side of trigger and post-only prices, and the notional of orders without a price"
)


@dataclass(frozen=True, slots=True)
class DryRun:
    """What a dry run found.

    Attributes
    ----------
    issues : list[OrderIssue]
        Every problem; empty when the node would take the ticket as far as it was checked.
    rules, quote : InstrumentRules | None, MarketQuote | None
        What the node answered (``None``: not known).
    not_checked : tuple[str, ...]
        Sentences naming the checks that could not be made, and why.
    risk_denial : str | None
        The reason the node's risk guard would deny the (valid) order, as it would say it.
    """

    issues: list[OrderIssue]
    rules: InstrumentRules | None = None
    quote: MarketQuote | None = None
    not_checked: tuple[str, ...] = field(default=())
    risk_denial: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the ticket passed every check that was made (risk limits aside)."""
        return not self.issues

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe plain data."""
        return {
            "ok": self.ok,
            "issues": [i.to_dict() for i in self.issues],
            "instrument": None if self.rules is None else self.rules.to_dict(),
            "quote": None if self.quote is None else self.quote.to_dict(),
            "not_checked": list(self.not_checked),
            "risk_denial": self.risk_denial,
        }


def instrument_path(ticket: AnyTicket) -> tuple[str, str]:
    """Return the field path and value of the instrument a ticket trades."""
    if isinstance(ticket, OcoTicket | OtoTicket):
        return "orders[0].instrument_id", ticket.orders[0].instrument_id if ticket.orders else ""
    return "instrument_id", ticket.instrument_id


def verdict(
    ticket: AnyTicket,
    node_id: str,
    reply: dict[str, Any] | None,
    *,
    unreachable: str = "",
    now: datetime | None = None,
) -> DryRun:
    """Check `ticket` given the node's answer to ``market`` (``None``: no answer).

    Parameters
    ----------
    reply : dict, optional
        The ``market`` reply; ``None`` when the node could not be asked.
    unreachable : str
        Why there is no reply, for ``not_checked``.
    """
    now = now or datetime.now(UTC)
    path, instrument_id = instrument_path(ticket)
    rules = quote = None
    not_checked: list[str] = []
    extra: list[OrderIssue] = []
    if reply is not None and reply.get("ok") is True:
        try:
            rules = InstrumentRules.from_dict(reply.get("instrument") or {})
            raw_quote = reply.get("quote")
            quote = MarketQuote.from_dict(raw_quote) if isinstance(raw_quote, dict) else None
        except ValueError as exc:
            rules = quote = None
            not_checked.append(f"{RULE_CHECKS}: node {node_id} answered unreadable rules ({exc})")
        else:
            if quote is None:
                not_checked.append(f"{QUOTE_CHECKS}: node {node_id} has no quote yet")
    elif reply is not None and reply.get("code") == "unknown_instrument":
        extra.append(OrderIssue(path, instrument_id, f"an instrument loaded in node {node_id}"))
    else:
        why = unreachable or str((reply or {}).get("message") or "no answer")
        not_checked.append(f"{RULE_CHECKS}: node {node_id} could not say ({why})")
        not_checked.append(f"{QUOTE_CHECKS}: node {node_id} could not say")
    issues = validate_ticket(ticket, instrument=rules if not extra else None, quote=quote, now=now)
    return DryRun([*extra, *issues], rules, quote, tuple(not_checked))


async def dry_run(
    manager: Any, node_id: str, ticket: AnyTicket, *, timeout_s: float = 5.0
) -> DryRun:
    """Ask node `node_id` (through a ``NodeManager``) for its market and check `ticket`."""
    _, instrument_id = instrument_path(ticket)
    try:
        reply = await asyncio.wait_for(
            manager.command(node_id, "market", instrument_id=instrument_id), timeout_s
        )
    except TimeoutError:
        return verdict(ticket, node_id, None, unreachable=f"no answer within {timeout_s:g} s")
    except Exception as exc:  # not running, socket gone, an older host: say so, check the rest
        return verdict(ticket, node_id, None, unreachable=str(exc) or type(exc).__name__)
    if not isinstance(reply, dict):
        return verdict(ticket, node_id, None, unreachable="an unreadable answer")
    result = verdict(ticket, node_id, reply)
    if result.issues:
        return result
    from engine.orders.risk_preview import preview

    risk_reply: dict[str, Any] | None = None
    why = ""
    try:
        answer = await asyncio.wait_for(manager.command(node_id, "risk", op="show"), timeout_s)
        risk_reply = answer if isinstance(answer, dict) else None
    except TimeoutError:
        why = f"no answer within {timeout_s:g} s"
    except Exception as exc:  # an older host without the command, the socket gone: say so
        why = str(exc) or type(exc).__name__
    seen = preview(ticket, node_id, risk_reply, result.rules, result.quote, unreachable=why)
    return replace(
        result,
        risk_denial=seen.denial,
        not_checked=(*result.not_checked, *seen.not_checked),
    )
