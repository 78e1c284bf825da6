"""Backtest throughput: `gateway launch --headless` against a bare BacktestNode.

1M synthetic EUR/USD quote ticks (seeded random walk, 100 ms apart), EMA cross on
10-second bid bars, the same catalog and the same ``BacktestRunConfig`` for both. Each
side runs in its own process (one kernel per process) and is timed from process start to
exit, so both pay the same interpreter and Nautilus start-up; the gateway side also pays
its CLI, its host, the journal and the event stream. Prints ticks/s of both and the ratio
(target: gateway >= 0.95 of bare). ``BENCH_TICKS`` overrides the tick count,
``BENCH_REPEATS`` the number of pairs.

The machines here drift by 10-20% over minutes (other tenants), so the runs go in pairs,
back to back, the order alternating from pair to pair, and the headline ratio is the
median of the pairs' ratios: a drift hits both runs of a pair alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.data import synth
from engine.demo import demo_backtest
from engine.workspace import Workspace

TICKS = int(os.environ.get("BENCH_TICKS", "1000000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))

BARE = """
import sys
from pathlib import Path
from engine.config.store import ConfigStore
from engine.config.nautilus_build import backtest_run_config
from engine.workspace import Workspace
from nautilus_trader.backtest.node import BacktestNode
ws = Workspace(Path(sys.argv[1]))
node = ConfigStore(ws).get("demo-backtest", "backtest")
BacktestNode(configs=[backtest_run_config(node, ws)]).run()
"""


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        workspace = Workspace(Path(tmp) / ".gateway").ensure()
        path = workspace.nodes_dir / "demo-backtest" / "backtest.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(demo_backtest()))
        t0 = time.perf_counter()
        synth(workspace.catalog_dir, "EUR/USD.SIM", TICKS, seed=42, interval_ms=100)
        print(f"backtest: wrote {TICKS:,} quote ticks in {time.perf_counter() - t0:.1f} s")
        env = {**os.environ, "GATEWAY_HOME": str(workspace.root)}
        gateway_cmd = [sys.executable, "-m", "console", "launch", "demo-backtest", "--headless"]
        bare_cmd = [sys.executable, "-c", BARE, str(workspace.root)]
        bare_s, gateway_s = [], []
        for i in range(REPEATS):
            if i % 2:
                gateway_s.append(_timed(gateway_cmd, env))
                bare_s.append(_timed(bare_cmd, env))
            else:
                bare_s.append(_timed(bare_cmd, env))
                gateway_s.append(_timed(gateway_cmd, env))
        runs = sorted((workspace.runs_dir / "demo-backtest").iterdir())
        stats = json.loads((runs[-1] / "stats.json").read_text())
        bare, ours = min(bare_s), min(gateway_s)
        print(f"backtest: {stats['total_orders']} orders, {stats['fills']} fills")
        for label, best, runs_s in (
            ("bare BacktestNode", bare, bare_s),
            ("gateway launch   ", ours, gateway_s),
        ):
            print(
                f"backtest: {label}   {TICKS / best:>10,.0f} ticks/s ({best:.2f} s best, "
                f"{statistics.median(runs_s):.2f} s median)"
            )
        pairs = [b / g for b, g in zip(bare_s, gateway_s, strict=True)]
        print(
            f"backtest: ratio gateway/bare  {statistics.median(pairs):.3f} median of "
            f"{REPEATS} pairs (target >= 0.95); pairs {min(pairs):.3f}-{max(pairs):.3f}, "
            f"best of each side {bare / ours:.3f}, "
            f"medians {statistics.median(bare_s) / statistics.median(gateway_s):.3f}"
        )
        print(
            "backtest: each run, bare/gateway s: "
            + ", ".join(f"{b:.2f}/{g:.2f}" for b, g in zip(bare_s, gateway_s, strict=True))
        )
        kernel = stats.get("run_wall_s")
        if kernel:
            print(
                f"backtest: in-host run         {TICKS / kernel:>10,.0f} ticks/s ({kernel:.2f} s)"
            )


if __name__ == "__main__":
    main()
