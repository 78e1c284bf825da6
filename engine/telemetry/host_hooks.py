"""Telemetry inside a node host: the metrics actor plus alerts evaluated on each sample.

The host calls :func:`attach_telemetry` once its Nautilus engine or node is built and
:meth:`Telemetry.finish` after the run (before disposing it): strategies settle their last
fills after actors stop, so only the final sample has the run's true figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.telemetry.alerts import AlertEngine, AlertRule, default_rules
from engine.telemetry.sampler import MetricsActor, MetricsActorConfig, install

Publish = Callable[..., Any]  # publish(kind, type, payload, ts_ns=None)


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
    node_id: str,
    publish: Publish,
    *,
    interval_secs: float = 1.0,
    rules: Iterable[AlertRule] | None = None,
) -> Telemetry:
    """Add a metrics actor to ``target`` (BacktestEngine or TradingNode) with alerts.

    Each ``MetricsSample`` is journaled, then evaluated against the alert rules; raised or
    resolved alerts are journaled right after it as ``alert`` events.
    """
    alerts = AlertEngine(list(rules) if rules is not None else default_rules())

    def publish_with_alerts(
        kind: str, type_: str, payload: dict[str, Any], ts_ns: int | None = None
    ) -> Any:
        env = publish(kind, type_, payload, ts_ns)
        if kind == "metric" and type_ == "MetricsSample":
            for event in alerts.evaluate(node_id, payload):
                publish(event.kind, event.type, event.payload, event.ts_ns)
        return env

    actor = install(target, publish_with_alerts, MetricsActorConfig(interval_secs=interval_secs))
    return Telemetry(actor, alerts)
