"""Order commands besides submitting a ticket: modify, cancel, cancel all, close a
position, flatten everything. Frozen pydantic models, discriminated on ``action``;
:data:`OrderCommand` also covers ``submit`` (a ticket) so a node host can take any of
them from the wire with :func:`load_command`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from engine.orders.issues import OrderIssue, OrderValidationError, issues_from_pydantic
from engine.orders.tickets import TICKET_TYPES, Num, Side, Ticket, _normalise_type

ID_MAX = 200


def _identifier(value: str) -> str:
    # Nautilus identifiers are ASCII: a non-ASCII client order id panics in its Rust core
    # and aborts the whole node host, so an id is checked before it reaches the node.
    if not (0 < len(value) <= ID_MAX and value.isascii() and value.isprintable()) or (" " in value):
        raise ValueError(f"an id of 1 to {ID_MAX} printable ASCII characters without spaces")
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubmitTicket(_Command):
    """Submit a ticket (a single order or a list)."""

    action: Literal["submit"] = "submit"
    ticket: Ticket


class ModifyOrder(_Command):
    """Change the quantity, limit price and/or trigger price of a working order."""

    action: Literal["modify"] = "modify"
    client_order_id: Identifier
    quantity: Num | None = None
    price: Num | None = None
    trigger_price: Num | None = None


class CancelOrder(_Command):
    """Cancel one working order."""

    action: Literal["cancel"] = "cancel"
    client_order_id: Identifier


class CancelAllOrders(_Command):
    """Cancel every working order, optionally of one instrument and/or side.

    ``all_strategies`` also cancels orders that other strategies of the node placed.
    """

    action: Literal["cancel_all"] = "cancel_all"
    instrument_id: Identifier | None = None
    side: Side | None = None
    all_strategies: bool = False


class ClosePosition(_Command):
    """Close one position (by id) or every open position of an instrument, at market.

    ``cancel_orders`` first cancels the working orders that could reopen it: every
    strategy's in the instrument, or the position's strategy's for one position.
    """

    action: Literal["close_position"] = "close_position"
    position_id: Identifier | None = None
    instrument_id: Identifier | None = None
    cancel_orders: bool = False


class FlattenAll(_Command):
    """Cancel every working order and close every open position at market.

    ``all_strategies`` (the default) includes what other strategies of the node hold;
    ``cancel_orders`` (the default) cancels working orders before closing.
    """

    action: Literal["flatten_all"] = "flatten_all"
    all_strategies: bool = True
    cancel_orders: bool = True


type AnyCommand = (
    SubmitTicket | ModifyOrder | CancelOrder | CancelAllOrders | ClosePosition | FlattenAll
)
OrderCommand = Annotated[AnyCommand, Field(discriminator="action")]
_ADAPTER: TypeAdapter[AnyCommand] = TypeAdapter(OrderCommand)
_ACTIONS = ("submit", "modify", "cancel", "cancel_all", "close_position", "flatten_all")


def load_command(data: dict[str, Any] | str | bytes) -> AnyCommand:
    """Build a command from a dict or JSON text.

    Raises
    ------
    OrderValidationError
        With one issue per problem, paths like ``ticket.price`` or ``client_order_id``.
    """
    try:
        if isinstance(data, str | bytes):
            data = json.loads(data)
        if isinstance(data, dict) and "ticket" in data:
            data = {**data, "ticket": _normalise_type(data["ticket"])}
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise OrderValidationError(issues_from_pydantic(exc, (*TICKET_TYPES, *_ACTIONS))) from None
    except (ValueError, RecursionError) as exc:  # not JSON, or nested too deeply
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise OrderValidationError([OrderIssue("", None, f"an order command ({why})")]) from None
