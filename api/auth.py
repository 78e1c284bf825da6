"""Bearer tokens with scopes: who is calling (the token's name) and what it may do."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.ratelimit import RateLimiter
from engine.services import ServiceError, Services
from engine.services.tokens import Grant

bearer = HTTPBearer(auto_error=False, description="A token from `gateway tokens create`.")


def unauthorized(message: str) -> ServiceError:
    return ServiceError(
        "unauthorized",
        message,
        field="Authorization",
        expected="'Bearer <token>' with a token from gateway tokens create",
    )


def authenticate(services: Services, limiter: RateLimiter, header: str | None) -> Grant:
    """The grant of the bearer token in ``header``; 401 without one, 429 over the limit."""
    if not header:
        raise unauthorized("no token: send Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("the Authorization header is not 'Bearer <token>'")
    grant = services.tokens.authenticate(token.strip())
    if grant is None:
        raise unauthorized("unknown or revoked token")
    wait = limiter.take(grant.name)
    if wait is not None:
        err = ServiceError(
            "rate_limited",
            f"token {grant.name!r} is over its rate limit of {limiter.rate:g} requests/s; "
            f"retry in {wait:.2f} s",
            field="Authorization",
            expected=f"at most {limiter.rate:g} requests/s",
            retry_after=max(1, math.ceil(wait)),
        )
        raise err
    return grant


def require(scope: str) -> Callable[..., Awaitable[Grant]]:
    """A dependency: the caller's grant, which must hold ``scope``."""

    async def dependency(  # async: no thread hop for a stat and a dict lookup
        request: Request,
        _creds: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> Grant:
        state = request.app.state
        grant = authenticate(state.services, state.limiter, request.headers.get("authorization"))
        grant.require(scope)
        return grant

    return dependency
