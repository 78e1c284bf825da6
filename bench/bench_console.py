"""Console figures (issue 4): cold start to the first painted screen, and event ingest.

Cold start: ``gateway`` is started in a real terminal (tmux) on a demo workspace; the
clock stops when the node list is on the screen (read with ``tmux capture-pane``).

Ingest: another process publishes envelopes through a real node channel (HostChannel,
journal, Unix socket) at a target rate, registered as a running node; the console, headless,
attaches to it as to any running node. Keystrokes (pane switches) are timed until the screen
shows their effect, and events received are counted against events sent and journaled.

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
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

RUNS = 5
INGEST_RATE = 100_000  # events per second
INGEST_SECONDS = 10.0
INGEST_RUNS = 3  # pooled, so p99 rests on ~500 keystrokes rather than being one run's worst
KEY_GAP_S = 0.05  # between keystrokes
REPO = Path(__file__).resolve().parents[1]
KEY_LIMIT_S = 5.0  # a keystroke with no frame by then is a hang, not a figure


def _workspace(root: Path) -> Path:
    from engine.config.store import ConfigStore
    from engine.demo import DEMO_NODES
    from engine.workspace import Workspace

    ws = Workspace(root / ".gateway").ensure()
    store = ConfigStore(ws)
    for make in DEMO_NODES:
        store.save(make(), deep=False)
    return ws.root


def cold_start(workspace: Path, pycache: Path, *, cached: bool = True) -> float:
    """Seconds from starting ``gateway`` in tmux until the node list is painted.

    Python reads bytecode from ``pycache`` only (not the __pycache__ dirs that
    `make setup` fills). ``cached``: it may write there too, as on a user's machine after
    the first run; else ``pycache`` is empty and stays so: every module is compiled.
    """
    gateway = Path(sys.executable).with_name("gateway")
    session = f"bench-{uuid.uuid4().hex[:8]}"
    write = "" if cached else "1"
    env = f"TERM=xterm-256color PYTHONDONTWRITEBYTECODE={write} PYTHONPYCACHEPREFIX={pycache}"
    start = time.perf_counter()
    subprocess.run(
        [
            "tmux",
            "-L",
            session,
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
                ["tmux", "-L", session, "capture-pane", "-p", "-t", session],
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
        subprocess.run(["tmux", "-L", session, "send-keys", "-t", session, "C-q"], check=False)
        time.sleep(0.3)
        # A server of its own per run (-L): a server still exiting after the last run's
        # kill-server cannot refuse this run's new-session.
        subprocess.run(["tmux", "-L", session, "kill-server"], capture_output=True, check=False)


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


# The node side of the ingest figure: a process with a real HostChannel and journal that
# registers itself as a running node (pid file, run meta) and publishes at a paced rate.
PUBLISHER = r"""
import json, os, sys, time
from pathlib import Path
from engine.atomic import atomic_write_text
from engine.channel import HostChannel
from engine.host.paths import pid_file, socket_path
from engine.journal import JournalWriter
from engine.runs import create_run, update_meta, utc_now_iso
from engine.workspace import Workspace

ws, node_id, run_id = Workspace(Path(sys.argv[1])), sys.argv[2], sys.argv[3]
rate, seconds = float(sys.argv[4]), float(sys.argv[5])
run = create_run(ws, node_id, "sandbox", run_id)
journal = JournalWriter(run.path, node_id, run_id)
channel = HostChannel(socket_path(ws, node_id), journal)
channel.start()
update_meta(run.path, state="running", pid=os.getpid(), started=utc_now_iso())
atomic_write_text(pid_file(ws, node_id), json.dumps({
    "node_id": node_id, "run_id": run_id, "mode": "sandbox", "pid": os.getpid(),
    "socket": str(socket_path(ws, node_id)), "started": utc_now_iso(), "run_dir": str(run.path),
}), 0o600)
print("ready", flush=True)
sys.stdin.readline()
fill = {
    "trader_id": "DEMO-002", "strategy_id": "EMACross-000", "instrument_id": "EUR/USD.SIM",
    "venue_order_id": "SIM-1-001", "trade_id": "SIM-1-001", "order_side": "BUY",
    "order_type": "MARKET", "last_qty": "100000", "last_px": "1.10002", "currency": "USD",
    "commission": "2.20 USD", "liquidity_side": "TAKER", "account_id": "SIM-001",
}
log = {"level": "INFO", "component": "EMACross-000", "message": "bar received"}
position = {"instrument_id": "EUR/USD.SIM", "strategy_id": "EMACross-000", "side": "LONG",
            "quantity": "100000", "realized_pnl": "-2.20 USD", "unrealized_pnl": "12.00 USD"}
