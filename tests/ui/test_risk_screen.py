"""The console's risk view and kill switch against a real sandbox node host: every change is
shown once the node confirmed it, a bad limit is refused inline and changes nothing."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from console.screens.confirm import ConfirmModal
from console.screens.risk import RiskScreen
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.manager import NodeManager
from engine.risk.limits import FIELDS
from engine.risk.store import state_path
from engine.workspace import Workspace
from tests.ui.conftest import AppFactory
from tests.ui.helpers import wait_for
from widgets.node_list import NodeList

NODE = "risk-ui"
pytestmark = pytest.mark.timeout(120)


def _state(ws: Workspace) -> dict[str, Any]:
    path = state_path(ws, NODE)
    return json.loads(path.read_text()) if path.exists() else {}


def _text(screen: RiskScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_risk_view_halts_edits_a_limit_and_resumes_and_the_kill_switch_halts_all(
    workspace: Workspace, make_app: AppFactory
) -> None:
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, trader_id="RISKUI-001", strategies=[])
    doc.pop("restart", None)
    ConfigStore(workspace).save(doc, deep=False)
    manager = NodeManager(workspace)
    await manager.launch(NODE)
    try:
        meta = await manager.wait_state(NODE, {"running", "failed"}, timeout_s=40)
        assert meta.state == "running", meta
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.nodes_loaded > 0)
            node_list = app.main.query_one(NodeList)
            await wait_for(pilot, lambda: NODE in [r.node_id for r in node_list.rows_data])
            node_list.move_cursor(row=[r.node_id for r in node_list.rows_data].index(NODE))
            await pilot.pause()
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: isinstance(app.screen, RiskScreen))
            screen = app.screen
            assert isinstance(screen, RiskScreen)
            await wait_for(pilot, lambda: "trading state ACTIVE" in _text(screen, "#risk-state"))

            await pilot.press("h")
            await wait_for(pilot, lambda: "trading state HALTED" in _text(screen, "#risk-state"))
            assert _state(workspace)["trading_state"] == "HALTED"
            assert "@console" in _state(workspace)["changed_by"]

            table = screen.query_one(DataTable)
            table.move_cursor(row=FIELDS.index("max_open_orders"))
            before = state_path(workspace, NODE).read_bytes()
            await pilot.press("e", *"-1", "enter")
            await wait_for(pilot, lambda: "max_open_orders" in _text(screen, "#risk-error"))
            assert state_path(workspace, NODE).read_bytes() == before
            editor = screen.query_one("#risk-input", Input)
            editor.value = ""
            await pilot.press(*"5", "enter")
            await wait_for(
                pilot, lambda: table.get_cell("max_open_orders", "value") == "5", timeout=10
            )
            assert _state(workspace)["limits"]["max_open_orders"] == 5
            assert editor.has_class("hidden")

            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press("y")
            await wait_for(pilot, lambda: "trading state ACTIVE" in _text(screen, "#risk-state"))

            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, RiskScreen))
            await pilot.press("ctrl+k")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            await pilot.press("y")
            # The kill switch's own notification (the halt above left one naming HALTED).
            await wait_for(
                pilot,
                lambda: any(
                    str(n.message).startswith("kill switch") and f"{NODE}: HALTED" in str(n.message)
                    for n in app._notifications
                ),
                timeout=30,
            )
            assert _state(workspace)["trading_state"] == "HALTED"
    finally:
        await asyncio.wait_for(NodeManager(workspace).stop(NODE, kill=True), 30)
