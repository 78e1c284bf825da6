"""Shared setup of the backtest integration tests: a small workspace, runs, bare runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from engine.data import synth
from engine.demo import demo_backtest
from engine.events.envelope import Envelope, from_json_line
from engine.workspace import Workspace

SMALL_TICKS = 8_000  # ~2 hours of 10-second bars: some 60 orders, well under a second


def small_workspace(root: Path, ticks: int = SMALL_TICKS) -> Workspace:
    """A workspace with the demo backtest node and a small seeded catalog."""
    workspace = Workspace(root).ensure()
    write_node(workspace, demo_backtest())
    synth(workspace.catalog_dir, "EUR/USD.SIM", ticks, seed=7)
    return workspace


def write_node(workspace: Workspace, doc: dict[str, Any]) -> None:
    """Store a node config file as a user's editor would (no validation on the way)."""
    path = workspace.nodes_dir / doc["node_id"] / f"{doc['mode']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2))


def json_events(out: str) -> list[Envelope]:
    return [from_json_line(line) for line in out.splitlines() if line.startswith("{")]


BARE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from engine.config.store import ConfigStore
    from engine.config.nautilus_build import backtest_run_config
    from engine.host.results import write_results
    from engine.workspace import Workspace
    from nautilus_trader.backtest.node import BacktestNode
    from nautilus_trader.config import LoggingConfig

    ws = Workspace(Path(sys.argv[1]))
    node = ConfigStore(ws).get(sys.argv[2], "backtest")
    out = Path(sys.argv[3]); out.mkdir(parents=True, exist_ok=True)
    config = backtest_run_config(node, ws, logging=LoggingConfig(log_level="ERROR"))
    bt = BacktestNode(configs=[config])
    t0 = time.perf_counter()
    result = bt.run()[0]
    wall = time.perf_counter() - t0
    write_results(bt.get_engine(config.id), result, [v.name for v in node.venues], out,
                  run_wall_s=wall)
    """
)


def run_bare(workspace: Workspace, node_id: str, out: Path, timeout: float = 600) -> dict[str, Any]:
    """Run the node's BacktestRunConfig on a bare BacktestNode in its own process."""
    subprocess.run(
        [sys.executable, "-c", BARE_SCRIPT, str(workspace.root), node_id, str(out)],
        check=True,
        timeout=timeout,
        capture_output=True,
    )
    stats: dict[str, Any] = json.loads((out / "stats.json").read_text())
    return stats
