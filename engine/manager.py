"""The NodeManager: start node hosts as detached processes, supervise them, attach to them.

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
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from engine.config.store import ConfigStore
from engine.events.envelope import Envelope
from engine.host.events import NODE_ERROR, NODE_STATE_CHANGED, TERMINAL_STATES
from engine.host.paths import pid_file, socket_path, supervisor_file
from engine.host.standby import Standby
from engine.runs import (
    ERROR_FILE,
    HOST_OUTPUT,
    Run,
    RunMeta,
    RunNotFound,
    create_run,
    find_run,
    list_runs,
    read_json,
    read_meta,
    update_meta,
    utc_now_iso,
    write_json,
)
from engine.workspace import Workspace

# A backtest host this manager waits for: started by asyncio, or a standby (Popen).
type HostProcess = asyncio.subprocess.Process | subprocess.Popen[bytes]

JOURNAL_BATCH = 5000  # envelopes per batch when replaying a journal
POLL_S = 0.1


class NodeAlreadyRunning(RuntimeError):
    """The node has a live host already (one host per node)."""


class NodeNotRunning(RuntimeError):
    """No live host for this node."""


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


def pid_alive(pid: int | None, run_id: str | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, if given, is the host of ``run_id``."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if run_id is not None:
            return run_id in proc.cmdline()
        return True
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def host_alive(workspace: Workspace, run: Run) -> bool:
    """Whether ``run`` has not ended and its host process still runs it."""
    meta = read_meta(run.path)
    if meta is None or meta.terminal:
        return False
    data = read_json(pid_file(workspace, run.node_id)) or {}
    pid = data.get("pid") if data.get("run_id") == run.run_id else meta.pid
    return pid_alive(pid, run.run_id)


def _host_output_tail(run_dir: Path, n: int = 20) -> list[str]:
    try:
        data = (run_dir / HOST_OUTPUT).read_bytes()[-16_000:]
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-n:]


def mark_dead(run_dir: Path, exit_code: int | None) -> RunMeta | None:
    """Mark a run whose host is gone: ``failed`` unless the host reported its end.

    The failure also goes into the run's journal (``NodeError``, ``NodeStateChanged`` and
    the ``node.state`` alerts), so every client sees it in the same stream as the rest.
    The supervisor and any ``ps`` may call this at once: a lock file makes one of them do it.
    """
    with _run_lock(run_dir):
        meta = read_meta(run_dir)
        if meta is None:
            return None
        if meta.terminal:
            if meta.exit_code is None and exit_code is not None:
                meta = update_meta(run_dir, exit_code=exit_code)
            return meta
        status = f"signal {-exit_code}" if exit_code is not None and exit_code < 0 else exit_code
        message = f"node host exited without reporting its end (exit status {status})"
        tail = _host_output_tail(run_dir)
        if not (run_dir / ERROR_FILE).exists():
            write_json(
                run_dir / ERROR_FILE,
                {"error": "HostDied", "message": message, "phase": "host", "output_tail": tail},
            )
        _journal_death(run_dir, meta, message, tail)
        return update_meta(
            run_dir, state="failed", ended=utc_now_iso(), exit_code=exit_code, error=message
        )


@contextlib.contextmanager
def _run_lock(run_dir: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(run_dir / ".death.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _journal_death(run_dir: Path, meta: RunMeta, message: str, tail: list[str]) -> None:
    """Append the failure of a dead host to its journal (the host can no longer)."""
    from engine.journal import JournalWriter
    from engine.telemetry.alerts import AlertEngine
    from engine.telemetry.rules import effective_rules

    now = time.time_ns()
    writer = JournalWriter(run_dir, meta.node_id, meta.run_id)
    try:
        writer.append(
            "node",
            NODE_ERROR,
            {
                "error": "HostDied",
                "message": message,
                "phase": "host",
                "field": None,
                "traceback": None,
                "log_tail": tail,
            },
            now,
        )
        writer.append(
            "node",
            NODE_STATE_CHANGED,
            {
                "state": "failed",
                "previous": meta.state,
                "mode": meta.mode,
                "pid": meta.pid,
                "reason": message,
            },
            now,
        )
        workspace = Workspace(run_dir.parents[2])  # runs/<node>/<run>
        try:
            node_rules = ConfigStore(workspace).get(meta.node_id, meta.mode).alerts
            rules = effective_rules(workspace, node_rules)
        except Exception:  # a broken config or settings must not hide the failure itself
            from engine.telemetry.alerts import default_rules

            rules = default_rules()
        for event in AlertEngine(rules).node_state(meta.node_id, "failed", now):
            writer.append(event.kind, event.type, event.payload, event.ts_ns)
    except OSError:
        pass  # meta.json and error.json still record the failure
    finally:
        writer.close()


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
        data = read_json(pid_file(self.workspace, node_id))
        if data is None:
            return None
        if pid_alive(data.get("pid"), data.get("run_id")):
            return data
        return None

    def _live_supervisor(self, node_id: str) -> dict[str, Any] | None:
        data = read_json(supervisor_file(self.workspace, node_id))
        if data is None:
            return None
        if pid_alive(data.get("pid"), data.get("first_run_id")):
            return data
        return None

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
                async for batch in self._from_channel(run, last):
                    last = batch[-1].seq
                    yield batch
            async for batch in self._from_journal(run.path, last):
                last = batch[-1].seq
                yield batch
            if not follow or not alive:
                return
            await asyncio.sleep(POLL_S)

    async def _from_channel(self, run: Run, after_seq: int) -> AsyncIterator[list[Envelope]]:
        from engine.channel import ChannelError, NodeClient

        path = socket_path(self.workspace, run.node_id)
        try:
            client = await NodeClient.connect(path)
        except (OSError, ChannelError, TimeoutError):
            return
        if client.run_id != run.run_id:  # the socket now serves a newer run of the node
            with contextlib.suppress(Exception):
                await client.close()
            return
        last = after_seq
        try:
            async for batch in client.events(after_seq=after_seq):
                # The client's seqs are contiguous from after_seq and its run is ours: only
                # an overlap needs filtering, not every event of every batch.
                if batch[0].seq <= last:
                    batch = [e for e in batch if e.seq > last]
                    if not batch:
                        continue
                last = batch[-1].seq
                yield batch
        except (OSError, ChannelError, EOFError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    async def _from_journal(self, run_dir: Path, after_seq: int) -> AsyncIterator[list[Envelope]]:
        from engine.journal import JournalReader

        reader = JournalReader(run_dir)
        try:
            last = after_seq
            while True:
                batch = await asyncio.to_thread(reader.read, last, JOURNAL_BATCH)
                if not batch:
                    return
                last = batch[-1].seq
                yield batch
        finally:
            reader.close()

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
        from engine.channel import NodeClient

        live = await asyncio.to_thread(self._live_host, node_id)
        if live is None:
            raise NodeNotRunning(f"node {node_id!r} is not running (see: gateway ps)")
        client = await NodeClient.connect(Path(str(live["socket"])))
        try:
            answer: dict[str, Any] = await client.command(cmd, **args)
            return answer
        finally:
            await client.close()

    async def stop(
        self, node_id: str, *, kill: bool = False, timeout_s: float = 15, **options: Any
    ) -> RunMeta:
        """Stop a node's host: ask it (a graceful stop), or ``kill`` it without waiting.

        ``options`` go with the stop command (``cancel_orders``, ``flatten`` for live
        nodes). A host that does not end within ``timeout_s`` seconds is killed.
        """
        live = await asyncio.to_thread(self._live_host, node_id)
        if live is None:
            raise NodeNotRunning(f"node {node_id!r} is not running (see: gateway ps)")
        pid, run_id = int(live["pid"]), str(live["run_id"])
        run_dir = Path(str(live["run_dir"]))
        supervisor = await asyncio.to_thread(self._live_supervisor, node_id)
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
                await asyncio.wait_for(self.command(node_id, "stop", **options), timeout=5)
            except Exception:  # no channel answer: fall back to SIGTERM (the host handles it)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while pid_alive(pid, run_id):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(POLL_S)
        handle = self.handles.get(run_id)
        if handle is not None and handle.supervisor is not None:
            await handle.wait()
        else:
            await asyncio.to_thread(self._settle, node_id, run_id, run_dir, None)
        meta = await asyncio.to_thread(read_meta, run_dir)
        if meta is None:
            raise RunNotFound(f"run {run_id} has no meta.json")
        return meta


def is_final(env: Envelope) -> bool:
    """Whether ``env`` is a host's last state change (stopped, completed or failed)."""
    return env.type == NODE_STATE_CHANGED and env.payload.get("state") in TERMINAL_STATES
