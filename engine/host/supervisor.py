"""The per-node supervisor: a small detached parent that restarts a failed node host.

``python -m engine.host.supervisor --workspace DIR --node NODE --mode MODE --run-id RUN``

Why a process of its own: a sandbox or live node outlives the console or CLI that
launched it, so whatever applies its restart policy must outlive them too. The manager
starts this supervisor in a new session (detached); the supervisor starts the node host
(``python -m engine.host``) as its child, so it sees the host's exit at once
(``waitpid``, no polling). A host that ends without reporting its end (kill -9, a crash)
is marked ``failed`` with its exit status and last output lines (:func:`mark_dead`)
within milliseconds; if the node's ``restart`` policy is ``on-failure`` and fewer than
``max_restarts`` restarts were made, it waits ``backoff_seconds`` and starts a new run
(a new run id, ``extra.restart_of`` naming the failed run). A host that ends ``stopped``
or ``completed`` ends supervision.

The supervisor imports no Nautilus (a few MB of memory). SIGTERM (sent by ``gateway
stop`` before it stops the host) means "no more restarts"; the host's own stop follows.
If the supervisor itself is killed, its host keeps running (and is found by ``gateway
ps``); only restarts are lost. The keyring passphrase of an encrypted-file keyring, if the
launcher had one, arrives on stdin and is handed to each host on its stdin.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from engine.atomic import atomic_write_text
from engine.host.command import host_command, host_env
from engine.host.paths import pid_file, socket_path, supervisor_file
from engine.runs import (
    HOST_OUTPUT,
    create_run,
    read_json,
    run_path,
    update_meta,
    utc_now_iso,
)
from engine.workspace import Workspace


class Supervisor:
    """Run a node's hosts one after another, as its restart policy says."""

    def __init__(
        self,
        workspace: Workspace,
        node_id: str,
        mode: str,
        run_id: str,
        *,
        passphrase: str | None = None,
    ) -> None:
        self.workspace = workspace
        self.node_id = node_id
        self.mode = mode
        self.first_run_id = run_id
        self.run_id = run_id
        self._passphrase = passphrase
        self._no_restart = threading.Event()
        self.restarts = 0

    def _policy(self) -> tuple[str, int, float]:
        from engine.config.store import ConfigStore

        try:
            restart = ConfigStore(self.workspace).get(self.node_id, self.mode).restart
        except Exception:  # an edited, now invalid config: do not restart blindly
            return "never", 0, 0.0
        return restart.policy, restart.max_restarts, restart.backoff_seconds

    def _record(self) -> None:
        data = {
            "node_id": self.node_id,
            "pid": os.getpid(),
            "first_run_id": self.first_run_id,
            "run_id": self.run_id,
            "restarts": self.restarts,
        }
        atomic_write_text(
            supervisor_file(self.workspace, self.node_id), json.dumps(data) + "\n", 0o600
        )

    def _spawn(self) -> subprocess.Popen[bytes]:
        run_dir = run_path(self.workspace, self.node_id, self.run_id)
        with open(run_dir / HOST_OUTPUT, "ab") as out:
            proc = subprocess.Popen(
                host_command(sys.executable, self.workspace, self.node_id, self.mode, self.run_id),
                stdin=subprocess.PIPE if self._passphrase else subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=str(self.workspace.root),
                env=host_env(),
            )
        if self._passphrase and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.write(self._passphrase.encode() + b"\n")
            with contextlib.suppress(OSError):
                proc.stdin.close()
        with contextlib.suppress(Exception):
            update_meta(run_dir, pid=proc.pid)
        path = pid_file(self.workspace, self.node_id)
        current = read_json(path)
        if current is None or current.get("run_id") != self.run_id:  # the host writes its own
            data = {
                "node_id": self.node_id,
                "run_id": self.run_id,
                "mode": self.mode,
                "pid": proc.pid,
                "socket": str(socket_path(self.workspace, self.node_id)),
                "started": utc_now_iso(),
                "run_dir": str(run_dir),
            }
            atomic_write_text(path, json.dumps(data) + "\n", 0o600)
        self._record()
        return proc

    def _settle(self, code: int) -> str | None:
        from engine.manager import mark_dead

        run_dir = run_path(self.workspace, self.node_id, self.run_id)
        meta = mark_dead(run_dir, code)
        path = pid_file(self.workspace, self.node_id)
        data = read_json(path)
        if data is not None and data.get("run_id") == self.run_id:
            with contextlib.suppress(OSError):
                path.unlink()
        return meta.state if meta is not None else None

    def _on_sigterm(self, _signum: int, _frame: FrameType | None) -> None:
        self._no_restart.set()

    def run(self) -> int:
        """Supervise until a host ends without needing a restart; return its exit code."""
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        code = 0
        try:
            while True:
                proc = self._spawn()
                _warm_imports()  # while the host starts: a death is then marked in ms
                while True:
                    try:
                        code = proc.wait()
                        break
                    except InterruptedError:  # pragma: no cover - PEP 475 retries already
                        continue
                state = self._settle(code)
                policy, limit, backoff = self._policy()
                if (
                    state != "failed"
                    or policy != "on-failure"
                    or self.restarts >= limit
                    or self._no_restart.is_set()
                ):
                    return code
                if self._no_restart.wait(backoff):
                    return code
                failed = self.run_id
                run = create_run(self.workspace, self.node_id, self.mode)
                self.restarts += 1
                update_meta(run.path, merge_extra={"restart_of": failed, "restart": self.restarts})
                self.run_id = run.run_id
        finally:
            path = supervisor_file(self.workspace, self.node_id)
            data = read_json(path)
            if data is not None and data.get("pid") == os.getpid():
                with contextlib.suppress(OSError):
                    path.unlink()


def _warm_imports() -> None:
    import engine.config.store
    import engine.manager  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.host.supervisor")
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--node", required=True)
    parser.add_argument("--mode", required=True, choices=["sandbox", "live"])
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)
    passphrase = None
    if not sys.stdin.isatty():
        passphrase = sys.stdin.readline().rstrip("\n") or None
    sup = Supervisor(
        Workspace(args.workspace), args.node, args.mode, args.run_id, passphrase=passphrase
    )
    return sup.run()


if __name__ == "__main__":
    sys.exit(main())
