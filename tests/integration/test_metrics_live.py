"""The metrics actor in a live sandbox TradingNode on the offline feed (its own process).

The child builds the demo sandbox node as a node host does, adds the metrics actor before
starting it, runs a few seconds with EMACross trading one-second bars, stops it and takes
the final sample; it prints the samples and what Nautilus's portfolio and cache say.
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.demo import demo_sandbox
from engine.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 0.25
RUN_S = 3.0


async def _child_main(doc: dict[str, Any], workspace: Workspace) -> dict[str, Any]:
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.identifiers import Venue

    from engine.config.nautilus_build import trading_node_parts
    from engine.config.validate import validate_node
    from engine.feed.trading import build_trading_node, start_trading_node, stop_trading_node
    from engine.telemetry.collect import money_map
    from engine.telemetry.sampler import MetricsActorConfig, install

    config = validate_node(doc, workspace, deep=True).raise_for_errors("node")
    parts = trading_node_parts(config, workspace, logging=LoggingConfig(log_level="ERROR"))
    node = build_trading_node(parts, asyncio.get_running_loop(), timeout_post_stop=0.5)
    samples: list[tuple[float, dict[str, Any]]] = []
    loop = asyncio.get_running_loop()

    def publish(kind: str, type_: str, payload: dict[str, Any], ts_ns: int | None = None) -> None:
        samples.append((loop.time(), json.loads(json.dumps(payload))))

    actor = install(node, publish, MetricsActorConfig(interval_secs=INTERVAL))
    task = await start_trading_node(node, timeout_s=20)
    pf, cache = node.kernel.portfolio, node.kernel.cache
    started = loop.time()
    # At least RUN_S, and until the strategy has traded (bars must close first).
    while loop.time() - started < RUN_S or (  # noqa: ASYNC110  # the cache has no event
        loop.time() - started < 20 and not any(o.is_closed for o in cache.orders())
    ):
        await asyncio.sleep(0.1)
    await node.stop_async()
    actor.final_sample()  # after the stop, before the kernel is disposed
    venue = Venue("SIM")
    out = {
        "times": [t for t, _ in samples],
        "samples": [s for _, s in samples],
        "nautilus": {
            "realized": money_map(pf.realized_pnls(venue)),
            "unrealized": money_map(pf.unrealized_pnls(venue)),
            "equity": money_map(pf.equity(venue)),
            "orders": len(cache.orders()),
            "filled": len([o for o in cache.orders() if o.status_string() == "FILLED"]),
            "data_count": node.kernel.data_engine.data_count,
        },
    }
    await stop_trading_node(node, task)
    return out


def _child(node_path: str, workspace_root: str) -> None:
    from engine.feed.trading import new_event_loop

    doc = json.loads(Path(node_path).read_text())
    loop = new_event_loop()
    try:
        out = loop.run_until_complete(_child_main(doc, Workspace(Path(workspace_root))))
    finally:
        loop.close()
    sys.stdout.write(json.dumps(out) + "\n")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workspace = Workspace(tmp_path_factory.mktemp("live") / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc["strategies"][0]["config"]["bar_type"] = "EUR/USD.SIM-1-SECOND-BID-INTERNAL"
    doc["data_clients"][0]["options"]["rate"] = 20
    path = workspace.root / "node.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.run(
        [sys.executable, __file__, "child", str(path), str(workspace.root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def test_live_samples_come_on_the_clock_timer(run: dict[str, Any]) -> None:
    samples = run["samples"]
    interval = [s for s in samples if s["reason"] == "interval"]
    # ~RUN_S / INTERVAL timer samples; a loaded machine may delay a few.
    assert len(interval) >= 0.5 * RUN_S / INTERVAL, len(interval)
    gaps = [b - a for a, b in zip(run["times"], run["times"][1:], strict=False)][
        : len(interval) - 1
    ]
    assert all(0.5 * INTERVAL <= g <= 4 * INTERVAL for g in gaps), gaps
    assert [s["reason"] for s in samples[-2:]] == ["stop", "final"]
    assert all(s["mode"] == "live" for s in samples)


def test_live_samples_have_loop_lag_queues_and_a_flowing_feed(run: dict[str, Any]) -> None:
    mid = [s for s in run["samples"] if s["reason"] == "interval"][-1]
    assert mid["loop"]["lag_ms"] >= 0.0 and mid["loop"]["lag_max_ms"] >= mid["loop"]["lag_ms"]
    assert isinstance(mid["engines"]["data"]["data_qsize"], int)
    assert isinstance(mid["engines"]["exec"]["evt_qsize"], int)
    assert mid["feed"]["data_rate"] > 0
    assert mid["feed"]["data_idle_s"] < 2.0  # data arrives: no stale feed
    assert mid["bus"]["pub_rate"] > 0


def test_live_final_sample_equals_the_portfolio(run: dict[str, Any]) -> None:
    final, n = run["samples"][-1], run["nautilus"]
    assert n["filled"] >= 1  # the strategy traded
    usd = final["pnl"]["by_venue"]["SIM"]["USD"]
    assert usd["realized"] == n["realized"].get("USD", 0.0)
    assert usd["unrealized"] == n["unrealized"].get("USD", 0.0)
    assert final["accounts"]["SIM"]["equity"] == n["equity"]
    assert final["orders"]["total"] == n["orders"]
    assert final["orders"]["by_status"].get("FILLED", 0) == n["filled"]
    assert final["engines"]["data"]["data_count"] == n["data_count"]


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    sys.path.insert(0, str(ROOT))
    _child(sys.argv[2], sys.argv[3])
