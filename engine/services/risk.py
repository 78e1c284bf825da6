"""Risk through the service core: the node's trading state and limits, and the kill switch.

Thin over :mod:`engine.risk.service` (which the CLI and the console call too); this layer
turns a refusal into the one error model.
"""

from __future__ import annotations

from typing import Any

from engine.config.issues import ConfigIssue
from engine.principal import Principal
from engine.risk import service
from engine.risk.limits import TradingStateName
from engine.services.errors import ServiceError
from engine.services.models import KillSwitchResult, RiskView
from engine.workspace import Workspace

_CODES = {
    "invalid_limits": "invalid",
    "invalid_state": "invalid",
    "not_running": "conflict",
    "unreachable": "unreachable",
    "damaged_state": "failed",
}


def _view(outcome: service.RiskOutcome) -> RiskView:
    if not outcome.ok:
        issues = outcome.issues
        first = issues[0] if issues else {}
        raise ServiceError(
            _CODES.get(outcome.code, "refused"),  # type: ignore[arg-type]
            f"{outcome.node_id}: {outcome.message}",
            field=str(first.get("field") or ""),
            value=first.get("value"),
            expected=str(first.get("message") or ""),
            issues=[
                ConfigIssue(str(i.get("field") or ""), str(i.get("message") or ""), i.get("value"))
                for i in issues
            ],
        )
    return RiskView(
        node_id=outcome.node_id,
        running=outcome.running,
        trading_state=str(outcome.risk.get("trading_state") or "ACTIVE"),
        limits=dict(outcome.risk.get("limits") or {}),
        changed_by=str(outcome.risk.get("changed_by") or ""),
        reason=str(outcome.risk.get("reason") or ""),
        usage=dict(outcome.usage),
        note=outcome.message,
    )


class RiskService:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    async def show(self, node_id: str) -> RiskView:
        return _view(await service.show(self.workspace, node_id))

    async def set_limits(self, who: Principal, node_id: str, limits: dict[str, Any]) -> RiskView:
        if not limits:
            raise ServiceError(
                "invalid", "limits: expected at least one limit", field="limits", value=limits
            )
        return _view(await service.set_limits(self.workspace, node_id, limits, who))

    async def set_state(
        self, who: Principal, node_id: str, state: TradingStateName, reason: str
    ) -> RiskView:
        return _view(await service.set_state(self.workspace, node_id, state, who, reason))

    async def kill_switch(self, who: Principal, *, flatten: bool) -> KillSwitchResult:
        if flatten:
            kills = await service.kill_switch(self.workspace, who)
            nodes = [k.to_dict() for k in kills]
            ok = all(k.ok for k in kills)
        else:
            halted = await service.halt_all(self.workspace, who, "kill switch")
            nodes = [h.to_dict() for h in halted]
            ok = all(h.ok for h in halted)
        return KillSwitchResult(ok=ok, nodes=nodes)
