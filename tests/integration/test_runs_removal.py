"""`gateway runs delete` and `gateway runs prune`: old runs go, running ones never do."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.runs import Run, create_run, list_runs, update_meta
from engine.workspace import Workspace
from tests.integration.cli import gateway


def _run(workspace: Workspace, node_id: str, n: int, state: str = "completed") -> Run:
    run = create_run(workspace, node_id, "backtest", run_id=f"20261201T1200{n:02d}000Z-00{n:02d}")
    update_meta(run.path, state=state)
    (run.path / "events.journal").write_bytes(b"x" * 100_000)
    return run


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / ".gateway").ensure()
    for n in range(1, 6):
        _run(workspace, "alpha", n)
    for n in range(6, 8):
        _run(workspace, "beta", n, "failed")
    return workspace


@pytest.fixture
def running(workspace: Workspace) -> Iterator[Run]:
    """A run whose host is alive: a real process with the run id on its command line."""
    run = _run(workspace, "alpha", 9, "running")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", run.run_id])
    update_meta(run.path, pid=proc.pid)
    yield run
    proc.kill()
    proc.wait()


def _ids(workspace: Workspace, node_id: str | None = None) -> list[str]:
    return [r.run_id for r in list_runs(workspace, node_id)]


def test_prune_keeps_each_nodes_newest_runs(workspace: Workspace) -> None:
    alpha, beta = _ids(workspace, "alpha"), _ids(workspace, "beta")
    result = gateway("runs", "prune", "--keep", "2", "--yes", workspace=workspace.root)
    assert result.code == 0, result.err
    assert _ids(workspace, "alpha") == alpha[-2:] and _ids(workspace, "beta") == beta
    assert "deleted 3 run(s), 0.3 MiB" in result.out
    assert all(run_id in result.out for run_id in alpha[:3])


def test_prune_of_one_node_leaves_the_others(workspace: Workspace) -> None:
    beta = _ids(workspace, "beta")
    result = gateway("runs", "prune", "alpha", "--keep", "0", "--yes", workspace=workspace.root)
    assert result.code == 0, result.err
    assert _ids(workspace) == beta
    assert not (workspace.runs_dir / "alpha").exists()  # its emptied directory goes too


def test_a_dry_run_lists_and_deletes_nothing(workspace: Workspace) -> None:
    before = _ids(workspace)
    result = gateway("runs", "prune", "--keep", "1", "--dry-run", workspace=workspace.root)
    assert result.code == 0, result.err
    assert "would delete 5 run(s)" in result.out
    assert _ids(workspace) == before


def test_delete_takes_run_ids_and_unique_prefixes(workspace: Workspace) -> None:
    alpha = _ids(workspace, "alpha")
    result = gateway("runs", "delete", alpha[0], alpha[1][:18], "--yes", workspace=workspace.root)
    assert result.code == 0, result.err
    assert _ids(workspace, "alpha") == alpha[2:]


def test_a_deletion_is_audited_with_what_it_deleted(workspace: Workspace) -> None:
    from engine.services.audit import AuditService

    alpha = _ids(workspace, "alpha")
    result = gateway("runs", "delete", alpha[0], "--yes", workspace=workspace.root)
    assert result.code == 0, result.err
    (entry,) = AuditService(workspace).list(action="runs.delete")
    assert entry.via == "cli" and entry.target == {"run_ids": [alpha[0]]}
    assert entry.result == {"ok": True, "deleted": [alpha[0]], "kept": {}}


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("20991231T000000000Z-beef", "no run '20991231T000000000Z-beef'"),
        ("2026", "is ambiguous"),
        ("alpha", "no run 'alpha'"),  # a node id is not a run: a deletion names its runs
    ],
)
def test_a_bad_reference_deletes_nothing(workspace: Workspace, ref: str, message: str) -> None:
    before = _ids(workspace)
    result = gateway("runs", "delete", before[0], ref, "--yes", workspace=workspace.root)
    assert result.code == 2
    assert message in result.err
    assert _ids(workspace) == before


def test_a_running_run_is_never_deleted(workspace: Workspace, running: Run) -> None:
    before = _ids(workspace)
    refused = gateway(
        "runs", "delete", before[0], running.run_id, "--yes", workspace=workspace.root
    )
    assert refused.code == 2
    assert f"still running, stop them first: {running.run_id} (alpha)" in refused.err
    assert _ids(workspace) == before

    pruned = gateway("runs", "prune", "alpha", "--keep", "0", "--yes", workspace=workspace.root)
    assert pruned.code == 0, pruned.err
    assert _ids(workspace, "alpha") == [running.run_id]


def test_without_a_terminal_it_needs_yes(workspace: Workspace) -> None:
    before = _ids(workspace)
    result = gateway("runs", "prune", "--keep", "0", workspace=workspace.root, stdin="y\n")
    assert result.code == 2
    assert "pass --yes" in result.err
    assert _ids(workspace) == before


def test_list_shows_the_newest_runs_with_last(workspace: Workspace) -> None:
    alpha = _ids(workspace, "alpha")
    result = gateway("runs", "list", "alpha", "--last", "2", workspace=workspace.root)
    assert result.code == 0, result.err
    shown = [line.split()[0] for line in result.out.splitlines()[1:]]
    assert shown == alpha[-2:]
    bad = gateway("runs", "list", "--last", "0", workspace=workspace.root)
    assert bad.code == 2 and "--last" in bad.err
