"""The core's launch outcome when a wait runs out and when a host dies without a final event:
``NodeService.wait`` in process, and ``gateway launch`` (which renders the same outcome)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine.principal import Principal
from engine.runs import list_runs, read_meta
from engine.services.nodes import NodeService
from engine.workspace import Workspace
from tests.integration.backtest_support import small_workspace
from tests.integration.cli import GATEWAY

pytestmark = pytest.mark.timeout(180)
LONG_TICKS = 400_000  # 10+ s of run: long enough to time out on and to kill mid-run


@pytest.fixture(scope="module")
def long_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_workspace(tmp_path_factory.mktemp("long") / ".gateway", ticks=LONG_TICKS).root


def _copy(src: Path, dst: Path) -> Workspace:
    shutil.copytree(src, dst)
    return Workspace(dst)


async def test_a_wait_that_runs_out_then_a_host_killed_mid_run(
    tmp_path: Path, long_catalog: Path
) -> None:
    nodes = NodeService(_copy(long_catalog, tmp_path / ".gateway"))
    handle = await nodes.start(Principal.local("test"), "demo-backtest")
    try:
        early = await nodes.wait(handle, timeout_s=1.0)
        assert early.timed_out and not early.ended and early.exit_code is None
        assert early.state in ("created", "starting", "running")
        assert handle.returncode is None  # the run goes on

        running = await nodes.wait(handle, until="running", timeout_s=60)
        assert (running.state, running.exit_code, running.timed_out) == ("running", 0, False)
        os.kill(handle.pid, signal.SIGKILL)
        outcome = await nodes.wait(handle, after_seq=running.last_seq, timeout_s=30)
    finally:
        if handle.returncode is None:
            os.kill(handle.pid, signal.SIGKILL)
    # No final event from the host: its supervisor's (journaled, and in meta.json), with the
    # host's exit status and the error it wrote for it.
    assert (outcome.state, outcome.ended) == ("failed", True)
    assert outcome.host_exit_code == -signal.SIGKILL and outcome.exit_code == 1
    assert outcome.error == ("node host exited without reporting its end (exit status signal 9)"), (
        outcome
    )


def test_gateway_launch_says_a_host_died_and_exits_1(tmp_path: Path, long_catalog: Path) -> None:
    workspace = _copy(long_catalog, tmp_path / ".gateway")
    launcher = subprocess.Popen(
        [*GATEWAY, "--workspace", str(workspace.root), "launch", "demo-backtest", "--headless"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            runs = list_runs(workspace, "demo-backtest")
            meta = read_meta(runs[-1].path) if runs else None
            if meta is not None and meta.state == "running" and meta.pid:
                break
            assert time.monotonic() < deadline, "the backtest never reached running"
            time.sleep(0.1)
        os.kill(meta.pid, signal.SIGKILL)
        _, err = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 1, err
    # The error of the run (its supervisor wrote it), as the API's outcome has it.
    message = "node host exited without reporting its end (exit status signal 9)"
    assert f"error: {message}" in err.splitlines(), err
