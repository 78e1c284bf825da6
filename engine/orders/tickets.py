"""Order tickets: what a user asks for, as frozen pydantic models.

A ticket is plain data (JSON-safe, Decimal values serialise as strings) that the
console, the CLI and the node host exchange. One model per Nautilus order type holds
exactly the fields that type accepts (``extra="forbid"`` rejects the rest), and
:data:`Ticket` is the union of all of them, discriminated on ``type``:

- single orders: ``MARKET``, ``LIMIT``, ``STOP_MARKET``, ``STOP_LIMIT``,
  ``MARKET_TO_LIMIT``, ``MARKET_IF_TOUCHED``, ``LIMIT_IF_TOUCHED``,
  ``TRAILING_STOP_MARKET``, ``TRAILING_STOP_LIMIT``;
- order lists: ``BRACKET`` (entry + stop-loss + take-profit), ``OCO`` (the first fill
  cancels the others), ``OTO`` (``orders[0]`` filling releases ``orders[1:]``).

The models check types only; the rules between fields (``GTD`` needs ``expire_time``,
display quantity not above quantity, …) and against an instrument live in
:mod:`engine.orders.validation`, so that every problem can be reported at once.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from engine.orders.issues import OrderValidationError, issues_from_pydantic


def _upper(value: Any) -> Any:
    # Accept "buy", "gtc", "bid_ask" and "bid-ask" from JSON and the CLI.
    return value.strip().upper().replace("-", "_") if isinstance(value, str) else value


type Side = Annotated[Literal["BUY", "SELL"], BeforeValidator(_upper)]
type TimeInForce = Annotated[
    Literal["GTC", "IOC", "FOK", "GTD", "DAY", "AT_THE_OPEN", "AT_THE_CLOSE"],
    BeforeValidator(_upper),
]
type TriggerType = Annotated[
    Literal[
        "DEFAULT",
        "BID_ASK",
        "LAST_PRICE",
        "DOUBLE_LAST",
        "DOUBLE_BID_ASK",
        "LAST_OR_BID_ASK",
        "MID_POINT",
        "MARK_PRICE",
        "INDEX_PRICE",
    ],
    BeforeValidator(_upper),
]
type EmulationTrigger = Annotated[
    Literal[
        "NO_TRIGGER",
        "DEFAULT",
        "BID_ASK",
        "LAST_PRICE",
        "DOUBLE_LAST",
        "DOUBLE_BID_ASK",
        "LAST_OR_BID_ASK",
        "MID_POINT",
        "MARK_PRICE",
        "INDEX_PRICE",
    ],
    BeforeValidator(_upper),
]
type TrailingOffsetType = Annotated[
    Literal["PRICE", "BASIS_POINTS", "TICKS"], BeforeValidator(_upper)
]
type Num = Annotated[Decimal, Field(allow_inf_nan=False)]
type Tags = tuple[str, ...]

TIME_IN_FORCE: tuple[str, ...] = ("GTC", "IOC", "FOK", "GTD", "DAY", "AT_THE_OPEN", "AT_THE_CLOSE")
TRIGGER_TYPES: tuple[str, ...] = (
    "DEFAULT",
    "BID_ASK",
    "LAST_PRICE",
    "DOUBLE_LAST",
    "DOUBLE_BID_ASK",
    "LAST_OR_BID_ASK",
    "MID_POINT",
    "MARK_PRICE",
    "INDEX_PRICE",
)
TRAILING_OFFSET_TYPES: tuple[str, ...] = ("PRICE", "BASIS_POINTS", "TICKS")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Common(_Frozen):
    """Fields every single order has."""

    instrument_id: str
    side: Side
    quantity: Num
    time_in_force: TimeInForce = "GTC"
    expire_time: AwareDatetime | None = None
    reduce_only: bool = False
    quote_quantity: bool = False
    tags: Tags = ()


class _Emulated(_Frozen):
    emulation_trigger: EmulationTrigger = "NO_TRIGGER"


class _Triggered(_Frozen):
    trigger_type: TriggerType = "DEFAULT"


class _Passive(_Frozen):
    post_only: bool = False
    display_qty: Num | None = None


class _Trailing(_Frozen):
    trailing_offset: Num
    trailing_offset_type: TrailingOffsetType = "PRICE"
    activation_price: Num | None = None
    trigger_price: Num | None = None


class MarketTicket(_Common):
    """A ``MARKET`` order."""

    type: Literal["MARKET"] = "MARKET"


class LimitTicket(_Common, _Passive, _Emulated):
    """A ``LIMIT`` order at `price`."""

    type: Literal["LIMIT"] = "LIMIT"
    price: Num


class StopMarketTicket(_Common, _Triggered, _Emulated):
    """A ``STOP_MARKET`` order: a market order once `trigger_price` trades."""

    type: Literal["STOP_MARKET"] = "STOP_MARKET"
    trigger_price: Num


class StopLimitTicket(_Common, _Triggered, _Passive, _Emulated):
    """A ``STOP_LIMIT`` order: a limit at `price` once `trigger_price` trades."""

    type: Literal["STOP_LIMIT"] = "STOP_LIMIT"
    price: Num
    trigger_price: Num


class MarketToLimitTicket(_Common):
    """A ``MARKET_TO_LIMIT`` order: the unfilled rest rests at the first fill's price."""

    type: Literal["MARKET_TO_LIMIT"] = "MARKET_TO_LIMIT"
    display_qty: Num | None = None


