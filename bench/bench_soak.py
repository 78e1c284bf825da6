"""Console memory over an hour of a trading node (issue 16): RSS must stay flat.

A user attached the console to the demo sandbox node with the event log in front; its RSS
rose from 60 to 111 MB over 31 minutes (about 12k events, ~390 a minute) and was still
rising. Here a real sandbox node (its own host process, the offline random-walk feed)
trades on 50 ms bars instead of 1 s ones, so it makes a minute's worth of events in about
three seconds: the fast feed stands in for time. The console runs headless
(``App.run_test``), attached as to any running node, with the event log in front.
Every :data:`EVENTS_PER_MINUTE` events received count as one simulated minute; RSS is
recorded at each, for :data:`MINUTES` of them (an hour).

Printed: RSS after 10 simulated minutes and at the end (target: within 10%), the
trend over the last half (MB per simulated minute), events and wall time. With
``--trace`` it also prints the allocations that grew most between minute 10 and the end
(tracemalloc, on from minute 1; its own overhead inflates the RSS figures of that run).

Run: ``python -m bench.bench_soak [--minutes N] [--trace]`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

MINUTES = 60
EVENTS_PER_MINUTE = 390  # what the user's sandbox node made: ~12k events in 31 minutes
NODE = "demo-sandbox"
BAR_TYPE = "EUR/USD.SIM-50-MILLISECOND-BID-INTERNAL"
QUOTES_PER_S = 200.0  # a few quotes per 50 ms bar
_GATEWAY = [sys.executable, "-m", "console"]


def _workspace(root: Path) -> Any:
    from engine.config.store import ConfigStore
    from engine.demo import demo_sandbox
    from engine.workspace import Workspace

    workspace = Workspace(root / ".gateway").ensure()
    doc = demo_sandbox()
    doc["strategies"][0]["config"]["bar_type"] = BAR_TYPE
    doc["data_clients"][0]["options"]["rate"] = QUOTES_PER_S
    ConfigStore(workspace).save(doc, deep=False)
    return workspace


def _types() -> Counter[str]:
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects())


def _cli(workspace: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_HOME": str(workspace.root), "NO_COLOR": "1"}
    return subprocess.run(
        [*_GATEWAY, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


async def soak(workspace: Any, minutes: int, trace: bool) -> dict[str, Any]:
    from console.app import GatewayApp
    from console.services import WorkspaceServices

    services = WorkspaceServices(workspace)
    app = GatewayApp(services, settings_path=None)
    process = psutil.Process()
    rss: list[float] = []
    snapshot_10: Any = None
    types_10: Counter[str] = Counter()
    top: list[str] = []
    async with app.run_test(size=(160, 48)) as pilot:
        deadline = time.monotonic() + 60
        while not services._attached:
            if time.monotonic() > deadline:
                raise RuntimeError("the console did not attach to the sandbox node in 60 s")
            await pilot.pause(0.1)
        await pilot.press("2")  # the event log in front, as the user had it
        started = time.monotonic()
        base = app.events_in
        quiet_deadline = time.monotonic() + 120
        for minute in range(1, minutes + 1):
            target = base + minute * EVENTS_PER_MINUTE
            while app.events_in < target:
                if time.monotonic() > quiet_deadline:
                    raise RuntimeError(f"the node went quiet at simulated minute {minute}")
                await pilot.pause(0.05)
            quiet_deadline = time.monotonic() + 120
            rss.append(process.memory_info().rss / 1e6)
            if minute == 1 and trace:
                # Traced from here on (start-up's imports left out): the diff from minute
                # 10 to the end is what grew, not what merely replaced what minute 10 held.
                tracemalloc.start(1)
            if minute == 10 and trace:
                snapshot_10 = tracemalloc.take_snapshot()
                types_10 = _types()
        wall = time.monotonic() - started
        events = app.events_in - base
        if snapshot_10 is not None:
            stats = tracemalloc.take_snapshot().compare_to(snapshot_10, "lineno")
            total = sum(s.size_diff for s in stats)
            top.append(f"  traced in all: {total / 1e6:+.1f} MB")
            for stat in stats[:12]:
                frame = stat.traceback[0]
                where = f"{'/'.join(Path(frame.filename).parts[-2:])}:{frame.lineno}"
                top.append(f"  {stat.size_diff / 1e3:+.1f} kB ({stat.count_diff:+d}) {where}")
            grown = (_types() - types_10).most_common(10)
            top.append("  objects grown by type: " + ", ".join(f"{t} {n:+d}" for t, n in grown))
            tracemalloc.stop()
    await services.close(stop_live=False)
    return {"rss": rss, "wall": wall, "events": events, "top": top}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    minutes = int(args[args.index("--minutes") + 1]) if "--minutes" in args else MINUTES
    trace = "--trace" in args
    with tempfile.TemporaryDirectory() as tmp:
        workspace = _workspace(Path(tmp))
        launched = _cli(workspace, "launch", NODE)
        if launched.returncode != 0:
            raise RuntimeError(f"launch failed ({launched.returncode}): {launched.stderr}")
        try:
            figures = asyncio.run(soak(workspace, minutes, trace))
        finally:
            _cli(workspace, "stop", NODE, "--kill")
    rss = figures["rss"]
    at_10 = rss[min(9, len(rss) - 1)]
    end = rss[-1]
    half = rss[len(rss) // 2 :]
    slope = (half[-1] - half[0]) / max(1, len(half) - 1)
    late = rss[len(rss) * 2 // 3 - 1]  # by then every bounded store is full
    print(
        f"soak: {len(rss)} simulated minutes ({figures['events']:,} events from a sandbox "
        f"node, {EVENTS_PER_MINUTE}/minute) in {figures['wall']:.0f} s wall, event log in front"
    )
    print("RSS (MB) per simulated minute: " + " ".join(f"{m:.1f}" for m in rss))
    print(
        f"RSS after 10 min {at_10:.1f} MB, at the end {end:.1f} MB "
        f"({(end - at_10) / at_10:+.1%}; target within 10%); "
        f"last half trend {slope:+.3f} MB per simulated minute; "
        f"minute {len(rss) * 2 // 3} to the end {late:.1f} to {end:.1f} MB "
        f"({(end - late) / late:+.1%})"
    )
    if figures["top"]:
        print("allocations grown most from minute 10 to the end (tracemalloc):")
        print("\n".join(figures["top"]))


if __name__ == "__main__":
    main()
