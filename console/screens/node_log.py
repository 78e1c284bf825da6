"""A node's log: the Nautilus log file of its latest run, read in a worker."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static

from console.services import Services
from widgets.plain_text import plain


class NodeLogScreen(Screen[None]):
    """The tail of a node's log; r reloads."""

    BINDINGS = [
        Binding(
            "escape,q", "app.pop_screen", "Back", tooltip="Back to the main screen", id="log.back"
        ),
        Binding("r", "reload", "Reload", tooltip="Read the log file again", id="log.reload"),
    ]

    def __init__(self, services: Services, node_id: str) -> None:
        super().__init__()
        self.services = services
        self.node_id = node_id

    def compose(self) -> ComposeResult:
        yield Static(f"Log of {self.node_id}", classes="screen-title", markup=False)
        yield Log(max_lines=5000, id="node-log")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Log).focus()
        self.action_reload()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True)
    def _load(self) -> None:
        lines = self.services.node_log(self.node_id)
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[str]) -> None:
        log = self.query_one(Log)
        log.clear()
        # Nautilus colours its log (ANSI codes) and any strategy writes to it: text only.
        shown = [plain(line) for line in lines]
        log.write_lines(shown or [f"no log yet for {self.node_id}: launch it first"])
