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

This module imports nothing heavy: the CLI imports it before anything else
(``console.cli.prestart``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, BinaryIO

from engine.host.command import host_env, standby_command
from engine.workspace import Workspace

STANDBY_MODES = ("backtest",)  # sandbox/live hosts start under their supervisor
_MODE_FILES = ("backtest.json", "sandbox.json", "live.json")
_DISCARD_WAIT_S = 5.0


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


def _anonymous_file(directory: Path) -> int:
    """A file descriptor of a nameless file (O_TMPFILE), or of one unlinked at once."""
    with contextlib.suppress(OSError, AttributeError):
        return os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    import tempfile

    fd, name = tempfile.mkstemp(prefix="gateway-standby-")
    os.unlink(name)
    return fd


class Standby:
    """A standby host of ``mode`` in ``workspace``, waiting on stdin to run ``run_id``.

    Its process is a plain ``subprocess.Popen``: starting it must not wait for asyncio's
    import. The NodeManager waits for it like for any backtest host it started.
    """

    __slots__ = ("mode", "process", "run_id", "workspace")

    def __init__(
        self, process: subprocess.Popen[bytes], workspace: Workspace, mode: str, run_id: str
    ) -> None:
        self.process = process
        self.workspace = workspace
        self.mode = mode
        self.run_id = run_id

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, workspace: Workspace, mode: str, *, python: str | None = None) -> Standby | None:
        """Start a standby host of ``mode``; None when ``mode`` has no standby."""
        if mode not in STANDBY_MODES:
            return None
        from engine.runs import new_run_id

        run_id = new_run_id()
        output = _anonymous_file(Path(os.environ.get("TMPDIR", "/tmp")))
        try:
            process = subprocess.Popen(
                standby_command(python or sys.executable, workspace, mode, run_id),
                stdin=subprocess.PIPE,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # detached, like any backtest host
                cwd=str(workspace.root) if workspace.root.is_dir() else None,
                env=host_env(),
            )
        finally:
            os.close(output)  # the child holds its own descriptor of the nameless file
        return cls(process, workspace, mode, run_id)

    def assign(self, node_id: str) -> bool:
        """Hand the run over; False if the standby died first (start a fresh host then)."""
        stdin = self.process.stdin
        if stdin is None or self.process.poll() is not None:
            return False
        try:
            stdin.write(json.dumps({"node_id": node_id}).encode() + b"\n")
            stdin.close()  # a few bytes into an empty pipe: this never blocks
        except (BrokenPipeError, ConnectionResetError, ValueError):
            return False
        return self.process.poll() is None

    def discard(self) -> None:
        """Stop the standby (it has no run, so nothing is lost) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(_DISCARD_WAIT_S)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()


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
