"""Run directories: ``<workspace>/runs/<node_id>/<run_id>/``.

Each run directory holds ``meta.json`` (who, when, state, pid, exit code), the event
journal, Nautilus's log file, and for backtests the results (reports and ``stats.json``),
or ``error.json`` when the run failed. The manager writes ``meta.json`` before starting a
host; from then on the host updates it, and the manager only marks a host that died
without saying so.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from engine.atomic import atomic_write_text
from engine.workspace import Workspace

META_FILE = "meta.json"
META_LOCK = ".meta.lock"  # serialises updates of meta.json by the host, manager, supervisor
META_LOCK_TIMEOUT_S = 10.0
META_SCHEMA_VERSION = 1  # engine.migrate.kinds.RUN_META; bump both with a migration
STATS_FILE = "stats.json"
ERROR_FILE = "error.json"
LOG_FILE_STEM = "nautilus"
LOG_FILE = f"{LOG_FILE_STEM}.jsonl"  # Nautilus adds .jsonl for JSON logs
HOST_OUTPUT = "host.out"
REPORTS = {
    "fills": "fills.csv",
    "order_fills": "order_fills.csv",
    "positions": "positions.csv",
    "account": "account.csv",
}

STATES = ("created", "starting", "running", "stopping", "stopped", "completed", "failed")
TERMINAL_STATES = frozenset({"stopped", "completed", "failed"})
_RUN_ID = re.compile(r"^\d{8}T\d{6}(?:\d{3})?Z-[0-9a-f]{4,8}$")
RUN_ID_PATTERN = _RUN_ID  # what a run directory's name looks like (new_run_id's shape)


class RunNotFound(KeyError):
    """No run with this id (or no run at all for this node)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class RunMeta:
    """The contents of a run's ``meta.json``."""

    node_id: str
    run_id: str
    mode: str
    state: str = "created"
    started: str | None = None  # ISO 8601 UTC
    ended: str | None = None
    pid: int | None = None
    exit_code: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMeta:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def with_(self, **changes: Any) -> RunMeta:
        return replace(self, **changes)


BROKEN = "broken"  # the state shown for a run whose meta.json cannot be read


@dataclass(frozen=True, slots=True)
class Run:
    """One run directory and its meta (for a broken meta.json: a stand-in, and why)."""

    path: Path
    meta: RunMeta
    broken: str | None = None

    @classmethod
    def unreadable(cls, path: Path, problem: str) -> Run:
        """A run directory whose meta.json is missing or damaged, named from its path."""
        meta = RunMeta(path.parent.name, path.name, "?", BROKEN, error=problem)
        return cls(path, meta, problem)

    @property
    def run_id(self) -> str:
        return self.meta.run_id

    @property
    def node_id(self) -> str:
        return self.meta.node_id

    def stats(self) -> dict[str, Any] | None:
        return read_json(self.path / STATS_FILE)

    def error(self) -> dict[str, Any] | None:
        return read_json(self.path / ERROR_FILE)

    def reports(self) -> dict[str, Path]:
        """The report files present, by name (fills, order_fills, positions, account)."""
        return {k: self.path / v for k, v in REPORTS.items() if (self.path / v).is_file()}

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), **self.meta.to_dict(), "broken": self.broken}


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    """A sortable, unique run id: UTC time to the millisecond plus random hex."""
    # Seconds and milliseconds from one integer: from the float apart, 12.99999999 s gave
    # second 12 with millisecond 000, an id that sorted before the one made 1 ms earlier.
    secs, ms = divmod(time.time_ns() // 1_000_000, 1000)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(secs)) + f"{ms:03d}"
    return f"{stamp}Z-{secrets.token_hex(3)}"  # 6 hex: ids made in one ms never collide in practice


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if it has the shape :func:`new_run_id` makes (no path tricks)."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise ValueError(
            f"run id {run_id!r}: expected YYYYMMDDTHHMMSSmmmZ-hex, e.g. {new_run_id()}"
        )
    return run_id


def run_path(workspace: Workspace, node_id: str, run_id: str) -> Path:
    return workspace.runs_dir / node_id / check_run_id(run_id)


def create_run(workspace: Workspace, node_id: str, mode: str, run_id: str | None = None) -> Run:
    """Create a new run directory with ``meta.json`` in state ``created``."""
    run_id = run_id or new_run_id()
    path = run_path(workspace, node_id, run_id)
    path.mkdir(parents=True, exist_ok=False)
    meta = RunMeta(node_id=node_id, run_id=run_id, mode=mode, started=utc_now_iso())
    write_meta(path, meta)
    return Run(path, meta)


def write_meta(path: Path, meta: RunMeta) -> None:
    doc = {"schema_version": META_SCHEMA_VERSION, **meta.to_dict()}
    atomic_write_text(path / META_FILE, json.dumps(doc, indent=2) + "\n")


