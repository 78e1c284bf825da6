"""The workspace's own ``redis-server``: started on demand, detached, reused, supervised.

Used when neither the node config nor settings.json names a Redis. Whatever starts a
sandbox or live node host (the host itself, before it builds its node) calls
:func:`ensure_workspace_redis`; the first caller starts the server, later ones reuse it.

- Detached: ``--daemonize yes`` forks it away from its starter, so it outlives the host, the
  supervisor and the console (live nodes outlive the console, and so must their state).
- Reused: ``run/redis.json`` records its pid and port; a live pid that answers PING is
  reused. A lock file (``run/redis.lock``, ``filelock``) makes two launchers racing start
  one server.
- Where: append-only file under ``.gateway/redis/`` (``appendonly yes``, no RDB
  snapshots), a Unix socket ``run/redis.sock`` (mode 0700 dir, for local tools and
  ``redis-cli -s``), and loopback TCP on a port recorded in ``run/redis.json``: Nautilus
  1.231 connects only to host:port, never to a socket (see ``engine.state.target``). A
  restart takes the recorded port again, so a running node's connection finds it.
- ``appendfsync everysec``: a write is on disk within a second; ``always`` fsyncs every
  write (see the README's performance table for the cost measured on this machine).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_text
from engine.state.target import WORKSPACE_SOURCE, RedisTarget
from engine.workspace import Workspace

BINARY = "redis-server"
APPENDFSYNC = "everysec"
START_TIMEOUT_S = 15.0
LOCK_TIMEOUT_S = 30.0
SUN_PATH_MAX = 104  # the shortest sun_path of the platforms we run on, less the NUL


class RedisUnavailable(RuntimeError):
    """Redis cannot be used: the message names what failed and where."""


@dataclass(frozen=True, slots=True)
class ServerPaths:
    """Where the workspace's server keeps its files."""

    data_dir: Path  # .gateway/redis: the append-only file, the server's log
    socket: Path  # .gateway/run/redis.sock
    info: Path  # .gateway/run/redis.json: pid, port, socket, started
    pidfile: Path  # .gateway/run/redis.pid (written by redis-server)
    lock: Path  # .gateway/run/redis.lock

    @classmethod
    def of(cls, workspace: Workspace) -> ServerPaths:
        run = workspace.run_dir
        return cls(
            data_dir=workspace.root / "redis",
            socket=run / "redis.sock",
            info=run / "redis.json",
            pidfile=run / "redis.pid",
            lock=run / "redis.lock",
        )

    @property
    def log(self) -> Path:
        return self.data_dir / "redis.log"


