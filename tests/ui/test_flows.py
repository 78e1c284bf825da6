"""Pilot tests of the console's flows, on a real demo workspace."""

from __future__ import annotations

import json
import shutil

from textual.widgets import Static

from console.screens.main import MainScreen
from console.screens.node_form import NodeFormScreen
from console.screens.results import ResultsScreen
from console.screens.templates import TemplatePicker
from engine.config.store import ConfigStore
from engine.workspace import Workspace
from tests.ui.conftest import DEMO_NODES, AppFactory, sample_envelopes
from tests.ui.helpers import wait_for
from tests.ui.test_snapshots import RUN_ID, write_run
from widgets.event_log import EventLog
from widgets.node_list import EMPTY_HINT, NodeList


async def test_create_node_with_invalid_field_shows_inline_error_then_saves(
    make_app: AppFactory, workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, TemplatePicker))
        await pilot.press("enter")  # the first template: the demo backtest
        await wait_for(pilot, lambda: isinstance(app.screen, NodeFormScreen))
        form = app.screen
        assert isinstance(form, NodeFormScreen)
        path = "strategies[0].config.trade_size"
        form.set_field("node_id", "My Node")
        form.set_field(path, "-5")
        await wait_for(pilot, lambda: "slug" in form.field_error("node_id"))
        assert form.field_error(path) == ""  # structure passes; the size rule is deep

        await pilot.press("ctrl+s")  # refused: nothing is written
        await wait_for(pilot, lambda: form.status.startswith("not saved"))
        assert not (workspace.nodes_dir / "My Node").exists()

        form.set_field("node_id", "my-node")
        await wait_for(pilot, lambda: form.field_error("node_id") == "")
        await pilot.press("ctrl+s")  # deep validation (NautilusTrader) in a worker
        await wait_for(pilot, lambda: "positive" in form.field_error(path), timeout=60)
        assert isinstance(app.screen, NodeFormScreen)
        assert not (workspace.nodes_dir / "my-node").exists()

        form.set_field(path, "50000")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), timeout=30)
        await wait_for(pilot, lambda: any(r.node_id == "my-node" for r in app.node_rows))
    saved = ConfigStore(workspace).get("my-node")
    assert saved.strategies[0].config["trade_size"] == "50000"


