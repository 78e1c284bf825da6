"""The numbers, times and instrument ids an order may hold: what Nautilus can represent.

Every numeric field of a ticket or command goes through :func:`parse_number`, whether it
came from the one-line syntax, a JSON ticket, a console field or the wire, so a value
that one front end refuses no other accepts. The limits are those of the installed
NautilusTrader build (high precision: 16 decimals, ``PRICE_MAX`` 17014118346046);
``tests/unit/test_order_numbers.py`` checks them against it. They are constants here
because the console checks tickets without importing Nautilus.

Refused, with a message saying what was expected:

- anything but plain ASCII decimal text (``1.0850``, ``-2``, ``1e5``) or a JSON number:
  unicode digits (Arabic-Indic, fullwidth), underscores, blanks, booleans;
- NaN and infinities;
- magnitudes above :data:`MAX_MAGNITUDE` (``1e400``, a 400-digit quantity);
- more than :data:`MAX_DECIMALS` decimal places (39 decimals).

``-0`` reads as ``0``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

MAX_DECIMALS = 16  # nautilus_trader.model.objects.FIXED_PRECISION (high-precision build)
PRICE_MAX = Decimal("17014118346046")  # objects.PRICE_MAX; PRICE_MIN is its negative
QUANTITY_MAX = Decimal("34028236692093")  # objects.QUANTITY_MAX
MAX_MAGNITUDE = PRICE_MAX  # one bound for every number: no order needs more
# Nautilus stores times as int64 nanoseconds since 1970 (pandas' range ends 2262-04-11).
EXPIRE_MIN = datetime(1970, 1, 1, tzinfo=UTC)
EXPIRE_MAX = datetime(2262, 1, 1, tzinfo=UTC)
MAX_TEXT = 64  # longer number text is refused before it is looked at
MAX_ID = 128  # instrument id length

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)

NUMBER_EXPECTED = (
    f"a plain decimal number (ASCII digits, at most {MAX_DECIMALS} decimals, "
    f"at most {MAX_MAGNITUDE} in size)"
)


def parse_number(raw: Any) -> Decimal:
    """Return `raw` (text, int, float or Decimal) as a finite, representable Decimal.

    Raises
    ------
    ValueError
        Saying what was expected; the message is fit to show next to the field.
    """
    if isinstance(raw, bool):
        raise ValueError(f"a number, not {raw}")
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > MAX_TEXT or not _NUMBER.fullmatch(text):
            raise ValueError(NUMBER_EXPECTED)
        value = Decimal(text)
    elif isinstance(raw, int):
        if abs(raw) > int(MAX_MAGNITUDE):
            raise ValueError(f"a number at most {MAX_MAGNITUDE} in size")
        value = Decimal(raw)
    elif isinstance(raw, float | Decimal):
        value = Decimal(repr(raw)) if isinstance(raw, float) else raw
        if not value.is_finite():
            raise ValueError("a finite number (not NaN or infinity)")
    else:
        raise ValueError(f"a number, not {type(raw).__name__}")
    return check_number(value)


def check_number(value: Decimal) -> Decimal:
    """Return `value` (``-0`` as ``0``) if Nautilus can hold it, else raise ValueError."""
    if not value.is_finite():
        raise ValueError("a finite number (not NaN or infinity)")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"a number at most {MAX_MAGNITUDE} in size (Nautilus's limit)")
    if exponent < -MAX_DECIMALS:
        decimals = -exponent
        raise ValueError(
            f"at most {MAX_DECIMALS} decimal places (Nautilus's precision), not {decimals}"
        )
    if value.is_zero():
        return abs(value)
    return value


def check_expire_time(when: datetime) -> datetime:
    """Return `when` if Nautilus can hold it as an expiry time, else raise ValueError."""
    if not EXPIRE_MIN <= when < EXPIRE_MAX:
        raise ValueError(
            f"a time from {EXPIRE_MIN:%Y-%m-%d} to before {EXPIRE_MAX:%Y-%m-%d} "
            "(the range Nautilus can hold)"
        )
    return when


def check_instrument_id(text: str) -> str:
    """Return `text` if it is shaped like ``SYMBOL.VENUE``, else raise ValueError."""
    symbol, dot, venue = text.rpartition(".")
    if (
        len(text) > MAX_ID
        or not dot
        or not symbol.strip()
        or not venue.strip()
        or not text.isprintable()
        or text != text.strip()
        or any(c.isspace() for c in venue)
    ):
        raise ValueError(
            f"an instrument id SYMBOL.VENUE such as EUR/USD.SIM "
            f"(printable, at most {MAX_ID} characters)"
        )
    return text
