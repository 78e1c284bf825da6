"""The gateway's actors add no clock for a backtest to advance at every tick.

A BacktestEngine advances each registered component clock per data point, so each extra
actor with its own clock slows every backtest (0.5% each on the demo EMA cross). The
gateway and metrics actors time themselves on the kernel's clock while they run; these
tests check that their own clocks really stand still meanwhile, that their timers still
fire, and that their state events carry the same simulated times as the strategy's.

The kernel runs in a child process (one kernel per process), which prints what it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.backtest_support import small_workspace

ROOT = Path(__file__).resolve().parents[2]


def _child(workspace_root: str) -> None:
    from nautilus_trader.backtest.node import BacktestNode

    from engine.config.nautilus_build import backtest_run_config
    from engine.config.store import ConfigStore
    from engine.host.actor import GatewayActor
    from engine.host.backtest import preflight
    from engine.telemetry.sampler import MetricsActorConfig, install
    from engine.workspace import Workspace

    workspace = Workspace(Path(workspace_root))
    node = ConfigStore(workspace).get("demo-backtest", "backtest")
    config = backtest_run_config(node, workspace)
    bt_node = BacktestNode(configs=[config])
    bt_node.build()
    engine = bt_node.get_engine(config.id)
    kernel_clock = engine.kernel.clock
    seen: list[dict[str, Any]] = []
    states: list[tuple[str, str, int]] = []
    actors: dict[str, Any] = {}

    def publish(kind: str, type_: str, payload: dict[str, Any], ts_ns: int | None = None) -> None:
        if type_ == "ComponentStateChanged":
            states.append((payload["component_id"], payload["state"], payload["ts_event"]))
        elif kind in ("progress", "metric"):
            seen.append(
                {
                    "kind": kind,
                    "kernel": kernel_clock.timestamp_ns(),
                    "gateway_own": actors["gateway"].clock.timestamp_ns(),
                    "metrics_own": actors["metrics"].clock.timestamp_ns(),
                    "kernel_timers": sorted(kernel_clock.timer_names),
                    "own_timers": sorted(
                        actors["gateway"].clock.timer_names + actors["metrics"].clock.timer_names
                    ),
                    "reason": payload.get("reason"),  # metric: interval, or stop at the end
                    "sim_ts_ns": payload["sim_ts_ns"],
                }
            )

    start_ns, end_ns = preflight(node, workspace)
    gateway = GatewayActor(publish, start_ns=start_ns, end_ns=end_ns)
    engine.add_actor(gateway)
    # A sample at every check, 1,000 checks a wall second: many samples from a short run.
    metrics = install(
        engine, publish, MetricsActorConfig(interval_secs=1e-9, backtest_checks_per_sec=1000)
    )
    actors.update(gateway=gateway, metrics=metrics)
    gateway.share_kernel_clock(engine)  # as the host does; install() does it for metrics
    bt_node.run()
    print(json.dumps({"start_ns": start_ns, "seen": seen, "states": states}))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workspace = small_workspace(tmp_path_factory.mktemp("clocks") / ".gateway")
    proc = subprocess.run(
        [sys.executable, __file__, str(workspace.root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_the_actors_own_clocks_stand_still_while_the_backtest_runs(run: dict[str, Any]) -> None:
    start = run["start_ns"]
    during = [s for s in run["seen"] if s["kernel"] > start and s["reason"] != "stop"]
    assert len(during) >= 10
    assert all(s["gateway_own"] == start and s["metrics_own"] == start for s in during)


def test_their_timers_fire_on_the_kernels_clock(run: dict[str, Any]) -> None:
    samples = [s for s in run["seen"] if s["reason"] == "interval"]
    # Each sample is taken in the metrics alert's callback, on the kernel's clock (the alert
    # is re-armed after it); the progress timer runs on that clock all along.
    assert len(samples) >= 10
    assert all("gateway-progress" in s["kernel_timers"] for s in samples)
    assert all(s["own_timers"] == [] for s in samples)
    assert all(s["sim_ts_ns"] == s["kernel"] for s in samples)  # read off the kernel's clock
    assert samples[-1]["sim_ts_ns"] > samples[0]["sim_ts_ns"]


def test_their_state_events_carry_the_strategys_simulated_times(run: dict[str, Any]) -> None:
    times: dict[str, dict[str, int]] = {}
    for component, state, ts in run["states"]:
        times.setdefault(component, {})[state] = ts
    strategy = times["EMACross-000"]
    for actor in ("GatewayActor", "MetricsActor"):
        for state in ("STARTING", "RUNNING", "STOPPING", "STOPPED"):
            assert times[actor][state] == strategy[state], (actor, state)
    assert strategy["STOPPED"] > strategy["RUNNING"]


if __name__ == "__main__":
    _child(sys.argv[1])
