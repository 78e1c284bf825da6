"""What ``gateway migrate`` would change: every file's version, read without writing.

A file whose version is newer than this gateway's, unusable (a string, negative, not
JSON, not UTF-8), or reached through a symbolic link is a *problem*: nothing is written
while any problem stands, so a workspace is migrated whole or not at all.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from engine.json_input import JsonInputError, parse_json
from engine.migrate.kinds import KINDS, DataKind
from engine.migrate.stamp import WORKSPACE_VERSION, Stamp, read_stamp
from engine.migrate.versions import NewerVersion, VersionError, check_version
from engine.workspace import Workspace

# The audit log's lines start with their version; read it without decoding 1M lines.
_AUDIT_VERSION = re.compile(rb'^\{"v":(-?\d{1,40})[,}]')


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file to rewrite: its bytes now and after migrating."""

    path: Path
    kind: str
    from_version: int
    to_version: int
    before: bytes
    after: bytes
    mode: int


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that stops the migration; ``invalid``: its content, ``failed``: the system.

    ``message`` starts with the file's path (added when the cause did not name it).
    """

    path: Path
    message: str
    category: Literal["invalid", "failed"] = "invalid"

    def __post_init__(self) -> None:
        if not self.message.startswith(str(self.path)):
            object.__setattr__(self, "message", f"{self.path}: {self.message}")


@dataclass(slots=True)
class Plan:
    workspace: Workspace
    stamp: Stamp | None  # None when schema.json itself is a problem
    changes: list[FileChange] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    checked: int = 0  # files read (changed or already current)

    @property
    def from_version(self) -> int | None:
        return None if self.stamp is None else self.stamp.version

    @property
    def to_version(self) -> int:
        return WORKSPACE_VERSION

    @property
    def needs_stamp(self) -> bool:
        return self.stamp is not None and (
            not self.stamp.exists
            or self.stamp.version < WORKSPACE_VERSION
            or any(self.stamp.kinds.get(n) != k.current for n, k in KINDS.items())
        )

    @property
    def nothing_to_do(self) -> bool:
        return not self.changes and not self.problems and not self.needs_stamp


def plan(workspace: Workspace) -> Plan:
    """Read every versioned file of ``workspace`` and say what migrating would do."""
    root = workspace.root
    try:
        stamp: Stamp | None = read_stamp(workspace)
        result = Plan(workspace, stamp)
    except VersionError as exc:
        result = Plan(workspace, None, problems=[Problem(root / "schema.json", str(exc))])
    if not root.is_dir():
        return result
    real_root = Path(os.path.realpath(root))
    for kind in KINDS.values():
        for path in kind.files(workspace):
            result.checked += 1
            problem = _outside(path, real_root)
            if problem is not None:
                result.problems.append(problem)
                continue
            if kind.lines:
                result.problems.extend(_check_lines(kind, path))
                continue
            outcome = _plan_file(kind, path)
            if isinstance(outcome, Problem):
                result.problems.append(outcome)
            elif outcome is not None:
                result.changes.append(outcome)
    return result


def _outside(path: Path, real_root: Path) -> Problem | None:
    if path.is_symlink():
        return Problem(
            path,
            "is a symbolic link; migrate rewrites only plain files (replace "
            "the link with the file it points to, or remove it)",
        )
    real = os.path.realpath(path)
    if not real.startswith(str(real_root) + os.sep):  # str: pathlib's is 10x slower here
        return Problem(path, f"resolves to {real}, outside the workspace (a linked directory)")
    return None


def _read(kind: DataKind, path: Path) -> tuple[bytes, object] | Problem:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Problem(path, f"cannot read: {exc.strerror}", "failed")
    try:
        return raw, parse_json(raw)
    except (JsonInputError, ValueError) as exc:
        return Problem(path, f"{kind.title}: {exc}")


def _plan_file(kind: DataKind, path: Path) -> FileChange | Problem | None:
    read = _read(kind, path)
    if isinstance(read, Problem):
        return read
    raw, doc = read
    try:
        version = check_version(doc, kind.field, str(path), kind.current, missing=kind.missing)
    except VersionError as exc:
        return Problem(path, str(exc))
    if version == kind.current:
        return None
    assert isinstance(doc, dict)
    try:
        new = kind.migrate(doc, version)
    except LookupError as exc:
        return Problem(path, f"{kind.field} {version}: {exc.args[0]}")
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError as exc:
        return Problem(path, f"cannot read: {exc.strerror}", "failed")
    after = (json.dumps(new, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return FileChange(path, kind.name, version, kind.current, raw, after, mode)


def _check_lines(kind: DataKind, path: Path) -> list[Problem]:
    """A JSON-lines file is never rewritten (the audit log is hash-chained): only checked."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        return [Problem(path, f"cannot read: {exc.strerror}", "failed")]
    with fh:
        for number, line in enumerate(fh, 1):
            m = _AUDIT_VERSION.match(line)
            if m is None:
                continue  # a damaged line is `gateway audit verify`'s to report
            version = int(m.group(1))
            where = f"{path} line {number}"
            if version > kind.current:
                return [Problem(path, str(NewerVersion(where, kind.field, version, kind.current)))]
            if version < kind.current:
                return [
                    Problem(
                        path,
                        f"{where}: {kind.field} {version} has no migration (audit "
                        "entries are hash-chained and never rewritten)",
                    )
                ]
    return []
