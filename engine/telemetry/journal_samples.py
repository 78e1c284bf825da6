"""Metric samples read back from run journals: the latest one, or everything new.

The journal is the record of truth (every sample is an envelope in it), so the CLI and
the Prometheus endpoint read samples from there instead of asking a node host, and work
the same for a running live node and a finished backtest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.events.envelope import Envelope
from engine.journal import JournalReader
from engine.runs import Run, list_runs
from engine.workspace import Workspace

METRIC_KIND = "metric"
SAMPLE_TYPE = "MetricsSample"


def _is_sample(env: Envelope) -> bool:
    return env.kind == METRIC_KIND and env.type == SAMPLE_TYPE


def latest_sample(run_dir: Path) -> Envelope | None:
    """The run's last ``MetricsSample``, reading backwards in growing windows."""
    with JournalReader(run_dir) as reader:
        last = reader.last_seq()
        window = 256
        upper = last
        while upper > 0:
            after = max(0, upper - window)
            found = [e for e in reader.read(after_seq=after, limit=upper - after) if _is_sample(e)]
            if found:
                return found[-1]
            upper = after
            window *= 4
    return None


@dataclass
class SampleFollower:
    """Yields new samples of the latest run of every node, one poll at a time."""

    workspace: Workspace
    _seen: dict[str, tuple[str, int]] = field(default_factory=dict)  # node -> (run, seq)

    def poll(self) -> Iterator[tuple[str, Envelope]]:
        """New ``(node_id, sample envelope)`` pairs since the last poll."""
        latest: dict[str, Run] = {}
        for run in list_runs(self.workspace):
            latest[run.node_id] = run  # runs are sorted oldest first
        for node_id, run in latest.items():
            run_id, seq = self._seen.get(node_id, ("", 0))
            if run_id != run.run_id:
                # A new run: start from its latest sample rather than replaying history.
                env = latest_sample(run.path)
                self._seen[node_id] = (run.run_id, env.seq if env else 0)
                if env is not None:
                    yield node_id, env
                continue
            with JournalReader(run.path) as reader:
                for env in reader.iter_after(seq):
                    seq = env.seq
                    if _is_sample(env):
                        yield node_id, env
            self._seen[node_id] = (run_id, seq)
