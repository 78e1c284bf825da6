"""The node host's ``risk`` command: show the state and limits, change them.

``{"cmd": "risk", "op": "show"}``
    -> ``{"ok": true, "risk": RiskState.to_dict(), "usage": {...}}``
``{"cmd": "risk", "op": "set", "limits": {"max_open_orders": 10, ...}, "by": "ana@cli"}``
    -> the new state; ``{"ok": false, "code": "invalid_limits", "issues": [...]}`` names
    every refused field and changes nothing
``{"cmd": "risk", "op": "state", "trading_state": "HALTED", "by": "...", "reason": "..."}``
    -> the new state (stored before it is reported)
"""

from __future__ import annotations

from typing import Any

from engine.risk.limits import TRADING_STATES, LimitsError


def _error(code: str, message: str, issues: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"ok": False, "code": code, "message": message, "error": message, "issues": issues or []}


def run_risk_command(
    guard: Any, command: dict[str, Any], *, node_id: str, state: str
) -> dict[str, Any]:
    if guard is None or state != "running":
        return _error("not_running", f"node {node_id} has no risk guard now (state {state})")
    op = command.get("op")
    by = str(command.get("by") or "unknown")[:200]
    if op == "show":
        return {"ok": True, "risk": guard.state.to_dict(), "usage": guard.usage()}
    if op == "set":
        changes = command.get("limits")
        if not isinstance(changes, dict) or not changes:
            return _error(
                "invalid_limits",
                "limits: expected a map of limit names to values",
                [{"field": "limits", "value": None, "message": "expected a non-empty map"}],
            )
        try:
            new = guard.set_limits(changes, by)
        except LimitsError as exc:
            return _error("invalid_limits", str(exc), exc.issues)
        return {"ok": True, "risk": new.to_dict()}
    if op == "state":
        target = command.get("trading_state")
        if target not in TRADING_STATES:
            return _error(
                "invalid_state",
                f"trading_state: got {target!r}, expected one of {', '.join(TRADING_STATES)}",
                [{"field": "trading_state", "value": target, "message": "unknown state"}],
            )
        reason = str(command.get("reason") or "")[:500]
        new = guard.set_trading_state(target, by, reason)
        return {"ok": True, "risk": new.to_dict()}
    return _error("unknown_command", f"risk op {op!r}; expected show, set or state")
