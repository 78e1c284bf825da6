"""A gateway run gives exactly the PnL and fills of the same BacktestNode run bare."""

from __future__ import annotations

from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]

from engine.runs import list_runs
from tests.integration.backtest_support import run_bare, small_workspace
from tests.integration.cli import gateway

# Ids made of random UUIDs differ between any two runs, bare or not.
RANDOM_COLUMNS = {"trade_id", "event_id", "id", "venue_order_id", "ts_init", "ts_last"}


def _fills(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    return frame.drop(columns=[c for c in frame.columns if c in RANDOM_COLUMNS])


def _positions(path: Path) -> pd.DataFrame:
    # Closed NETTING positions are snapshotted under ids with a random UUID suffix.
    frame = pd.read_csv(path)
    frame = frame.drop(columns=[c for c in frame.columns if c in {*RANDOM_COLUMNS, "position_id"}])
    # The report is ordered by those ids: order by what the positions did instead.
    return frame.sort_values(["ts_opened", "opening_order_id"]).reset_index(drop=True)


def test_gateway_run_matches_bare_backtest_node(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / ".gateway", ticks=6_000)
    launched = gateway("launch", "demo-backtest", "--headless", workspace=workspace.root)
    assert launched.code == 0, launched.err
    (run,) = list_runs(workspace, "demo-backtest")
    bare = run_bare(workspace, "demo-backtest", tmp_path / "bare")
    ours = run.stats()
    assert ours is not None
    assert ours["total_orders"] > 0
    for key in ("pnl", "total_orders", "total_positions", "fills", "win_rate", "iterations"):
        assert ours[key] == bare[key], key
    pd.testing.assert_frame_equal(
        _fills(run.path / "fills.csv"), _fills(tmp_path / "bare/fills.csv")
    )
    pd.testing.assert_frame_equal(
        _positions(run.path / "positions.csv"), _positions(tmp_path / "bare/positions.csv")
    )
