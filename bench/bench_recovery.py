"""Recovery: kill -9 of a sandbox node's host to running again with its state restored.

A real node host with a strategy that never stops trading (``tests/integration/
churn_strategy.py``), supervised with an immediate restart; ``BENCH_KILLS`` kills (20 by
default) at random points 0.3 to 2 s after each restart. Measured from the SIGKILL to the
new run's ``running`` state, which the host reaches only after the venue's orders are back
in its matching engine and journal, cache and venue were compared. Every round goes
through the checks of ``tests/integration/test_recovery_kill.py`` (nothing lost, nothing
doubled, the journal's sequence continued). Target: p99 < 10 s.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KILLS = int(os.environ.get("BENCH_KILLS", "20"))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from engine.manager import NodeManager
    from engine.workspace import Workspace
    from tests.integration.kill_loop import check, churn_node, kill_once, save_node, settle
    from tests.integration.market_wait import wait_for_quotes

    with tempfile.TemporaryDirectory(prefix="bench-recovery-") as tmp:
        ws = Workspace(Path(tmp) / ".gateway").ensure()
        node = "churn"
        save_node(ws, churn_node(node))

        async def start() -> None:
            manager = NodeManager(ws)
            handle = await manager.launch(node)
            meta = await manager.wait_state(node, {"running", "failed"}, timeout_s=60)
            assert meta.state == "running", meta
            await asyncio.to_thread(wait_for_quotes, handle.run_dir)

        asyncio.run(start())
        rng = random.Random(7)
        times: list[float] = []
        problems: list[str] = []
        accepted = orders = 0
        try:
            for i in range(KILLS):
                r = settle(ws, node, kill_once(ws, node, rng, (0.3, 2.0)))
                times.append(r.restart_s)
                accepted += r.accepted is not None
                orders += len(r.venue_orders_at_kill)
                found = check(r)
                problems += [f"kill {i + 1}: {p}" for p in found]
                state = "venue's view accepted" if r.accepted is not None else "agreed"
                print(
                    f"  kill {i + 1:2d}: running again in {r.restart_s:5.2f} s, "
                    f"{len(r.venue_orders_at_kill)} working orders, positions "
                    f"{r.venue_positions_at_kill or 'flat'}, {state}"
                    + (f", PROBLEMS {found}" if found else ""),
                    flush=True,
                )
        finally:
            asyncio.run(NodeManager(ws).stop(node, timeout_s=20))
    print(
        f"kill -9 to running with state restored: p50 {statistics.median(times):.2f} s, "
        f"p99 {_pct(times, 0.99):.2f} s, max {max(times):.2f} s over {len(times)} kills "
        f"(target p99 < 10 s); {orders} working orders restored in all, "
        f"{accepted} recoveries needed the venue's view accepted; "
        f"{len(problems)} problems"
    )
    for p in problems:
        print("  " + p)
    if problems:
        raise AssertionError(f"{len(problems)} recovery problems")


if __name__ == "__main__":
    main()
