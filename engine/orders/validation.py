"""Ticket validation: by order type and time in force, and against an instrument and quote.

:func:`validate_ticket` returns every problem at once as :class:`OrderIssue` values with
field paths (``price``, ``orders[1].trigger_price``, ``sl_trigger_price``), the value
and what was expected. An empty list means the ticket can be converted and submitted.

Rules by type
    - ``quantity`` > 0; ``display_qty`` in (0, quantity]; offsets > 0 (``limit_offset`` >= 0).
    - ``time_in_force``: ``MARKET`` cannot be ``GTD``; only ``MARKET`` and ``LIMIT``
      accept ``AT_THE_OPEN`` / ``AT_THE_CLOSE``.
    - ``GTD`` requires ``expire_time`` (after `now` when given); other TIFs forbid it.
    - ``post_only`` cannot go with ``IOC`` / ``FOK`` (it could never rest).
    - Which price fields a type takes is fixed by its model (``extra="forbid"``).
    - Brackets: the entry type decides whether ``entry_price`` / ``entry_trigger_price``
      are required or forbidden; likewise the stop-loss and take-profit types; the
      stop-loss must sit on the losing side of the entry and the take-profit on the
      winning side.
    - OCO needs two or more orders, OTO a parent and at least one child, all on one
      instrument.

Rules for every price (``price``, ``trigger_price``, ``activation_price`` and the
bracket legs' prices): above 0, unless the instrument's rules say it allows negative
prices (as Nautilus's RiskEngine denies them). What no Nautilus price or quantity can
hold (NaN, 1e400, 39 decimals, a year-9999 expiry) is refused when the ticket is read
(:mod:`engine.orders.numbers`).

Rules by instrument (when :class:`InstrumentRules` are given)
    - prices (``price``, ``trigger_price``, ``activation_price``) on the price increment
      and inside ``min_price`` / ``max_price``; ``PRICE`` trailing offsets on the price
      increment, ``TICKS`` offsets whole numbers.
    - ``quantity`` and ``display_qty`` on the size increment; quantity inside
      ``min_quantity`` / ``max_quantity``; notional inside ``min_notional`` /
      ``max_notional`` (price, else trigger, else the quote's touch price).
      Quote-quantity orders skip the size checks (their unit is the quote currency).

Rules by quote (when :class:`MarketQuote` is given)
    - stops (``STOP_MARKET``, ``STOP_LIMIT``, trailing stops with a trigger): a BUY
      trigger above the ask, a SELL trigger below the bid;
    - if-touched (``MARKET_IF_TOUCHED``, ``LIMIT_IF_TOUCHED``): a BUY trigger below the
      ask, a SELL trigger above the bid;
    - post-only limits: a BUY price below the ask, a SELL price above the bid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal, localcontext
from typing import Any

from engine.orders.issues import OrderIssue, prefixed
from engine.orders.tickets import (
    AnyTicket,
    BracketTicket,
    LimitTicket,
    OcoTicket,
    OtoTicket,
    TrailingStopLimitTicket,
    TrailingStopMarketTicket,
)

_AUCTION_TIF = ("AT_THE_OPEN", "AT_THE_CLOSE")
_STOPS = ("STOP_MARKET", "STOP_LIMIT", "TRAILING_STOP_MARKET", "TRAILING_STOP_LIMIT")
_TOUCHED = ("MARKET_IF_TOUCHED", "LIMIT_IF_TOUCHED")


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """The trading rules of an instrument that a ticket is checked against.

    Plain data, so a client without a Nautilus kernel can check tickets too;
    :meth:`from_instrument` reads them from a Nautilus ``Instrument``.
    """

    instrument_id: str
    price_increment: Decimal
    size_increment: Decimal
    min_quantity: Decimal | None = None
    max_quantity: Decimal | None = None
    min_notional: Decimal | None = None
    max_notional: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    multiplier: Decimal = Decimal(1)
    notional_currency: str = ""
    allows_negative_price: bool = False

    @classmethod
    def from_instrument(cls, instrument: Any) -> InstrumentRules:
        """Read the rules from a Nautilus ``Instrument``."""

        def dec(value: Any) -> Decimal | None:
            return None if value is None else Decimal(str(value.as_decimal()))

        min_notional = instrument.min_notional
        max_notional = instrument.max_notional
        money = min_notional if min_notional is not None else max_notional
        return cls(
            instrument_id=instrument.id.value,
            price_increment=instrument.price_increment.as_decimal(),
            size_increment=instrument.size_increment.as_decimal(),
            min_quantity=dec(instrument.min_quantity),
            max_quantity=dec(instrument.max_quantity),
            min_notional=dec(min_notional),
            max_notional=dec(max_notional),
            min_price=dec(instrument.min_price),
            max_price=dec(instrument.max_price),
            multiplier=instrument.multiplier.as_decimal(),
            notional_currency="" if money is None else money.currency.code,
            allows_negative_price=bool(instrument.allows_negative_price()),
        )

    def to_dict(self) -> dict[str, str | bool | None]:
        """Plain JSON: decimals as strings (exact), absent limits as None."""
        return {
            name: value if value is None or isinstance(value, bool) else str(value)
            for name, value in ((f, getattr(self, f)) for f in self.__dataclass_fields__)
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstrumentRules:
        """Read :meth:`to_dict`'s form; ValueError naming the field when one is not one."""
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            raw = data.get(name)
            if name in ("instrument_id", "notional_currency"):
                values[name] = str(raw or "")
            elif name == "allows_negative_price":
                values[name] = raw is True or str(raw).lower() == "true"
            elif raw is not None:
                try:
                    values[name] = Decimal(str(raw))
                except ArithmeticError:
                    raise ValueError(f"{name}: got {raw!r}, expected a decimal") from None
                if not values[name].is_finite():
                    raise ValueError(f"{name}: got {raw!r}, expected a finite decimal")
        for name in ("price_increment", "size_increment"):
            if name not in values:
                raise ValueError(f"{name}: missing, expected a decimal")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class MarketQuote:
    """The current best bid and ask of the ticket's instrument."""

    bid: Decimal
    ask: Decimal

    @classmethod
    def from_quote_tick(cls, tick: Any) -> MarketQuote:
        """Read a Nautilus ``QuoteTick``."""
        return cls(tick.bid_price.as_decimal(), tick.ask_price.as_decimal())

    def to_dict(self) -> dict[str, str]:
        return {"bid": str(self.bid), "ask": str(self.ask)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarketQuote:
        try:
            quote = cls(Decimal(str(data["bid"])), Decimal(str(data["ask"])))
        except (KeyError, TypeError, ArithmeticError):
            raise ValueError(f"quote: got {data!r}, expected bid and ask decimals") from None
        if not (quote.bid.is_finite() and quote.ask.is_finite()):
            raise ValueError(f"quote: got {data!r}, expected finite bid and ask")
        return quote


def validate_ticket(
    ticket: AnyTicket,
    *,
    instrument: InstrumentRules | None = None,
    quote: MarketQuote | None = None,
    now: datetime | None = None,
) -> list[OrderIssue]:
    """Return every problem with `ticket`; an empty list means it is valid.

    Parameters
    ----------
    ticket : AnyTicket
        The ticket to check.
    instrument : InstrumentRules, optional
        Check increments, size, price and notional limits against these.
    quote : MarketQuote, optional
        Check which side of the market triggers and post-only prices are on.
    now : datetime, optional
        Check that a GTD expiry lies in the future.
    """
    if isinstance(ticket, BracketTicket):
        return _check_bracket(ticket, instrument, quote, now)
    if isinstance(ticket, OcoTicket | OtoTicket):
        return _check_list(ticket, instrument, quote, now)
    return _check_single(ticket, instrument, quote, now)


# --- single orders -----------------------------------------------------------------------


def _check_single(
    t: Any, rules: InstrumentRules | None, quote: MarketQuote | None, now: datetime | None
) -> list[OrderIssue]:
    out: list[OrderIssue] = []
    if t.quantity <= 0:
        out.append(OrderIssue("quantity", t.quantity, "a quantity greater than 0"))
    out += _check_tif(t.type, t.time_in_force, getattr(t, "expire_time", None), now)
    if getattr(t, "post_only", False) and t.time_in_force in ("IOC", "FOK"):
        out.append(
            OrderIssue(
                "post_only",
                True,
                f"post_only false with time_in_force {t.time_in_force} "
                "(a post-only order must be able to rest)",
            )
        )
    display = getattr(t, "display_qty", None)
    if display is not None and not Decimal(0) < display <= t.quantity:
        out.append(OrderIssue("display_qty", display, f"a display quantity in (0, {t.quantity}]"))
    trailing = isinstance(t, TrailingStopMarketTicket | TrailingStopLimitTicket)
    if trailing and t.trailing_offset <= 0:
        out.append(OrderIssue("trailing_offset", t.trailing_offset, "an offset above 0"))
    if isinstance(t, TrailingStopLimitTicket) and t.limit_offset < 0:
        out.append(OrderIssue("limit_offset", t.limit_offset, "an offset of 0 or more"))
    for name in _PRICE_FIELDS:
        value = getattr(t, name, None)
        if value is not None:
            out += _check_sign(name, value, rules)
    if rules is not None:
        out += _check_instrument(t, rules, quote)
    if quote is not None:
        out += _check_quote_side(t, quote)
    return out


def _check_tif(
    order_type: str, tif: str, expire_time: datetime | None, now: datetime | None
) -> list[OrderIssue]:
    out: list[OrderIssue] = []
    if order_type == "MARKET" and tif == "GTD":
        out.append(
            OrderIssue(
                "time_in_force", tif, "GTC, IOC, FOK, DAY, AT_THE_OPEN or AT_THE_CLOSE for MARKET"
            )
        )
    elif tif in _AUCTION_TIF and order_type not in ("MARKET", "LIMIT"):
        out.append(
            OrderIssue(
                "time_in_force",
                tif,
                f"GTC, IOC, FOK, GTD or DAY for {order_type} "
                "(only MARKET and LIMIT orders take AT_THE_OPEN/AT_THE_CLOSE)",
            )
        )
    if tif == "GTD" and order_type != "MARKET":
        if expire_time is None:
            out.append(OrderIssue("expire_time", None, "an expiry time, required with GTD"))
        elif now is not None and expire_time <= now:
            out.append(
                OrderIssue(
                    "expire_time", expire_time.isoformat(), f"a time after {now.isoformat()}"
                )
            )
    elif tif != "GTD" and expire_time is not None:
        out.append(
            OrderIssue(
                "expire_time", expire_time.isoformat(), "no expiry time unless time_in_force is GTD"
            )
        )
    return out


def _check_instrument(
    t: Any, rules: InstrumentRules, quote: MarketQuote | None
) -> list[OrderIssue]:
    out: list[OrderIssue] = []
    if t.instrument_id != rules.instrument_id:
        out.append(OrderIssue("instrument_id", t.instrument_id, rules.instrument_id))
        return out
    for name in ("price", "trigger_price", "activation_price"):
        value = getattr(t, name, None)
        if value is not None:
            out += _check_price(name, value, rules)
    if isinstance(t, TrailingStopMarketTicket | TrailingStopLimitTicket):
        offsets = [("trailing_offset", t.trailing_offset)]
        if isinstance(t, TrailingStopLimitTicket):
            offsets.append(("limit_offset", t.limit_offset))
        for name, value in offsets:
            if t.trailing_offset_type == "PRICE" and not _on_step(value, rules.price_increment):
                out.append(
                    OrderIssue(
                        name, value, f"a multiple of the price increment {rules.price_increment}"
                    )
                )
            if t.trailing_offset_type == "TICKS" and value != value.to_integral_value():
                out.append(OrderIssue(name, value, "a whole number of ticks"))
    if t.quote_quantity:
        return out
    qty = t.quantity
    if qty > 0 and not _on_step(qty, rules.size_increment):
        out.append(
            OrderIssue("quantity", qty, f"a multiple of the size increment {rules.size_increment}")
        )
    if rules.min_quantity is not None and qty < rules.min_quantity:
        out.append(OrderIssue("quantity", qty, f"at least the minimum {rules.min_quantity}"))
    if rules.max_quantity is not None and qty > rules.max_quantity:
        out.append(OrderIssue("quantity", qty, f"at most the maximum {rules.max_quantity}"))
    display = getattr(t, "display_qty", None)
    if display is not None and not _on_step(display, rules.size_increment):
        out.append(
            OrderIssue(
                "display_qty", display, f"a multiple of the size increment {rules.size_increment}"
            )
        )
    ref = _reference_price(t, quote)
    if ref is not None and ref > 0 and qty > 0:  # a price <= 0 is reported on its own
        notional = qty * ref * rules.multiplier
        unit = f" {rules.notional_currency}" if rules.notional_currency else ""
        if rules.min_notional is not None and notional < rules.min_notional:
            out.append(
                OrderIssue(
                    "quantity",
                    qty,
                    f"a notional of at least {rules.min_notional}{unit} (was {notional} at {ref})",
                )
            )
        if rules.max_notional is not None and notional > rules.max_notional:
            out.append(
                OrderIssue(
                    "quantity",
                    qty,
                    f"a notional of at most {rules.max_notional}{unit} (was {notional} at {ref})",
                )
            )
    return out


_PRICE_FIELDS = ("price", "trigger_price", "activation_price")


def _check_sign(name: str, value: Decimal, rules: InstrumentRules | None) -> list[OrderIssue]:
    # Nautilus's RiskEngine denies a price <= 0 unless the instrument allows negative
    # prices (spreads, some commodities); without its rules, only a positive price passes.
    if value > 0 or (rules is not None and rules.allows_negative_price):
        return []
    why = (
        f"{rules.instrument_id} does not allow negative or zero prices"
        if rules is not None
        else "the instrument's rules were not known to allow otherwise"
    )
    return [OrderIssue(name, value, f"a price above 0 ({why})")]


def _check_price(name: str, value: Decimal, rules: InstrumentRules) -> list[OrderIssue]:
    out = []
    if not _on_step(value, rules.price_increment):
        out.append(
            OrderIssue(name, value, f"a multiple of the price increment {rules.price_increment}")
        )
    if rules.min_price is not None and value < rules.min_price:
        out.append(OrderIssue(name, value, f"at least the minimum price {rules.min_price}"))
    if rules.max_price is not None and value > rules.max_price:
        out.append(OrderIssue(name, value, f"at most the maximum price {rules.max_price}"))
    return out


# Exact remainders of any bounded value (17014118346046 at 16 decimals) by any increment:
# the default 28 digits raise DivisionImpossible for 1e13 % 1e-16.
_EXACT = Context(prec=120)


def _on_step(value: Decimal, step: Decimal) -> bool:
    if step <= 0:
        return True
    with localcontext(_EXACT):
        try:
            return value % step == 0
        except ArithmeticError:  # a rules value far outside what a node sends
            return False


def _reference_price(t: Any, quote: MarketQuote | None) -> Decimal | None:
    for name in ("price", "trigger_price"):
        value = getattr(t, name, None)
        if value is not None:
            return Decimal(value)
    if quote is None:
        return None
    return quote.ask if t.side == "BUY" else quote.bid


def _check_quote_side(t: Any, quote: MarketQuote) -> list[OrderIssue]:
    out: list[OrderIssue] = []
    buy = t.side == "BUY"
    trigger = getattr(t, "trigger_price", None)
    if trigger is not None and t.type in _STOPS:
        if buy and trigger <= quote.ask:
            out.append(
                OrderIssue(
                    "trigger_price", trigger, f"above the ask {quote.ask} for a BUY {t.type}"
                )
            )
        if not buy and trigger >= quote.bid:
            out.append(
                OrderIssue(
                    "trigger_price", trigger, f"below the bid {quote.bid} for a SELL {t.type}"
                )
            )
    if trigger is not None and t.type in _TOUCHED:
        if buy and trigger >= quote.ask:
            out.append(
                OrderIssue(
                    "trigger_price", trigger, f"below the ask {quote.ask} for a BUY {t.type}"
                )
            )
        if not buy and trigger <= quote.bid:
            out.append(
                OrderIssue(
                    "trigger_price", trigger, f"above the bid {quote.bid} for a SELL {t.type}"
                )
            )
    if isinstance(t, LimitTicket) and t.post_only:
        if buy and t.price >= quote.ask:
            out.append(
                OrderIssue("price", t.price, f"below the ask {quote.ask} for a post-only BUY")
            )
        if not buy and t.price <= quote.bid:
            out.append(
                OrderIssue("price", t.price, f"above the bid {quote.bid} for a post-only SELL")
            )
    return out


# --- lists -------------------------------------------------------------------------------


def _check_list(
    t: OcoTicket | OtoTicket,
    rules: InstrumentRules | None,
    quote: MarketQuote | None,
    now: datetime | None,
) -> list[OrderIssue]:
    out: list[OrderIssue] = []
    if len(t.orders) < 2:
        what = "two or more orders" if t.type == "OCO" else "a parent and at least one child"
        out.append(OrderIssue("orders", len(t.orders), f"{what} for {t.type}"))
    if t.orders:
        first = t.orders[0].instrument_id
        for i, leg in enumerate(t.orders[1:], start=1):
            if leg.instrument_id != first:
                out.append(
                    OrderIssue(
                        f"orders[{i}].instrument_id",
                        leg.instrument_id,
                        f"{first} (all orders of a list trade one instrument)",
                    )
                )
    for i, leg in enumerate(t.orders):
        out += prefixed(f"orders[{i}]", _check_single(leg, rules, quote, now))
    return out


def _check_bracket(
    b: BracketTicket,
    rules: InstrumentRules | None,
    quote: MarketQuote | None,
    now: datetime | None,
) -> list[OrderIssue]:
    from engine.orders.convert import bracket_legs  # convert imports Nautilus; keep lazy

    out: list[OrderIssue] = []
    needs = {
        "entry_price": b.entry_type in ("LIMIT", "LIMIT_IF_TOUCHED", "STOP_LIMIT"),
        "entry_trigger_price": b.entry_type in (*_TOUCHED, "STOP_LIMIT"),
        "sl_trigger_price": b.sl_type == "STOP_MARKET",
        "sl_trailing_offset": b.sl_type == "TRAILING_STOP_MARKET",
        "tp_price": b.tp_type in ("LIMIT", "LIMIT_IF_TOUCHED"),
        "tp_trigger_price": b.tp_type in ("LIMIT_IF_TOUCHED", "MARKET_IF_TOUCHED"),
    }
    owner = {"entry": b.entry_type, "sl": b.sl_type, "tp": b.tp_type}
    for name, required in needs.items():
        value = getattr(b, name)
        kind = owner[name.split("_", 1)[0]]
        if required and value is None:
            out.append(OrderIssue(name, None, f"a value, required for a {kind} leg"))
        elif not required and value is not None:
            out.append(OrderIssue(name, value, f"no value for a {kind} leg"))
    for name in ("sl_time_in_force", "tp_time_in_force"):
        if getattr(b, name) == "GTD":
            out.append(OrderIssue(name, "GTD", "GTC, IOC, FOK or DAY (children take no expiry)"))
    if out:
        return out  # legs cannot be built while a required field is missing

    entry, sl, tp = bracket_legs(b)
    out += _rename(_check_single(entry, rules, quote, now), "", _BRACKET_ENTRY_FIELDS)
    out += _rename(_check_single(sl, rules, None, None), "sl_")
    out += _rename(_check_single(tp, rules, None, None), "tp_")

    # The stop-loss must lose and the take-profit win relative to the entry.
    ref = b.entry_price or b.entry_trigger_price
    if ref is None and quote is not None:
        ref = quote.ask if b.side == "BUY" else quote.bid
    sl_px = b.sl_trigger_price
    tp_px = b.tp_price if b.tp_price is not None else b.tp_trigger_price
    if ref is not None:
        below, above = ("below", "above") if b.side == "BUY" else ("above", "below")
        if sl_px is not None and (sl_px >= ref if b.side == "BUY" else sl_px <= ref):
            out.append(
                OrderIssue("sl_trigger_price", sl_px, f"{below} the entry {ref} for a {b.side}")
            )
        if tp_px is not None and (tp_px <= ref if b.side == "BUY" else tp_px >= ref):
            name = "tp_price" if b.tp_price is not None else "tp_trigger_price"
            out.append(OrderIssue(name, tp_px, f"{above} the entry {ref} for a {b.side}"))
    return out


_BRACKET_ENTRY_FIELDS = {
    "price": "entry_price",
    "trigger_price": "entry_trigger_price",
    "trigger_type": "entry_trigger_type",
    "post_only": "entry_post_only",
    "tags": "entry_tags",
}


def _rename(
    issues: list[OrderIssue], prefix: str, names: dict[str, str] | None = None
) -> list[OrderIssue]:
    # Issues found on a leg name the bracket's own field (entry_price, sl_time_in_force …);
    # quantity and instrument are shared, so they keep their names.
    out: list[OrderIssue] = []
    for issue in issues:
        if prefix and issue.path == "expire_time":
            continue  # reported on {sl,tp}_time_in_force above
        shared = issue.path in ("quantity", "instrument_id", "display_qty", "emulation_trigger")
        if names is not None:
            path = names.get(issue.path, issue.path)
        else:
            path = issue.path if shared else prefix + issue.path
        if not any(i.path == path and i.expected == issue.expected for i in out):
            out.append(OrderIssue(path, issue.value, issue.expected))
    return out


def check_modify_values(
    order_type: str | None,
    *,
    quantity: Decimal | None,
    price: Decimal | None,
    trigger_price: Decimal | None,
    rules: InstrumentRules | None = None,
    quote_quantity: bool = False,
) -> list[OrderIssue]:
    """Return problems with a modify request for an order of `order_type`.

    Without `order_type` (a front end that does not know the order) the fields an order
    type takes are not checked; without `rules`, only what is wrong on its face (a
    quantity of 0 or less, a price of 0 or less) is.
    """
    out: list[OrderIssue] = []
    if quantity is None and price is None and trigger_price is None:
        out.append(OrderIssue("", None, "at least one of quantity, price, trigger_price"))
    if quantity is not None and quantity <= 0:
        out.append(OrderIssue("quantity", quantity, "a quantity greater than 0"))
    if order_type is not None:
        has_price = order_type in (
            "LIMIT",
            "STOP_LIMIT",
            "LIMIT_IF_TOUCHED",
            "TRAILING_STOP_LIMIT",
        )
        has_trigger = order_type in (*_STOPS, *_TOUCHED)
        if price is not None and not has_price:
            out.append(OrderIssue("price", price, f"no price for a {order_type} order"))
        if trigger_price is not None and not has_trigger:
            out.append(
                OrderIssue(
                    "trigger_price", trigger_price, f"no trigger price for a {order_type} order"
                )
            )
    for name, value in (("price", price), ("trigger_price", trigger_price)):
        if value is not None:
            out += _check_sign(name, value, rules)
            if rules is not None:
                out += _check_price(name, value, rules)
    if rules is not None and quantity is not None and quantity > 0 and not quote_quantity:
        if not _on_step(quantity, rules.size_increment):
            out.append(
                OrderIssue(
                    "quantity", quantity, f"a multiple of the size increment {rules.size_increment}"
                )
            )
        if rules.min_quantity is not None and quantity < rules.min_quantity:
            out.append(
                OrderIssue("quantity", quantity, f"at least the minimum {rules.min_quantity}")
            )
        if rules.max_quantity is not None and quantity > rules.max_quantity:
            out.append(
                OrderIssue("quantity", quantity, f"at most the maximum {rules.max_quantity}")
            )
    return out
