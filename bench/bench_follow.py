"""How soon clients learn what a node and its workspace did (issue 16).

- log line latency: a real sandbox node's Nautilus log lines (the steady trickle from 2 s
  after it runs), from the time Nautilus wrote each one (its timestamp) to its arrival at
  a client attached through the NodeManager.
- workspace watcher: a sandbox host killed with SIGKILL three times (its supervisor
  restarts it): from the supervisor's ``failed`` in ``meta.json`` (its ``ended``) and from
  each new run's creation (``started``) to a WorkspaceWatcher subscriber seeing them.
- one scan of a workspace of 20 nodes with 5 runs each.

Run: ``python -m bench.bench_follow`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.host.logtail import timestamp_ns
from engine.host.paths import pid_file, supervisor_file
from engine.manager import NodeManager
from engine.runs import create_run, read_json
from engine.watch import WorkspaceWatcher
from engine.workspace import Workspace

NODE = "demo-sandbox"
LOG_LINES = 45  # about 15 s of the demo strategy's steady logging
KILLS = 3


def _workspace(root: Path) -> Workspace:
    workspace = Workspace(root / ".gateway").ensure()
    doc = demo_sandbox()
    doc["restart"] = {"policy": "on-failure", "max_restarts": KILLS, "backoff_seconds": 0.5}
    ConfigStore(workspace).save(doc, deep=False)
    return workspace


def _kill_all(workspace: Workspace) -> None:
    for path in (supervisor_file(workspace, NODE), pid_file(workspace, NODE)):
        data = read_json(path) or {}
        with contextlib.suppress(ProcessLookupError, TypeError, ValueError, KeyError):
            os.kill(int(data["pid"]), signal.SIGKILL)


async def _log_latencies(workspace: Workspace) -> list[float]:
    manager = NodeManager(workspace)
    handle = await manager.launch(NODE)
    out: list[float] = []
    steady: int | None = None  # past the start-up burst (it fills the buffer at once)
    async for batch in manager.attach(handle.run_id):
        now = time.time_ns()
        for env in batch:
            if env.type == "NodeStateChanged" and env.payload["state"] == "running":
                steady = env.ts_ns + 2_000_000_000
            elif steady is not None and env.kind == "log" and env.ts_ns >= steady:
                written = timestamp_ns(str(env.payload.get("timestamp")))
                if written is not None:
                    out.append((now - written) / 1e9)
        if len(out) >= LOG_LINES:
            break
    return out


async def _watch_restarts(workspace: Workspace) -> tuple[list[float], list[float]]:
    watcher = WorkspaceWatcher(workspace)
    task = asyncio.create_task(watcher.run())
    failed: list[float] = []
    started: list[float] = []
    try:
        changes = watcher.changes()
        await anext(changes)  # the view
        for _ in range(KILLS):
            host = read_json(pid_file(workspace, NODE))
            while host is None or watcher.runs.get(NODE) is None or not watcher.runs[NODE].alive:
                await asyncio.sleep(0.05)
                host = read_json(pid_file(workspace, NODE))
            killed_run = host["run_id"]
            os.kill(int(host["pid"]), signal.SIGKILL)
            new_seen = False
            while not new_seen:
                change = await anext(changes)
                seen = time.time()
                for run in change.runs:
                    if run.run_id == killed_run and run.state == "failed" and run.ended_s:
                        failed.append(seen - run.ended_s)
                    elif run.run_id > killed_run and run.started_s:
                        started.append(seen - run.started_s)
                        new_seen = True
    finally:
        task.cancel()
    return failed, started


def _scan_cost(root: Path) -> float:
    workspace = Workspace(root / "scan" / ".gateway").ensure()
    for i in range(20):
        (workspace.nodes_dir / f"n{i}").mkdir()
        (workspace.nodes_dir / f"n{i}" / "sandbox.json").write_text("{}")
        for _ in range(5):
            create_run(workspace, f"n{i}", "sandbox")
    watcher = WorkspaceWatcher(workspace)
    watcher.scan()
    time.sleep(1.1)  # past the "recently changed" second: the steady state
    start = time.perf_counter()
    for _ in range(100):
        watcher.scan()
    return (time.perf_counter() - start) / 100


def _figures(name: str, values: list[float]) -> str:
    values = sorted(values)
    p99 = values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]
    return (
        f"{name}: n={len(values)} p50 {statistics.median(values) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {values[-1] * 1000:.0f} ms"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        workspace = _workspace(root)
        try:
            logs = asyncio.run(asyncio.wait_for(_log_latencies(workspace), 180))
            print(_figures("log line, Nautilus wrote it -> client", logs), flush=True)
            failed, started = asyncio.run(asyncio.wait_for(_watch_restarts(workspace), 180))
            print(_figures("kill -9: supervisor's failed -> watcher", failed), flush=True)
            print(_figures("restart: new run created -> watcher", started), flush=True)
        finally:
            _kill_all(workspace)
        print(f"watcher scan, 20 nodes x 5 runs: {_scan_cost(root) * 1000:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
