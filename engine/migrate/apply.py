"""Migrate a workspace: under a lock, after a backup, each file atomically, the stamp last.

Order of work, so that a crash at any point loses nothing:

1. take ``migrate.lock`` (filelock): a second ``gateway migrate`` waits a moment, then
   is told another one is running;
2. plan again under the lock (another process may just have migrated);
3. copy every file to be changed, as it is, to ``backups/<UTC time>-v<from>/files/…``,
   written in a temp directory that is synced, then renamed into place once complete;
4. write each new file beside its target, sync once, then rename each over its target
   (its mode kept) after checking the target did not change since it was read, and sync
   again (one sync for all files, not an fsync each: 10,000 runs in seconds, not minutes);
5. write ``schema.json`` last.

A failure in step 4 puts back the files already rewritten (from the bytes read in step 2)
and reports what remains; the backup stays either way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from engine.atomic import atomic_write_bytes, fsync_dir
from engine.migrate.plan import FileChange, Plan, Problem, plan
from engine.migrate.stamp import stamp_path, write_stamp
from engine.workspace import Workspace

LOCK_FILE = "migrate.lock"
BACKUPS_DIR = "backups"
LOCK_WAIT_S = 5.0


class MigrateFailed(RuntimeError):
    """The migration stopped; ``remaining`` says what is still to do."""

    def __init__(self, message: str, remaining: list[str] | None = None) -> None:
        self.remaining = remaining or []
        super().__init__(message)


@dataclass(slots=True)
class Outcome:
    plan: Plan
    backup: Path | None = None
    written: list[Path] = field(default_factory=list)
    stamped: bool = False


def running_hosts(workspace: Workspace) -> list[str]:
    """Node ids whose host process is alive (they write meta.json and risk.json)."""
    from engine.manager import pid_alive
    from engine.runs import read_json

    alive = []
    run_dir = workspace.run_dir
    if not run_dir.is_dir():
        return []
    for path in sorted(run_dir.glob("*.json")):
        data = read_json(path) or {}
        if pid_alive(data.get("pid"), data.get("run_id")):
            alive.append(path.stem)
    return alive


def migrate(workspace: Workspace, *, lock_wait_s: float = LOCK_WAIT_S) -> Outcome:
    """Bring every file of ``workspace`` to the current versions (see the module doc).

    Returns with ``plan.problems`` set (and nothing written) when a file stops it.

    Raises
    ------
    MigrateFailed
        Another migrate holds the lock, a node host is running, or a write failed (the
        files already rewritten are put back).
    """
    root = workspace.root
    if not root.is_dir():
        return Outcome(plan(workspace))
    try:
        lock = FileLock(str(root / LOCK_FILE), timeout=lock_wait_s)
        lock.acquire()
    except Timeout:
        raise MigrateFailed(
            f"another `gateway migrate` holds {root / LOCK_FILE}; try again when it ends",
            ["everything: nothing was written"],
        ) from None
    except OSError as exc:
        raise MigrateFailed(
            f"cannot write {root / LOCK_FILE}: {exc.strerror}", ["everything: nothing was written"]
        ) from None
    try:
        return _migrate_locked(workspace)
    finally:
        lock.release()


def _migrate_locked(workspace: Workspace) -> Outcome:
    current = plan(workspace)
    outcome = Outcome(current)
    if current.problems or current.nothing_to_do:
        return outcome
    alive = running_hosts(workspace) if current.changes else []  # a stamp alone is harmless
    if alive:
        raise MigrateFailed(
            f"node hosts are running ({', '.join(alive)}): they write run and risk files; "
            "stop them first (gateway stop NODE)",
            [f"{len(current.changes)} file(s) to migrate; nothing was written"],
        )
    if current.changes:
        outcome.backup = _backup(workspace, current)
    # Every new file is written beside its target first and made durable with one sync
    # (one fsync per file made 10,000 runs take minutes); then each is renamed over its
    # target, and one more sync makes the renames durable before the stamp.
    staged: dict[Path, Path] = {}
    try:
        for change in current.changes:
            staged[change.path] = _stage(change)
        if current.changes:
            os.sync()
        for change in current.changes:
            if change.path.read_bytes() != change.before:
                raise MigrateFailed(f"{change.path} changed while migrating; run it again")
            _install(staged[change.path], change.path)
            del staged[change.path]
            outcome.written.append(change.path)
        if current.changes:
            os.sync()
    except (OSError, MigrateFailed) as exc:
        failed = exc.filename if isinstance(exc, OSError) and exc.filename else None
        for tmp in staged.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        restored = _put_back(outcome.written, current.changes)
        message = str(exc) if isinstance(exc, MigrateFailed) else _os_text(exc, Path(failed or "?"))
        undo = "put back as they were" if restored else "NOT all put back: restore from the backup"
        raise MigrateFailed(
            f"{message}; {len(outcome.written)} file(s) already rewritten were {undo} "
            f"(backup: {outcome.backup})",
            [f"{c.path} ({c.kind} {c.from_version} -> {c.to_version})" for c in current.changes],
        ) from None
    try:
        write_stamp(workspace)
    except OSError as exc:
        # Every file is migrated and each carries its own version: running migrate again
        # only writes the stamp.
        raise MigrateFailed(
            _os_text(exc, stamp_path(workspace)), [f"{stamp_path(workspace)}"]
        ) from None
    outcome.stamped = True
    return outcome


def _stage(change: FileChange) -> Path:
    """Write the new content to a temp file beside the target (not yet durable)."""
    fd, tmp = tempfile.mkstemp(
        prefix=f".{change.path.name}.", suffix=".migrate", dir=change.path.parent
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(change.after)
        os.chmod(tmp, change.mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def _install(tmp: Path, path: Path) -> None:
    """Rename the staged file over its target (atomic: a reader sees old or new)."""
    os.replace(tmp, path)


def _os_text(exc: OSError, path: Path) -> str:
    return f"cannot write {exc.filename or path}: {(exc.strerror or str(exc)).lower()}"


def _backup(workspace: Workspace, current: Plan) -> Path:
    """Copy the files about to change (and schema.json) into a new backup directory."""
    base = workspace.root / BACKUPS_DIR
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{stamp}-v{current.from_version}"
    final = base / name
    tmp = base / f".{name}.tmp"
    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(mode=0o700)  # tokens.json's hashes and risk state are in there
        files = tmp / "files"
        copies = list(current.changes)
        manifest = []
        for change in copies:
            rel = change.path.relative_to(workspace.root)
            _plain_write(files / rel, change.before, change.mode)
            manifest.append(
                {
                    "path": str(rel),
                    "kind": change.kind,
                    "from": change.from_version,
                    "to": change.to_version,
                }
            )
        schema = stamp_path(workspace)
        if schema.is_file() and not schema.is_symlink():
            _plain_write(files / schema.name, schema.read_bytes(), 0o644)
        doc = {
            "workspace": str(workspace.root),
            "from_version": current.from_version,
            "to_version": current.to_version,
            "files": manifest,
            "restore": f"copy {final / 'files'}/* back into {workspace.root}",
        }
        _plain_write(tmp / "manifest.json", (json.dumps(doc, indent=2) + "\n").encode(), 0o600)
        os.sync()  # every copy on disk before the backup exists under its name
        os.rename(tmp, final)
        fsync_dir(base)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise MigrateFailed(
            f"cannot write the backup {final}: {(exc.strerror or str(exc)).lower()}",
            [f"{len(current.changes)} file(s) to migrate; nothing was written"],
        ) from None
    return final


def _plain_write(path: Path, data: bytes, mode: int) -> None:
    # Inside the backup's temp directory: made durable by one sync before it is renamed.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _put_back(written: list[Path], changes: list[FileChange]) -> bool:
    by_path = {c.path: c for c in changes}
    ok = True
    for path in reversed(written):
        change = by_path[path]
        try:
            atomic_write_bytes(path, change.before, change.mode)
        except OSError:
            ok = False
    return ok


__all__ = ["MigrateFailed", "Outcome", "Problem", "migrate", "running_hosts"]
