"""Commands to a node's live host over its channel, and stopping a host."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.nodes.errors import NodeNotRunning
from engine.nodes.liveness import live_host, live_supervisor, pid_alive
from engine.runs import RunMeta, RunNotFound, read_meta, update_meta, utc_now_iso
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.manager import NodeManager

POLL_S = 0.1


async def command(workspace: Workspace, node_id: str, cmd: str, **args: Any) -> dict[str, Any]:
    """Send a command to a node's live host and return its answer."""
    from engine.channel import NodeClient

    live = await asyncio.to_thread(live_host, workspace, node_id)
    if live is None:
        raise NodeNotRunning(f"node {node_id!r} is not running (see: gateway ps)")
    client = await NodeClient.connect(Path(str(live["socket"])))
    try:
        answer: dict[str, Any] = await client.command(cmd, **args)
        return answer
    finally:
        await client.close()


SUPERVISOR_EXIT_S = 5.0  # a supervisor told to stop exits at once; past this it is killed


async def stop(
    manager: NodeManager, node_id: str, *, kill: bool = False, timeout_s: float = 15, **options: Any
) -> RunMeta:
    """Stop a node's host: ask it (a graceful stop), or ``kill`` it without waiting.

    ``options`` go with the stop command (``cancel_orders``, ``flatten`` for live
    nodes). A host that does not end within ``timeout_s`` seconds is killed.
    """
    live = await asyncio.to_thread(live_host, manager.workspace, node_id)
    if live is None:
        raise NodeNotRunning(f"node {node_id!r} is not running (see: gateway ps)")
    pid, run_id = int(live["pid"]), str(live["run_id"])
    run_dir = Path(str(live["run_dir"]))
    supervisor = await asyncio.to_thread(live_supervisor, manager.workspace, node_id)
    if supervisor is not None:  # first: no restart of a host we are stopping
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(supervisor["pid"]), signal.SIGKILL if kill else signal.SIGTERM)
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(
            update_meta,
            run_dir,
            state="stopped",
            ended=utc_now_iso(),
            exit_code=-signal.SIGKILL,
            error="killed on request",
        )
    else:
        try:
            await asyncio.wait_for(
                command(manager.workspace, node_id, "stop", **options), timeout=5
            )
        except Exception:  # no channel answer: fall back to SIGTERM (the host handles it)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid, run_id):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(POLL_S)
    if supervisor is not None:  # gone too before this returns: a launch right after
        # (a restart) found the exiting supervisor alive and refused as "already running"
        spid, first = int(supervisor["pid"]), supervisor.get("first_run_id")
        deadline = time.monotonic() + SUPERVISOR_EXIT_S
        while pid_alive(spid, first):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(spid, signal.SIGKILL)
            await asyncio.sleep(POLL_S)
    handle = manager.handles.get(run_id)
    if handle is not None and handle.supervisor is not None:
        await handle.wait()
    else:
        await asyncio.to_thread(manager._settle, node_id, run_id, run_dir, None)
    meta = await asyncio.to_thread(read_meta, run_dir)
    if meta is None:
        raise RunNotFound(f"run {run_id} has no meta.json")
    return meta