def read_info(workspace: Workspace) -> dict[str, Any] | None:
    """What ``run/redis.json`` records (None when absent or unreadable)."""
    try:
        data = json.loads(ServerPaths.of(workspace).info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pid_alive(pid: Any) -> bool:
    import psutil

    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and "redis" in proc.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def ping(target: RedisTarget, timeout_s: float = 1.0) -> str | None:
    """None if ``target`` answers PING, else why not (one line)."""
    import redis

    client = target.client(timeout_s)
    try:
        client.ping()
        return None
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        with contextlib.suppress(Exception):
            client.close()


def _target(port: int) -> RedisTarget:
    return RedisTarget(host="127.0.0.1", port=port, source=WORKSPACE_SOURCE)


def running_server(workspace: Workspace) -> RedisTarget | None:
    """The workspace's server if its recorded pid lives and it answers; else None."""
    info = read_info(workspace)
    if info is None or not _pid_alive(info.get("pid")) or not isinstance(info.get("port"), int):
        return None
    target = _target(info["port"])
    return target if ping(target) is None else None


def _free_port(preferred: Any = None) -> int:
    """``preferred`` if it can be bound on loopback now, else a free port."""
    candidates = [preferred] if isinstance(preferred, int) and 0 < preferred < 65536 else []
    for port in [*candidates, 0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As redis-server binds: the killed server's connections in TIME_WAIT hold the
            # port otherwise, and a restart must take the port running nodes know.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RedisUnavailable("no free TCP port on 127.0.0.1 for the workspace's redis-server")


def ensure_workspace_redis(workspace: Workspace, *, appendfsync: str = APPENDFSYNC) -> RedisTarget:
    """The workspace's own server, started if it does not run; raise :class:`RedisUnavailable`.

    ``appendfsync`` applies to a server this call starts (the benchmark compares them).
    """
    from filelock import FileLock, Timeout

    paths = ServerPaths.of(workspace)
    workspace.ensure()
    try:
        with FileLock(str(paths.lock), timeout=LOCK_TIMEOUT_S):
            found = running_server(workspace)
            if found is not None:
                return found
            return _start(workspace, paths, appendfsync)
    except Timeout:
        raise RedisUnavailable(
            f"the workspace's redis-server lock {paths.lock} is held by another process "
            f"for more than {LOCK_TIMEOUT_S:.0f} s"
        ) from None


def _start(workspace: Workspace, paths: ServerPaths, appendfsync: str) -> RedisTarget:
    binary = shutil.which(BINARY)
    if binary is None:
        raise RedisUnavailable(
            f"{BINARY} not found on PATH: the workspace's Redis (append-only file in "
            f"{paths.data_dir}) cannot start. Install it (apt-get install redis-server; "
            'make setup does), or name a Redis in settings.json: {"redis": {"url": '
            '"redis://HOST:PORT"}}'
        )
    paths.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    previous = read_info(workspace) or {}
    with contextlib.suppress(OSError):
        paths.pidfile.unlink()
    with contextlib.suppress(OSError):
        paths.socket.unlink()  # a stale socket of a killed server
    last_error = ""
    for _attempt in range(3):  # a port taken between the probe and the bind: another one
        port = _free_port(previous.get("port"))
        previous = {}
        args = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--protected-mode", "yes",
            "--dir", str(paths.data_dir),
            "--appendonly", "yes",
            "--appendfsync", appendfsync,
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(paths.pidfile),
            "--logfile", str(paths.log),
        ]  # fmt: skip
        if len(str(paths.socket)) <= SUN_PATH_MAX:
            args += ["--unixsocket", str(paths.socket), "--unixsocketperm", "700"]
        started = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=START_TIMEOUT_S,
            check=False,
            start_new_session=True,
        )
        if started.returncode != 0:
            last_error = started.stderr.decode("utf-8", "replace").strip()[-500:]
            continue
        target = _target(port)
        pid, why = _wait_ready(paths, target)
        if pid is not None:
            info = {
                "pid": pid,
                "port": port,
                "host": "127.0.0.1",
                "socket": str(paths.socket) if paths.socket.exists() else None,
                "data_dir": str(paths.data_dir),
                "appendfsync": appendfsync,
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            atomic_write_text(paths.info, json.dumps(info) + "\n", 0o600)
            return target
        last_error = why
    raise RedisUnavailable(
        f"the workspace's redis-server did not start ({paths.data_dir}): {last_error}; "
        f"its log: {paths.log}"
    )


def _wait_ready(paths: ServerPaths, target: RedisTarget) -> tuple[int | None, str]:
    deadline = time.monotonic() + START_TIMEOUT_S
    why = "no answer"
    while time.monotonic() < deadline:
        try:
            pid = int(paths.pidfile.read_text().strip())
        except (OSError, ValueError):
            pid = None
        if pid is not None:
            err = ping(target, 0.5)
            if err is None:
                return pid, ""
            if "LOADING" not in err and not _pid_alive(pid):
                return None, f"it exited ({_log_tail(paths.log)})"
            why = err
        time.sleep(0.02)
    return None, f"no answer within {START_TIMEOUT_S:.0f} s ({why})"


def _log_tail(path: Path, n: int = 3) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "no log"
    return " | ".join(line.strip() for line in lines[-n:])


def stop_workspace_redis(workspace: Workspace, timeout_s: float = 10.0) -> bool:
    """Shut the workspace's server down (its append-only file flushed); False if none ran."""
    info = read_info(workspace)
    if info is None or not _pid_alive(info.get("pid")):
        return False
    pid = int(info["pid"])
    with contextlib.suppress(Exception):
        _target(int(info["port"])).client().shutdown(nosave=False)
    deadline = time.monotonic() + timeout_s
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if _pid_alive(pid):
        os.kill(pid, 9)
    return True
