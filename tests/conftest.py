"""Fixtures shared by every test layer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.workspace import Workspace


@pytest.fixture(scope="session", autouse=True)
def _stop_workspace_redis_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Sandbox nodes start their workspace's own redis-server, detached on purpose (it
    outlives its node); at the end of the session stop those of this session's workspaces."""
    yield
    import psutil

    base = str(tmp_path_factory.getbasetemp())
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "redis-server":
            continue
        try:
            if proc.cwd().startswith(base):
                proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue


@pytest.fixture(scope="session")
def tiny_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog with a few EUR/USD.SIM quotes, written once per session and copied."""
    from engine.data.synth import synth

    path = tmp_path_factory.mktemp("tiny-catalog") / "catalog"
    synth(path, "EUR/USD.SIM", 10, seed=7)
    return path


@pytest.fixture
def workspace(tmp_path: Path, tiny_catalog: Path) -> Workspace:
    """An isolated workspace with no nodes; its catalog holds EUR/USD.SIM (the demo's
    instrument), so a backtest config that validates could launch."""
    ws = Workspace(tmp_path / ".gateway").ensure()
    shutil.copytree(tiny_catalog, ws.catalog_dir, dirs_exist_ok=True)
    return ws
