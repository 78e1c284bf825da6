"""Order defaults a front end needs before anything heavier is imported (the console's
first paint must not wait for pydantic)."""

from __future__ import annotations

from decimal import Decimal

# settings.json orders.confirm_notional_above when unset or unreadable
DEFAULT_CONFIRM_ABOVE = Decimal(1_000_000)
