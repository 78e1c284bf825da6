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
median of the pairs' ratios: a drift hits both runs of a pair alike. Each run also
records the CPU time the hypervisor stole from the whole machine while it ran (``steal``
in ``/proc/stat``, both CPUs; up to a third of a run's wall time at busy moments here) and
the CPU time its processes used; the ratio of wall time less that steal is printed beside
the headline (it overcorrects a run whose second CPU was stolen too). Each run's time is
also split into its run phase (``BacktestNode.run`` after ``build``: bare times it around
the call, the host records it in ``stats.json``) and the rest (start-up, results, exit),
so a change in either shows where it is.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.data import synth
from engine.demo import demo_backtest
from engine.workspace import Workspace

TICKS = int(os.environ.get("BENCH_TICKS", "1000000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "11"))

# Bare: the same BacktestRunConfig in a BacktestNode; the run phase (``run()`` after
# ``build()``, as the host times it) goes to the file named by argv[2].
BARE = """
import sys, time
from pathlib import Path
from engine.config.store import ConfigStore
from engine.config.nautilus_build import backtest_run_config
from engine.workspace import Workspace
from nautilus_trader.backtest.node import BacktestNode
ws = Workspace(Path(sys.argv[1]))
node = ConfigStore(ws).get("demo-backtest", "backtest")
bt = BacktestNode(configs=[backtest_run_config(node, ws)])
bt.build()
start = time.perf_counter()
bt.run()
Path(sys.argv[2]).write_text(str(time.perf_counter() - start))
"""


@dataclass(frozen=True, slots=True)
class Run:
    """One timed process: wall seconds, CPU stolen meanwhile, CPU its processes used, and
    the wall seconds of its run phase (``BacktestNode.run``; the rest is start and end)."""

    wall_s: float
    steal_s: float
    cpu_s: float
    run_s: float


def _steal_s() -> float:
    """CPU seconds stolen from this machine by the hypervisor since boot (0 off Linux)."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return 0.0
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def _timed(cmd: list[str], env: dict[str, str], run_phase: Callable[[], float]) -> Run:
    before, steal = resource.getrusage(resource.RUSAGE_CHILDREN), _steal_s()
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, _steal_s() - steal, cpu, run_phase())


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
        bare_file = Path(tmp) / "bare_run_s"
        bare_cmd = [sys.executable, "-c", BARE, str(workspace.root), str(bare_file)]

        def bare_run_s() -> float:
            return float(bare_file.read_text())

        def gateway_run_s() -> float:
            return float(_last_stats(workspace)["run_wall_s"])

        bare_runs: list[Run] = []
        gateway_runs: list[Run] = []
        for i in range(REPEATS):
            if i % 2:
                gateway_runs.append(_timed(gateway_cmd, env, gateway_run_s))
                bare_runs.append(_timed(bare_cmd, env, bare_run_s))
            else:
                bare_runs.append(_timed(bare_cmd, env, bare_run_s))
                gateway_runs.append(_timed(gateway_cmd, env, gateway_run_s))
        _report(_last_stats(workspace), bare_runs, gateway_runs)


def _last_stats(workspace: Workspace) -> dict[str, Any]:
    runs = sorted((workspace.runs_dir / "demo-backtest").iterdir())
    stats: dict[str, Any] = json.loads((runs[-1] / "stats.json").read_text())
    return stats


def _report(stats: dict[str, Any], bare_runs: list[Run], gateway_runs: list[Run]) -> None:
    bare_s = [r.wall_s for r in bare_runs]
    gateway_s = [r.wall_s for r in gateway_runs]
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
    unstolen = [
        (b.wall_s - b.steal_s) / (g.wall_s - g.steal_s)
        for b, g in zip(bare_runs, gateway_runs, strict=True)
    ]
    steal = sum(r.steal_s for r in bare_runs + gateway_runs)
    wall = sum(bare_s) + sum(gateway_s)
    print(
        f"backtest: ratio of wall less steal  {statistics.median(unstolen):.3f} median "
        f"(pairs {min(unstolen):.3f}-{max(unstolen):.3f}); the hypervisor stole "
        f"{steal:.1f} CPU s over {wall:.0f} s of runs"
    )
    print(
        "backtest: CPU s per run, all processes: bare "
        f"{statistics.median(r.cpu_s for r in bare_runs):.2f}, gateway "
        f"{statistics.median(r.cpu_s for r in gateway_runs):.2f} (medians)"
    )
    print(
        "backtest: each pair, bare/gateway wall s (steal s): "
        + ", ".join(
            f"{b.wall_s:.2f}({b.steal_s:.1f})/{g.wall_s:.2f}({g.steal_s:.1f})"
            for b, g in zip(bare_runs, gateway_runs, strict=True)
        )
    )
    run_pairs = [b.run_s / g.run_s for b, g in zip(bare_runs, gateway_runs, strict=True)]
    print(
        f"backtest: run phase alone  ratio {statistics.median(run_pairs):.3f} median of the "
        f"pairs ({min(run_pairs):.3f}-{max(run_pairs):.3f}); outside it (start and end): bare "
        f"{statistics.median(r.wall_s - r.run_s for r in bare_runs):.2f} s, gateway "
        f"{statistics.median(r.wall_s - r.run_s for r in gateway_runs):.2f} s (medians)"
    )
    kernel, kernel_cpu = stats.get("run_wall_s"), stats.get("run_cpu_s")
    if isinstance(kernel, float) and isinstance(kernel_cpu, float):
        print(
            f"backtest: in-host run         {TICKS / kernel:>10,.0f} ticks/s ({kernel:.2f} s, "
            f"kernel thread on CPU {kernel_cpu:.2f} s)"
        )


if __name__ == "__main__":
    main()
