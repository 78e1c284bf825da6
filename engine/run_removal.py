"""Deleting run directories: named runs, or all but each node's newest ones.

A run directory holds the journal, Nautilus's log and the results; a 1M-tick backtest
leaves ~14 MB, so a workspace that runs many backtests grows without end unless old runs
go. A run whose host still runs it is never deleted, whatever is asked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable

from engine.manager import host_alive
from engine.runs import Run, find_run, list_runs
from engine.workspace import Workspace


class RunActive(Exception):
    """The run's host is still running it."""


def resolve_run_ids(workspace: Workspace, refs: Iterable[str]) -> list[Run]:
    """The runs named by exact run ids or unique prefixes (4+ characters), in ``refs`` order.

    A node id is not accepted here (elsewhere it means the node's latest run): a deletion
    names what it deletes.

    Raises
    ------
    RunNotFound
        Naming the first reference that matches no run, or more than one.
    """
    runs = list_runs(workspace)
    out: list[Run] = []
    for ref in refs:
        run = find_run(workspace, ref, node_ids=False, runs=runs)
        if run not in out:
            out.append(run)
    return out


def prune_candidates(workspace: Workspace, node_id: str | None, keep: int) -> list[Run]:
    """Runs (of ``node_id``, else of every node) older than each node's newest ``keep``.

    Runs whose host still runs them are left out; they count among the kept ones.
    """
    if keep < 0:
        raise ValueError(f"keep: got {keep}, expected 0 or more")
    by_node: dict[str, list[Run]] = {}
    for run in list_runs(workspace, node_id):  # oldest first
        by_node.setdefault(run.node_id, []).append(run)
    out: list[Run] = []
    for runs in by_node.values():
        older = runs[: max(0, len(runs) - keep)]
        out += [r for r in older if not host_alive(workspace, r)]
    return out


def active_runs(workspace: Workspace, runs: Iterable[Run]) -> list[Run]:
    """Those of ``runs`` whose host still runs them."""
    return [r for r in runs if host_alive(workspace, r)]


def run_size(run: Run) -> int:
    """Bytes of the files in the run's directory."""
    total = 0
    for root, _dirs, files in os.walk(run.path):
        for name in files:
            with contextlib.suppress(OSError):  # a file removed meanwhile
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def delete_run(workspace: Workspace, run: Run) -> None:
    """Delete the run's directory (and its node's runs directory once empty).

    Raises
    ------
    RunActive
        The run's host still runs it (checked again right before deleting).
    """
    if host_alive(workspace, run):
        raise RunActive(
            f"run {run.run_id} of {run.node_id} is still running; stop it first "
            f"(gateway stop {run.node_id})"
        )
    shutil.rmtree(run.path)
    with contextlib.suppress(OSError):  # other runs of the node remain
        run.path.parent.rmdir()
