"""What the audit log records of an order command, the same from every front end.

One entry per command the node answered (or the core refused before sending): the action
(``orders.submit``, ``orders.cancel`` …), the command as sent with its idempotency key and
any notional confirmation, and the node's answer: ok, its code and message, the client
order ids it created.
"""

from __future__ import annotations

import re
from typing import Any

_ACTION = re.compile(r"[a-z_]{1,32}")


def action_name(command: Any) -> str:
    """``orders.<action>``, or ``orders.command`` when the action is not a plain word."""
    action = command.get("action") if isinstance(command, dict) else None
    return (
        f"orders.{action}"
        if isinstance(action, str) and _ACTION.fullmatch(action)
        else ("orders.command")
    )


def request_entry(
    command: Any, idempotency_key: str | None, confirmation: dict[str, Any] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"command": command, "idempotency_key": idempotency_key}
    return {**entry, **(confirmation or {})}


def result_entry(reply: dict[str, Any]) -> dict[str, Any]:
    """The node's answer as the entry's result (``ok`` false for any refusal)."""
    from engine.orders.session import refused

    return {
        "ok": not refused(reply),
        "code": reply.get("code"),
        "client_order_ids": reply.get("client_order_ids"),
        "message": reply.get("message"),
    }
