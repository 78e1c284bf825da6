"""`?`: the keys of the focused pane, then of the screen and the app (keymap applied)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


class KeysModal(ModalScreen[None]):
    """A table of bindings: key, what it does, its id (for the settings keymap)."""

    BINDINGS = [
        Binding(
            "escape,question_mark,q", "dismiss", "Close", tooltip="Close this help", id="keys.close"
        ),
    ]

    def __init__(self, title: str, rows: list[tuple[str, str, str, str, str]]) -> None:
        """Take rows of (scope, key, binding id, description, tooltip)."""
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide-dialog"):
            yield Static(self.title_text, classes="dialog-title")
            table: DataTable[str] = DataTable(cursor_type="row", id="keys-table")
            yield table
            yield Static(
                'Change a key: settings.json "keymap": {"<id>": "<key>"}',
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Scope", "Key", "Id", "Action", "What it does")
        table.add_rows(self.rows)
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