mix = [("order", "OrderAccepted"), ("log", "LogLine"), ("order", "OrderFilled"),
       ("position", "PositionChanged"), ("log", "LogLine")]
batch, sent, seq = 1000, 0, 0
interval = batch / rate
start = next_at = time.perf_counter()
while time.perf_counter() - start < seconds:
    for _ in range(batch):
        kind, type_ = mix[seq % 5]
        if kind == "order":
            payload = dict(fill, client_order_id=f"O-{seq % 400}")
        elif kind == "log":
            payload = dict(log, message=f"bar received {seq}")
        else:
            payload = position
        channel.publish(kind, type_, payload)
        seq += 1
    sent += batch
    next_at += interval
    delay = next_at - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
print(sent, time.perf_counter() - start, flush=True)
sys.stdin.readline()
channel.close()
update_meta(run.path, state="stopped")
journal.close()
pid_file(ws, node_id).unlink()
"""


async def ingest(workspace: Path) -> dict[str, Any]:
    """Stream INGEST_RATE events/s for INGEST_SECONDS from a node channel while timing keys.

    The events come from another process through a real HostChannel, found and attached
    by the console as it attaches any running node (``services.open``).
    """
    from console.app import GatewayApp
    from console.services import BusFeed, WorkspaceServices
    from engine.journal import JournalReader
    from engine.runs import new_run_id, run_path
    from engine.workspace import Workspace

    ws = Workspace(workspace)
    node_id, run_id = "demo-sandbox", new_run_id()
    publisher = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PUBLISHER, str(workspace), node_id, run_id,
        str(INGEST_RATE), str(INGEST_SECONDS),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )  # fmt: skip
    assert publisher.stdin is not None and publisher.stdout is not None
    if (await publisher.stdout.readline()).strip() != b"ready":
        raise RuntimeError("bench publisher did not start")
    services = WorkspaceServices(ws)
    app = GatewayApp(services, settings_path=None)
    latencies: list[float] = []
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            deadline = time.perf_counter() + 30
            while app.nodes_loaded == 0 or run_id not in services._attached:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the console did not attach to the bench node in 30 s")
                await pilot.pause(0.05)
            probe = FrameProbe(app)
            process = psutil.Process()
            before = process.memory_info().rss
            publisher.stdin.write(b"go\n")
            await publisher.stdin.drain()
            started = time.perf_counter()
            pane_keys = {
                "events": "2",
                "orders": "3",
                "alerts": "6",
                "nodes": "1",
            }  # each moves focus
            i = 0
            while time.perf_counter() - started < INGEST_SECONDS:
                target = list(pane_keys)[i % len(pane_keys)]
                i += 1
                latencies.append(await probe.keystroke(app, pane_keys[target], target))
                await asyncio.sleep(KEY_GAP_S)
            sent_s, elapsed_s = (await publisher.stdout.readline()).split()
            sent = int(sent_s)
            feed = services.feed()
            assert isinstance(feed, BusFeed)
            deadline = time.perf_counter() + 30
            while feed.received + feed.dropped < sent and time.perf_counter() < deadline:
                await pilot.pause(0.1)
            after = process.memory_info().rss
            received = feed.received
            missed = feed.dropped
            state_received = feed.state_received
    finally:
        if publisher.returncode is None:
            publisher.stdin.write(b"stop\n")
            await publisher.stdin.drain()
            await asyncio.wait_for(publisher.wait(), 30)
    with JournalReader(run_path(ws, node_id, run_id)) as reader:
        journaled = reader.last_seq()
        state_journaled = sum(1 for e in reader.iter_after(0) if e.kind != "log")
    return {
        "sent": sent,
        "rate": sent / float(elapsed_s),
        "journaled": journaled,
        "received": received,
        "missed_reported": missed,
        "state_journaled": state_journaled,
        "state_received": state_received,
        "latencies": latencies,
        "mem_before_mb": before / 1e6,
        "mem_after_mb": after / 1e6,
    }


class FrameProbe:
    """Times when the console changes focus and when it writes a frame.

    Headless Textual skips turning a frame into terminal bytes; the probe does that work
    itself, so a frame costs what it would on a real terminal.
    """

    def __init__(self, app: Any) -> None:
        self.frames: list[float] = []
        self.focus_changes: list[float] = []
        display, screen = app._display, app.screen
        set_focus = screen.set_focus

        def displayed(target: Any, renderable: Any) -> None:
            display(target, renderable)
            if renderable is not None and not app._batch_count:
                if hasattr(renderable, "render_segments"):
                    renderable.render_segments(app.console)
                self.frames.append(time.perf_counter())

        def focused(*args: Any, **kwargs: Any) -> None:
            before = screen.focused
            set_focus(*args, **kwargs)
            if screen.focused is not before:
                self.focus_changes.append(time.perf_counter())

        app._display = displayed
        screen.set_focus = focused

    async def keystroke(self, app: Any, key: str, pane_id: str) -> float:
        """Seconds from a key press until a frame showing its effect has been written."""
        from textual import events

        changes = len(self.focus_changes)
        t0 = time.perf_counter()
        app.post_message(events.Key(key, key))

        async def until(done: Callable[[], bool]) -> None:
            while not done():
                if time.perf_counter() - t0 > KEY_LIMIT_S:
                    raise RuntimeError(f"key {key!r}: no focus change and frame in {KEY_LIMIT_S} s")
                await asyncio.sleep(0.001)

        await until(
            lambda: (
                len(self.focus_changes) > changes
                and pane_id in {n.id for n in app.focused.ancestors_with_self}
            )
        )
        changed = self.focus_changes[-1]
        await until(lambda: bool(self.frames) and self.frames[-1] >= changed)
        painted = next(t for t in self.frames if t >= changed)
        return painted - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = _workspace(Path(tmp))
        print(f"console import (fresh interpreter, no Nautilus): {import_time():.3f} s")
        if shutil.which("tmux") is None:
            print("cold start: skipped (tmux not installed; make system-deps)")
        else:
            os.environ.pop("TMUX", None)
            pycache, empty = Path(tmp) / "pycache", Path(tmp) / "empty"
            empty.mkdir()
            cold_start(workspace, pycache)  # compiles the bytecode once
            for label, cache, cached in (
                ("bytecode cached", pycache, True),
                ("no bytecode at all", empty, False),
            ):
                times = sorted(cold_start(workspace, cache, cached=cached) for _ in range(RUNS))
                print(
                    f"cold start to first painted screen, {label} ({RUNS} runs): "
                    f"median {statistics.median(times):.3f} s, best {times[0]:.3f} s, "
                    f"worst {times[-1]:.3f} s (target < 1.5 s)"
                )
        pooled: list[float] = []
        for run in range(1, INGEST_RUNS + 1):
            figures = asyncio.run(ingest(workspace))
            keys = sorted(figures["latencies"])
            pooled += keys
            print(
                f"ingest run {run}: {figures['rate']:,.0f} events/s for {INGEST_SECONDS:.0f} s; "
                f"{len(keys)} keystrokes, p50 {_pct(keys, 0.5):.1f} ms, "
                f"worst {keys[-1] * 1000:.1f} ms; events sent {figures['sent']:,} through a node "
                f"channel, journaled {figures['journaled']:,}, received by the console "
                f"{figures['received']:,}, reported missed {figures['missed_reported']:,}; "
                f"order/position events journaled {figures['state_journaled']:,}, in the "
                f"panes {figures['state_received']:,} (target: all); "
                f"RSS {figures['mem_before_mb']:.1f} MB before, "
                f"{figures['mem_after_mb']:.1f} MB after"
            )
        pooled.sort()
        print(
            f"ingest, keystroke to the frame that shows it, {len(pooled)} keystrokes of "
            f"{INGEST_RUNS} runs: p50 {_pct(pooled, 0.5):.1f} ms, p95 {_pct(pooled, 0.95):.1f} ms, "
            f"p99 {_pct(pooled, 0.99):.1f} ms, worst {pooled[-1] * 1000:.1f} ms "
            "(target p99 < 100 ms)"
        )


def _pct(sorted_s: list[float], q: float) -> float:
    """The ``q`` quantile of sorted seconds, in milliseconds (nearest rank)."""
    return sorted_s[min(len(sorted_s) - 1, int(len(sorted_s) * q))] * 1000


if __name__ == "__main__":
    main()
