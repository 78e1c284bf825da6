"""Run directories: ids, meta.json, listing, lookup, and marking dead hosts."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from engine.manager import mark_dead
from engine.runs import (
    RunNotFound,
    check_run_id,
    create_run,
    find_run,
    jsonable,
    list_runs,
    new_run_id,
    read_meta,
    update_meta,
)
from engine.workspace import Workspace


def test_run_ids_are_unique_and_sort_by_time() -> None:
    ids = [new_run_id() for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(check_run_id(i) == i for i in ids)
    assert sorted(ids, key=lambda i: i[:19]) == ids


@pytest.mark.parametrize("bad", ["../../etc", "", "20240101T000000Z", "x" * 30])
def test_bad_run_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="expected YYYYMMDD"):
        check_run_id(bad)


def test_create_writes_meta_and_list_finds_runs(workspace: Workspace) -> None:
    a = create_run(workspace, "alpha", "backtest")
    b = create_run(workspace, "beta", "sandbox")
    c = create_run(workspace, "alpha", "backtest")
    assert a.meta.state == "created" and a.meta.started
    assert read_meta(a.path) == a.meta
    assert [r.run_id for r in list_runs(workspace, "alpha")] == [a.run_id, c.run_id]
    assert {r.run_id for r in list_runs(workspace)} == {a.run_id, b.run_id, c.run_id}
    assert list_runs(workspace, "nobody") == []


def test_find_by_id_prefix_or_node(workspace: Workspace) -> None:
    a = create_run(workspace, "alpha", "backtest")
    b = create_run(workspace, "alpha", "backtest")
    assert find_run(workspace, a.run_id).path == a.path
    assert find_run(workspace, "alpha").run_id == b.run_id  # a node id: its latest run
    with pytest.raises(RunNotFound, match="no run 'zzz'"):
        find_run(workspace, "zzz")


def test_update_meta_keeps_other_fields(workspace: Workspace) -> None:
    run = create_run(workspace, "alpha", "backtest")
    update_meta(run.path, state="running", pid=123)
    meta = update_meta(run.path, state="completed", exit_code=0)
    assert (meta.state, meta.pid, meta.exit_code, meta.mode) == ("completed", 123, 0, "backtest")


def test_a_host_that_died_silently_is_marked_failed(workspace: Workspace) -> None:
    run = create_run(workspace, "alpha", "backtest")
    update_meta(run.path, state="running")
    meta = mark_dead(run.path, -9)
    assert meta is not None and meta.state == "failed" and meta.exit_code == -9
    assert "signal 9" in (meta.error or "")
    assert find_run(workspace, run.run_id).error()["error"] == "HostDied"  # type: ignore[index]


def test_a_host_that_reported_its_end_keeps_its_state(workspace: Workspace) -> None:
    run = create_run(workspace, "alpha", "backtest")
    update_meta(run.path, state="completed")
    meta = mark_dead(run.path, 0)
    assert meta is not None and meta.state == "completed" and meta.exit_code == 0


def test_jsonable_turns_nan_into_null() -> None:
    data = {"sharpe": math.nan, "x": [1.5, math.inf], "n": 3, "s": "a", "o": object}
    out = jsonable(data)
    assert out["sharpe"] is None and out["x"] == [1.5, None] and out["n"] == 3
    assert isinstance(out["o"], str)


def _bump(run_dir: str, field: str, count: int, go: Any) -> None:
    from engine.runs import update_meta

    go.wait(30)  # both processes write at once, not one after the other's start-up
    for i in range(1, count + 1):
        update_meta(Path(run_dir), merge_extra={f"{field}-{i}": i})


def test_two_processes_updating_one_meta_lose_no_change(tmp_path: Path) -> None:
    """The host and the manager both update meta.json: neither's change may be lost."""
    import multiprocessing

    from engine.runs import create_run, read_meta
    from engine.workspace import Workspace

    run = create_run(Workspace(tmp_path / ".gateway").ensure(), "n1", "sandbox")
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [
        ctx.Process(target=_bump, args=(str(run.path), f, 150, go)) for f in ("host", "manager")
    ]
    for p in procs:
        p.start()
    time.sleep(1.5)  # both imported and waiting
    go.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    meta = read_meta(run.path)
    assert meta is not None
    want = {f"{f}-{i}": i for f in ("host", "manager") for i in range(1, 151)}
    assert meta.extra == want
