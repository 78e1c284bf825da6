"""Request bodies parsed without losing a digit.

``json.loads`` turns ``1000.0000000000000000001`` into the float ``1000.0`` and ``1e400``
into ``inf``: an order would go out at a quantity or price other than the one sent, and no
validation downstream could tell. Here a number that a float holds exactly (``1.05``,
``1.50``) stays a float; one it would change is kept as its text, so the one validation
refuses it naming the field (too many decimals, too large) as it refuses the same string.
``NaN`` and ``Infinity``, which are not JSON, are refused as a malformed body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _number(text: str) -> float | str:
    value = float(text)
    try:
        exact = Decimal(text) == Decimal(repr(value))
    except InvalidOperation:  # inf or nan from an out-of-range literal
        exact = False
    return value if exact else text


def _not_json(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def loads(data: bytes | str) -> Any:
    return json.loads(data, parse_float=_number, parse_constant=_not_json)


class ExactJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class ExactJsonRoute(APIRoute):
    """An APIRoute whose JSON bodies are parsed by :func:`loads`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactJsonRequest(request.scope, request.receive))

        return exact
