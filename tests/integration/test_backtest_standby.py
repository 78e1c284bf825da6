"""A standby host imports ahead, takes its run, and leaves nothing behind when unused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli.prestart import launch_target
from engine.config.issues import ConfigInvalid
from engine.config.store import NodeNotFound
from engine.host.command import host_env, standby_command
from engine.host.standby import Standby, likely_mode
from engine.manager import NodeManager, pid_alive
from engine.runs import list_runs
from engine.workspace import Workspace
from tests.integration.backtest_support import small_workspace, write_node
from tests.integration.cli import gateway


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return small_workspace(tmp_path / ".gateway")


async def test_a_standby_runs_the_backtest_as_the_runs_own_host(workspace: Workspace) -> None:
    standby = Standby.start(workspace, "backtest")
    assert standby is not None
    manager = NodeManager(workspace)
    handle = await manager.launch("demo-backtest", standby=standby)
    # The standby is the host, under the run id it was started with: `gateway ps`,
    # `stop` and `attach` recognise it by that id on its command line.
    assert handle.pid == standby.pid
    assert handle.run_id == standby.run_id
    assert pid_alive(handle.pid, handle.run_id)
    assert await handle.wait(timeout_s=60) == 0
    (run,) = list_runs(workspace, "demo-backtest")
    assert run.run_id == standby.run_id
    assert run.meta.state == "completed" and run.meta.pid == standby.pid
    assert run.meta.extra == {"started_as": "standby"}
    stats = run.stats()
    assert stats is not None and stats["total_orders"] > 0


async def test_what_a_standby_printed_before_its_run_ends_up_in_the_runs_host_out(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # -X importtime makes the standby write to stderr while it imports, before it has a run.
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    standby = Standby.start(workspace, "backtest")
    assert standby is not None
    handle = await NodeManager(workspace).launch("demo-backtest", standby=standby)
    assert await handle.wait(timeout_s=60) == 0
    out = (handle.run_dir / "host.out").read_text()
    assert "import time:" in out and "nautilus_trader.backtest.node" in out


async def test_an_invalid_config_discards_the_standby_and_creates_no_run(
    workspace: Workspace,
) -> None:
    doc = json.loads((workspace.nodes_dir / "demo-backtest" / "backtest.json").read_text())
    doc["venues"] = "not a list"
    write_node(workspace, doc)
    standby = Standby.start(workspace, "backtest")
    assert standby is not None
    with pytest.raises(ConfigInvalid):
        await NodeManager(workspace).launch("demo-backtest", standby=standby)
    assert standby.process.returncode is not None  # killed and reaped, not left importing
    assert list_runs(workspace, "demo-backtest") == []


async def test_an_unknown_node_discards_the_standby(workspace: Workspace) -> None:
    standby = Standby.start(workspace, "backtest")
    assert standby is not None
    with pytest.raises(NodeNotFound):
        await NodeManager(workspace).launch("no-such-node", standby=standby)
    assert standby.process.returncode is not None
    assert not (workspace.runs_dir / "no-such-node").exists()


async def test_a_dead_standby_is_replaced_by_a_fresh_host(workspace: Workspace) -> None:
    standby = Standby.start(workspace, "backtest")
    assert standby is not None
    standby.process.send_signal(signal.SIGKILL)
    standby.process.wait()
    handle = await NodeManager(workspace).launch("demo-backtest", standby=standby)
    assert handle.pid != standby.pid
    assert await handle.wait(timeout_s=60) == 0
    (run,) = list_runs(workspace, "demo-backtest")
    assert run.meta.state == "completed"
    assert "started_as" not in run.meta.extra


def test_a_standby_whose_stdin_closes_exits_0_and_writes_nothing(workspace: Workspace) -> None:
    before = sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*"))
    proc = subprocess.run(
        standby_command(sys.executable, workspace, "backtest", "20261202T000000000Z-abcd"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=host_env(),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"" and proc.stderr == b""
    after = sorted(p.relative_to(workspace.root) for p in workspace.root.rglob("*"))
    assert after == before


def test_the_cli_launch_leaves_no_standby_behind_on_bad_input(workspace: Workspace) -> None:
    doc = json.loads((workspace.nodes_dir / "demo-backtest" / "backtest.json").read_text())
    doc["venues"] = "not a list"
    write_node(workspace, doc)
    result = gateway("launch", "demo-backtest", workspace=workspace.root)
    assert result.code == 2
    assert "venues" in result.err
    assert _standbys_of(workspace) == []  # the prestarted standby was killed and reaped
    assert list_runs(workspace, "demo-backtest") == []


def test_the_cli_runs_the_backtest_in_a_standby_whatever_the_option_order(
    workspace: Workspace,
) -> None:
    env = {"GATEWAY_HOME": "/nonexistent"}  # the option must win over the environment
    result = gateway(
        "-w",
        str(workspace.root),
        "launch",
        "--json",
        "demo-backtest",
        "--mode=backtest",
        workspace=workspace.root,
        env=env,
    )
    assert result.code == 0, result.err
    (run,) = list_runs(workspace, "demo-backtest")
    assert run.meta.state == "completed"
    assert run.meta.extra == {"started_as": "standby"}


def test_the_mode_guess_reads_only_file_names(workspace: Workspace) -> None:
    assert likely_mode(workspace, "demo-backtest", None) == "backtest"
    assert likely_mode(workspace, "demo-backtest", "sandbox") == "sandbox"
    assert likely_mode(workspace, "no-such-node", None) is None
    sandbox = workspace.nodes_dir / "demo-backtest" / "sandbox.json"
    sandbox.write_text("{}")
    assert likely_mode(workspace, "demo-backtest", None) is None  # ambiguous: no guess


def test_no_standby_for_modes_that_start_under_a_supervisor(workspace: Workspace) -> None:
    assert Standby.start(workspace, "sandbox") is None
    assert Standby.start(workspace, "live") is None


async def test_a_standby_of_another_workspace_is_discarded(
    workspace: Workspace, tmp_path: Path
) -> None:
    other = small_workspace(tmp_path / "other" / ".gateway")
    standby = Standby.start(other, "backtest")
    assert standby is not None
    handle = await NodeManager(workspace).launch("demo-backtest", standby=standby)
    assert standby.process.returncode is not None  # killed: it would run in `other`
    assert handle.pid != standby.pid
    assert await handle.wait(timeout_s=60) == 0
    assert list_runs(other, "demo-backtest") == []
    (run,) = list_runs(workspace, "demo-backtest")
    assert run.meta.state == "completed"


def _standbys_of(workspace: Workspace) -> list[int]:
    """Pids of standby hosts of this workspace still alive (the CLI must reap its own)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "--standby" in cmd and str(workspace.root) in cmd:
            found.append(proc.info["pid"])
    return found


@pytest.fixture(autouse=True)
def _no_stray_standby(workspace: Workspace) -> object:
    yield None
    for pid in _standbys_of(workspace):  # never leave one behind, even when a test fails
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["launch", "n1"], (None, "n1", None)),
        (["launch", "n1", "--headless"], (None, "n1", None)),
        (["-w", "/ws", "launch", "--json", "n1", "--mode=backtest"], ("/ws", "n1", "backtest")),
        (["--workspace=/ws", "launch", "n1", "--mode", "live"], ("/ws", "n1", "live")),
        (["launch", "-w/ws", "n1", "-f"], ("/ws", "n1", None)),
        (["launch", "--help"], None),
        (["launch"], None),
        (["launch", "n1", "n2"], None),
        (["launch", "n1", "--mode"], None),
        (["nodes", "list"], None),
        ([], None),
        (["launch", "n1", "--unknown"], None),
    ],
)
def test_the_entry_point_reads_launch_command_lines_roughly(
    argv: list[str], expected: tuple[str | None, str, str | None] | None
) -> None:
    assert launch_target(argv) == expected
