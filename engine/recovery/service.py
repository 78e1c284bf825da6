"""Reconciliation operations every front end calls: compare a node's three views now, or
accept the venue's view. The node's host does the work (``engine.recovery.host_recovery``);
a node not running is answered from its latest run's last comparison. Accepting is a
change: it goes into the audit log with who asked and what came of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from engine.principal import Principal
from engine.recovery.host_recovery import RECONCILIATION_FILE
from engine.recovery.reconcile import Reconciliation
from engine.runs import latest_run, read_json
from engine.workspace import Workspace

BAD_NODE = frozenset({"invalid_node", "unknown_node"})


@dataclass(frozen=True, slots=True)
class ReconcileOutcome:
    """A node's reconciliation: ``ok`` when the views agree (after accepting, if asked)."""

    node_id: str
    ok: bool
    code: str = ""
    message: str = ""
    running: bool = True
    result: Reconciliation | None = None
    trading_state: str | None = None
    reason: str = ""
    actions: list[str] = field(default_factory=list)
    accepted: bool = False
    audit_error: str | None = None

    @property
    def agree(self) -> bool:
        return self.result is not None and self.result.agree

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "node_id": self.node_id,
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
            "running": self.running,
            "trading_state": self.trading_state,
            "reason": self.reason,
            "accepted": self.accepted,
            "actions": self.actions,
            "audit_error": self.audit_error,
        }
        if self.result is not None:
            out.update(self.result.to_dict())
        else:
            out.update({"agree": False, "summary": self.message, "orders": [], "positions": []})
        return out


def _unknown(workspace: Workspace, node_id: str) -> ReconcileOutcome | None:
    """A node id that is no slug or names no stored node: refused before anything is read."""
    from engine.config.issues import ConfigInvalid
    from engine.config.store import ConfigStore

    try:
        if ConfigStore(workspace).modes(node_id):
            return None
    except ConfigInvalid as exc:
        message = "; ".join(f"{i.path}: {i.message}" for i in exc.issues) or str(exc)
        return ReconcileOutcome(node_id, False, "invalid_node", message, running=False)
    return ReconcileOutcome(
        node_id,
        False,
        "unknown_node",
        f"no node {node_id!r} (see: gateway nodes list)",
        running=False,
    )


async def _ask(workspace: Workspace, node_id: str, **args: Any) -> ReconcileOutcome:
    from engine.channel.errors import ChannelError
    from engine.manager import NodeManager, NodeNotRunning

    unknown = _unknown(workspace, node_id)
    if unknown is not None:
        return unknown

    try:
        reply = await NodeManager(workspace).command(node_id, "reconcile", **args)
    except NodeNotRunning as exc:
        return ReconcileOutcome(node_id, False, "not_running", str(exc), running=False)
    except (ChannelError, OSError, TimeoutError) as exc:
        return ReconcileOutcome(node_id, False, "unreachable", f"node {node_id!r}: {exc}")
    if "orders" not in reply:
        return ReconcileOutcome(
            node_id,
            False,
            str(reply.get("code") or "failed"),
            str(reply.get("message") or reply.get("error") or ""),
            running=reply.get("code") != "not_running",
        )
    result = Reconciliation.from_dict(reply)
    return ReconcileOutcome(
        node_id,
        bool(reply.get("ok")) and result.agree,
        "" if result.agree else str(reply.get("code") or "differs"),
        str(reply.get("message") or result.summary()),
        result=result,
        trading_state=reply.get("trading_state"),
        reason=str(reply.get("reason") or ""),
        actions=[str(a) for a in reply.get("actions") or []],
        accepted=bool(reply.get("accepted")),
    )


async def compare(workspace: Workspace, node_id: str) -> ReconcileOutcome:
    """Journal, cache and venue compared now; for a node not running, its last comparison."""
    live = await _ask(workspace, node_id)
    if live.running or live.code in BAD_NODE:
        return live
    run = latest_run(workspace, node_id)
    stored = read_json(run.path / RECONCILIATION_FILE) if run is not None else None
    if stored is None:
        return live
    result = Reconciliation.from_dict(stored)
    message = f"not running; its last run {run.run_id if run else ''} compared: {result.summary()}"
    return ReconcileOutcome(node_id, False, "not_running", message, running=False, result=result)


async def accept_venue(workspace: Workspace, node_id: str, who: Principal) -> ReconcileOutcome:
    """Adopt the venue's view at the running node; ok once journal, cache and venue agree."""
    from engine.audit.log import record

    outcome = await _ask(workspace, node_id, accept="venue", who=str(who))
    if outcome.code in BAD_NODE:
        return outcome  # bad input: nothing asked, nothing to audit
    result = {
        "ok": outcome.ok,
        "code": outcome.code,
        "message": outcome.message,
        "actions": outcome.actions,
        "trading_state": outcome.trading_state,
    }
    error = record(
        workspace,
        who,
        "nodes.reconcile.accept_venue",
        target={"node_id": node_id},
        request={"accept": "venue"},
        result=result,
    )
    return outcome if error is None else replace(outcome, audit_error=error)
