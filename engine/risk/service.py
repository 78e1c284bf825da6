"""Risk operations every front end calls: show, set limits, halt / reduce / resume, the kill
switch over every running node. Each change is sent to the node's host (which stores it
before it is in force) and recorded in the audit log with who asked and what came of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.principal import Principal
from engine.risk import store
from engine.risk.limits import TradingStateName
from engine.workspace import Workspace


@dataclass(frozen=True, slots=True)
class RiskOutcome:
    """One node's answer: ``ok`` only when the node confirmed the change."""

    node_id: str
    ok: bool
    code: str = ""
    message: str = ""
    risk: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    running: bool = True
    audit_error: str | None = None  # the change happened; its audit entry could not be written

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
            "running": self.running,
            "risk": self.risk,
            "usage": self.usage,
            "issues": self.issues,
            "audit_error": self.audit_error,
        }


async def _ask(workspace: Workspace, node_id: str, **args: Any) -> RiskOutcome:
    from engine.channel.errors import ChannelError
    from engine.manager import NodeManager, NodeNotRunning

    try:
        reply = await NodeManager(workspace).command(node_id, "risk", **args)
    except NodeNotRunning as exc:
        return RiskOutcome(node_id, False, "not_running", str(exc), running=False)
    except (ChannelError, OSError, TimeoutError) as exc:
        return RiskOutcome(node_id, False, "unreachable", f"node {node_id!r}: {exc}")
    if not reply.get("ok"):
        return RiskOutcome(
            node_id,
            False,
            str(reply.get("code") or "failed"),
            str(reply.get("message") or reply.get("error") or ""),
            issues=list(reply.get("issues") or []),
            running=reply.get("code") != "not_running",
        )
    return RiskOutcome(
        node_id, True, risk=dict(reply.get("risk") or {}), usage=dict(reply.get("usage") or {})
    )


async def show(workspace: Workspace, node_id: str) -> RiskOutcome:
    """The node's live risk state and usage; for a node not running, what it will start with."""
    live = await _ask(workspace, node_id, op="show")
    if live.ok or live.running:
        return live
    try:
        stored = store.load(workspace, node_id)
    except store.RiskStateError as exc:
        return RiskOutcome(node_id, False, "damaged_state", str(exc), running=False)
    message = "not running; it starts with " + (
        f"the stored state ({stored.trading_state})" if stored else "its config's limits, ACTIVE"
    )
    return RiskOutcome(
        node_id,
        True,
        "not_running",
        message,
        risk=stored.to_dict() if stored else {},
        running=False,
    )


async def set_limits(
    workspace: Workspace, node_id: str, changes: dict[str, Any], who: Principal
) -> RiskOutcome:
    outcome = await _ask(workspace, node_id, op="set", limits=changes, by=str(who))
    return _audit(workspace, who, "risk.set", node_id, {"limits": changes}, outcome)


async def set_state(
    workspace: Workspace, node_id: str, state: TradingStateName, who: Principal, reason: str = ""
) -> RiskOutcome:
    outcome = await _ask(
        workspace, node_id, op="state", trading_state=state, by=str(who), reason=reason
    )
    action = {"HALTED": "risk.halt", "REDUCING": "risk.reduce", "ACTIVE": "risk.resume"}[state]
    return _audit(workspace, who, action, node_id, {"reason": reason}, outcome)


async def halt_all(workspace: Workspace, who: Principal, reason: str = "") -> list[RiskOutcome]:
    """The kill switch: HALTED on every running sandbox and live node, each confirmed."""
    import asyncio

    from engine.manager import NodeManager

    hosts = [s for s in await NodeManager(workspace).ps() if s.alive and s.mode != "backtest"]
    return list(
        await asyncio.gather(
            *(
                set_state(workspace, s.node_id, "HALTED", who, reason or "kill switch")
                for s in hosts
            )
        )
    )


def _audit(
    workspace: Workspace,
    who: Principal,
    action: str,
    node_id: str,
    request: dict[str, Any],
    outcome: RiskOutcome,
) -> RiskOutcome:
    """Record the change and its outcome; a record that cannot be written is reported on
    the outcome (the change stands), as order actions do."""
    from dataclasses import replace

    from engine.audit.log import record

    result = {"ok": outcome.ok, "code": outcome.code, "message": outcome.message}
    if outcome.ok:
        result["trading_state"] = outcome.risk.get("trading_state")
    error = record(
        workspace, who, action, target={"node_id": node_id}, request=request, result=result
    )
    return outcome if error is None else replace(outcome, audit_error=error)


@dataclass(frozen=True, slots=True)
class KillOutcome:
    """The kill switch at one node: flattened (verified) and HALTED (confirmed)."""

    node_id: str
    halted: RiskOutcome
    flattened: Any = None  # engine.orders.outcome.Outcome, when asked to flatten

    @property
    def ok(self) -> bool:
        return self.halted.ok and (self.flattened is None or self.flattened.ok)

    def lines(self) -> list[str]:
        state = "HALTED" if self.halted.ok else f"NOT halted ({self.halted.message})"
        out = [f"{self.node_id}: {state}"]
        if self.flattened is not None:
            out += self.flattened.lines()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "ok": self.ok,
            "halted": self.halted.to_dict(),
            "flattened": None if self.flattened is None else self.flattened.to_dict(),
        }


async def kill_switch(
    workspace: Workspace, who: Principal, *, flatten: bool = True, timeout_s: float | None = None
) -> list[KillOutcome]:
    """Every running sandbox and live node: no new exposure, flat, then HALTED.

    REDUCING first, so no strategy opens anything while the positions are closed (HALTED
    would refuse the closing orders too); then every working order canceled and every
    position closed, followed to the end; then HALTED. Each step is confirmed by the node.
    """
    import asyncio

    from engine.manager import NodeManager
    from engine.orders.outcome import run_action

    hosts = [s for s in await NodeManager(workspace).ps() if s.alive and s.mode != "backtest"]

    async def one(node_id: str) -> KillOutcome:
        flattened = None
        if flatten:
            await set_state(workspace, node_id, "REDUCING", who, "kill switch: flattening")
            command = {"action": "flatten_all", "cancel_orders": True}
            flattened = await run_action(workspace, node_id, command, timeout_s=timeout_s, who=who)
        halted = await set_state(workspace, node_id, "HALTED", who, "kill switch")
        return KillOutcome(node_id, halted, flattened)

    return list(await asyncio.gather(*(one(s.node_id) for s in hosts)))
