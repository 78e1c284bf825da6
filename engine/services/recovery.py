"""Reconciliation through the service core: compare a node's journal, cache and venue, or
accept the venue's view. Thin over :mod:`engine.recovery.service`; views that differ are
a result (``agree`` false), not an error; a node that cannot answer is one."""

from __future__ import annotations

from engine.principal import Principal
from engine.recovery import service
from engine.services.errors import ServiceError
from engine.services.models import ReconciliationRow, ReconciliationView
from engine.workspace import Workspace

_CODES = {
    "not_running": "conflict",
    "unreachable": "unreachable",
    "invalid_node": "invalid",
    "unknown_node": "not_found",
}


def _view(outcome: service.ReconcileOutcome) -> ReconciliationView:
    result = outcome.result
    if result is None:
        raise ServiceError(
            _CODES.get(outcome.code, "failed"),  # type: ignore[arg-type]
            f"{outcome.node_id}: {outcome.message}",
        )
    return ReconciliationView(
        node_id=outcome.node_id,
        running=outcome.running,
        agree=result.agree,
        summary=result.summary(),
        orders=[ReconciliationRow(**r.to_dict()) for r in result.orders],
        positions=[ReconciliationRow(**r.to_dict()) for r in result.positions],
        trading_state=outcome.trading_state,
        reason=outcome.reason,
        accepted=outcome.accepted,
        actions=outcome.actions,
        note=outcome.message if outcome.audit_error is None else outcome.audit_error,
    )


class RecoveryService:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    async def reconcile(self, node_id: str) -> ReconciliationView:
        """The three views now (a stopped node: its last run's comparison)."""
        return _view(await service.compare(self.workspace, node_id))

    async def accept_venue(self, who: Principal, node_id: str) -> ReconciliationView:
        """Adopt the venue's view at the running node (audited); ``agree`` says if it took."""
        outcome = await service.accept_venue(self.workspace, node_id, who)
        if not outcome.running:
            code = _CODES.get(outcome.code, "conflict")
            raise ServiceError(code, f"{node_id}: {outcome.message}")  # type: ignore[arg-type]
        return _view(outcome)
