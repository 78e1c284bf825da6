"""`?`: the keys of the focused pane, then of the screen and the app (keymap applied).

Descriptions wrap rather than being cut; the binding ids (for the settings keymap) get a
column of their own when there is room, else follow their description, dimmed.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

WIDE_KEYS = 84  # content cells from which the ids get their own column (100 columns on)


def keys_table(rows: list[tuple[str, str, str, str, str]], width: int) -> Table:
    """Rows of (scope, key, id, description, tooltip) as a table ``width`` cells wide,
    one section per scope."""
    wide = width >= WIDE_KEYS
    table = Table(box=None, expand=True, show_edge=False, pad_edge=False, padding=(0, 1))
    table.add_column("Key", no_wrap=True, style="bold")
    table.add_column("Action", no_wrap=True)
    table.add_column("What it does", ratio=1, overflow="fold")
    if wide:
        table.add_column("Id (keymap)", no_wrap=True, style="dim")
    scope = None
    for row_scope, key, binding_id, action, tip in rows:
        if row_scope != scope:
            scope = row_scope
            table.add_row(Text(scope, style="bold underline"), end_section=False)
        what = Text(tip or action)
        if wide:
            table.add_row(key, action, what, binding_id)
        else:
            table.add_row(key, action, Text.assemble(what, "  ", (binding_id, "dim")))
    return table


class KeysModal(ModalScreen[None]):
    """Every key that works now: key, what it does, its id (for the settings keymap)."""

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
        self._width = -1

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide-dialog"):
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll(id="keys-scroll"):
                yield Static(id="keys-table")
            yield Static(
                'Change a key: settings.json "keymap": {"<id>": "<key>"}',
                classes="dialog-hint",
            )

    def on_mount(self) -> None:
        self.query_one("#keys-scroll").focus()
        self.call_after_refresh(self._fit)

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        # The dialog's width, less the scrollbar's column whether it shows yet or not.
        width = self.query_one(".dialog", Vertical).content_region.width - 1
        if width > 0 and width != self._width:
            self._width = width
            self.query_one("#keys-table", Static).update(keys_table(self.rows, width))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
