"""Launch the demo backtest from the console and see it complete with its results.

Real parts: the demo workspace with its synthetic catalog, a real node host process
running a NautilusTrader backtest, its journal relayed through the EventBus.
"""

from __future__ import annotations

from pathlib import Path

from console.app import GatewayApp
from console.screens.results import ResultsScreen
from console.services import WorkspaceServices
from engine.demo import init_demo
from engine.workspace import Workspace
from tests.ui.helpers import wait_for
from widgets.event_log import EventLog
from widgets.node_list import NodeList


def _state(app: GatewayApp, node_id: str) -> str:
    return next((r.state for r in app.node_rows if r.node_id == node_id), "")


def _uptime(app: GatewayApp, node_id: str) -> float | None:
    return next(r.uptime_s for r in app.node_rows if r.node_id == node_id)


async def test_launch_demo_backtest_reaches_completed_with_results(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / ".gateway")
    init_demo(workspace)
    app = GatewayApp(WorkspaceServices(workspace), settings_path=workspace.settings_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        nodes = app.main.query_one(NodeList)
        assert nodes.selected is not None and nodes.selected.node_id == "demo-backtest"
        await pilot.press("l")
        await wait_for(pilot, lambda: _state(app, "demo-backtest") == "completed", timeout=240)
        log = app.main.query_one(EventLog)
        assert any("state running -> completed" in line for line in log.shown_lines)
        assert app.main.query_one("#orders").row_count > 0  # the EMA cross traded
        # The uptime of an ended run stops at its end instead of counting on.
        uptime = _uptime(app, "demo-backtest")
        assert uptime is not None and 0 < uptime < 120
        await pilot.pause(1.5)
        app._refresh_rows()
        assert _uptime(app, "demo-backtest") == uptime

        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        screen = app.screen
        await wait_for(pilot, lambda: bool(screen.query("#results-stats")))
        title = str(screen.query_one("#results-title").render())
        assert "completed" in title
        assert screen.query_one("#results-stats").row_count > 3
        assert screen.query("#report-fills") or screen.query("#report-order_fills")
