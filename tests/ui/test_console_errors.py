"""An unexpected error inside the console is shown, logged, and survived.

Textual's default is to end the app with a traceback (locals included) on any exception
from a handler, worker or timer; a trader lost what they were typing. Here each path
raises for real inside the real console, and the app must keep running with the input
as it was, the error on screen and in ``<workspace>/logs/console.log`` (no secrets).
"""

from __future__ import annotations

import threading
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input

from console.app import GatewayApp
from console.screens.node_form import NodeFormScreen
from engine.workspace import Workspace
from tests.ui.conftest import AppFactory
from tests.ui.helpers import wait_for

SECRET = "s3cr3t-Value-42"


class BoomError(RuntimeError):
    pass


class TypingScreen(ModalScreen[None]):
    """A form with a password field whose handlers fail on cue."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "boom", "Boom", tooltip="fails", id="test.boom"),
    ]

    def compose(self) -> ComposeResult:
        yield Input(id="secret", password=True)
        yield Input(id="plain")

    def on_mount(self) -> None:
        self.query_one("#plain", Input).focus()

    def action_boom(self) -> None:
        raise BoomError(f"action failed holding {self.query_one('#secret', Input).value}")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.value.endswith("!"):
            raise BoomError(f"handler failed on {event.value!r}")


def notes(app: GatewayApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_errors_from_handlers_workers_and_timers_are_shown_logged_and_survived(
    make_app: AppFactory, workspace: Workspace
) -> None:
    app = make_app()
    log_path = workspace.root / "logs" / "console.log"
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        screen = TypingScreen()
        await app.push_screen(screen)
        await wait_for(pilot, lambda: app.focused is screen.query_one("#plain"))
        screen.query_one("#secret", Input).value = SECRET

        await pilot.press(*"abc!")  # the screen's own message handler raises
        await wait_for(pilot, lambda: app.errors_reported == 1)
        await pilot.press(*"def")  # the screen still handles its messages
        await pilot.press("f9")  # an action bound to a key raises
        await wait_for(pilot, lambda: app.errors_reported == 2)

        def in_thread() -> None:
            raise BoomError(f"worker failed in {threading.current_thread().name}")

        app.run_worker(in_thread, thread=True)  # exit_on_error, as @work's default
        await wait_for(pilot, lambda: app.errors_reported == 3)

        def on_timer() -> None:
            raise BoomError("timer failed")

        app.set_timer(0.01, on_timer)
        await wait_for(pilot, lambda: app.errors_reported == 4)

        await pilot.press(*"ghi")
        assert app.is_running and app.screen is screen
        assert screen.query_one("#plain", Input).value == "abc!defghi"
        assert screen.query_one("#secret", Input).value == SECRET
        shown = "\n".join(notes(app))
        assert shown.count("Unexpected error") == 4
        assert "handler failed on 'abc!'" in shown and "timer failed" in shown
        assert SECRET not in shown and "action failed holding ***" in shown
    logged = log_path.read_text()
    assert logged.count("Traceback (most recent call last)") == 4
    for text in ("handler failed on", "action failed holding ***", "worker failed", "timer"):
        assert text in logged
    assert SECRET not in logged
    assert log_path.stat().st_mode & 0o077 == 0  # the user's own file


async def test_nan_size_then_f5_in_the_node_form_is_an_inline_error(
    make_app: AppFactory, workspace: Workspace
) -> None:
    """The crash users saw: trade_size NaN, then F5 (the deep check raised in a worker)."""
    app = make_app()
    doc = app.services.load_doc("demo-sandbox", "sandbox")
    path = "strategies[0].config.trade_size"
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        form = NodeFormScreen(app.services, doc, new=False)
        await app.push_screen(form)
        form.set_field("description", "typed by the user")
        form.set_field(path, "NaN")
        await wait_for(pilot, lambda: form.dirty)
        await pilot.pause(2 * form.DEBOUNCE_S)  # the structure check of the typing is done
        await wait_for(pilot, lambda: form.status.startswith("structure"))
        await pilot.press("f5")
        await wait_for(pilot, lambda: form.status.startswith("deep"), timeout=60)
        assert "positive" in form.field_error(path)
        assert app.errors_reported == 0
        assert app.screen is form and form.document()["description"] == "typed by the user"


async def test_f5_right_after_typing_shows_the_deep_check(
    make_app: AppFactory, workspace: Workspace
) -> None:
    """Typing then F5 in one burst: the pending structural check must not replace the deep
    one (tmux: the status said "structure: valid" and the NaN error never showed)."""
    app = make_app()
    doc = app.services.load_doc("demo-sandbox", "sandbox")
    path = "strategies[0].config.trade_size"
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        form = NodeFormScreen(app.services, doc, new=False)
        await app.push_screen(form)
        form.set_field(path, "NaN")
        await pilot.press("f5")  # within the structural check's debounce
        await wait_for(pilot, lambda: form.status.startswith("deep"), timeout=60)
        await pilot.pause(4 * form.DEBOUNCE_S)
        assert form.status.startswith("deep"), form.status
        assert "positive" in form.field_error(path)
