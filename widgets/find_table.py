"""A DataTable with ``/``: the screen shows a find field, and the table shows only the
rows holding its text.

Keys sent in one burst (a paste, typing over SSH) all reach the focused table before the
app runs the binding of the first. So the table handles each key in the order it came: its
``/`` opens the field at once, the screen's and app's keys run at once (``2`` switches the
tab before the ``/`` behind it is read), and a key that arrives after the focus moved on
goes to where the focus is now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable


class FindableTable(DataTable[Any]):
    """A table the user can narrow with ``/``; subclasses implement ``apply_find``.

    The screen provides the field: ``open_find(table) -> Widget`` shows and focuses it and
    later calls ``table.set_find(text)``. A screen without ``open_find`` gets a
    FindRequested message instead.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash",
            "find",
            "Find",
            tooltip="Show only the rows holding a text (Enter applies, Esc clears)",
            id="table.find",
        ),
    ]

    class FindRequested(Message):
        """The user asked to find text in ``table`` (the screen shows the find field)."""

        def __init__(self, table: FindableTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.find_text = ""
        self._find_field: Widget | None = None  # the open find field, from the screen

    def apply_find(self) -> None:
        """Show the rows holding ``find_text`` (all when it is empty)."""
        raise NotImplementedError

    def set_find(self, text: str) -> None:
        """Show only rows with ``text`` (any case) in any column; empty shows all."""
        self._find_field = None
        self.find_text = text.strip()
        self.apply_find()

    async def _on_key(self, event: events.Key) -> None:
        focused = self.screen.focused
        if focused is not None and focused is not self:
            # The focus moved on (to the find field, another pane, another tab) after the
            # app routed this key here: it belongs where the focus is now.
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        if self._finds(event.key):
            event.stop()
            event.prevent_default()
            self.action_find()
            return
        if await self._run_outer_binding(event.key):
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    async def _run_outer_binding(self, key: str) -> bool:
        """Run the screen's or app's binding of ``key`` now, in the order the keys came
        (the app would run it only after this table had read the keys behind it)."""
        for node, bindings in self.screen._modal_binding_chain:
            if node is self:
                if key in bindings.key_to_bindings:
                    return False  # the table's own key: its usual way
                continue
            for binding in bindings.key_to_bindings.get(key, ()):
                if not binding.priority and await self.app.run_action(binding.action, node):
                    return True
        return False

    def _finds(self, key: str) -> bool:
        """Whether ``key`` is this table's find key (the keymap applied)."""
        for node, bindings in self.screen._binding_chain:
            if node is self:
                return any(b.action == "find" for b in bindings.key_to_bindings.get(key, ()))
        return False

    def action_find(self) -> None:
        opener = getattr(self.screen, "open_find", None)
        if callable(opener):
            self._find_field = opener(self)
        else:
            self.post_message(self.FindRequested(self))


class RowsTable(FindableTable):
    """A fixed set of rows of text (a report), narrowed with ``/``."""

    def __init__(self, columns: Sequence[str], rows: Iterable[Sequence[object]], **kwargs: Any):
        super().__init__(cursor_type="row", **kwargs)
        self._columns = list(columns)
        self._all = [tuple(str(v) for v in row) for row in rows]
        self._lower = [" ".join(row).lower() for row in self._all]
        self.shown_count = len(self._all)

    @property
    def total(self) -> int:
        return len(self._all)

    def on_mount(self) -> None:
        self.add_columns(*self._columns)
        self.apply_find()

    def apply_find(self) -> None:
        wanted = self.find_text.lower()
        rows = [r for r, low in zip(self._all, self._lower, strict=True) if wanted in low]
        self.clear()
        # Text, not str: a report value holding brackets is not taken for markup.
        self.add_rows([tuple(Text(v) for v in row) for row in rows])
        self.shown_count = len(rows)
