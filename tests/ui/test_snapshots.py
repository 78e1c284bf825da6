"""Snapshots of every pane, modal and screen, in every theme, at 80x24 and 160x48 (and
the main screen at 200x60).

Deterministic: frozen clock, a fixed event stream, fixed run files, no cursor blink.
At 80x24 the panes are tabs, so each pane gets its own snapshot; at 160x48 and 200x60 one
main screen shows them all. ``find`` is the orders pane with ``/`` open on a typed text.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from console.app import GatewayApp
from console.screens.node_form import NodeFormScreen
from engine.workspace import Workspace
from tests.ui.conftest import T0_NS, AppFactory, sample_envelopes
from tests.ui.helpers import wait_for
from themes.loader import BUILTIN_THEMES
from widgets.orders_table import OrdersTable

RUN_ID = "20260101T000000000Z-abcd"
PANES = ("nodes", "events", "orders", "positions", "metrics", "alerts")
SCREENS = ("form", "confirm", "quit", "keys", "templates", "log", "results", "modify", "find")
SIZES = {"80x24": (80, 24), "160x48": (160, 48)}
MAIN_SIZES = {**SIZES, "200x60": (200, 60)}
CASES = [
    (theme, size, view)
    for theme in BUILTIN_THEMES
    for size in MAIN_SIZES
    for view in (
        (*PANES, *SCREENS)
        if size == "80x24"
        else ("main", *SCREENS)
        if size == "160x48"
        else ("main",)
    )
]


def write_run(workspace: Workspace) -> None:
    """A finished demo-backtest run: meta, stats, two reports and a log file."""
    run = workspace.runs_dir / "demo-backtest" / RUN_ID
    run.mkdir(parents=True)
    meta = {
        "node_id": "demo-backtest",
        "run_id": RUN_ID,
        "mode": "backtest",
        "state": "completed",
        "started": "2026-01-01T00:00:00.000Z",
        "ended": "2026-01-01T00:00:09.600Z",
        "exit_code": 0,
    }
    (run / "meta.json").write_text(json.dumps(meta))
    stats = {  # the shape engine.host.results writes
        "total_orders": 842,
        "total_positions": 421,
        "total_events": 1684,
        "iterations": 1_000_000,
        "fills": 842,
        "backtest_start": 1_704_153_600_000_000_000,
        "backtest_end": 1_704_253_599_900_000_000,
        "elapsed_s": 99_999.9,
        "run_wall_s": 9.6,
        "run_cpu_s": 9.41,
        "ticks_per_s": 104_166.7,
        "pnl": {"USD": -1234.5},
        "pnl_pct": {"USD": -0.12345},
        "win_rate": 0.41,
        "sharpe": None,
        "sortino": None,
        "profit_factor": 0.93,
        "stats_pnls": {"USD": {"PnL (total)": -1234.5, "Win Rate": 0.41, "Expectancy": -1.47}},
        "stats_returns": {"Sharpe Ratio (252 days)": None, "Profit Factor": 0.93},
    }
    (run / "stats.json").write_text(json.dumps(stats))
    (run / "fills.csv").write_text(
        "client_order_id,side,quantity,avg_px,ts_last\n"
        "O-20260101-000000-001-000-1,BUY,100000,1.10012,2026-01-01T00:00:10Z\n"
        "O-20260101-000000-001-000-2,SELL,100000,1.10030,2026-01-01T00:01:20Z\n"
    )
    (run / "positions.csv").write_text(
        "position_id,side,peak_qty,realized_pnl\nEUR/USD.SIM-EMACross-000,FLAT,100000,16.00 USD\n"
    )
    lines = [
        {
            "timestamp": "2026-01-01T00:00:00.000000000Z",
            "level": "INFO",
            "component": "BacktestEngine",
            "message": f"step {i}",
        }
        for i in range(30)
    ]
    (run / "nautilus.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")


async def _open(pilot: Pilot[Any], keys: tuple[str, ...], done: Callable[[], bool]) -> None:
    await pilot.press(*keys)
    await wait_for(pilot, done)


def _view_steps(app: GatewayApp, view: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def steps(pilot: Pilot[Any]) -> None:
        name = lambda: type(app.screen).__name__  # noqa: E731 - short and local
        if view in PANES:
            await pilot.press(str(PANES.index(view) + 1))
        elif view == "form":
            await _open(pilot, ("n",), lambda: name() == "TemplatePicker")
            await _open(pilot, ("enter",), lambda: name() == "NodeFormScreen")
            form = app.screen
            assert isinstance(form, NodeFormScreen)
            form.set_field("node_id", "Bad Id")
            await wait_for(pilot, lambda: "slug" in form.field_error("node_id"))
        elif view == "confirm":
            await _open(pilot, ("d",), lambda: name() == "ConfirmModal")
        elif view == "quit":
            await _open(pilot, ("ctrl+q",), lambda: name() == "QuitModal")
        elif view == "keys":
            await _open(pilot, ("question_mark",), lambda: name() == "KeysModal")
        elif view == "templates":
            await _open(pilot, ("n",), lambda: name() == "TemplatePicker")
        elif view == "log":
            await _open(pilot, ("o",), lambda: name() == "NodeLogScreen")
            await wait_for(pilot, lambda: app.screen.query_one("Log").line_count > 1)
        elif view == "modify":
            await pilot.press("3")
            orders = app.main.query_one(OrdersTable)
            ids = [r.client_order_id for r in orders.rows_data]
            orders.move_cursor(row=ids.index("O-0002"))
            await _open(pilot, ("m",), lambda: name() == "ModifyOrderModal")
        elif view == "find":
            await pilot.press("3", "slash", *"O-000")
        elif view == "results":
            await _open(pilot, ("R",), lambda: name() == "ResultsScreen")
            await wait_for(pilot, lambda: bool(app.screen.query("#results-stats")))
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    return steps


@pytest.mark.parametrize(("theme", "size", "view"), CASES)
def test_snapshot(
    snap_compare: Any,
    make_app: AppFactory,
    workspace: Workspace,
    theme: str,
    size: str,
    view: str,
) -> None:
    write_run(workspace)
    app = make_app(theme=theme)
    steps = _view_steps(app, view)

    async def run_before(pilot: Pilot[Any]) -> None:
        # The node list, and the run on disk that the workspace watcher shows in it.
        await wait_for(pilot, lambda: app.nodes_loaded > 0 and app.workspace_seen > 0)
        app.ingest(sample_envelopes())
        await pilot.pause()
        await steps(pilot)

    assert snap_compare(app, terminal_size=MAIN_SIZES[size], run_before=run_before)


@pytest.mark.parametrize("theme", BUILTIN_THEMES)
def test_snapshot_of_the_keys_at_100x30(
    snap_compare: Any, make_app: AppFactory, workspace: Workspace, theme: str
) -> None:
    # The width where the ids take a column of their own, with the least room for it.
    write_run(workspace)
    app = make_app(theme=theme)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: app.nodes_loaded > 0 and app.workspace_seen > 0)
        app.ingest(sample_envelopes())
        await pilot.pause()
        await _view_steps(app, "keys")(pilot)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_frozen_data_is_fixed() -> None:
    # The snapshots rely on it: timestamps from a constant, not from the clock.
    assert sample_envelopes()[0].ts_ns == T0_NS + 250_000_000


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("theme", BUILTIN_THEMES)
def test_snapshot_of_an_empty_workspace(
    snap_compare: Any, make_app: AppFactory, workspace: Workspace, theme: str, size: str
) -> None:
    for path in workspace.nodes_dir.iterdir():
        shutil.rmtree(path)
    app = make_app(theme=theme)

    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZES[size], run_before=run_before)
