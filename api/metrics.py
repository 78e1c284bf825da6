"""``GET /metrics``: every node's latest sample for Prometheus (prometheus_client's ASGI app).

Samples include PnL and balances, so a scrape needs a ``read`` token that is not limited
to some nodes or modes (Prometheus sends it with ``authorization: {credentials: …}``).
"""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import make_asgi_app
from starlette.types import Receive, Scope, Send

from api.auth import authenticate
from api.errors import error_response
from api.ratelimit import RateLimiter
from engine.services import ServiceError, Services
from engine.services.telemetry import PrometheusFeed


class MetricsApp:
    """The Prometheus ASGI app behind a token check."""

    def __init__(self, services: Services, limiter: RateLimiter) -> None:
        self.services = services
        self.limiter = limiter
        self.feed = PrometheusFeed(services.workspace)
        self._app = make_asgi_app(self.feed.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1") or None
        try:
            grant = authenticate(self.services, self.limiter, header)
            grant.require("read")
            if grant.limited:
                raise ServiceError(
                    "forbidden",
                    f"token {grant.name!r} is limited to some nodes or modes; /metrics shows all",
                    field="Authorization",
                    expected="a read token without node or mode limits",
                )
        except ServiceError as exc:
            await error_response(exc)(scope, receive, send)
            return
        await self._app(scope, receive, send)


async def follow_samples(services: Services, app: MetricsApp, interval_s: float) -> None:
    """Keep the registry fed from the run journals until cancelled."""
    del services
    while True:
        with contextlib.suppress(Exception):  # a damaged journal must not stop the feed
            await asyncio.to_thread(app.feed.poll)
        await asyncio.sleep(interval_s)
