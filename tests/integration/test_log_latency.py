"""Nautilus's log lines reach a client within a second, stamped with the time Nautilus
wrote them.

Real parts: the demo sandbox node in its own host process (its EMA cross strategy logs
every tick and bar, a few lines a second), Nautilus's Rust file logger, the host's log
tailer and channel, and a client attached through the NodeManager. Before the tailer
asked for flushes, a line waited in Nautilus's 8 KiB file buffer until it filled (up to
13 s at this rate), and each line carried the time it was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from pathlib import Path

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.events.envelope import Envelope
from engine.host.logtail import timestamp_ns
from engine.host.paths import pid_file, supervisor_file
from engine.manager import NodeManager
from engine.runs import read_json
from engine.workspace import Workspace

NODE = "demo-sandbox"
LATENCY_S = 1.0
LINES = 8  # log lines of the running node to measure (about 3 s of its logging)
# The start-up burst fills Nautilus's buffer at once, so its lines came out fast even
# before the fix; the steady trickle after it is what waited.
STEADY_AFTER_NS = 2_000_000_000


def _kill_from(path: Path) -> None:
    data = read_json(path) or {}
    with contextlib.suppress(ProcessLookupError, TypeError, ValueError, KeyError):
        os.kill(int(data["pid"]), signal.SIGKILL)


async def _measure(manager: NodeManager) -> list[tuple[Envelope, int]]:
    handle = await manager.launch(NODE)
    steady: int | None = None  # lines written from then on: past the start-up burst
    got: list[tuple[Envelope, int]] = []
    async for batch in manager.attach(handle.run_id):
        now = time.time_ns()
        for env in batch:
            if env.type == "NodeStateChanged" and env.payload["state"] == "running":
                steady = env.ts_ns + STEADY_AFTER_NS
            elif steady is not None and env.kind == "log" and env.ts_ns >= steady:
                got.append((env, now))
        if len(got) >= LINES:
            return got
    raise AssertionError(f"the stream ended after {len(got)} log lines")


def test_log_lines_arrive_within_a_second_with_nautilus_time(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / ".gateway").ensure()
    ConfigStore(workspace).save(demo_sandbox(), deep=False)
    manager = NodeManager(workspace)
    try:
        got = asyncio.run(asyncio.wait_for(_measure(manager), 120))
    finally:
        _kill_from(supervisor_file(workspace, NODE))
        _kill_from(pid_file(workspace, NODE))
    late = []
    for env, received_ns in got:
        written = timestamp_ns(env.payload["timestamp"])
        assert written is not None, env.payload
        assert env.ts_ns == written  # the event carries the time Nautilus wrote the line
        if received_ns - written > LATENCY_S * 1e9:
            late.append((env.payload["message"][:40], (received_ns - written) / 1e9))
    assert not late, f"lines later than {LATENCY_S}s: {late}"
    # Lines of the same poll keep their own times (they used to share the read time).
    assert len({env.ts_ns for env, _ in got}) == len(got)
