"""A real `gateway serve` process on a free loopback port, and what tests feed it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.journal import JournalWriter
from engine.principal import Principal
from engine.runs import Run, create_run, update_meta
from engine.services.tokens import TokenStore
from engine.workspace import Workspace

ADMIN = Principal("test-admin", "cli")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    workspace: Workspace
    process: subprocess.Popen[bytes]
    log: Path

    def token(
        self,
        name: str,
        scopes: str = "read,trade,admin",
        *,
        nodes: list[str] | None = None,
        modes: list[str] | None = None,
    ) -> str:
        return TokenStore(self.workspace).create(
            ADMIN, name, scopes.split(","), nodes=nodes, modes=modes
        )


@contextlib.contextmanager
def running_server(
    workspace: Workspace, *, rate: float = 1e6, ws_queue: int = 64
) -> Iterator[Server]:
    """``gateway serve`` for ``workspace`` (its own process), stopped at the end."""
    port = free_port()
    log = workspace.root.parent / f"serve-{port}.log"
    gateway = Path(sys.executable).parent / "gateway"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(gateway),
                "--workspace",
                str(workspace.root),
                "serve",
                "--port",
                str(port),
                "--rate-limit",
                str(rate),
                "--ws-queue",
                str(ws_queue),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield Server(url, workspace, process, log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def journaled_run(
    workspace: Workspace, node_id: str, events: int, mode: str = "backtest", pad: int = 0
) -> Run:
    """A finished run whose journal holds ``events`` order-like events (seq 1..events),
    each with ``pad`` characters of text."""
    run = create_run(workspace, node_id, mode)
    writer = JournalWriter(run.path, node_id, run.run_id, autoflush=False)
    try:
        for i in range(1, events + 1):
            payload: dict[str, Any] = {"client_order_id": f"O-{i}", "i": i}
            if pad:
                payload["text"] = "x" * pad
            writer.append("order", "OrderAccepted", payload, i)
        writer.flush()
    finally:
        writer.close()
    update_meta(run.path, state="completed", ended="2026-01-01T00:00:00.000Z", exit_code=0)
    return run
