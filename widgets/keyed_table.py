"""A DataTable updated by diff: keyed rows, changed cells only, bounded size."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, TypeVar

from rich.style import Style
from rich.text import Text
from textual.color import Color, ColorParseError
from textual.widget import Widget
from textual.widgets import DataTable

RowT = TypeVar("RowT")


class KeyedTable[RowT](DataTable[Any]):
    """A table of rows identified by a key; ``set_rows`` applies only what changed.

    Subclasses declare ``COLUMNS`` (key, label) and implement ``row_key`` and ``cells``.
    """

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()
    MAX_ROWS: ClassVar[int] = 500

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._cells: dict[str, tuple[Any, ...]] = {}
        self._rows: dict[str, RowT] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)
        self.theme_changed()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.theme_changed())

    def theme_changed(self) -> None:
        """Re-render cells whose style comes from the theme."""
        rows = [self._rows[k] for k in self._order]
        self._cells.clear()
        self._order.clear()
        self._rows.clear()
        super().clear()
        self.set_rows(rows)

    # -- to implement -------------------------------------------------------------
    def row_key(self, row: RowT) -> str:
        raise NotImplementedError

    def cells(self, row: RowT) -> tuple[Any, ...]:
        raise NotImplementedError

    # -- data ---------------------------------------------------------------------
    @property
    def rows_data(self) -> list[RowT]:
        """The rows shown, in display order."""
        return [self._rows[k] for k in self._order]

    def row_at_cursor(self) -> RowT | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self._rows.get(key) if key is not None else None

    def set_rows(self, rows: Iterable[RowT]) -> None:
        """Show exactly ``rows`` (the last MAX_ROWS), touching only changed cells."""
        wanted = list(rows)[-self.MAX_ROWS :]
        new = {self.row_key(r): r for r in wanted}
        order = list(new)
        stale = [k for k in self._order if k not in new]
        if order[: len(self._order)] != [k for k in self._order if k in new] or (
            stale and len(stale) * 2 > len(self._order)
        ):
            self._rebuild(order, new)
            return
        for key in stale:  # rare: a few rows gone; remove_row is O(n)
            self.remove_row(key)
            self._order.remove(key)
            del self._cells[key], self._rows[key]
        self._apply(order, new)

    def upsert(self, rows: Sequence[RowT]) -> None:
        """Add or update ``rows``, keeping the others; the oldest go beyond MAX_ROWS."""
        merged = dict(self._rows)
        for row in rows:
            merged[self.row_key(row)] = row
        self.set_rows(list(merged.values()))

    def _rebuild(self, order: list[str], new: dict[str, RowT]) -> None:
        cursor = self.cursor_row
        super().clear()
        self._cells = {k: self.cells(new[k]) for k in order}
        self._rows = dict(new)
        self._order = list(order)
        for key in order:
            self.add_row(*self._cells[key], key=key)
        if order:
            self.move_cursor(row=min(max(cursor, 0), len(order) - 1))

    def _apply(self, order: list[str], new: dict[str, RowT]) -> None:
        for key in order:
            cells = self.cells(new[key])
            old = self._cells.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                self._order.append(key)
            elif old != cells:
                for (col, _label), before, after in zip(self.COLUMNS, old, cells, strict=True):
                    if before != after:
                        self.update_cell(key, col, after, update_width=True)
            self._cells[key] = cells
            self._rows[key] = new[key]

    def styled(self, text: str, variable: str) -> Text:
        """``text`` coloured by the theme variable ``variable`` (e.g. ``success``)."""
        return theme_text(self, text, variable)


def theme_text(widget: Widget, text: str, variable: str) -> Text:
    """``text`` in the colour of the app theme's ``variable``; plain if it has none."""
    value = widget.app.theme_variables.get(variable)
    if not value:
        return Text(text)
    try:
        return Text(text, style=Style(color=Color.parse(value).rich_color))
    except ColorParseError:
        return Text(text)
