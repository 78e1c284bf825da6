"""The workspace's own version: ``<workspace>/schema.json``.

``{"schema_version": 1, "kinds": {"run_meta": 1, …}, "updated": "…"}``. It is written
last by ``gateway migrate`` (after every file it covers), and when a new workspace is
created. A workspace with content and no ``schema.json`` predates versioning: version 0.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.json_input import JsonInputError, parse_json
from engine.migrate.kinds import KINDS
from engine.migrate.versions import NewerVersion, VersionError, check_version, read_version
from engine.workspace import Workspace

STAMP_FILE = "schema.json"
WORKSPACE_VERSION = 1
# The oldest workspace version this gateway still reads in place. Raise it with a
# migration older code paths cannot read: entry points then ask for `gateway migrate`.
MIN_READABLE_VERSION = 0


@dataclass(frozen=True, slots=True)
class Stamp:
    version: int
    kinds: dict[str, int]
    exists: bool  # False: no schema.json (a new or a pre-versioning workspace)


def stamp_path(workspace: Workspace) -> Path:
    return workspace.root / STAMP_FILE


def read_stamp(workspace: Workspace) -> Stamp:
    """The workspace's version; :class:`VersionError` (or NewerVersion) naming schema.json."""
    path = stamp_path(workspace)
    where = str(path)
    if path.is_symlink():
        raise VersionError(where, "is a symbolic link; expected a plain file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Stamp(0, {}, exists=False)
    except OSError as exc:
        raise VersionError(where, f"cannot read: {exc.strerror}") from None
    try:
        doc = parse_json(raw)
    except (JsonInputError, ValueError) as exc:  # ValueError: an int past Python's digit limit
        raise VersionError(where, str(exc)) from None
    version = check_version(doc, "schema_version", where, WORKSPACE_VERSION, missing=None)
    kinds_doc = doc.get("kinds", {})
    if not isinstance(kinds_doc, dict):
        raise VersionError(where, f"kinds: expected an object, got {type(kinds_doc).__name__}")
    kinds: dict[str, int] = {}
    for name, value in kinds_doc.items():
        kind_where = f"{where}: kinds.{name}"
        kinds[name] = read_version({"v": value}, "v", kind_where, missing=None)
        known = KINDS.get(name)
        if known is not None and kinds[name] > known.current:
            raise NewerVersion(where, f"kinds.{name}", kinds[name], known.current)
    return Stamp(version, kinds, exists=True)


def current_stamp_doc() -> dict[str, object]:
    return {
        "schema_version": WORKSPACE_VERSION,
        "kinds": {name: kind.current for name, kind in KINDS.items()},
        "updated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def write_stamp(workspace: Workspace) -> Path:
    """Write the current versions to ``schema.json`` atomically; return its path."""
    path = stamp_path(workspace)
    atomic_write_text(path, json.dumps(current_stamp_doc(), indent=2) + "\n")
    return path


def stamp_new_workspace(workspace: Workspace) -> None:
    """Stamp a workspace that has nothing in it yet (called as it is created).

    One with content and no stamp is left alone: it predates versioning, and saying it is
    current would skip its migration.
    """
    root = workspace.root
    try:
        empty = not any(root.iterdir())
    except OSError:
        return
    if empty:
        write_stamp(workspace)


__all__ = [
    "MIN_READABLE_VERSION",
    "STAMP_FILE",
    "WORKSPACE_VERSION",
    "Stamp",
    "read_stamp",
    "read_version",
    "stamp_new_workspace",
    "stamp_path",
    "write_stamp",
]
