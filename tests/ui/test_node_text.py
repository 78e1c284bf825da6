"""Text from nodes reaches the screen as text: no control sequence, no markup, no raw codes.

Nautilus colours its log (``\\x1b[36m…``) and any strategy can log anything; written raw,
that broke pane borders and left stray text. Each test feeds hostile node text through
the real console and reads back the rendered screen, line by line.
"""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from console.app import GatewayApp
from console.screens.node_log import NodeLogScreen
from engine.events.envelope import Envelope
from engine.workspace import Workspace
from tests.ui.conftest import T0_NS, AppFactory
from tests.ui.helpers import wait_for
from tests.ui.test_snapshots import RUN_ID, write_run
from widgets.event_log import EventLog
from widgets.plain_text import plain

HOSTILE = (
    "\x1b[36mcoloured\x1b[0m text\x1b]0;retitled\x07 \x1b[2J\x1b[H"
    "[/] [blink]not markup[/blink]\x07\x00\r\nsecond line\ttabbed \x9b31m\u202eend"
)
CLEAN = "coloured text [/] [blink]not markup[/blink] second line tabbed end"
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def screen_lines(app: GatewayApp) -> list[str]:
    """The screen as the terminal gets it, one string per row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def envelopes() -> list[Envelope]:
    def env(seq: int, kind: str, type_: str, payload: dict[str, object]) -> Envelope:
        return Envelope(seq, T0_NS + seq, "demo-sandbox", "run-1", kind, type_, payload)

    return [
        env(1, "node", "NodeStateChanged", {"state": "running", "mode": "sandbox"}),
        env(2, "log", "LogLine", {"level": "INFO", "component": "EMACross", "message": HOSTILE}),
        env(
            3,
            "alert",
            "AlertRaised",
            {
                "alert_id": "a1",
                "rule": "custom",
                "node_id": "demo-sandbox",
                "severity": "warning",
                "message": HOSTILE,
                "raised_ts_ns": T0_NS,
                "ts_ns": T0_NS,
            },
        ),
    ]


def assert_clean(lines: list[str], width: int) -> None:
    for line in lines:
        assert not CONTROLS.search(line), repr(line)
        assert len(line) == width, repr(line)  # nothing pushed a border out of place


async def test_node_text_in_event_log_and_alerts_is_shown_as_its_text(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.ingest(envelopes())
        await pilot.press("2")  # the event log in front
        await pilot.pause()
        lines = screen_lines(app)
        assert_clean(lines, 160)
        shown = "\n".join(lines)
        assert "coloured text [/] [blink]not markup" in shown
        assert any(CLEAN in line for line in app.main.query_one(EventLog).shown_lines)

        await pilot.press("6")  # alerts: a DataTable, which reads str cells as markup
        await pilot.pause()
        lines = screen_lines(app)
        assert_clean(lines, 160)
        assert "coloured text [/] [blink]not" in "\n".join(lines)
        assert app.errors_reported == 0


async def test_node_log_screen_shows_nautilus_colour_codes_as_text(
    make_app: AppFactory, workspace: Workspace
) -> None:
    write_run(workspace)
    log = workspace.runs_dir / "demo-backtest" / RUN_ID / "nautilus.jsonl"
    record = {"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "component": "S"}
    log.write_text(json.dumps({**record, "message": HOSTILE}) + "\n")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.press("o")  # the selected node, demo-backtest
        await wait_for(pilot, lambda: isinstance(app.screen, NodeLogScreen))
        await wait_for(pilot, lambda: any("coloured" in ln for ln in screen_lines(app)))
        lines = screen_lines(app)
        assert_clean(lines, 100)
        assert any("coloured text [/] [blink]not markup[/blink] second line" in ln for ln in lines)


async def test_notifications_carry_node_text_as_text(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        app.notify(f"refused (invalid): {HOSTILE}", severity="error")
        await pilot.pause()
        (note,) = list(app._notifications)
        assert not CONTROLS.search(note.message.replace("\n", " "))
        assert "coloured text [/] [blink]not markup[/blink]" in note.message
        assert not note.markup  # a "[/]" from a node would raise as markup
        assert app.errors_reported == 0


@given(st.text())
def test_plain_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    out = plain(text)
    assert not CONTROLS.search(out)
    assert "\n" not in out
    assert plain(out) == out  # idempotent
    printable = "".join(c for c in text if c.isprintable())
    if printable == text:
        assert out == text  # plain text passes untouched
