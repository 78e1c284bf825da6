"""Whether a host is alive, and marking one that died without reporting its end."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from engine.config.store import ConfigStore
from engine.host.events import NODE_ERROR, NODE_STATE_CHANGED
from engine.host.paths import pid_file, supervisor_file
from engine.runs import (
    ERROR_FILE,
    HOST_OUTPUT,
    Run,
    RunMeta,
    read_json,
    read_meta,
    update_meta,
    utc_now_iso,
    write_json,
)
from engine.workspace import Workspace


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
    from filelock import FileLock

    # The pathname stays: unlinking a flock file on release lets two holders race.
    with FileLock(run_dir / ".death.lock", mode=0o600, preserve_lock_file=True):
        yield


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


def live_host(workspace: Workspace, node_id: str) -> dict[str, Any] | None:
    """The node's pid file, if the host it names is alive."""
    data = read_json(pid_file(workspace, node_id))
    if data is None:
        return None
    if pid_alive(data.get("pid"), data.get("run_id")):
        return data
    return None


def live_supervisor(workspace: Workspace, node_id: str) -> dict[str, Any] | None:
    """The node's supervisor file, if the supervisor it names is alive."""
    data = read_json(supervisor_file(workspace, node_id))
    if data is None:
        return None
    if pid_alive(data.get("pid"), data.get("first_run_id")):
        return data
    return None
