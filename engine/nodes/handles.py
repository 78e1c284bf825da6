"""A host the manager started (``RunHandle``) and a host as ``ps`` lists it (``NodeStatus``)."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.runs import RunMeta, read_meta

# A backtest host this manager waits for: started by asyncio, or a standby (Popen).
type HostProcess = asyncio.subprocess.Process | subprocess.Popen[bytes]


@dataclass(slots=True)
class RunHandle:
    """A host this manager started: its run and its process."""

    node_id: str
    run_id: str
    mode: str
    run_dir: Path
    pid: int
    socket_path: Path
    process: HostProcess | None = field(default=None, repr=False)
    supervisor: asyncio.Task[int | None] | None = field(default=None, repr=False)

    @property
    def returncode(self) -> int | None:
        if isinstance(self.process, subprocess.Popen):
            return self.process.poll()
        return self.process.returncode if self.process is not None else None

    async def wait(self, timeout_s: float | None = None) -> int | None:
        """Wait for the host to exit (and its supervision to settle); return its exit code."""
        if self.supervisor is None:
            return self.returncode
        return await asyncio.wait_for(asyncio.shield(self.supervisor), timeout_s)

    async def meta(self) -> RunMeta | None:
        return await asyncio.to_thread(read_meta, self.run_dir)


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One node host as ``gateway ps`` shows it."""

    node_id: str
    run_id: str
    mode: str
    pid: int | None
    state: str
    alive: bool
    uptime_s: float | None
    socket: str
    run_dir: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "run_id": self.run_id,
            "mode": self.mode,
            "pid": self.pid,
            "state": self.state,
            "alive": self.alive,
            "uptime_s": self.uptime_s,
            "socket": self.socket,
            "run_dir": self.run_dir,
        }
