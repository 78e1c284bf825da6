"""Where a node's socket and pid file live (both the manager and the host need them)."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from engine.workspace import Workspace

# sun_path holds 108 bytes on Linux; leave room for the terminating NUL.
_MAX_SOCKET_PATH = 100


def socket_path(workspace: Workspace, node_id: str) -> Path:
    """The node's Unix socket: ``run/<node_id>.sock``, or a short temp path if too long."""
    path = workspace.run_dir / f"{node_id}.sock"
    if len(str(path).encode()) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"gateway-{digest}.sock"


def pid_file(workspace: Workspace, node_id: str) -> Path:
    """The node's pid/run file: ``run/<node_id>.json`` (pid, run id, mode, socket)."""
    return workspace.run_dir / f"{node_id}.json"


def supervisor_file(workspace: Workspace, node_id: str) -> Path:
    """The node's supervisor record: ``run/<node_id>.supervisor`` (pid, first run id)."""
    return workspace.run_dir / f"{node_id}.supervisor"
