"""Audit: record what a service call changed and its outcome; list and verify the log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec

from engine.audit.log import AuditLog, AuditWriteError
from engine.audit.query import AuditQuery, BadSince, parse_since
from engine.principal import Principal
from engine.services.errors import ServiceError
from engine.services.models import AuditEntryOut, AuditVerifyResult
from engine.workspace import Workspace


def audited[T](
    workspace: Workspace,
    who: Principal,
    action: str,
    target: dict[str, Any],
    request: dict[str, Any],
    call: Callable[[], T],
    outcome: Callable[[T], dict[str, Any]],
) -> T:
    """Run ``call`` and record it (and what came of it, error or not) in the audit log."""
    try:
        value = call()
    except Exception as exc:
        try:
            _append(workspace, who, action, target, request, _failure(exc))
        except ServiceError as audit:  # what failed is the news; the missing entry a note
            exc.add_note(audit.message)
        raise
    _append(workspace, who, action, target, request, {"ok": True, **outcome(value)})
    return value


async def audited_async[T](
    workspace: Workspace,
    who: Principal,
    action: str,
    target: dict[str, Any],
    request: dict[str, Any],
    call: Callable[[], Any],
    outcome: Callable[[T], dict[str, Any]],
) -> T:
    """:func:`audited` for a coroutine function ``call``."""
    import asyncio

    try:
        value: T = await call()
    except Exception as exc:
        failed = _failure(exc)
        try:
            await asyncio.to_thread(_append, workspace, who, action, target, request, failed)
        except ServiceError as audit:  # what failed is the news; the missing entry a note
            exc.add_note(audit.message)
        raise
    ok = {"ok": True, **outcome(value)}
    await asyncio.to_thread(_append, workspace, who, action, target, request, ok)
    return value


def _failure(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ServiceError):
        return {"ok": False, **exc.to_dict()}
    return {"ok": False, "error": str(exc)}


def _append(
    workspace: Workspace,
    who: Principal,
    action: str,
    target: dict[str, Any],
    request: dict[str, Any],
    result: dict[str, Any],
) -> None:
    try:
        AuditLog.of(workspace).append(who, action, target=target, request=request, result=result)
    except AuditWriteError as exc:
        done = "done" if result.get("ok") else "failed"
        raise ServiceError(
            "failed", f"{action} {done}, but the audit log could not be written: {exc}"
        ) from exc


class AuditService:
    """Read the audit log: entries by filter, and the chain's check."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def list(
        self,
        *,
        since: str | None = None,
        who: str | None = None,
        action: str | None = None,
        last: int | None = None,
    ) -> list[AuditEntryOut]:
        when: dt.datetime | None = None
        if since is not None:
            try:
                when = parse_since(since)
            except BadSince as exc:
                raise ServiceError(
                    "invalid",
                    f"since: {exc}",
                    field="since",
                    value=since,
                    expected="an age like 30m, 2h or 7d, or an ISO 8601 time",
                ) from None
        if last is not None and last < 1:
            raise ServiceError.invalid("last", last, "expected a whole number >= 1")
        query = AuditQuery(since=when, who=who, action=action, last=last)
        entries = query.select(AuditLog.of(self.workspace).entries())
        return [
            AuditEntryOut.model_validate(
                {k: v for k, v in msgspec.to_builtins(e).items() if k not in ("v", "prev")}
            )
            for e in entries
        ]

    def verify(self) -> AuditVerifyResult:
        from engine.audit.verify import verify

        report = verify(AuditLog.of(self.workspace))
        problem = None
        if report.problem is not None:
            p = report.problem
            problem = {"kind": p.kind, "line": p.line, "seq": p.seq, "message": p.message}
        return AuditVerifyResult(
            ok=report.ok,
            entries=report.entries,
            last_seq=report.last_seq,
            problem=problem,
            sealed=report.sealed,
            note=report.note,
        )
