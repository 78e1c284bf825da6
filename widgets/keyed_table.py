"""A DataTable updated by diff: keyed rows, changed cells only, bounded size."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, TypeVar

from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.color import Color, ColorParseError
from textual.widget import Widget
from textual.widgets import DataTable

from widgets.plain_text import plain

RowT = TypeVar("RowT")


RENDER_CACHE_ROWS = 256  # more than a tall terminal shows


class KeyedTable[RowT](DataTable[Any]):
    """A table of rows identified by a key; ``set_rows`` applies only what changed.

    Subclasses declare ``COLUMNS`` (key, label) and implement ``row_key`` and ``cells``.
    """

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()
    MAX_ROWS: ClassVar[int] = 500

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        # DataTable keys its render caches by an update counter, so every update leaves the
        # old entries behind until the LRU bound evicts them: 10,000 cells and 1,000 lines
        # and rows a table, ~8 MB each once full. Over a trading hour that was most of the
        # console's growth (60 to 111 MB in 31 minutes). A screenful is all they need.
        self._row_render_cache = LRUCache(RENDER_CACHE_ROWS)
        self._cell_render_cache = LRUCache(RENDER_CACHE_ROWS * 8)
        self._row_renderable_cache = LRUCache(RENDER_CACHE_ROWS)
        self._line_cache = LRUCache(RENDER_CACHE_ROWS)
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
        self._cells = {k: self._safe_cells(new[k]) for k in order}
        self._rows = dict(new)
        self._order = list(order)
        for key in order:
            self.add_row(*self._cells[key], key=key)
        if order:
            self.move_cursor(row=min(max(cursor, 0), len(order) - 1))

    def _apply(self, order: list[str], new: dict[str, RowT]) -> None:
        for key in order:
            cells = self._safe_cells(new[key])
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

    def _safe_cells(self, row: RowT) -> tuple[Any, ...]:
        # DataTable reads a str cell as markup: a node's "[/]" would raise, "[blink]" would
        # style, and control sequences would reach the terminal. Cells show their text.
        return tuple(_safe(cell) if isinstance(cell, str) else cell for cell in self.cells(row))

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """One-line text cells rendered straight to segments.

        DataTable renders each cell through Rich's layout machinery (Styled, Padding,
        render_lines): ~100 µs a cell, 13-28 ms a frame for a busy orders pane. For a
        one-line Text cell the result is the same segments, built here in a few µs.
        Anything else (header, labels, taller rows) takes DataTable's path. Uses
        DataTable internals of the Textual pinned in uv.lock; tests/ui/test_keyed_table.py
        checks both paths give the same segments.
        """
        pad = self.cell_padding
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        if (
            row_key is None
            or column_index < 0
            or row_index < self.fixed_rows
            or column_index < self.fixed_columns
            or self.rows[row_key].height != 1
            or width <= 2 * pad
        ):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cell = self._get_row_renderables(row_index).cells[column_index]
        if not isinstance(cell, Text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre_style = (
            base_style + Style.from_meta({"row": row_index, "column": column_index})
        ) + component_style
        console = self.app.console
        # Text.render leaves a span-less text's own style out (Rich's render path adds it).
        segments = (
            list(cell.render(console))
            if cell.spans
            else [Segment(cell.plain, console.get_style(cell.style, default=Style.null()))]
        )
        text = Segment.adjust_line_length(segments, width - 2 * pad)
        edge = [Segment(" " * pad)] if pad else []
        return [list(Segment.apply_style([*edge, *text, *edge], pre_style, post_style))]

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


def _safe(text: str) -> str:
    text = plain(text)
    return escape(text) if "[" in text else text
