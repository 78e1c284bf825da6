"""Replay a recorded run's journal into a headless console: RSS per simulated minute, fast.

``bench_soak`` needs a live sandbox node and ~6 minutes of wall time for its hour; this
replays the journal such a run left (the same events the console got through the
channel) as fast as the console folds them, ~2 minutes for an hour, so a change to a
bounded store can be measured in a few tries. Not run by ``make bench`` (it needs a
recorded run): record one with ``gateway launch`` on the soak's workspace settings
(``bench_soak._workspace``) until its journal holds ~24k events, then

    python -m bench.soak_replay RUN_DIR [--minutes N] [--trace]

Every :data:`bench.bench_soak.EVENTS_PER_MINUTE` events folded count as a minute, as in
the soak. The journal is held in memory whole, which raises the RSS base (not its trend).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil

from bench.bench_soak import EVENTS_PER_MINUTE

CHUNK = 20  # envelopes published per pause of 50 ms: ~400 a second


async def replay(run_dir: Path, minutes: int, trace: bool) -> dict[str, Any]:
    from console.app import GatewayApp
    from console.services import WorkspaceServices
    from engine.journal import JournalReader
    from engine.workspace import Workspace

    with JournalReader(run_dir) as reader:
        envelopes = reader.read(0)
    tmp = Path(tempfile.mkdtemp())
    try:
        services = WorkspaceServices(Workspace(tmp / ".gateway").ensure())
        app = GatewayApp(services, settings_path=None)
        process = psutil.Process()
        rss: list[float] = []
        snapshots: dict[int, Any] = {}
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause(1)
            await pilot.press("2")  # the event log in front, as in the soak
            services.feed()
            sent = 0
            base = app.events_in
            started = time.monotonic()
            for minute in range(1, minutes + 1):
                target = minute * EVENTS_PER_MINUTE
                while app.events_in - base < min(target, len(envelopes)):
                    if sent < target:
                        services.bus.publish(envelopes[sent : sent + CHUNK])
                        sent += CHUNK
                    await pilot.pause(0.05)
                rss.append(process.memory_info().rss / 1e6)
                if trace and minute == 1:
                    tracemalloc.start(1)
                if trace and minute in (10, minutes):
                    snapshots[minute] = tracemalloc.take_snapshot()
            wall = time.monotonic() - started
        return {"rss": rss, "wall": wall, "snapshots": snapshots, "events": len(envelopes)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    run_dir = Path(args[0])
    minutes = int(args[args.index("--minutes") + 1]) if "--minutes" in args else 60
    out = asyncio.run(replay(run_dir, minutes, "--trace" in args))
    rss = out["rss"]
    at_10 = rss[min(9, len(rss) - 1)]
    print(
        f"replayed {len(rss)} simulated minutes of {out['events']:,} events in {out['wall']:.0f} s"
    )
    print("RSS (MB) per simulated minute: " + " ".join(f"{m:.1f}" for m in rss))
    print(
        f"RSS after 10 min {at_10:.1f} MB, at the end {rss[-1]:.1f} MB ({rss[-1] / at_10 - 1:+.1%})"
    )
    snaps = out["snapshots"]
    if len(snaps) == 2:
        stats = snaps[minutes].compare_to(snaps[10], "lineno")
        print(f"traced growth from minute 10: {sum(s.size_diff for s in stats) / 1e6:+.2f} MB")
        for stat in stats[:15]:
            frame = stat.traceback[0]
            where = "/".join(Path(frame.filename).parts[-2:])
            print(f"  {stat.size_diff / 1e3:+.1f} kB ({stat.count_diff:+d}) {where}:{frame.lineno}")


if __name__ == "__main__":
    main()
