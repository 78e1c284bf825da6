"""The gateway's risk limits and trading states: what a user may set, checked as a whole.

Every limit is optional (``None``: no limit). Quantities are in the instrument's units,
money in the instrument's quote currency (notional) or the account's currency (losses).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")
type TradingStateName = Literal["ACTIVE", "REDUCING", "HALTED"]
type BreachAction = Literal["HALTED", "REDUCING"]

RATE_RE = re.compile(r"^(\d{1,9})/(\d{2}):(\d{2}):(\d{2})$")
MAX_AMOUNT = Decimal("1e15")  # beyond any account; keeps Decimal arithmetic exact
_POSITIVE = Field(default=None, gt=0, le=MAX_AMOUNT)


def parse_rate(text: str) -> tuple[int, float]:
    """``"N/HH:MM:SS"`` as (N, seconds); raises ``ValueError`` naming what is wrong."""
    m = RATE_RE.match(text.strip())
    if not m:
        raise ValueError(f"got {text!r}, expected N/HH:MM:SS, e.g. 10/00:00:01")
    n, h, mi, s = (int(g) for g in m.groups())
    seconds = h * 3600 + mi * 60 + s
    if n < 1 or seconds < 1 or mi > 59 or s > 59:
        raise ValueError(f"got {text!r}, expected at least 1 order per at least 1 second")
    return n, float(seconds)


class RiskLimits(BaseModel):
    """The gateway's own limits, on top of Nautilus's (which it also enforces on MARGIN)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_notional_per_order: Annotated[Decimal | None, _POSITIVE] = None
    max_position_net: Annotated[Decimal | None, _POSITIVE] = None
    max_position_gross: Annotated[Decimal | None, _POSITIVE] = None
    max_open_orders: Annotated[int | None, Field(default=None, ge=1, le=1_000_000)] = None
    max_order_rate_per_instrument: str | None = None
    max_daily_loss: Annotated[Decimal | None, _POSITIVE] = None
    on_daily_loss: BreachAction = "HALTED"
    max_drawdown: Annotated[Decimal | None, _POSITIVE] = None
    on_drawdown: BreachAction = "HALTED"

    @field_validator("max_order_rate_per_instrument")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value

    @field_validator(
        "max_notional_per_order",
        "max_position_net",
        "max_position_gross",
        "max_daily_loss",
        "max_drawdown",
        mode="before",
    )
    @classmethod
    def _finite(cls, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float | str | Decimal):
            try:
                d = Decimal(str(value).strip())
            except InvalidOperation:
                raise ValueError(f"got {value!r}, expected a positive number") from None
            if not d.is_finite():
                raise ValueError(f"got {value!r}, expected a finite positive number")
            return d
        return value

    def describe(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.model_dump().items()}


FIELDS = tuple(RiskLimits.model_fields)


class LimitsError(ValueError):
    """Limits a user asked for that cannot be taken; ``issues`` names every field."""

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{i['field']}: {i['message']}" for i in issues))


def apply_changes(current: RiskLimits, changes: dict[str, Any]) -> RiskLimits:
    """``current`` with ``changes`` (``None`` or ``"none"`` clears a limit), checked whole:
    ``LimitsError`` names every unknown or invalid field at once, and nothing changes."""
    issues = [
        {"field": k, "value": v, "message": f"unknown limit; expected one of {', '.join(FIELDS)}"}
        for k, v in changes.items()
        if k not in FIELDS
    ]
    merged = current.model_dump()
    for key, value in changes.items():
        if key in FIELDS:
            cleared = value is None or (isinstance(value, str) and value.strip().lower() == "none")
            merged[key] = None if cleared else value
    try:
        limits = RiskLimits.model_validate(merged)
    except ValidationError as exc:
        issues += [
            {
                "field": ".".join(str(p) for p in e["loc"]) or "limits",
                "value": changes.get(str(e["loc"][0])) if e["loc"] else None,
                "message": e["msg"].removeprefix("Value error, "),
            }
            for e in exc.errors()
        ]
    if issues:
        raise LimitsError(issues)
    return limits
