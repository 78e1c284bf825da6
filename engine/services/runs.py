"""Runs: list, show, results (stats, error, reports) and journal pages (over engine.runs)."""

from __future__ import annotations

import builtins  # ``list`` in the class below is a method
import csv
from collections.abc import Sequence

from engine.journal import JournalReader
from engine.principal import Principal
from engine.runs import REPORTS, Run, RunNotFound, find_run, list_runs
from engine.services.audit import audited
from engine.services.configs import check_node_ref
from engine.services.errors import ServiceError
from engine.services.models import (
    EventOut,
    EventPage,
    Report,
    RunResults,
    RunsDeleted,
    RunSummary,
)
from engine.workspace import Workspace

REPORT_ROW_LIMIT = 2000
PAGE_LIMIT = 10_000


def summary(run: Run) -> RunSummary:
    m = run.meta
    return RunSummary(
        node_id=m.node_id,
        run_id=m.run_id,
        mode=m.mode,
        state=m.state,
        started=m.started,
        ended=m.ended,
        exit_code=m.exit_code,
        error=m.error,
    )


class RunService:
    """The runs of a workspace's nodes, read from their directories."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def list(self, node_id: str | None = None, last: int | None = None) -> list[RunSummary]:
        if node_id is not None:
            check_node_ref(node_id)
        if last is not None and last < 1:
            raise ServiceError.invalid("last", last, "expected a whole number >= 1")
        runs = list_runs(self.workspace, node_id)
        if last is not None:
            runs = runs[-last:]
        return [summary(r) for r in runs]

    def find(self, ref: str, *, node_ids: bool = False) -> Run:
        """A run by id or unique id prefix (or, with ``node_ids``, a node's latest run)."""
        try:
            return find_run(self.workspace, ref, node_ids=node_ids)
        except RunNotFound as exc:
            raise ServiceError(
                "not_found",
                str(exc),
                field="run_id",
                value=ref,
                expected="a run id or a unique prefix of one",
            ) from None

    def show(self, ref: str) -> RunSummary:
        return summary(self.find(ref))

    def results(self, ref: str) -> RunResults:
        run = self.find(ref)
        reports = []
        for name, path in run.reports().items():
            with path.open(newline="", encoding="utf-8", errors="replace") as fh:
                reader = csv.reader(fh)
                columns = next(reader, [])
                rows: list[list[str]] = []
                truncated = False
                for row in reader:
                    if len(rows) >= REPORT_ROW_LIMIT:
                        truncated = True
                        break
                    rows.append(row)
            reports.append(Report(name=name, columns=columns, rows=rows, truncated=truncated))
        reports.sort(key=lambda r: list(REPORTS).index(r.name))
        return RunResults(run=summary(run), stats=run.stats(), error=run.error(), reports=reports)

    def events(self, ref: str, after_seq: int = 0, limit: int = 1000) -> EventPage:
        """Journaled events with ``seq > after_seq`` (how a client re-reads a gap)."""
        if after_seq < 0:
            raise ServiceError.invalid("after_seq", after_seq, "expected a whole number >= 0")
        if not 1 <= limit <= PAGE_LIMIT:
            raise ServiceError.invalid("limit", limit, f"expected 1 to {PAGE_LIMIT}")
        run = self.find(ref)
        with JournalReader(run.path) as reader:
            batch = reader.read(after_seq, limit)
            last = reader.last_seq()
        return EventPage(
            node_id=run.node_id,
            run_id=run.run_id,
            last_seq=last,
            events=[
                EventOut(
                    seq=e.seq,
                    ts_ns=e.ts_ns,
                    node_id=e.node_id,
                    run_id=e.run_id,
                    kind=e.kind,
                    type=e.type,
                    payload=e.payload,
                )
                for e in batch
            ],
        )

    def named(self, refs: Sequence[str]) -> builtins.list[Run]:
        """The runs to delete, by exact run ids or unique prefixes (never a node id: a
        deletion names what it deletes)."""
        from engine.run_removal import resolve_run_ids

        try:
            return resolve_run_ids(self.workspace, refs)
        except RunNotFound as exc:
            raise ServiceError(
                "not_found",
                str(exc),
                field="run_id",
                value=list(refs),
                expected="a run id or a unique prefix of one",
            ) from None

    def prunable(self, node_id: str | None, keep: int) -> builtins.list[Run]:
        """All but each node's newest ``keep`` runs (of ``node_id``), none still running."""
        from engine.run_removal import prune_candidates

        if keep < 0:
            raise ServiceError.invalid("keep", keep, "expected a whole number >= 0")
        if node_id is not None and not (self.workspace.runs_dir / node_id).is_dir():
            raise ServiceError(
                "invalid",
                f"no runs of node {node_id!r} in {self.workspace.runs_dir}",
                field="node_id",
                value=node_id,
                expected="a node with runs",
            )
        return prune_candidates(self.workspace, node_id, keep)

    def running(self, runs: builtins.list[Run]) -> builtins.list[Run]:
        """Those of ``runs`` whose host still runs them (a deletion refuses them all)."""
        from engine.run_removal import active_runs

        return active_runs(self.workspace, runs)

    def sizes(self, runs: builtins.list[Run]) -> dict[str, int]:
        """Bytes on disk of each run, by run id."""
        from engine.run_removal import run_size

        return {r.run_id: run_size(r) for r in runs}

    def delete(self, who: Principal, runs: builtins.list[Run]) -> RunsDeleted:
        """Delete ``runs`` (audited); a run started since it was listed is kept, with why."""
        from engine.run_removal import RunActive, delete_run

        def call() -> RunsDeleted:
            done = RunsDeleted(deleted=[])
            for run in runs:
                try:
                    delete_run(self.workspace, run)
                except RunActive as exc:  # started since the check: keep it, go on
                    done.kept[run.run_id] = str(exc)
                    continue
                done.deleted.append(run.run_id)
            return done

        return audited(
            self.workspace,
            who,
            "runs.delete",
            {"run_ids": [r.run_id for r in runs]},
            {},
            call,
            lambda r: {"deleted": r.deleted, "kept": r.kept},
        )
