"""Snapshots of the risk view (a node not running, with a stored HALTED state and limits)
and the kill switch's question, in every theme, at 80x24 and 160x48."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.pilot import Pilot

from console.screens.risk import RiskScreen
from engine.risk.store import state_path
from engine.workspace import Workspace
from tests.ui.conftest import AppFactory
from tests.ui.helpers import wait_for
from themes.loader import BUILTIN_THEMES

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
STATE = {
    "schema_version": 1,
    "trading_state": "HALTED",
    "limits": {
        "max_notional_per_order": "250000",
        "max_position_net": "1000000",
        "max_position_gross": None,
        "max_open_orders": 20,
        "max_order_rate_per_instrument": "10/00:00:01",
        "max_daily_loss": "5000",
        "on_daily_loss": "HALTED",
        "max_drawdown": None,
        "on_drawdown": "REDUCING",
    },
    "changed_by": "ana@console",
    "changed_at": "2026-01-01T00:00:00.000+00:00",
    "reason": "kill switch",
}


@pytest.mark.parametrize("theme", BUILTIN_THEMES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", ["risk", "kill-switch"])
def test_snapshot(
    snap_compare: Any,
    make_app: AppFactory,
    workspace: Workspace,
    theme: str,
    size: str,
    view: str,
) -> None:
    path = state_path(workspace, "demo-sandbox")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(STATE))
    app = make_app(theme=theme)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        if view == "kill-switch":
            await pilot.press("ctrl+k")
            await pilot.pause()
            return
        app.push_screen(RiskScreen(workspace, "demo-sandbox"))
        screen = app.screen
        await wait_for(
            pilot,
            lambda: "HALTED" in str(screen.query_one("#risk-state").render()),
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)
