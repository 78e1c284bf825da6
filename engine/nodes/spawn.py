"""Starting a sandbox/live node's detached supervisor (the parent of its hosts)."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

from engine.runs import Run
from engine.workspace import Workspace


def _spawn_supervisor(
    python: str,
    workspace: Workspace,
    run: Run,
    log_path: Path,
    passphrase: str | None,
    env: dict[str, str],
) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as out:
        process = subprocess.Popen(
            [
                python,
                "-m",
                "engine.host.supervisor",
                "--workspace",
                str(workspace.root),
                "--node",
                run.node_id,
                "--mode",
                run.meta.mode,
                "--run-id",
                run.run_id,
            ],
            stdin=subprocess.PIPE if passphrase else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # detached: survives the console and its terminal
            cwd=str(workspace.root),
            env=env,
        )
    if passphrase and process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.write(passphrase.encode() + b"\n")
        with contextlib.suppress(OSError):
            process.stdin.close()
    return process
