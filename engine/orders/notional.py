"""What a ticket is worth: its notional, the number the fat-finger confirmation looks at.

One computation for every front end (the console's ticket, ``gateway order``, the API),
so they ask about the same orders. Valued at the ticket's price, else its trigger, else
the touch it would trade at (the ask for a buy, the bid for a sell); times the quantity
and the instrument's multiplier; in the instrument's notional currency. A quote-quantity
ticket's quantity is already the notional.

A list ticket is worth its largest single order: a bracket its entry (the stop-loss and
take-profit close what the entry opened), an OCO or OTO its largest leg (an OCO fills one
leg; an OTO's children are usually the exits of its parent). ``None`` means unknown: no
price and no quote, no instrument rules (the multiplier of a future is not 1), a
multiplier that is not above 0, or numbers no exact arithmetic can hold. The caller
decides what unknown means; the policy (``engine.services.orders``) asks, as for a big
order, because a guard that lets through what it cannot value is no guard.

Pure, no Nautilus and no I/O: the console computes it on its loop as the user types.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext
from typing import Any

from engine.orders.tickets import AnyTicket, BracketTicket, OcoTicket, OtoTicket
from engine.orders.validation import InstrumentRules, MarketQuote

# Exact for any ticket (quantity and price at most ~17 digits before and 16 after the
# point) and any sane multiplier; hostile rules beyond it round, and overflow gives None.
_EXACT = Context(prec=120, Emax=999_999, Emin=-999_999)

# Where each ticket type keeps the price it is valued at, in order of preference.
_PRICE_FIELDS = ("price", "trigger_price")
_ENTRY_FIELDS = ("entry_price", "entry_trigger_price")


def notional(
    ticket: AnyTicket, rules: InstrumentRules | None, quote: MarketQuote | None
) -> Decimal | None:
    """Return the ticket's notional (a finite Decimal >= 0), or ``None`` when unknown.

    Never raises for a loaded ticket, whatever `rules` and `quote` a node answered.
    """
    try:
        with localcontext(_EXACT):
            return _notional(ticket, rules, quote)
    except (ArithmeticError, TypeError, ValueError, AttributeError):
        return None


def notional_currency(rules: InstrumentRules | None) -> str:
    """The currency the notional is in ("" when the node did not say)."""
    return "" if rules is None else rules.notional_currency


def _notional(
    ticket: AnyTicket, rules: InstrumentRules | None, quote: MarketQuote | None
) -> Decimal | None:
    if isinstance(ticket, OcoTicket | OtoTicket):
        values = [_notional(leg, rules, quote) for leg in ticket.orders]
        if not values or any(v is None for v in values):
            return None
        return max(v for v in values if v is not None)
    fields = _ENTRY_FIELDS if isinstance(ticket, BracketTicket) else _PRICE_FIELDS
    return _single(ticket, fields, rules, quote)


def _single(
    t: Any, fields: tuple[str, ...], rules: InstrumentRules | None, quote: MarketQuote | None
) -> Decimal | None:
    quantity = Decimal(t.quantity)
    if t.quote_quantity:
        return _finite(abs(quantity))
    if rules is None or not rules.multiplier.is_finite() or rules.multiplier <= 0:
        return None
    price = next((Decimal(v) for f in fields if (v := getattr(t, f, None)) is not None), None)
    if price is None and quote is not None:
        price = quote.ask if t.side == "BUY" else quote.bid
    if price is None:
        return None
    return _finite(abs(quantity * price * rules.multiplier))


def _finite(value: Decimal) -> Decimal | None:
    return value if value.is_finite() else None
