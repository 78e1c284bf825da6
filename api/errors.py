"""Every error leaves the server in the one error model (``ErrorBody``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from engine.services import ServiceError
from engine.services.models import ErrorBody

# Declared on every route, so the OpenAPI schema says what a client can get back.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": words}
    for status, words in (
        (401, "No token, or an unknown or revoked one"),
        (403, "The token lacks the scope, or is limited to other nodes or modes"),
        (404, "No such node, run or sample"),
        (
            409,
            "The state forbids it now (already running, not running, exists, refused), or "
            "it needs a confirmation the request lacks (code unconfirmed)",
        ),
        (422, "Bad input: the field, the value, what was expected; nothing was stored"),
        (429, "Over the token's rate limit (see Retry-After)"),
        (503, "The node host does not answer"),
    )
}

_CODE_BY_STATUS = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid",
    409: "conflict",
    429: "rate_limited",
}


def error_response(exc: ServiceError) -> JSONResponse:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if exc.code == "unauthorized":
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def validation_error(exc: RequestValidationError) -> ServiceError:
    """FastAPI's own request checks, in our words: the first problem names the field."""
    errors: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": ""}
    field = _field(tuple(first.get("loc", ())))
    value = None if first.get("type") == "missing" else first.get("input")
    expected = "required" if first.get("type") == "missing" else str(first.get("msg", ""))
    if first.get("type") == "json_invalid":
        ctx = first.get("ctx")
        reason = str(ctx.get("error", "")) if isinstance(ctx, dict) else ""
        return ServiceError(
            "invalid", f"body: expected JSON ({reason})", field="body", expected="a JSON document"
        )
    if first.get("type") == "missing":
        return ServiceError(
            "invalid", f"{field}: required field is missing", field=field, expected="required"
        )
    return ServiceError.invalid(field or "body", value, expected)


def install(app: FastAPI) -> None:
    async def on_service_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return error_response(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(validation_error(exc))

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = _CODE_BY_STATUS.get(
            exc.status_code, "invalid" if exc.status_code < 500 else "failed"
        )
        err = ServiceError(code, str(exc.detail), expected="")  # type: ignore[arg-type]
        response = error_response(err)
        if exc.status_code in (400, 405):  # an unparsable body, a wrong method: bad input
            response.status_code = 422 if exc.status_code == 400 else 405
        return response

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
