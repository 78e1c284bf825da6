"""The NodeManager: start node hosts as detached processes, supervise them, attach to them.

Its parts live in ``engine.nodes`` (one job a module); the names they define are
re-exported here, so ``from engine.manager import …`` keeps working.

Every node runs in its own host process (``python -m engine.host``), started in a new
session so it outlives the console or CLI that launched it. The manager never blocks its
caller's event loop: file I/O goes to a thread, processes are awaited asynchronously.

A host started by this manager is watched through its process handle, so its exit is
seen at once; a host found again (started by another console) is watched through its
pid. A host that dies without reporting its end is marked ``failed`` with its exit
status and the last lines it printed.

Sandbox and live nodes are started under a per-node supervisor
(``python -m engine.host.supervisor``, detached), which is the parent of their host: it
marks a dead host ``failed`` at once and applies the node's restart policy, whether or
not the console that launched it still runs (see ``engine.host.supervisor``). Backtests
are started directly and supervised by the manager that started them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil

from engine.config.store import ConfigStore
from engine.events.envelope import Envelope
from engine.host.paths import pid_file, socket_path
from engine.host.standby import Standby
from engine.nodes import commands
from engine.nodes.attach import JOURNAL_BATCH, from_channel, from_journal, is_final
from engine.nodes.errors import NodeAlreadyRunning, NodeNotRunning
from engine.nodes.handles import HostProcess, NodeStatus, RunHandle
from engine.nodes.liveness import (
    _host_output_tail,
    _journal_death,
    _run_lock,
    host_alive,
    live_host,
    live_supervisor,
    mark_dead,
    pid_alive,
)
from engine.nodes.spawn import _spawn_supervisor
from engine.runs import (
    HOST_OUTPUT,
    Run,
    RunMeta,
    create_run,
    find_run,
    list_runs,
    read_json,
    read_meta,
    update_meta,
    utc_now_iso,
)
from engine.workspace import Workspace

__all__ = [
    "JOURNAL_BATCH",
    "POLL_S",
    "HostProcess",
    "NodeAlreadyRunning",
    "NodeManager",
    "NodeNotRunning",
    "NodeStatus",
    "RunHandle",
    "_host_output_tail",
    "_journal_death",
    "_run_lock",
    "_spawn_supervisor",
    "host_alive",
    "is_final",
    "mark_dead",
    "pid_alive",
]

POLL_S = 0.1


class NodeManager:
    """Start, list, supervise, attach to and stop node hosts of one workspace.

    Parameters
    ----------
    workspace
        The workspace whose nodes and runs are managed.
    python
        The interpreter that runs hosts (default: this one).
    """

    def __init__(self, workspace: Workspace, *, python: str | None = None) -> None:
        self.workspace = workspace
        self.python = python or sys.executable
        self.handles: dict[str, RunHandle] = {}  # by run id: backtest hosts started here

    # -- launching -----------------------------------------------------------------------
    async def launch(
        self, node_id: str, mode: str | None = None, *, standby: Standby | None = None
    ) -> RunHandle:
        """Start a host for ``node_id`` and return at once (the host runs detached).

        ``standby`` (see ``engine.host.standby``), started by the caller before it knew
        whether the node exists, runs the backtest if it can; otherwise it is discarded.

        Raises
        ------
        NodeNotFound, AmbiguousNode, ConfigInvalid
            The node has no (valid) stored config for ``mode``.
        NodeAlreadyRunning
            A host of this node is alive.
        """
        try:
            run_id = standby.run_id if standby is not None else None
            run = await asyncio.to_thread(self._prepare_run, node_id, mode, run_id)
        except BaseException:
            if standby is not None:
                await asyncio.to_thread(standby.discard)
            raise
        if standby is not None and (
            standby.mode != run.meta.mode or standby.workspace.root != self.workspace.root
        ):
            await asyncio.to_thread(standby.discard)  # a sandbox/live run may keep its id
            standby = None
        if run.meta.mode != "backtest":
            return await self._launch_supervised(run)
        process = await self._spawn_backtest_host(run, standby)
        handle = RunHandle(
            node_id=node_id,
            run_id=run.run_id,
            mode=run.meta.mode,
            run_dir=run.path,
            pid=process.pid,
            socket_path=socket_path(self.workspace, node_id),
            process=process,
        )
        await asyncio.to_thread(self._after_spawn, handle)
        handle.supervisor = asyncio.create_task(self._supervise(handle))
        self.handles[run.run_id] = handle
        return handle

    async def _spawn_backtest_host(self, run: Run, standby: Standby | None) -> HostProcess:
        """Hand the run to ``standby``, or start a host for it if there is none (or it died)."""
        if standby is not None:
            if standby.assign(run.node_id):
                return standby.process
            await asyncio.to_thread(standby.discard)
        out = await asyncio.to_thread(open, run.path / HOST_OUTPUT, "ab")
        from engine.host.command import host_command, host_env

        try:
            return await asyncio.create_subprocess_exec(
                *host_command(self.python, self.workspace, run.node_id, run.meta.mode, run.run_id),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # detached: survives the console and its terminal
                cwd=str(self.workspace.root),
                env=host_env(),
            )
        finally:
            out.close()

    async def _launch_supervised(self, run: Run) -> RunHandle:
        """Start a sandbox/live node under its detached supervisor; return its first host.

        The keyring passphrase (``$GATEWAY_KEYRING_PASSPHRASE``), if set, goes to the
        supervisor on its stdin pipe, never in the host's environment or argv.
        """
        from engine.credentials.backend import ENV_PASSPHRASE
        from engine.host.command import host_env

        passphrase = os.environ.get(ENV_PASSPHRASE) if run.meta.mode == "live" else None
        log_path = self.workspace.run_dir / f"{run.node_id}.supervisor.log"
        # subprocess.Popen, not asyncio's: asyncio kills a child still running when its
        # loop closes, and the supervisor must outlive this process.
        process = await asyncio.to_thread(
            _spawn_supervisor, self.python, self.workspace, run, log_path, passphrase, host_env()
        )
        reaper = threading.Thread(target=process.wait, name="gateway-reap", daemon=True)
        reaper.start()  # no zombie while this (console) process lives on
        deadline = time.monotonic() + 15
        host_pid: int | None = None
        while host_pid is None:
            data = await asyncio.to_thread(read_json, pid_file(self.workspace, run.node_id))
            if data is not None and data.get("run_id") == run.run_id:
                host_pid = int(data["pid"])
            elif process.poll() is not None or time.monotonic() > deadline:
                meta = await asyncio.to_thread(read_meta, run.path)
                host_pid = meta.pid if meta is not None and meta.pid else process.pid
            else:
                await asyncio.sleep(0.02)
        handle = RunHandle(
            node_id=run.node_id,
            run_id=run.run_id,
            mode=run.meta.mode,
            run_dir=run.path,
            pid=host_pid,
            socket_path=socket_path(self.workspace, run.node_id),
        )
        handle.supervisor = asyncio.create_task(self._watch_detached(handle))
        return handle

    async def _watch_detached(self, handle: RunHandle) -> int | None:
        """Wait for a supervised host to end and its supervisor to record how."""
        # Not our child (the supervisor's): poll its pid.
        while await asyncio.to_thread(pid_alive, handle.pid, handle.run_id):  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
        for _ in range(100):  # the supervisor marks the run within milliseconds
            meta = await asyncio.to_thread(read_meta, handle.run_dir)
            if meta is not None and meta.terminal:
                return meta.exit_code
            await asyncio.sleep(0.02)
        meta = await asyncio.to_thread(mark_dead, handle.run_dir, None)
        return meta.exit_code if meta is not None else None

    def _prepare_run(self, node_id: str, mode: str | None, run_id: str | None = None) -> Run:
        store = ConfigStore(self.workspace)
        resolved = store.resolve_mode(node_id, mode)
        config = store.get(node_id, resolved)  # raises ConfigInvalid with the issues
        store.check_trader_id(config)  # sandbox/live: one trader id, one node's state
        live = self._live_host(node_id) or self._live_supervisor(node_id)
        if live is not None:
            raise NodeAlreadyRunning(
                f"node {node_id!r} is already running (run {live['run_id']}, pid {live['pid']}); "
                f"stop it first: gateway stop {node_id}"
            )
        self.workspace.ensure()
        return create_run(self.workspace, node_id, resolved.value, run_id)

    def _after_spawn(self, handle: RunHandle) -> None:
        from engine.atomic import atomic_write_text

        with contextlib.suppress(Exception):
            update_meta(handle.run_dir, pid=handle.pid)
        data = {
            "node_id": handle.node_id,
            "run_id": handle.run_id,
            "mode": handle.mode,
            "pid": handle.pid,
            "socket": str(handle.socket_path),
            "started": utc_now_iso(),
            "run_dir": str(handle.run_dir),
        }
        path = pid_file(self.workspace, handle.node_id)
        if not path.exists():  # the host writes its own; never overwrite a newer one
            atomic_write_text(path, json.dumps(data) + "\n", 0o600)

    async def _supervise(self, handle: RunHandle) -> int | None:
        process = handle.process
        assert process is not None
        if isinstance(process, subprocess.Popen):  # a standby: started before any loop ran
            code: int | None = await asyncio.to_thread(process.wait)
        else:
            code = await process.wait()
        await asyncio.to_thread(self._settle, handle.node_id, handle.run_id, handle.run_dir, code)
        return code

    def _settle(self, node_id: str, run_id: str, run_dir: Path, code: int | None) -> None:
        mark_dead(run_dir, code)
        path = pid_file(self.workspace, node_id)
        data = read_json(path)
        if data is not None and data.get("run_id") == run_id:
            with contextlib.suppress(OSError):
                path.unlink()

    # -- listing -------------------------------------------------------------------------
    def _live_host(self, node_id: str) -> dict[str, Any] | None:
        return live_host(self.workspace, node_id)

    def _live_supervisor(self, node_id: str) -> dict[str, Any] | None:
        return live_supervisor(self.workspace, node_id)

    def _ps(self) -> list[NodeStatus]:
        out = []
        run_dir = self.workspace.run_dir
        if not run_dir.is_dir():
            return []
        for path in sorted(run_dir.glob("*.json")):
            data = read_json(path)
            if data is None or "run_id" not in data:
                continue
            node_id, run_id = str(data.get("node_id")), str(data["run_id"])
            pid = data.get("pid")
            alive = pid_alive(pid, run_id)
            run_path = Path(str(data.get("run_dir", "")))
            if not alive and run_id not in self.handles:
                # Found dead and nobody else watches it: record how it ended, drop the file.
                self._settle(node_id, run_id, run_path, None)
            meta = read_meta(run_path)
            uptime = None
            if alive and pid:
                with contextlib.suppress(psutil.Error):
                    uptime = time.time() - psutil.Process(pid).create_time()
            out.append(
                NodeStatus(
                    node_id=node_id,
                    run_id=run_id,
                    mode=str(data.get("mode")),
                    pid=pid,
                    state=meta.state if meta else "unknown",
                    alive=alive,
                    uptime_s=uptime,
                    socket=str(data.get("socket")),
                    run_dir=str(run_path),
                )
            )
        return out

    async def ps(self) -> list[NodeStatus]:
        """Node hosts with a pid file: alive ones, and dead ones found (then marked)."""
        return await asyncio.to_thread(self._ps)

    async def watch(self, interval_s: float = 0.5) -> None:
        """Watch hosts this manager did not start (found again) until cancelled.

        A dead one is marked ``failed`` within ``interval_s``; hosts started here are
        watched through their process handles already.
        """
        while True:
            await self.ps()
            await asyncio.sleep(interval_s)

    async def runs(self, node_id: str | None = None) -> list[Run]:
        """Every run of ``node_id`` (or of all nodes), oldest first."""
        return await asyncio.to_thread(list_runs, self.workspace, node_id)

    async def find_run(self, ref: str) -> Run:
        """A run by id, unique id prefix, or node id (its latest run)."""
        return await asyncio.to_thread(find_run, self.workspace, ref)

    # -- attaching -----------------------------------------------------------------------
    def _run_alive(self, run: Run) -> bool:
        handle = self.handles.get(run.run_id)
        if handle is not None:
            return handle.returncode is None
        return host_alive(self.workspace, run)

    async def attach(
        self, ref: str, after_seq: int = 0, *, follow: bool = True
    ) -> AsyncIterator[list[Envelope]]:
        """Yield batches of a run's events with ``seq > after_seq``, in order, once each.

        ``ref`` is a node id (its live or latest run) or a run id. Events come from the
        host's channel while it runs and from the journal otherwise, so a host that ends
        (or a client that reattaches) loses nothing. With ``follow`` the stream lasts until
        the host has exited and its journal is read to the end; without it, it ends at the
        journal's current end.
        """
        run = await self.find_run(ref)
        last = after_seq
        while True:
            alive = await asyncio.to_thread(self._run_alive, run)
            if alive and follow:
                async for batch in from_channel(self.workspace, run, last):
                    last = batch[-1].seq
                    yield batch
            async for batch in from_journal(run.path, last):
                last = batch[-1].seq
                yield batch
            if not follow or not alive:
                return
            await asyncio.sleep(POLL_S)

    async def wait_state(self, ref: str, states: set[str], timeout_s: float = 30) -> RunMeta:
        """Wait until the run's ``meta.json`` shows one of ``states``."""
        run = await self.find_run(ref)
        deadline = time.monotonic() + timeout_s
        while True:
            meta = await asyncio.to_thread(read_meta, run.path)
            if meta is not None and meta.state in states:
                return meta
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run.run_id} did not reach {sorted(states)}")
            await asyncio.sleep(POLL_S)

    # -- stopping ------------------------------------------------------------------------
    async def command(self, node_id: str, cmd: str, **args: Any) -> dict[str, Any]:
        """Send a command to a node's live host and return its answer."""
        return await commands.command(self.workspace, node_id, cmd, **args)

    async def stop(
        self, node_id: str, *, kill: bool = False, timeout_s: float = 15, **options: Any
    ) -> RunMeta:
        """Stop a node's host: ask it (a graceful stop), or ``kill`` it without waiting.

        ``options`` go with the stop command (``cancel_orders``, ``flatten`` for live
        nodes). A host that does not end within ``timeout_s`` seconds is killed.
        """
        return await commands.stop(self, node_id, kill=kill, timeout_s=timeout_s, **options)
