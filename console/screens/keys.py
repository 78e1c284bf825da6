"""`?`: the keys of the focused pane, then of the screen and the app (keymap applied).

Descriptions wrap rather than being cut; the binding ids (for the settings keymap) get a
column of their own when there is room, else follow their description, dimmed: on its last
line when they fit there, else on a line of their own, flush with the description.
"""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

WIDE_KEYS = 84  # content cells from which the ids get their own column (100 columns on)
_GAP = 2  # cells between two columns (padding 1 each side, none at the edges)
_MEASURE = Console(file=io.StringIO(), width=200, color_system=None)  # wraps, never prints


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
    # The description column's width, as the table will give it (the rest goes to it).
    key_width = max(cell_len(t) for r in rows for t in ("Key", r[0], r[1])) if rows else 3
    action_width = max(cell_len(t) for r in rows for t in ("Action", r[3])) if rows else 6
    what_width = max(1, width - key_width - action_width - 2 * _GAP)
    scope = None
    for row_scope, key, binding_id, action, tip in rows:
        if row_scope != scope:
            scope = row_scope
            table.add_row(Text(scope, style="bold underline"), end_section=False)
        what = Text(tip or action)
        if wide:
            table.add_row(key, action, what, binding_id)
        else:
            table.add_row(key, action, with_id(what, binding_id, what_width))
    return table


def with_id(what: Text, binding_id: str, width: int) -> Text:
    """``what`` then ``binding_id`` dimmed: after its last line if the id fits there, else
    on the next line (wrapped by the table, it would start a cell in, under a word)."""
    lines = what.wrap(_MEASURE, width, overflow="fold")
    last = lines[-1].cell_len if lines else 0
    sep = "  " if last + _GAP + cell_len(binding_id) <= width else "\n"
    return Text.assemble(what, sep, (binding_id, "dim"))


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
        # The scroll's gutter is kept (CSS), so this width holds whether the bar shows or not.
        width = self.query_one("#keys-table", Static).content_region.width
        if width > 0 and width != self._width:
            self._width = width
            self.query_one("#keys-table", Static).update(keys_table(self.rows, width))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
