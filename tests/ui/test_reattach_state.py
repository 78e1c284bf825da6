"""A console attached to a node that has run a while shows its whole present state.

The console reads only the recent end of a running node's journal (RECENT_EVENTS, the
event log's worth); an order placed before that window and still working must show all
the same, with every field its first events carried. Real parts: a sandbox node host
launched by the real CLI, an order submitted by the CLI, a console attaching as a user's
would. The window is cut to a few dozen events so the test needs seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import console.services
from console.app import GatewayApp
from console.services import WorkspaceServices
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.journal import JournalReader
from engine.runs import latest_run
from engine.workspace import Workspace
from widgets.orders_table import OrdersTable

NODE = "demo-sandbox"
WINDOW = 40  # events the console reads back from the journal's end

pytestmark = pytest.mark.xdist_group("reattach-state")


def _gateway(workspace: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_HOME": str(workspace.root), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _last_seq(workspace: Workspace) -> int:
    run = latest_run(workspace, NODE)
    assert run is not None
    with JournalReader(run.path) as reader:
        return reader.last_seq()


async def test_a_working_order_from_before_the_replay_window_shows_on_attach(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = Workspace(tmp_path / ".gateway").ensure()
    doc = demo_sandbox()
    doc["strategies"][0]["config"]["bar_type"] = "EUR/USD.SIM-100-MILLISECOND-BID-INTERNAL"
    doc["data_clients"][0]["options"]["rate"] = 100.0  # events come fast: the window passes
    ConfigStore(workspace).save(doc, deep=False)
    launched = _gateway(workspace, "launch", NODE)
    assert launched.returncode == 0, launched.stderr
    try:
        placed = _gateway(
            workspace,
            "order",
            NODE,
            "buy 10000 EUR/USD.SIM limit 0.5000 gtc",
            "--wait",
            "accepted",
        )
        assert placed.returncode == 0, placed.stdout + placed.stderr
        listed = _gateway(workspace, "orders", "list", NODE, "--open", "--json")
        (order,) = [o for o in json.loads(listed.stdout) if o["price"].startswith("0.5")]
        deadline = time.monotonic() + 120
        while _last_seq(workspace) < order["seq"] + 3 * WINDOW:
            assert time.monotonic() < deadline, "the node made too few events"
            await asyncio.sleep(0.5)

        monkeypatch.setattr(console.services, "RECENT_EVENTS", WINDOW)
        services = WorkspaceServices(workspace)
        app = GatewayApp(services, settings_path=None)
        async with app.run_test(size=(120, 40)) as pilot:
            key = f"{NODE}/{order['client_order_id']}"
            deadline = time.monotonic() + 60
            while key not in app.feed_state.orders or not app.main.query_one(OrdersTable).all_rows:
                assert time.monotonic() < deadline, "the early order never showed"
                await pilot.pause(0.1)
            row = app.feed_state.orders[key]
            assert (row.side, row.type, row.quantity, row.status) == (
                "BUY",
                "LIMIT",
                "10000",
                "ACCEPTED",
            )
            assert row.price.startswith("0.5")
            shown = {r.client_order_id for r in app.main.query_one(OrdersTable).all_rows}
            assert order["client_order_id"] in shown
        await services.close(stop_live=False)
    finally:
        _gateway(workspace, "stop", NODE, "--kill")
