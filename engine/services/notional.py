"""The notional confirmation policy: when a submit may go without being confirmed.

A submit whose notional (:func:`engine.orders.notional.notional`) is above the workspace's
threshold (``orders.confirm_notional_above``, :mod:`engine.orders.order_settings`), or
cannot be valued, needs a confirmation: ``True`` (whatever its notional) or an amount (up
to it). :class:`NotionalCheck` says whether one is needed, whether a given one suffices,
the question a front end asks, and the refusal (the one error model, code
``unconfirmed``). ``OrderService`` (``engine.services.orders``) applies it to every
submit; the console's ticket uses it to ask the same question before the core checks.

Plain data and no I/O: the console's ticket screen imports it on its loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

from engine.services.errors import ServiceError

if TYPE_CHECKING:
    from engine.orders.tickets import AnyTicket
    from engine.orders.validation import InstrumentRules, MarketQuote

type Confirmation = bool | Decimal | None
"""What a submit says it was confirmed for: ``True`` (anything), an amount (up to it)."""

CONFIRM_FIELD = "confirm_notional"


def money(value: Decimal) -> str:
    """``5,000,000.00``: two decimals, thousands separated; past 1e30 (no ticket is worth
    that, but a node's rules may say anything) ``1.000000e+45``, never a page of digits."""
    with localcontext(prec=200):
        return f"{value:,.2f}" if value.adjusted() <= 30 else f"{value:.6e}"


def _amount(value: Decimal) -> str:
    # A threshold as the user wrote it: 1,000,000 or 2,500.5
    with localcontext(prec=200):
        return f"{value.normalize():,f}" if -30 <= value.adjusted() <= 30 else f"{value:.6e}"


@dataclass(frozen=True, slots=True)
class NotionalCheck:
    """A submit's notional against the workspace's threshold.

    Attributes
    ----------
    notional
        The order's notional (``None``: it cannot be valued; ``why_unknown`` says why).
    currency
        Its currency ("" when the node did not say).
    threshold
        ``orders.confirm_notional_above`` (``None``: never ask).
    """

    notional: Decimal | None
    currency: str
    threshold: Decimal | None
    why_unknown: str = ""

    @property
    def needs_confirmation(self) -> bool:
        """Above the threshold, or of unknown notional while there is a threshold."""
        if self.threshold is None:
            return False
        return self.notional is None or self.notional > self.threshold

    def confirmed_by(self, confirm: Confirmation) -> bool:
        """Whether ``confirm`` lets this order go (always, when it needs no confirmation)."""
        if not self.needs_confirmation or confirm is True:
            return True
        if isinstance(confirm, bool) or confirm is None or self.notional is None:
            return False
        return self.notional <= confirm

    @property
    def shown(self) -> str:
        """``5,000,000.00 USD``, or ``unknown``."""
        if self.notional is None:
            return "unknown"
        return f"{money(self.notional)} {self.currency}".rstrip()

    def question(self) -> str:
        """What a front end asks: ``Notional 5,000,000.00 USD is above 1,000,000: send?``."""
        above = _amount(self.threshold) if self.threshold is not None else "the threshold"
        if self.notional is None:
            return f"Notional unknown ({self.why_unknown}), it may be above {above}: send?"
        return f"Notional {self.shown} is above {above}: send?"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: decimals as exact strings."""
        return {
            "notional": None if self.notional is None else str(self.notional),
            "currency": self.currency,
            "confirm_above": None if self.threshold is None else str(self.threshold),
            "needs_confirmation": self.needs_confirmation,
            "why_unknown": self.why_unknown or None,
        }

    def refusal(self, confirm: Confirmation) -> ServiceError:
        """The one error model for a submit this check does not let go."""
        assert self.threshold is not None
        above = _amount(self.threshold)
        where = "settings.json orders.confirm_notional_above"
        if self.notional is None:
            return ServiceError(
                "unconfirmed",
                f"order not sent: its notional is unknown ({self.why_unknown}) and may be "
                f"above the confirmation threshold {above} ({where}); confirm it to send it "
                f"({CONFIRM_FIELD}: true, gateway order --yes)",
                field=CONFIRM_FIELD,
                value=confirm_value(confirm),
                expected=f"true: an order of unknown notional may be above {above}",
            )
        confirmed = (
            f"; it was confirmed only up to {money(confirm)}"
            if isinstance(confirm, Decimal)
            else ""
        )
        return ServiceError(
            "unconfirmed",
            f"order not sent: its notional {self.shown} is above the confirmation threshold "
            f"{above} ({where}){confirmed}; confirm it to send it ({CONFIRM_FIELD}: true or "
            f"an amount of at least {self.notional}, gateway order --yes)",
            field=CONFIRM_FIELD,
            value=confirm_value(confirm),
            expected=f"true, or an amount of at least {self.notional} (the order's notional)",
        )


def confirm_value(confirm: Confirmation) -> Any:
    return str(confirm) if isinstance(confirm, Decimal) else confirm


def assess_notional(
    ticket: AnyTicket,
    rules: InstrumentRules | None,
    quote: MarketQuote | None,
    threshold: Decimal | None,
) -> NotionalCheck:
    """Value ``ticket`` with the node's ``rules`` and ``quote`` against ``threshold``
    (the workspace's: :func:`engine.orders.order_settings.confirm_threshold`)."""
    from engine.orders.notional import notional, notional_currency

    value = notional(ticket, rules, quote)
    return NotionalCheck(
        value,
        notional_currency(rules),
        threshold,
        "" if value is not None else why_unknown(ticket, rules, quote),
    )


def why_unknown(ticket: AnyTicket, rules: InstrumentRules | None, quote: MarketQuote | None) -> str:
    """Why ``engine.orders.notional.notional`` could not value ``ticket``, in words."""
    if rules is None:
        return "the node did not give the instrument's rules and multiplier"
    if not rules.multiplier.is_finite() or rules.multiplier <= 0:
        return f"the instrument's multiplier {rules.multiplier} is not above 0"
    if quote is None:
        return "no price or quote to value it at"
    return "its numbers cannot be multiplied exactly"