async def test_event_log_filters_by_kind_text_and_level(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.ingest(sample_envelopes())
        await pilot.press("2")
        log = app.main.query_one(EventLog)
        assert len(log.shown_lines) == 15

        await pilot.press("k")  # kind: order
        assert log.filter.kind == "order"
        assert log.shown_lines and all(" order " in line for line in log.shown_lines)

        await pilot.press("x", "slash", *"denied", "enter")
        assert log.filter.text == "denied"
        assert len(log.shown_lines) == 2 and all("enied" in ln for ln in log.shown_lines)

        await pilot.press("x", "w", "w")  # minimum level WARNING
        assert log.filter.min_level == "WARNING"
        assert {line.split()[1] for line in log.shown_lines} == {"WARN", "ERROR"}
        await pilot.press("x")
        assert len(log.shown_lines) == 15


async def test_event_log_pauses_when_scrolled_up_and_counts_new_events(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        base = sample_envelopes()
        app.ingest(base * 3)
        await pilot.press("2")
        log = app.main.query_one(EventLog)
        await pilot.press("home")
        await pilot.pause()
        assert not log.following
        app.ingest(base[:4])
        await pilot.pause()
        assert log.pending == 4
        assert "4 new" in str(log.query_one("#event-status").render())
        await pilot.press("end")
        await pilot.pause()
        assert log.following and log.pending == 0


async def test_switching_theme_is_remembered(make_app: AppFactory, workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        assert app.theme == "gateway-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "gateway-light"
        await wait_for(pilot, lambda: workspace.settings_path.exists())
    assert json.loads(workspace.settings_path.read_text())["theme"] == "gateway-light"
    again = make_app()
    async with again.run_test(size=(80, 24)):
        assert again.theme == "gateway-light"


async def test_invalid_settings_are_reported_and_not_overwritten(
    make_app: AppFactory, workspace: Workspace
) -> None:
    workspace.settings_path.write_text('{"theme": "gateway-light", "event_log": {"max_lines": 5}}')
    before = workspace.settings_path.read_text()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        messages = [n.message for n in app._notifications]
        assert any("event_log.max_lines" in m and "got 5" in m for m in messages)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
    assert workspace.settings_path.read_text() == before


async def test_bad_theme_file_falls_back_with_a_notification(
    make_app: AppFactory, workspace: Workspace
) -> None:
    (workspace.root / "themes").mkdir()
    (workspace.root / "themes" / "neon.json").write_text('{"name": "neon", "primary": "nope"}')
    workspace.settings_path.write_text('{"theme": "neon"}')
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        assert app.theme == "gateway-dark"
        messages = " ".join(n.message for n in app._notifications)
        assert "neon.json: 'primary': expected a colour" in messages
        assert "theme 'neon' is not available" in messages


async def test_keymap_from_settings_rebinds_a_node_action(
    make_app: AppFactory, workspace: Workspace
) -> None:
    workspace.settings_path.write_text('{"keymap": {"node.create": "ctrl+n"}}')
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.press("n")
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, TemplatePicker))


async def test_delete_asks_first_and_keeps_node_on_no(
    make_app: AppFactory, workspace: Workspace
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        assert app.main.query_one(NodeList).selected is not None
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert ConfigStore(workspace).modes("demo-backtest")
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: all(r.node_id != "demo-backtest" for r in app.node_rows))
    assert not ConfigStore(workspace).modes("demo-backtest")


async def test_quit_with_live_nodes_asks_stop_or_leave(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.ingest(sample_envelopes()[:2])  # demo-sandbox is running
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert type(app.screen).__name__ == "QuitModal"
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
    assert app.return_code == 0


async def test_every_binding_has_an_id_and_a_tooltip() -> None:
    from textual.binding import Binding

    import console.app as app_module
    from console.screens import confirm, keys, main, node_form, node_log, quit, results, templates
    from widgets import (
        event_log,
        find_table,
        keyed_table,
        node_list,
        orders_table,
        positions_table,
        run_filter,
    )

    classes = [
        app_module.GatewayApp,
        main.MainScreen,
        node_form.NodeFormScreen,
        confirm.ConfirmModal,
        quit.QuitModal,
        keys.KeysModal,
        templates.TemplatePicker,
        node_log.NodeLogScreen,
        results.ResultsScreen,
        event_log.EventLog,
        node_list.NodeList,
        find_table.FindableTable,
        keyed_table.KeyedTable,
        run_filter.RunFilteredTable,
        orders_table.OrdersTable,
        positions_table.PositionsTable,
    ]
    for cls in classes:
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding), cls
            assert binding.id and binding.tooltip, (cls.__name__, binding)


async def test_command_palette_lists_node_actions_per_node(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"validate demo-sandbox")
        await wait_for(pilot, lambda: "Validate demo-sandbox (sandbox)" in _palette_text(app))
        await pilot.press("ctrl+a", "ctrl+k")  # clear: ctrl+a home, ctrl+k kill to the end
        await pilot.press(*"new node from")
        await wait_for(pilot, lambda: "New node from a template" in _palette_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TemplatePicker))


def _palette_text(app: object) -> str:
    from textual.command import CommandList

    screen = app.screen  # type: ignore[attr-defined]
    lists = screen.query(CommandList)
    if not lists:
        return ""
    options = lists.first(CommandList)
    return " ".join(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))


async def test_settings_checked_after_first_paint_drop_only_the_invalid_values(
    workspace: Workspace,
) -> None:
    from console.app import GatewayApp
    from console.services import WorkspaceServices

    workspace.settings_path.write_text('{"theme": "gateway-light", "ui": {"refresh_hz": 0}}')
    app = GatewayApp(WorkspaceServices(workspace), settings_path=workspace.settings_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.settings_load is not None)
        await pilot.pause()
        assert app.theme == "gateway-light"  # a valid entry is kept …
        assert app.settings.refresh_hz == 10.0  # … the invalid one falls back to its default
        messages = " ".join(n.message for n in app._notifications)
        assert "ui.refresh_hz" in messages and "got 0" in messages


