"""A backtest host started before its run exists, so Nautilus imports while the caller works.

``gateway launch`` spends ~0.3 s importing its own modules, validating the node's config
and creating the run before it could start a host, and the host then spends ~1 s importing
Nautilus. A standby host is started first and does its imports on the other core; when the
run exists, the caller hands it over on the standby's stdin as one JSON line
``{"node_id": ...}``. The run id is chosen up front and is on the standby's command line,
as on any host's, so the checks that a pid is still the host of its run hold for it too.
Until the hand-over the standby has no run, writes nothing to the workspace and holds no
socket: if the caller closes stdin instead (invalid config, an unknown node, the caller
died) it exits quietly, and :meth:`Standby.discard` kills it.

Its output before the hand-over goes to an anonymous file; the host copies that into the
run's ``host.out`` when it takes the run, so an import warning is not lost.

This module imports nothing heavy: the CLI imports it before anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from engine.workspace import Workspace

STANDBY_FLAG = "--standby"
STANDBY_MODES = ("backtest",)  # sandbox/live hosts start under their supervisor
_MODE_FILES = ("backtest.json", "sandbox.json", "live.json")


def standby_command(python: str, workspace: Workspace, mode: str, run_id: str) -> list[str]:
    """The command line of a standby host (the run id it will take; no secrets, ever)."""
    return [
        python,
        "-m",
        "engine.host",
        STANDBY_FLAG,
        mode,
        "--workspace",
        str(workspace.root),
        "--run-id",
        run_id,
    ]


def likely_mode(workspace: Workspace, node_id: str, mode: str | None) -> str | None:
    """The mode ``launch`` will resolve for ``node_id``, from file names only; None if unsure.

    A guess that turns out wrong costs a standby that is discarded, nothing more.
    """
    if mode is not None:
        return mode
    try:
        present = [f for f in _MODE_FILES if (workspace.nodes_dir / node_id / f).is_file()]
    except (OSError, ValueError):
        return None
    return present[0].removesuffix(".json") if len(present) == 1 else None


@dataclass(slots=True)
class Standby:
    """A standby host process of ``mode`` waiting for its node on stdin to run ``run_id``."""

    process: asyncio.subprocess.Process
    mode: str
    run_id: str

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(
        cls, workspace: Workspace, mode: str, *, python: str | None = None
    ) -> Standby | None:
        """Start a standby host of ``mode``; None when ``mode`` has no standby."""
        if mode not in STANDBY_MODES:
            return None
        from engine.host.supervisor import host_env
        from engine.runs import new_run_id

        run_id = new_run_id()

        output: BinaryIO = tempfile.TemporaryFile(prefix="gateway-standby-")  # noqa: SIM115
        try:
            process = await asyncio.create_subprocess_exec(
                *standby_command(python or sys.executable, workspace, mode, run_id),
                stdin=asyncio.subprocess.PIPE,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # detached, like any backtest host
                cwd=str(workspace.root) if workspace.root.is_dir() else None,
                env=host_env(),
            )
        finally:
            output.close()  # the child holds its own descriptor of the anonymous file
        return cls(process, mode, run_id)

    async def assign(self, node_id: str) -> bool:
        """Hand the run over; False if the standby died first (start a fresh host then)."""
        stdin = self.process.stdin
        if stdin is None or self.process.returncode is not None:
            return False
        line = json.dumps({"node_id": node_id}) + "\n"
        try:
            stdin.write(line.encode())
            await stdin.drain()
            stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            return False
        return self.process.returncode is None

    async def discard(self) -> None:
        """Stop the standby (it has no run, so nothing is lost) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(Exception):
            await self.process.wait()


def take_run(stdin: BinaryIO) -> dict[str, Any] | None:
    """In the standby: block until its node arrives; None when stdin closes without one."""
    line = stdin.readline()
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("node_id"), str):
        return None
    return data


def redirect_output(host_output: Path) -> None:
    """In the standby, once it has a run: stdout and stderr go to the run's ``host.out``.

    What the standby printed so far (in its anonymous file) is copied there first.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    with contextlib.suppress(OSError):
        earlier = os.pread(1, 1 << 20, 0)
        if earlier:
            with host_output.open("ab") as fh:
                fh.write(earlier)
    fd = os.open(host_output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def warm_imports(mode: str) -> None:
    """Import what a host of ``mode`` needs before its run (the standby's whole point)."""
    import engine.config.store
    import engine.host.host

    if mode == "backtest":
        import nautilus_trader.backtest.node
        import nautilus_trader.persistence.catalog  # noqa: F401

        import engine.host.actor
        import engine.host.backtest
        import engine.host.results
        import engine.telemetry.host_hooks
        import engine.telemetry.sampler  # noqa: F401
