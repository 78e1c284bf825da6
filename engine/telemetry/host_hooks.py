"""Telemetry inside a node host: the metrics actor plus alerts evaluated on each sample.

The host calls :func:`attach_telemetry` once its Nautilus engine or node is built and
:meth:`Telemetry.finish` after the run (before disposing it): strategies settle their last
fills after actors stop, so only the final sample has the run's true figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.telemetry.alerts import AlertEngine, default_rules
from engine.telemetry.rules import RulesInvalid, RulesWatcher, merge_rules
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.config.model import NodeConfig
    from engine.telemetry.sampler import MetricsActor

Publish = Callable[..., Any]  # publish(kind, type, payload, ts_ns=None)

RULES_CHANGED = "AlertRulesChanged"
RULES_INVALID = "AlertRulesInvalid"


@dataclass
class Telemetry:
    """The metrics actor of one run and the alert engine fed by its samples."""

    actor: MetricsActor
    alerts: AlertEngine

    def finish(self) -> None:
        """Take the final sample (after the run, before dispose)."""
        self.actor.final_sample()


def attach_telemetry(
    target: Any,
    node: NodeConfig,
    workspace: Workspace,
    publish: Publish,
    *,
    interval_secs: float = 1.0,
) -> Telemetry:
    """Add a metrics actor to ``target`` (BacktestEngine or TradingNode) with alerts.

    Each ``MetricsSample`` is journaled, then evaluated against the alert rules; raised or
    resolved alerts are journaled right after it as ``alert`` events. The workspace's rules
    are re-read when settings.json changes, so they can be changed while the node runs.
    """
    from engine.telemetry.sampler import MetricsActorConfig, install

    watcher = RulesWatcher(workspace, node.alerts)
    try:
        rules = watcher.prime()
    except RulesInvalid as exc:
        publish("alert", RULES_INVALID, {"message": str(exc)})
        rules = merge_rules(default_rules(), node.alerts)
    alerts = AlertEngine(rules)

    def reload_rules() -> None:
        try:
            changed = watcher.changed()
        except RulesInvalid as exc:  # keep the rules in force; say so once per change
            publish("alert", RULES_INVALID, {"message": str(exc)})
            return
        if changed is None:
            return
        now = time.time_ns()
        events = alerts.set_rules(changed, now)
        names = [r.name for r in changed]
        message = f"alert rules changed in settings.json: {len(names)} rule(s) in force"
        publish("alert", RULES_CHANGED, {"rules": names, "message": message}, now)
        for event in events:
            publish(event.kind, event.type, event.payload, event.ts_ns)

    def publish_with_alerts(
        kind: str, type_: str, payload: dict[str, Any], ts_ns: int | None = None
    ) -> Any:
        env = publish(kind, type_, payload, ts_ns)
        if kind == "metric" and type_ == "MetricsSample":
            reload_rules()
            for event in alerts.evaluate(node.node_id, payload):
                publish(event.kind, event.type, event.payload, event.ts_ns)
        return env

    actor = install(target, publish_with_alerts, MetricsActorConfig(interval_secs=interval_secs))
    return Telemetry(actor, alerts)
