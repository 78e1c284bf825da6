"""Check a run's files: meta.json, the event journal, and results (stats.json, error.json).

``gateway runs verify`` prints what this finds; ``attach`` and ``orders list`` use the
journal part to say when what they show stops short of what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from engine.journal.verify import JournalCheck, verify_journal
from engine.runs import ERROR_FILE, META_FILE, STATS_FILE, Run, load_meta
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.orders.status import OrderRow


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One problem with one file of a run."""

    file: str
    message: str
    kind: str = "invalid"
    offset: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "offset": self.offset,
            "message": self.message,
        }

    def render(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass(slots=True)
class RunCheck:
    """What :func:`verify_run` found for one run."""

    run: Run
    journal: JournalCheck
    problems: list[FileProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run.run_id,
            "node_id": self.run.node_id,
            "path": str(self.run.path),
            "ok": self.ok,
            "events": self.journal.records,
            "intact_seq": self.journal.intact_seq,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_run(workspace: Workspace, run: Run) -> RunCheck:
    """Check every file of ``run`` that can be checked; never raises on bad content."""
    from engine.json_input import JsonInputError, read_json_file
    from engine.manager import host_alive

    problems: list[FileProblem] = []
    try:
        meta = load_meta(run.path)
    except ValueError as exc:
        problems.append(FileProblem(META_FILE, str(exc).removeprefix(f"{META_FILE}: ")))
    else:
        expected = (run.path.parent.name, run.path.name)
        if (meta.node_id, meta.run_id) != expected:
            problems.append(
                FileProblem(
                    META_FILE,
                    f"names node {meta.node_id!r} run {meta.run_id!r}, but it sits in "
                    f"{expected[0]}/{expected[1]}",
                )
            )
    live = run.broken is None and host_alive(workspace, run)
    journal = verify_journal(run.path, live_tail=live)
    problems += [
        FileProblem("events.journal", p.message, p.kind, p.offset) for p in journal.problems
    ]
    for name in (STATS_FILE, ERROR_FILE):
        path = run.path / name
        if not path.exists():
            continue
        try:
            data = read_json_file(path)
        except OSError as exc:
            problems.append(FileProblem(name, f"cannot be read: {exc.strerror}"))
            continue
        except JsonInputError as exc:
            problems.append(FileProblem(name, str(exc)))
            continue
        if not isinstance(data, dict):
            problems.append(FileProblem(name, f"expected a JSON object, got {type(data).__name__}"))
    return RunCheck(run, journal, problems)


UNKNOWN_STATUS = "UNKNOWN"


def journal_damage(workspace: Workspace, run: Run) -> JournalCheck | None:
    """The run's journal check if the journal is damaged, else None (a live host's
    unfinished last record is not damage)."""
    from engine.manager import host_alive

    check = verify_journal(run.path, live_tail=host_alive(workspace, run))
    return None if check.ok else check


def distrust_open_orders(rows: list[OrderRow], check: JournalCheck) -> list[OrderRow]:
    """Rows as far as a damaged journal supports them.

    A closed order (filled, canceled …) stays closed whatever came after; an order still
    open when the intact journal ends may have changed in the events lost after it, so
    its status becomes ``UNKNOWN`` rather than a state the journal no longer shows.
    """
    return [
        replace(row, status=UNKNOWN_STATUS) if row.is_open and check.problems else row
        for row in rows
    ]
