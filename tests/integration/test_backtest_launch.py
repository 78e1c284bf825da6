"""`gateway launch` runs a backtest node in its own host process, journaled end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.journal import JournalReader
from engine.runs import list_runs
from engine.workspace import Workspace
from tests.integration.backtest_support import json_events, small_workspace
from tests.integration.cli import gateway


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str, str]:
    """One demo backtest launched through the CLI with --json: workspace, stdout, stderr."""
    workspace = small_workspace(tmp_path_factory.mktemp("bt") / ".gateway")
    result = gateway("launch", "demo-backtest", "--json", workspace=workspace.root)
    assert result.code == 0, result.err
    return workspace, result.out, result.err


def test_launch_completes_with_every_lifecycle_state_in_order(
    completed: tuple[Workspace, str, str],
) -> None:
    _, out, _ = completed
    events = json_events(out)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no gap, no duplicate
    states = [e.payload["state"] for e in events if e.type == "NodeStateChanged"]
    assert states == ["created", "starting", "running", "completed"]
    assert events[-1].type == "NodeStateChanged"


def test_launch_streams_orders_logs_progress_and_a_result(
    completed: tuple[Workspace, str, str],
) -> None:
    _, out, _ = completed
    events = json_events(out)
    kinds = {e.kind for e in events}
    assert {"order", "position", "account", "system", "log", "progress", "result"} <= kinds
    fill = next(e for e in events if e.type == "OrderFilled")
    assert fill.payload["instrument_id"] == "EUR/USD.SIM"
    assert {"last_qty", "last_px", "client_order_id"} <= set(fill.payload)
    log = next(e for e in events if e.kind == "log")
    assert set(log.payload) >= {"level", "component", "message"}
    fractions = [e.payload["fraction"] for e in events if e.kind == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    result = next(e for e in events if e.kind == "result")
    assert result.payload["total_orders"] > 0
    assert result.payload["fills"] == sum(1 for e in events if e.type == "OrderFilled")


def test_events_are_journaled_in_the_run_directory(completed: tuple[Workspace, str, str]) -> None:
    workspace, out, _ = completed
    (run,) = list_runs(workspace, "demo-backtest")
    journaled = JournalReader(run.path).read()
    streamed = json_events(out)
    assert [(e.seq, e.type) for e in journaled] == [(e.seq, e.type) for e in streamed]


def test_results_are_written_and_read_by_runs_commands(
    completed: tuple[Workspace, str, str],
) -> None:
    workspace, _, _ = completed
    (run,) = list_runs(workspace, "demo-backtest")
    assert run.meta.state == "completed" and run.meta.exit_code == 0
    assert set(run.reports()) == {"fills", "order_fills", "positions", "account"}
    stats = run.stats()
    assert stats is not None
    assert {"pnl", "sharpe", "sortino", "win_rate", "total_orders", "total_positions"} <= set(stats)
    # The kernel thread's CPU time beside the wall time: a run short of CPU shows the gap.
    assert 0 < stats["run_cpu_s"] <= stats["run_wall_s"] * 1.05
    listed = gateway("runs", "list", "demo-backtest", "--json", workspace=workspace.root)
    assert listed.code == 0
    assert [r["run_id"] for r in json.loads(listed.out)] == [run.run_id]
    shown = gateway("runs", "show", run.run_id, "--json", workspace=workspace.root)
    assert shown.code == 0
    doc = json.loads(shown.out)
    assert doc["state"] == "completed"
    assert doc["stats"]["pnl"] == stats["pnl"]
    assert Path(doc["reports"]["fills"]).is_file()


def test_headless_prints_one_line_per_event(tmp_path: Path) -> None:
    workspace = small_workspace(tmp_path / ".gateway", ticks=2_000)
    result = gateway("launch", "demo-backtest", "--headless", workspace=workspace.root)
    assert result.code == 0, result.err
    (run,) = list_runs(workspace)
    n_events = JournalReader(run.path).last_seq()
    lines = result.out.splitlines()
    event_lines = [ln for ln in lines if ln.strip()[:1].isdigit()]
    assert len(event_lines) == n_events
    assert "completed" in event_lines[-1]
    assert lines[-1].startswith(f"run {run.run_id}: completed")


def test_unknown_node_is_refused_without_a_run(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / ".gateway").ensure()
    result = gateway("launch", "no-such-node", workspace=workspace.root)
    assert result.code == 2
    assert "no-such-node" in result.err
    assert list_runs(workspace) == []
