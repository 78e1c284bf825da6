"""Wait until a sandbox node's venue has a market: its feed has delivered a quote.

A sandbox or live node reaches ``running`` before its feed's first quote; until then
Nautilus's sandbox venue rejects a market order with "no market". The node's metric
samples (one a second) count the data its data engine handled, instruments included.
"""

from __future__ import annotations

import time
from pathlib import Path

from engine.telemetry.journal_samples import latest_sample


def wait_for_quotes(run_dir: Path, *, instruments: int = 1, limit_s: float = 30) -> None:
    """Block until a metric sample of the run counts more data items than instruments."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        sample = latest_sample(run_dir) if (run_dir / "events.journal").exists() else None
        count = None if sample is None else (sample.payload.get("feed") or {}).get("data_count")
        if count is not None and count > instruments:
            return
        time.sleep(0.2)
    raise AssertionError(f"no quote reached the node's data engine within {limit_s}s")