async def test_a_burst_slows_pane_updates_and_loses_nothing(workspace: Workspace) -> None:
    from console.app import BURST_EVENTS, BURST_REST_TICKS, GatewayApp
    from console.services import WorkspaceServices
    from engine.events.envelope import Envelope

    services = WorkspaceServices(workspace)
    app = GatewayApp(services, settings_path=None, watch_feed=False)  # ticks driven here
    seq = 0

    def publish(n: int) -> None:
        nonlocal seq
        services.bus.publish(
            [
                Envelope(s, s, "n1", "r1", "log", "LogLine", {"level": "INFO", "message": "x"})
                for s in range(seq + 1, seq + n + 1)
            ]
        )
        seq += n

    async def tick() -> None:
        app._tick()
        if app._folding is not None:
            await app._folding

    async with app.run_test(size=(100, 30)):
        services.feed()  # subscribe before publishing
        publish(BURST_EVENTS)
        await tick()
        assert app.events_in == BURST_EVENTS
        publish(5)
        for _ in range(BURST_REST_TICKS):  # after a burst the panes rest these ticks
            await tick()
            assert app.events_in == BURST_EVENTS
        await tick()
        assert app.events_in == BURST_EVENTS + 5  # then take everything that waited
        publish(5)
        await tick()  # a small drain does not rest
        assert app.events_in == BURST_EVENTS + 10


async def test_an_empty_workspace_says_how_to_start_until_a_node_exists(
    make_app: AppFactory, workspace: Workspace
) -> None:
    for path in workspace.nodes_dir.iterdir():
        shutil.rmtree(path)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        nodes = app.main.query_one(NodeList)
        await wait_for(pilot, lambda: nodes.border_subtitle == EMPTY_HINT)
        await pilot.press("l")  # nothing to launch: said, nothing else happens
        await wait_for(
            pilot, lambda: any("no node selected" in n.message for n in app._notifications)
        )

        ConfigStore(workspace).save(DEMO_NODES[0](), deep=False)
        app.refresh_nodes()
        await wait_for(pilot, lambda: nodes.border_subtitle == "" and len(app.node_rows) == 1)


async def test_results_step_to_earlier_and_later_runs(
    make_app: AppFactory, workspace: Workspace
) -> None:
    write_run(workspace)  # the older run, PnL -1,234.50
    older = workspace.runs_dir / "demo-backtest" / RUN_ID
    newer_id = "20260102T000000000Z-beef"
    newer = older.with_name(newer_id)
    shutil.copytree(older, newer)
    meta = json.loads((newer / "meta.json").read_text())
    (newer / "meta.json").write_text(json.dumps({**meta, "run_id": newer_id}))
    stats = json.loads((newer / "stats.json").read_text())
    (newer / "stats.json").write_text(json.dumps({**stats, "pnl": {"USD": 99.5}}))

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        screen = app.screen
        assert isinstance(screen, ResultsScreen)

        def shown() -> tuple[str, str]:
            title = str(screen.query_one("#results-title", Static).render())
            table = screen.query("#results-stats")
            pnl = str(table.first().get_row_at(0)[1]) if table else ""
            return title, pnl

        await wait_for(pilot, lambda: f"{newer_id} (2 of 2)" in shown()[0])
        assert shown()[1] == "99.50 (-0.1235%)"
        await pilot.press("p")
        await wait_for(pilot, lambda: f"{RUN_ID} (1 of 2)" in shown()[0])
        await wait_for(pilot, lambda: shown()[1] == "-1,234.50 (-0.1235%)")
        await pilot.press("p")  # there is none before the first
        await wait_for(
            pilot, lambda: any("no earlier run" in n.message for n in app._notifications)
        )
        assert f"{RUN_ID} (1 of 2)" in shown()[0]
        await pilot.press("n")
        await wait_for(pilot, lambda: f"{newer_id} (2 of 2)" in shown()[0])


def _notified(app: object, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)  # type: ignore[attr-defined]