def read_meta(path: Path) -> RunMeta | None:
    try:
        return load_meta(path)
    except ValueError:
        return None


def load_meta(path: Path) -> RunMeta:
    """Read ``meta.json`` or raise ValueError saying what is wrong with it."""
    from engine.json_input import JsonInputError, read_json_file

    file = path / META_FILE
    try:
        data = read_json_file(file)
    except FileNotFoundError:
        raise ValueError(f"{META_FILE} is missing") from None
    except OSError as exc:
        raise ValueError(f"{META_FILE} cannot be read: {exc.strerror}") from None
    except JsonInputError as exc:
        raise ValueError(f"{META_FILE}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{META_FILE}: expected a JSON object, got {type(data).__name__}")
    from engine.migrate.versions import VersionError, check_version

    try:  # absent: written before versions (0), read the same
        check_version(data, "schema_version", META_FILE, META_SCHEMA_VERSION, missing=0)
    except VersionError as exc:
        raise ValueError(str(exc)) from None
    missing = [k for k in ("node_id", "run_id", "mode") if not isinstance(data.get(k), str)]
    if missing:
        raise ValueError(f"{META_FILE}: {', '.join(missing)} missing or not text")
    if data.get("state", "created") not in STATES:
        raise ValueError(f"{META_FILE}: state {data.get('state')!r} is not one of {STATES}")
    try:
        return RunMeta.from_dict(data)
    except TypeError as exc:
        raise ValueError(f"{META_FILE}: {exc}") from None


def update_meta(
    path: Path, *, merge_extra: dict[str, Any] | None = None, **changes: Any
) -> RunMeta:
    """Read ``meta.json``, apply ``changes``, write it back atomically; return the new meta.

    The host (state), the manager and the supervisor (pid, exit code, restarts) each
    change their own fields of one file: the read-modify-write is done under the run's
    lock, so one writer's change is never lost to another's stale copy. ``merge_extra``
    adds keys to ``extra`` as it is at that moment (``extra=`` replaces it whole).
    """
    with FileLock(path / META_LOCK, timeout=META_LOCK_TIMEOUT_S):
        meta = read_meta(path)
        if meta is None:
            raise RunNotFound(f"no readable {META_FILE} in {path}")
        if merge_extra:
            changes["extra"] = {**changes.get("extra", meta.extra), **merge_extra}
        meta = meta.with_(**changes)
        write_meta(path, meta)
        return meta


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON atomically; NaN and infinities become null (JSON has none)."""
    atomic_write_text(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")


def jsonable(value: Any) -> Any:
    """Return ``value`` with plain JSON types only: NaN -> None, unknown objects -> str."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return jsonable(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def list_runs(
    workspace: Workspace, node_id: str | None = None, *, include_broken: bool = False
) -> list[Run]:
    """Every run (of ``node_id``, if given), oldest first.

    A run directory whose meta.json cannot be read is skipped, or with ``include_broken``
    listed as :meth:`Run.unreadable` (state ``broken``, the reason in ``Run.broken``).
    """
    base = workspace.runs_dir
    if not base.is_dir():
        return []
    node_dirs = [base / node_id] if node_id else sorted(p for p in base.iterdir() if p.is_dir())
    runs = []
    for node_dir in node_dirs:
        if not node_dir.is_dir():
            continue
        for path in node_dir.iterdir():
            if not path.is_dir():
                continue
            try:
                runs.append(Run(path, load_meta(path)))
            except ValueError as exc:
                if include_broken and _RUN_ID.fullmatch(path.name):
                    runs.append(Run.unreadable(path, str(exc)))
    runs.sort(key=lambda r: (r.meta.run_id, r.meta.node_id))
    return runs


def find_run(
    workspace: Workspace, ref: str, *, node_ids: bool = True, runs: list[Run] | None = None
) -> Run:
    """The run named by ``ref``: a run id, a unique run id prefix (4+ characters), or with
    ``node_ids`` a node id (its latest run). ``runs``: :func:`list_runs`'s result, if read.

    Raises
    ------
    RunNotFound
        No run matches ``ref``, or more than one does.
    """
    runs = list_runs(workspace) if runs is None else runs
    exact = [r for r in runs if r.run_id == ref]
    if exact:
        return exact[-1]
    by_node = [r for r in runs if r.node_id == ref] if node_ids else []
    if by_node:
        return by_node[-1]
    prefixed = [r for r in runs if r.run_id.startswith(ref)] if len(ref) >= 4 else []
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1:
        raise RunNotFound(f"run {ref!r} is ambiguous: {', '.join(r.run_id for r in prefixed[:5])}")
    what = "" if node_ids else " (a run id or its prefix)"
    raise RunNotFound(f"no run {ref!r} in {workspace.runs_dir}{what} (see: gateway runs list)")


def latest_run(workspace: Workspace, node_id: str) -> Run | None:
    runs = list_runs(workspace, node_id)
    return runs[-1] if runs else None
