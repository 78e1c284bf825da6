"""Quitting with live nodes: stop them, leave them running, or stay."""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

QuitChoice = Literal["stop", "leave", "cancel"]


class QuitModal(ModalScreen[QuitChoice]):
    """Live nodes outlive the console unless the user asks to stop them."""

    BINDINGS = [
        Binding(
            "s", "choose('stop')", "Stop all", tooltip="Stop live nodes, then quit", id="quit.stop"
        ),
        Binding(
            "l",
            "choose('leave')",
            "Leave running",
            tooltip="Quit and leave live nodes running (attach again later)",
            id="quit.leave",
        ),
        Binding(
            "escape,c",
            "choose('cancel')",
            "Cancel",
            tooltip="Stay in the console",
            id="quit.cancel",
        ),
    ]

    def __init__(self, live: list[str]) -> None:
        super().__init__()
        self.live = live

    def compose(self) -> ComposeResult:
        names = ", ".join(self.live)
        with Vertical(classes="dialog"):
            yield Static(
                f"{len(self.live)} node(s) still running: {names}\n\n"
                "Stop them, or leave them running and attach again later?",
                classes="dialog-question",
                markup=False,
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Stop all (s)", variant="error", id="stop")
                yield Button("Leave running (l)", variant="primary", id="leave")
                yield Button("Cancel (c)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#leave", Button).focus()

    def action_choose(self, choice: QuitChoice) -> None:
        self.dismiss(choice)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choice: QuitChoice = (
            "stop"
            if event.button.id == "stop"
            else ("leave" if event.button.id == "leave" else "cancel")
        )
        self.dismiss(choice)
