"""Snapshots of the reconciliation view: a node stopped after a restart whose journal,
cache and venue differed (its last run's comparison), in every theme, at 80x24 and 160x48;
and the question before accepting the venue's view."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.pilot import Pilot

from console.screens.reconcile import ReconcileScreen
from engine.runs import create_run
from engine.workspace import Workspace
from tests.ui.conftest import AppFactory
from tests.ui.helpers import wait_for
from themes.loader import BUILTIN_THEMES

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
IID = "EUR/USD.SIM"


def row(kind: str, key: str, j: str, c: str, v: str, note: str = "") -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "instrument_id": IID,
        "journal": j,
        "cache": c,
        "venue": v,
        "agree": not note,
        "note": note,
    }


RESULT = {
    "agree": False,
    "summary": "3 orders and 1 position differ",
    "orders": [
        row(
            "order",
            "O-20260101-000000-001-001-1",
            "ACCEPTED 0/100000",
            "ACCEPTED 0/100000",
            "ACCEPTED 0/100000",
        ),
        row(
            "order",
            "O-20260101-000000-001-001-2",
            "ACCEPTED 0/50000",
            "-",
            "ACCEPTED 0/50000",
            "working only in journal, venue",
        ),
        row(
            "order",
            "O-20260101-000000-001-001-3",
            "ACCEPTED 0/20000",
            "ACCEPTED 0/20000",
            "PARTIALLY_FILLED 5000/20000",
            "filled_qty differs",
        ),
        row(
            "order",
            "O-20260101-000000-001-001-4",
            "-",
            "ACCEPTED 0/20000",
            "-",
            "duplicated: venue order V-3 held by 2 orders",
        ),
    ],
    "positions": [
        row("position", IID, "long 150000", "flat", "long 150000", "net quantity differs")
    ],
    "problems": [],
}


@pytest.mark.parametrize("theme", BUILTIN_THEMES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", ["rows", "accept"])
def test_snapshot(
    snap_compare: Any,
    make_app: AppFactory,
    workspace: Workspace,
    theme: str,
    size: str,
    view: str,
) -> None:
    run = create_run(workspace, "demo-sandbox", "sandbox", run_id="20260101T000000000Z-abcdef")
    (run.path / "reconciliation.json").write_text(json.dumps(RESULT))
    app = make_app(theme=theme)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        screen = ReconcileScreen(workspace, "demo-sandbox", follow=False)
        app.push_screen(screen)
        await wait_for(pilot, lambda: screen.loaded > 0)
        if view == "accept":
            await pilot.press("a")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)