class MarketIfTouchedTicket(_Common, _Triggered, _Emulated):
    """A ``MARKET_IF_TOUCHED`` order: a market order once `trigger_price` is touched."""

    type: Literal["MARKET_IF_TOUCHED"] = "MARKET_IF_TOUCHED"
    trigger_price: Num


class LimitIfTouchedTicket(_Common, _Triggered, _Passive, _Emulated):
    """A ``LIMIT_IF_TOUCHED`` order: a limit at `price` once `trigger_price` is touched."""

    type: Literal["LIMIT_IF_TOUCHED"] = "LIMIT_IF_TOUCHED"
    price: Num
    trigger_price: Num


class TrailingStopMarketTicket(_Common, _Trailing, _Triggered, _Emulated):
    """A ``TRAILING_STOP_MARKET`` order trailing the market by `trailing_offset`."""

    type: Literal["TRAILING_STOP_MARKET"] = "TRAILING_STOP_MARKET"


class TrailingStopLimitTicket(_Common, _Trailing, _Triggered, _Passive, _Emulated):
    """A ``TRAILING_STOP_LIMIT`` order; its limit sits `limit_offset` from the trigger."""

    type: Literal["TRAILING_STOP_LIMIT"] = "TRAILING_STOP_LIMIT"
    limit_offset: Num
    price: Num | None = None


type SingleTicket = Annotated[
    MarketTicket
    | LimitTicket
    | StopMarketTicket
    | StopLimitTicket
    | MarketToLimitTicket
    | MarketIfTouchedTicket
    | LimitIfTouchedTicket
    | TrailingStopMarketTicket
    | TrailingStopLimitTicket,
    Field(discriminator="type"),
]

SINGLE_TYPES: tuple[str, ...] = (
    "MARKET",
    "LIMIT",
    "STOP_MARKET",
    "STOP_LIMIT",
    "MARKET_TO_LIMIT",
    "MARKET_IF_TOUCHED",
    "LIMIT_IF_TOUCHED",
    "TRAILING_STOP_MARKET",
    "TRAILING_STOP_LIMIT",
)
LIST_TYPES: tuple[str, ...] = ("BRACKET", "OCO", "OTO")


class BracketTicket(_Frozen):
    """An entry order with a stop-loss and a take-profit that wait for the entry to fill.

    The children are on the opposite side with the entry's quantity, linked to each
    other by `contingency_type` (``OUO``: a partial fill of one reduces the other;
    ``OCO``: a fill of one cancels the other) and marked reduce-only, as Nautilus's
    ``OrderFactory.bracket`` builds them.
    """

    type: Literal["BRACKET"] = "BRACKET"
    instrument_id: str
    side: Side
    quantity: Num
    quote_quantity: bool = False
    emulation_trigger: EmulationTrigger = "NO_TRIGGER"
    contingency_type: Annotated[Literal["OUO", "OCO"], BeforeValidator(_upper)] = "OUO"

    entry_type: Annotated[
        Literal["MARKET", "LIMIT", "MARKET_IF_TOUCHED", "LIMIT_IF_TOUCHED", "STOP_LIMIT"],
        BeforeValidator(_upper),
    ] = "MARKET"
    entry_price: Num | None = None
    entry_trigger_price: Num | None = None
    entry_trigger_type: TriggerType = "DEFAULT"
    time_in_force: TimeInForce = "GTC"
    expire_time: AwareDatetime | None = None
    entry_post_only: bool = False
    entry_tags: Tags = ("ENTRY",)

    sl_type: Annotated[Literal["STOP_MARKET", "TRAILING_STOP_MARKET"], BeforeValidator(_upper)] = (
        "STOP_MARKET"
    )
    sl_trigger_price: Num | None = None
    sl_trigger_type: TriggerType = "DEFAULT"
    sl_trailing_offset: Num | None = None
    sl_trailing_offset_type: TrailingOffsetType = "PRICE"
    sl_time_in_force: TimeInForce = "GTC"
    sl_tags: Tags = ("STOP_LOSS",)

    tp_type: Annotated[
        Literal["LIMIT", "LIMIT_IF_TOUCHED", "MARKET_IF_TOUCHED"], BeforeValidator(_upper)
    ] = "LIMIT"
    tp_price: Num | None = None
    tp_trigger_price: Num | None = None
    tp_trigger_type: TriggerType = "DEFAULT"
    tp_time_in_force: TimeInForce = "GTC"
    tp_post_only: bool = True
    tp_tags: Tags = ("TAKE_PROFIT",)


class OcoTicket(_Frozen):
    """Two or more orders on one instrument: the first to fill cancels the others."""

    type: Literal["OCO"] = "OCO"
    orders: tuple[SingleTicket, ...]


class OtoTicket(_Frozen):
    """``orders[0]`` is working at once; ``orders[1:]`` are released when it fills."""

    type: Literal["OTO"] = "OTO"
    orders: tuple[SingleTicket, ...]


