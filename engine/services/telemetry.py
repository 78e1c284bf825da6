"""Metrics (a node's latest sample) and alerts (raised and resolved), read from journals."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from engine.journal import JournalReader
from engine.runs import Run, list_runs
from engine.services.configs import check_node_ref
from engine.services.errors import ServiceError
from engine.services.models import Alert, MetricsSample
from engine.telemetry.alerts import ALERT_KIND
from engine.telemetry.journal_samples import latest_sample
from engine.workspace import Workspace

SCAN_WINDOW = 4096


def _latest_run(workspace: Workspace, node_id: str) -> Run:
    check_node_ref(node_id)
    runs = list_runs(workspace, node_id)
    if not runs:
        raise ServiceError(
            "not_found",
            f"node {node_id!r} has no run yet",
            field="node_id",
            value=node_id,
            expected="a node that has run",
        )
    return runs[-1]


class TelemetryService:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def latest_sample(self, node_id: str) -> MetricsSample:
        """The latest ``MetricsSample`` of the node's latest run."""
        run = _latest_run(self.workspace, node_id)
        env = latest_sample(run.path)
        if env is None:
            raise ServiceError(
                "not_found",
                f"run {run.run_id} of {node_id} has no metrics sample yet",
                field="node_id",
                value=node_id,
                expected="a node whose run has sampled its metrics",
            )
        return MetricsSample(
            node_id=run.node_id, run_id=run.run_id, seq=env.seq, ts_ns=env.ts_ns, sample=env.payload
        )

    def alerts(self, node_id: str | None = None, last: int = 100) -> list[Alert]:
        """The newest ``last`` alert events of each node's latest run, oldest first."""
        if not 1 <= last <= 10_000:
            raise ServiceError.invalid("last", last, "expected 1 to 10000")
        if node_id is not None:
            runs = [_latest_run(self.workspace, node_id)]
        else:
            latest: dict[str, Run] = {}
            for run in list_runs(self.workspace):
                latest[run.node_id] = run
            runs = [latest[k] for k in sorted(latest)]
        out: list[Alert] = []
        for run in runs:
            out.extend(_alerts_of(run, last))
        return out


def _alerts_of(run: Run, last: int) -> list[Alert]:
    """Read backwards in windows until ``last`` alerts are found or the journal's start."""
    found: list[Alert] = []
    with JournalReader(run.path) as reader:
        upper = reader.last_seq()
        while upper > 0 and len(found) < last:
            after = max(0, upper - SCAN_WINDOW)
            window = [
                Alert(
                    node_id=e.node_id,
                    run_id=e.run_id,
                    seq=e.seq,
                    ts_ns=e.ts_ns,
                    type=e.type,
                    payload=e.payload,
                )
                for e in reader.read(after_seq=after, limit=upper - after)
                if e.kind == ALERT_KIND
            ]
            found = window + found
            upper = after
    return found[-last:]


class PrometheusFeed:
    """Every node's latest sample as a Prometheus registry, refreshed by :meth:`poll`."""

    def __init__(self, workspace: Workspace) -> None:
        from engine.telemetry.journal_samples import SampleFollower
        from engine.telemetry.prometheus import MetricsRegistry

        self.metrics = MetricsRegistry()
        self.follower = SampleFollower(workspace)

    @property
    def registry(self) -> CollectorRegistry:
        return self.metrics.registry

    def poll(self) -> int:
        """Read the journals' new samples; return how many."""
        n = 0
        for node_id, env in self.follower.poll():
            self.metrics.update(node_id, env.payload)
            n += 1
        return n
