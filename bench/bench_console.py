"""Console figures (issue 4): cold start to the first painted screen, and event ingest.

Cold start: ``gateway`` is started in a real terminal (tmux) on a demo workspace; the
clock stops when the node list is on the screen (read with ``tmux capture-pane``).

Ingest: a thread publishes envelopes to the console's EventBus at a target rate while
the console runs headless; keystrokes (pane switches) are timed until the screen shows
their effect, and events shown are counted against events sent.

Run: ``python -m bench.bench_console`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

RUNS = 5
INGEST_RATE = 100_000  # events per second
INGEST_SECONDS = 10.0


def _workspace(root: Path) -> Path:
    from engine.config.store import ConfigStore
    from engine.demo import DEMO_NODES
    from engine.workspace import Workspace

    ws = Workspace(root / ".gateway").ensure()
    store = ConfigStore(ws)
    for make in DEMO_NODES:
        store.save(make(), deep=False)
    return ws.root


def cold_start(workspace: Path, pycache: Path | None = None) -> float:
    """Seconds from starting ``gateway`` in tmux until the node list is painted.

    With ``pycache``, Python may write and read bytecode there (as on a user's machine
    after the first run); without it, every module is compiled from source each time.
    """
    gateway = Path(sys.executable).with_name("gateway")
    session = f"bench-{uuid.uuid4().hex[:8]}"
    env = "TERM=xterm-256color"
    if pycache is not None:
        env += f" PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX={pycache}"
    start = time.perf_counter()
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "120",
            "-y",
            "40",
            f"env {env} {gateway} --workspace {workspace}",
        ],
        check=True,
    )
    try:
        while True:
            screen = subprocess.run(
                ["tmux", "capture-pane", "-p", "-t", session],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if "demo-sandbox" in screen:
                return time.perf_counter() - start
            if time.perf_counter() - start > 30:
                raise RuntimeError(f"gateway did not paint in 30 s:\n{screen}")
            time.sleep(0.005)
    finally:
        subprocess.run(["tmux", "send-keys", "-t", session, "C-q"], check=False)
        time.sleep(0.3)
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)


def import_time() -> float:
    """Seconds to import the console in a fresh interpreter (no Nautilus: checked)."""
    code = (
        "import time,sys;t=time.perf_counter();import console.app;"
        "print(time.perf_counter()-t);"
        "assert not any(m.startswith('nautilus_trader') for m in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return float(out.stdout.strip())


async def ingest(workspace: Path) -> dict[str, float]:
    """Publish envelopes at INGEST_RATE for INGEST_SECONDS while timing keystrokes."""
    from console.app import GatewayApp
    from console.services import WorkspaceServices
    from engine.events.envelope import Envelope
    from engine.workspace import Workspace

    services = WorkspaceServices(Workspace(workspace), max_queue=2 * INGEST_RATE)
    app = GatewayApp(services, settings_path=None)
    sent = 0
    stop = threading.Event()

    def publisher() -> None:
        nonlocal sent
        batch_size = 1000
        interval = batch_size / INGEST_RATE
        next_at = time.perf_counter()
        seq = 0
        kinds = ("order", "log", "position", "order", "account")  # what a node host forwards
        while not stop.is_set():
            batch = []
            for _ in range(batch_size):
                seq += 1
                kind = kinds[seq % len(kinds)]
                payload = (
                    {
                        "client_order_id": f"O-{seq % 400}",
                        "order_side": "BUY",
                        "quantity": "1000",
                        "instrument_id": "EUR/USD.SIM",
                    }
                    if kind == "order"
                    else {"level": "INFO", "component": "Bench", "message": f"event {seq}"}
                )
                batch.append(
                    Envelope(
                        seq,
                        time.time_ns(),
                        "bench",
                        "run-1",
                        kind,
                        "OrderAccepted" if kind == "order" else "LogLine",
                        payload,
                    )
                )
            services.bus.publish(batch)
            sent += len(batch)
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    latencies: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        while app.nodes_loaded == 0:
            await pilot.pause(0.05)
        process = psutil.Process()
        before = process.memory_info().rss
        thread = threading.Thread(target=publisher, daemon=True)
        started = time.perf_counter()
        thread.start()
        pane_keys = {"nodes": "1", "events": "2", "orders": "3", "alerts": "6"}
        i = 0
        while time.perf_counter() - started < INGEST_SECONDS:
            target = list(pane_keys)[i % len(pane_keys)]
            i += 1
            latencies.append(await _keystroke(app, pane_keys[target], target))
            await asyncio.sleep(0.1)
        stop.set()
        thread.join()
        await pilot.pause(0.5)
        after = process.memory_info().rss
        received = app.events_in
        missed = services.bus.subscriptions[0].dropped
    latencies.sort()
    return {
        "sent": sent,
        "received": received,
        "missed_reported": missed,
        "rate": sent / INGEST_SECONDS,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "mem_before_mb": before / 1e6,
        "mem_after_mb": after / 1e6,
    }


async def _keystroke(app: Any, key: str, pane_id: str) -> float:
    """Seconds from a key press until the screen has been refreshed with its effect."""
    from textual import events

    t0 = time.perf_counter()
    app.post_message(events.Key(key, key))
    while app.focused is None or pane_id not in {n.id for n in app.focused.ancestors_with_self}:  # noqa: ASYNC110
        await asyncio.sleep(0.001)
    painted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    app.call_after_refresh(lambda: painted.done() or painted.set_result(None))
    await painted
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = _workspace(Path(tmp))
        print(f"console import (fresh interpreter, no Nautilus): {import_time():.3f} s")
        if shutil.which("tmux") is None:
            print("cold start: skipped (tmux not installed; make system-deps)")
        else:
            os.environ.pop("TMUX", None)
            pycache = Path(tmp) / "pycache"
            cold_start(workspace, pycache)  # compiles the bytecode once
            for label, cache in (("bytecode cached", pycache), ("no bytecode cache", None)):
                times = sorted(cold_start(workspace, cache) for _ in range(RUNS))
                print(
                    f"cold start to first painted screen, {label} ({RUNS} runs): "
                    f"median {statistics.median(times):.3f} s, best {times[0]:.3f} s, "
                    f"worst {times[-1]:.3f} s (target < 1.5 s)"
                )
        figures = asyncio.run(ingest(workspace))
        print(
            f"ingest {figures['rate']:,.0f} events/s for {INGEST_SECONDS:.0f} s: "
            f"keystroke to screen p50 {figures['p50_ms']:.1f} ms, "
            f"p99 {figures['p99_ms']:.1f} ms (target p99 < 100 ms)"
        )
        print(
            f"events sent {figures['sent']:,}, received by the console {figures['received']:,}, "
            f"reported missed {figures['missed_reported']:,} (re-readable from the journal)"
        )
        print(
            f"console process RSS: {figures['mem_before_mb']:.1f} MB before, "
            f"{figures['mem_after_mb']:.1f} MB after"
        )


if __name__ == "__main__":
    main()