type ListTicket = BracketTicket | OcoTicket | OtoTicket

type AnyTicket = (
    MarketTicket
    | LimitTicket
    | StopMarketTicket
    | StopLimitTicket
    | MarketToLimitTicket
    | MarketIfTouchedTicket
    | LimitIfTouchedTicket
    | TrailingStopMarketTicket
    | TrailingStopLimitTicket
    | BracketTicket
    | OcoTicket
    | OtoTicket
)
Ticket = Annotated[AnyTicket, Field(discriminator="type")]

TICKET_TYPES: dict[str, type[BaseModel]] = {
    "MARKET": MarketTicket,
    "LIMIT": LimitTicket,
    "STOP_MARKET": StopMarketTicket,
    "STOP_LIMIT": StopLimitTicket,
    "MARKET_TO_LIMIT": MarketToLimitTicket,
    "MARKET_IF_TOUCHED": MarketIfTouchedTicket,
    "LIMIT_IF_TOUCHED": LimitIfTouchedTicket,
    "TRAILING_STOP_MARKET": TrailingStopMarketTicket,
    "TRAILING_STOP_LIMIT": TrailingStopLimitTicket,
    "BRACKET": BracketTicket,
    "OCO": OcoTicket,
    "OTO": OtoTicket,
}

_TICKET_ADAPTER: TypeAdapter[AnyTicket] = TypeAdapter(Ticket)


def fields_for(order_type: str) -> tuple[str, ...]:
    """Return the field names a ticket of `order_type` accepts, in form order.

    The console uses this to show the fields that fit the chosen type.
    """
    model = TICKET_TYPES[order_type.upper()]
    names = [name for name in model.model_fields if name != "type"]
    rank = {name: i for i, name in enumerate(_FORM_ORDER)}
    return tuple(sorted(names, key=lambda name: rank.get(name, len(rank))))


# Form order: what a trader fills in first comes first.
_FORM_ORDER = (
    "instrument_id",
    "side",
    "quantity",
    "orders",
    "entry_type",
    "price",
    "entry_price",
    "trigger_price",
    "entry_trigger_price",
    "limit_offset",
    "trailing_offset",
    "trailing_offset_type",
    "activation_price",
    "trigger_type",
    "entry_trigger_type",
    "time_in_force",
    "expire_time",
    "post_only",
    "entry_post_only",
    "reduce_only",
    "display_qty",
    "quote_quantity",
    "emulation_trigger",
    "contingency_type",
    "sl_type",
    "sl_trigger_price",
    "sl_trigger_type",
    "sl_trailing_offset",
    "sl_trailing_offset_type",
    "sl_time_in_force",
    "tp_type",
    "tp_price",
    "tp_trigger_price",
    "tp_trigger_type",
    "tp_time_in_force",
    "tp_post_only",
    "tags",
    "entry_tags",
    "sl_tags",
    "tp_tags",
)


def load_ticket(data: dict[str, Any] | str | bytes) -> AnyTicket:
    """Build a ticket from a dict or JSON text.

    Raises
    ------
    OrderValidationError
        With one issue per structural problem (unknown type, missing or extra field,
        a value of the wrong kind). Rules between fields are checked by
        :func:`engine.orders.validation.validate_ticket`.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep
            from engine.orders.issues import OrderIssue

            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise OrderValidationError([OrderIssue("", None, f"a JSON object ({why})")]) from None
    try:
        return _TICKET_ADAPTER.validate_python(_normalise_type(data))
    except ValidationError as exc:
        raise OrderValidationError(issues_from_pydantic(exc, TICKET_TYPES)) from None
    except RecursionError:
        from engine.orders.issues import OrderIssue

        raise OrderValidationError([OrderIssue("", None, "a ticket (nested too deeply)")]) from None


def _normalise_type(data: Any) -> Any:
    # The discriminator must match exactly, so upper-case it (and the legs') first.
    if not isinstance(data, dict):
        return data
    out = dict(data)
    if isinstance(out.get("type"), str):
        out["type"] = _upper(out["type"])
    if isinstance(out.get("orders"), list | tuple):
        out["orders"] = [_normalise_type(leg) for leg in out["orders"]]
    return out


def dump_ticket(ticket: AnyTicket) -> dict[str, Any]:
    """Return the ticket as JSON-safe data, leaving out fields at their default."""
    out: dict[str, Any] = ticket.model_dump(mode="json", exclude_defaults=True)
    out["type"] = ticket.type
    if isinstance(ticket, OcoTicket | OtoTicket):
        out["orders"] = [dump_ticket(leg) for leg in ticket.orders]
    return out


def legs(ticket: AnyTicket) -> tuple[AnyTicket, ...]:
    """Return the single tickets inside a list ticket, or the ticket itself."""
    if isinstance(ticket, OcoTicket | OtoTicket):
        return tuple(ticket.orders)
    return (ticket,)


def is_expired(expire_time: datetime | None, now: datetime) -> bool:
    """Return whether a GTD expiry is not after `now`."""
    return expire_time is not None and expire_time <= now
