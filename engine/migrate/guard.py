"""The check every entry point makes before it touches a workspace.

The console, every CLI command and the API server call :func:`check_workspace` first (it
reads only ``schema.json``). A workspace from a newer gateway, or with an unusable
``schema.json``, is refused; one older than :data:`MIN_READABLE_VERSION` is refused with
"run `gateway migrate`". An older workspace this gateway still reads works as it is and
is never rewritten behind the user's back: migrating is `gateway migrate`'s job alone,
because a node host started by the older gateway may still be reading the same files.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.migrate.stamp import MIN_READABLE_VERSION, WORKSPACE_VERSION, read_stamp
from engine.migrate.versions import NewerVersion, VersionError
from engine.workspace import Workspace


class WorkspaceRefused(VersionError):
    """This gateway must not use the workspace (too new, too old or unreadable)."""


@dataclass(frozen=True, slots=True)
class WorkspaceStatus:
    version: int
    current: int = WORKSPACE_VERSION

    @property
    def older(self) -> bool:
        return self.version < self.current

    def hint(self) -> str | None:
        if not self.older:
            return None
        return (
            f"this workspace is at schema {self.version}, this gateway writes "
            f"{self.current}: `gateway migrate --dry-run` shows what would change"
        )


def check_workspace(workspace: Workspace) -> WorkspaceStatus:
    """The workspace's version, or :class:`WorkspaceRefused` saying why it cannot be used."""
    if not workspace.root.is_dir():
        return WorkspaceStatus(WORKSPACE_VERSION)  # created at the current version
    try:
        stamp = read_stamp(workspace)
    except NewerVersion as exc:
        raise WorkspaceRefused(exc.where, str(exc).removeprefix(f"{exc.where}: ")) from None
    except VersionError as exc:
        backups = workspace.root / "backups"
        hint = f" (fix it, or restore it from {backups})" if backups.is_dir() else " (fix it)"
        raise WorkspaceRefused(exc.where, str(exc).removeprefix(f"{exc.where}: ") + hint) from None
    if not stamp.exists:
        try:
            empty = not any(workspace.root.iterdir())
        except OSError:
            empty = False
        return WorkspaceStatus(WORKSPACE_VERSION if empty else 0)
    if stamp.version < MIN_READABLE_VERSION:
        raise WorkspaceRefused(
            str(workspace.root / "schema.json"),
            f"schema_version {stamp.version} is older than this gateway reads in place "
            f"({MIN_READABLE_VERSION}); run `gateway migrate` (it keeps a backup)",
        )
    return WorkspaceStatus(stamp.version)
