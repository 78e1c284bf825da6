"""The ``orders`` section of the workspace's ``settings.json``: when to ask before sending.

``{"orders": {"confirm_notional_above": "1000000"}}`` (the default): a submit whose
notional is above this, or cannot be valued, is sent only once confirmed
(``engine.services.orders``). ``null`` turns the confirmation off. The console's settings
model holds this same section, and both read the file by the same rules
(:mod:`engine.settings_file`): an invalid value, an unreadable file or one from a newer
gateway means the default, never "no confirmation".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from engine.orders.defaults import DEFAULT_CONFIRM_ABOVE
from engine.settings_file import read_settings_document, validate_keeping_the_rest
from engine.workspace import Workspace

__all__ = ["DEFAULT_CONFIRM_ABOVE", "OrderSettings", "confirm_threshold", "read_order_settings"]


class OrderSettings(BaseModel):
    """Order entry."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    confirm_notional_above: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = (
        DEFAULT_CONFIRM_ABOVE
    )
    """Ask before sending an order whose notional exceeds this (None: never ask)."""


def read_order_settings(workspace: Workspace) -> tuple[OrderSettings, list[str]]:
    """The workspace's order settings and the problems found reading them (each named)."""
    doc = read_settings_document(workspace.settings_path)
    if doc.data is None:
        return OrderSettings(), [doc.problem] if doc.problem else []
    if "orders" not in doc.data:
        return OrderSettings(), []
    return validate_keeping_the_rest(OrderSettings, doc.data["orders"], ("orders",))


def confirm_threshold(workspace: Workspace) -> Decimal | None:
    """The notional above which a submit needs confirming (``None``: never)."""
    return read_order_settings(workspace)[0].confirm_notional_above
