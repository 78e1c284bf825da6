"""Telemetry inside a node host: the metrics actor plus alerts evaluated on each sample.

The host calls :func:`attach_telemetry` once its Nautilus engine or node is built and
:meth:`Telemetry.finish` after the run (before disposing it): strategies settle their last
fills after actors stop, so only the final sample has the run's true figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.telemetry.alerts import AlertEngine, AlertEvent, AlertRule, default_rules, notify
from engine.telemetry.rules import RulesInvalid, RulesWatcher, effective_rules, merge_rules
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.config.model import NodeConfig
    from engine.telemetry.sampler import MetricsActor

Publish = Callable[..., Any]  # publish(kind, type, payload, ts_ns=None)

RULES_CHANGED = "AlertRulesChanged"
RULES_INVALID = "AlertRulesInvalid"
DEATH_TAIL = 200  # events read back from a dead run's journal end (its death is the last few)


@dataclass
class Telemetry:
    """The metrics actor of one run and the alert engine fed by its samples."""

    actor: MetricsActor
    alerts: AlertEngine
    node_id: str = ""
    publish: Publish | None = None

    def observe(self, kind: str, type_: str, payload: dict[str, Any], ts_ns: int | None) -> None:
        """Evaluate the ``risk.*`` rules when the node's trading state changes."""
        if kind != "risk" or type_ != "TradingStateChanged" or self.publish is None:
            return
        state = str(payload.get("state", ""))
        for event in self.alerts.risk_state(self.node_id, state, ts_ns or time.time_ns()):
            self.publish(event.kind, event.type, event.payload, event.ts_ns)

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
    return Telemetry(actor, alerts, node.node_id, publish)


def resolve_previous_failure(
    workspace: Workspace, node_id: str, run_id: str, node_rules: Sequence[AlertRule], now: int
) -> list[AlertEvent]:
    """Resolve the node-state alerts the node's previous run left active when it died.

    A host that dies cannot resolve anything: :func:`engine.manager.mark_dead` raises
    ``node-failed`` in its journal, and a restart (the supervisor's, or a launch by hand)
    starts a new run with a fresh alert engine, so the alert stayed active while the node
    ran again. The new run, once running, journals the resolutions; the rule's command or
    webhook hears of them as of any resolution.
    """
    from engine.journal import JournalReader
    from engine.runs import list_runs

    earlier = [r for r in list_runs(workspace, node_id) if r.run_id < run_id]
    if not earlier or earlier[-1].meta.state != "failed":
        return []
    active: dict[str, int] = {}  # alert id -> raised at (ns)
    try:
        with JournalReader(earlier[-1].path) as reader:
            tail = reader.read(max(0, reader.last_seq() - DEATH_TAIL))
    except (OSError, ValueError):
        return []
    for env in tail:
        payload = env.payload
        if env.kind != "alert" or str(payload.get("metric", "")).split(".")[0] != "node":
            continue
        if env.type == "AlertRaised":
            active[str(payload.get("alert_id"))] = int(payload.get("raised_ts_ns") or env.ts_ns)
        elif env.type == "AlertResolved":
            active.pop(str(payload.get("alert_id")), None)
    if not active:
        return []
    try:
        rules = effective_rules(workspace, node_rules)
    except RulesInvalid:
        rules = merge_rules(default_rules(), node_rules)
    seeding = [True]  # the dead run's raise was notified already: only the resolution now

    def notifier(rule: AlertRule, event: AlertEvent) -> None:
        if not seeding[0]:
            notify(rule, event)

    engine = AlertEngine(rules, notifier=notifier)
    engine.node_state(node_id, "failed", min(active.values()))
    seeding[0] = False
    return [
        event
        for event in engine.node_state(node_id, "running", now)
        if event.payload.get("alert_id") in active
    ]
