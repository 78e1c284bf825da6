"""Command lines and environment of node host processes (no secrets on either, ever).

Imports nothing heavy: the CLI starts a standby host through it before its own imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.envvars import ENV_PASSPHRASE
from engine.workspace import Workspace

_PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def host_command(
    python: str, workspace: Workspace, node_id: str, mode: str, run_id: str
) -> list[str]:
    """The command line of a node host."""
    return [
        python,
        "-m",
        "engine.host",
        "--workspace",
        str(workspace.root),
        "--node",
        node_id,
        "--mode",
        mode,
        "--run-id",
        run_id,
    ]


def standby_command(python: str, workspace: Workspace, mode: str, run_id: str) -> list[str]:
    """The command line of a standby host: the run id it will take, not yet its node."""
    return [
        python,
        "-m",
        "engine.host",
        "--standby",
        mode,
        "--workspace",
        str(workspace.root),
        "--run-id",
        run_id,
    ]


def host_env() -> dict[str, str]:
    """The host's environment: ours, with the project importable and no passphrase."""
    env = dict(os.environ)
    env.pop(ENV_PASSPHRASE, None)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env
