"""Live (sandbox) node figures through the real CLI (issue 5).

- launch to ``running``: wall time of ``gateway launch demo-sandbox`` (it returns once the
  node is running), median of 3, plus the host's own share (from its journal: first
  event to ``running``).
- events per second a sandbox node sustains with the offline feed at ``rate: "max"``,
  counted from its journal over a fixed window (every kind, and order events alone).

Run: ``python -m bench.bench_live`` (or ``make bench``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.journal import JournalReader
from engine.runs import latest_run
from engine.workspace import Workspace

NODE = "demo-sandbox"
WINDOW_S = 10.0
_GATEWAY = [sys.executable, "-m", "console"]


def _cli(workspace: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_HOME": str(workspace.root), "NO_COLOR": "1"}
    return subprocess.run(
        [*_GATEWAY, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _workspace(root: Path, options: dict[str, Any] | None = None) -> Workspace:
    workspace = Workspace(root / ".gateway").ensure()
    doc = demo_sandbox()
    if options:
        doc["data_clients"][0]["options"].update(options)
    ConfigStore(workspace).save(doc, deep=False)
    return workspace


def _journal(workspace: Workspace) -> list[Any]:
    run = latest_run(workspace, NODE)
    assert run is not None
    reader = JournalReader(run.path)
    try:
        return reader.read(0, 10_000_000)
    finally:
        reader.close()


def launch_to_running(root: Path) -> tuple[float, float]:
    """Return (CLI wall seconds, host seconds from its first event to running)."""
    workspace = _workspace(root)
    t0 = time.perf_counter()
    done = _cli(workspace, "launch", NODE, "--headless")
    wall = time.perf_counter() - t0
    try:
        assert done.returncode == 0, done.stderr[-2000:]
        events = _journal(workspace)
        running = next(
            e for e in events if e.type == "NodeStateChanged" and e.payload["state"] == "running"
        )
        host_s = (running.ts_ns - events[0].ts_ns) / 1e9
    finally:
        _cli(workspace, "stop", NODE, "--kill")
    return wall, host_s


def sustained_events(root: Path) -> dict[str, Any]:
    """Run the demo node with the feed at max rate; count journal events in a window."""
    workspace = _workspace(root, {"rate": "max"})
    done = _cli(workspace, "launch", NODE, "--headless")
    try:
        assert done.returncode == 0, done.stderr[-2000:]
        time.sleep(WINDOW_S + 1.0)
        events = _journal(workspace)
    finally:
        _cli(workspace, "stop", NODE, "--timeout", "10")
    running = next(
        e for e in events if e.type == "NodeStateChanged" and e.payload["state"] == "running"
    )
    start = running.ts_ns + 500_000_000  # skip the start-up burst
    window = [e for e in events if start <= e.ts_ns < start + int(WINDOW_S * 1e9)]
    kinds = Counter(e.kind for e in window)
    return {
        "events_per_s": len(window) / WINDOW_S,
        "order_events_per_s": kinds.get("order", 0) / WINDOW_S,
        "by_kind": dict(kinds),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        samples = [launch_to_running(Path(tmp) / f"l{i}") for i in range(3)]
        walls = [w for w, _ in samples]
        hosts = [h for _, h in samples]
        print(
            f"launch to running (gateway launch demo-sandbox, wall): median "
            f"{statistics.median(walls):.2f} s  (runs: {', '.join(f'{w:.2f}' for w in walls)})"
        )
        print(
            f"  of which in the host (first event -> running): median "
            f"{statistics.median(hosts):.2f} s"
        )
        figures = sustained_events(Path(tmp) / "rate")
        print(
            f"sandbox node, feed at max rate, {WINDOW_S:.0f} s window: "
            f"{figures['events_per_s']:,.0f} journal events/s "
            f"({figures['order_events_per_s']:,.1f} order events/s)"
        )
        print(f"  by kind: {json.dumps(figures['by_kind'])}")


if __name__ == "__main__":
    main()
