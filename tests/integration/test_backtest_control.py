"""ps, attach, logs, stop on a running backtest host; a killed host is seen at once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine.events.envelope import from_json_line
from engine.journal import JournalReader
from engine.manager import NodeManager
from engine.runs import list_runs, read_meta
from engine.workspace import Workspace
from tests.integration.backtest_support import small_workspace
from tests.integration.cli import GATEWAY, gateway

# ~400k one-second ticks: some 3k orders and 10+ s of run, long enough to act on while it
# runs even on a loaded 2-core machine (100k finished before `gateway stop` got there).
LONG_TICKS = 400_000


@pytest.fixture(scope="module")
def long_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One long workspace, made once; each test copies it."""
    return small_workspace(tmp_path_factory.mktemp("long") / ".gateway", ticks=LONG_TICKS).root


def _copy(src: Path, dst: Path) -> Workspace:
    shutil.copytree(src, dst)
    return Workspace(dst)


def _wait_running(workspace: Workspace, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        runs = list_runs(workspace, "demo-backtest")
        if runs and runs[-1].meta.state == "running":
            return
        time.sleep(0.1)
    raise AssertionError("the backtest never reached running")


def test_ps_attach_logs_and_stop_a_running_backtest(tmp_path: Path, long_catalog: Path) -> None:
    workspace = _copy(long_catalog, tmp_path / ".gateway")
    env = {**os.environ, "GATEWAY_HOME": str(workspace.root)}
    launcher = subprocess.Popen(
        [*GATEWAY, "launch", "demo-backtest", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_running(workspace)
        listed = json.loads(gateway("ps", "--json", workspace=workspace.root).out)
        assert [(s["node_id"], s["state"], s["alive"]) for s in listed] == [
            ("demo-backtest", "running", True)
        ]

        # A client that is killed mid-stream, then a new one from its last seq: no gap.
        first = subprocess.Popen(
            [*GATEWAY, "attach", "demo-backtest", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert first.stdout is not None
        seen = [from_json_line(first.stdout.readline()) for _ in range(50)]
        first.kill()
        first.wait()

        stopped = gateway("stop", "demo-backtest", "--json", workspace=workspace.root)
        assert stopped.code == 0, stopped.err
        assert json.loads(stopped.out)["state"] == "stopped"
        out, _ = launcher.communicate(timeout=60)
        assert launcher.returncode == 3  # stopped, not completed

        rest = gateway(
            "attach",
            "demo-backtest",
            "--from",
            str(seen[-1].seq),
            "--json",
            workspace=workspace.root,
        )
        events = seen + [from_json_line(ln) for ln in rest.out.splitlines() if ln]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[-1].payload["state"] == "stopped"
        launched = [from_json_line(ln) for ln in out.splitlines() if ln.startswith("{")]
        assert [e.seq for e in launched] == [e.seq for e in events]

        warnings = gateway(
            "logs", "demo-backtest", "--level", "WARNING", "--json", workspace=workspace.root
        )
        levels = {from_json_line(ln).payload["level"] for ln in warnings.out.splitlines() if ln}
        assert levels and levels <= {"WARN", "WARNING", "ERROR"}
        assert gateway("ps", "--json", workspace=workspace.root).out.strip() == "[]"
    finally:
        if launcher.poll() is None:
            launcher.kill()


async def test_a_killed_host_is_marked_failed_within_a_second(
    tmp_path: Path, long_catalog: Path
) -> None:
    workspace = _copy(long_catalog, tmp_path / ".gateway")
    manager = NodeManager(workspace)
    handle = await manager.launch("demo-backtest")
    await manager.wait_state(handle.run_id, {"running"}, timeout_s=60)
    os.kill(handle.pid, signal.SIGKILL)
    killed = time.monotonic()
    code = await handle.wait(timeout_s=5)
    meta = read_meta(handle.run_dir)
    assert time.monotonic() - killed < 1.0
    assert code == -signal.SIGKILL
    assert meta is not None and meta.state == "failed" and meta.exit_code == -9
    assert "signal 9" in (meta.error or "")
    assert JournalReader(handle.run_dir).last_seq() > 0  # what it journaled is still there
    assert await manager.ps() == []
