"""A DataTable updated by diff: keyed rows, changed cells only, bounded size; columns
fitted to the pane's width; rows filtered by text and by the subclass's own filters."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.color import Color, ColorParseError
from textual.widget import Widget

from widgets.find_table import FindableTable
from widgets.plain_text import plain

RowT = TypeVar("RowT")
PAD = 1  # DataTable's cell padding, each side


# Entries of each render cache: more rows than a 60-line terminal shows. Not more: DataTable
# makes every added row's renderables (to measure it) and keeps them in that cache, so
# with 256 a filling orders table grew the console by ~4 MB past minute 10 of the soak.
RENDER_CACHE_ROWS = 80


@dataclass(frozen=True, slots=True)
class Col:
    """A column: what it shows and how it gives way when the pane is narrow."""

    key: str
    label: str
    priority: int = 0  # 0 matters most; the highest is dropped first when room runs out
    numeric: bool = False  # right-aligned and never cut: dropped whole instead
    min_width: int = 0  # a text column may shrink to this, with an ellipsis (0: never cut)
    long: bool = False  # long by nature (ids, messages): cut first, widened by what is left
    keep_tail: bool = False  # the ellipsis goes first (ids told apart by their ends)


def fit_columns(
    cols: Sequence[Col], natural: Sequence[int], room: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The columns to show (indexes, in declared order) and their widths in ``room`` cells.

    Columns go in priority order at their natural width (their widest cell or label; a
    ``long`` column only at its ``min_width``) until the next one does not fit; the lowest
    priorities are dropped whole. A dropped column comes back if it
    fits in the room left at its ``min_width``, cut with an ellipsis. The room still left
    widens the cut columns, most important first.
    """
    if room <= 0:  # not laid out yet: everything at its natural width
        return tuple(range(len(cols))), tuple(natural)

    def least(i: int) -> int:
        col = cols[i]
        return natural[i] if col.numeric or not col.min_width else min(natural[i], col.min_width)

    def soft(i: int) -> int:
        return least(i) if cols[i].long else natural[i]

    ranked = sorted(range(len(cols)), key=lambda i: (cols[i].priority, i))
    widths: dict[int, int] = {}
    spare = room
    for i in ranked:
        if soft(i) + 2 * PAD > spare:
            break
        widths[i] = soft(i)
        spare -= soft(i) + 2 * PAD
    if not widths:  # the first column alone is wider than the pane: it alone, cropped
        return (ranked[0],), (max(1, min(least(ranked[0]), room - 2 * PAD)),)
    for i in ranked[len(widths) :]:
        if least(i) + 2 * PAD <= spare:
            widths[i] = least(i)
            spare -= least(i) + 2 * PAD
    for i in ranked:
        if i in widths:
            grow = max(0, min(natural[i] - widths[i], spare))
            widths[i] += grow
            spare -= grow
    order = tuple(sorted(widths))
    return order, tuple(widths[i] for i in order)


def fit_text(text: Text, width: int, keep_tail: bool = False) -> Text:
    """``text`` cut to ``width`` cells with an ellipsis at its end (or at its start)."""
    if text.cell_len <= width:
        return text
    if width <= 1:
        return Text("…"[:width], style=text.style, justify=text.justify)
    if keep_tail:
        fitted = text[len(text.plain) - (width - 1) :]
        while fitted.cell_len > width - 1:  # wide characters
            fitted = fitted[1:]
        return Text.assemble(Text("…", style=text.style), fitted, justify=text.justify)
    fitted = text.copy()
    fitted.truncate(width, overflow="ellipsis")
    return fitted


class KeyedTable[RowT](FindableTable):
    """A table of rows identified by a key; ``set_rows`` applies only what changed.

    Subclasses declare ``COLUMNS`` and implement ``row_key`` and ``cells``. The table keeps
    every row it was given (up to MAX_ROWS) and shows those its filters accept: ``/``
    finds text in any column, shown or not; subclasses add their own filters through
    ``accepts`` and ``filter_parts``. Columns are fitted to the pane's width: the most
    important first, numbers right-aligned and never cut (a column that does not fit is
    dropped whole, lowest priority first), long text cut with an ellipsis.
    """

    COLUMNS: ClassVar[tuple[Col, ...]] = ()
    MAX_ROWS: ClassVar[int] = 500
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "clear_filters", "All", tooltip="Clear every filter", id="table.clear"),
    ]

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
        self._all: dict[str, RowT] = {}  # every row kept, oldest first
        self._cells: dict[str, tuple[Any, ...]] = {}  # all cells of each shown row
        self._rows: dict[str, RowT] = {}
        self._order: list[str] = []
        self._found: dict[str, tuple[RowT, str]] = {}  # row -> its text, for finding
        self._natural = [len(c.label) for c in self.COLUMNS]
        self._shown: tuple[int, ...] = ()
        self._widths: tuple[int, ...] = ()
        self._title = str(self.BORDER_TITLE or "")

    def on_mount(self) -> None:
        self._layout(force=True)
        self.theme_changed()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.theme_changed())

    def on_resize(self) -> None:
        self._layout()

    def theme_changed(self) -> None:
        """Re-render cells whose style comes from the theme."""
        self._cells.clear()
        self._order.clear()
        self._rows.clear()
        super().clear()
        self._show()

    # -- to implement -------------------------------------------------------------
    def row_key(self, row: RowT) -> str:
        raise NotImplementedError

    def cells(self, row: RowT) -> tuple[Any, ...]:
        raise NotImplementedError

    def accepts(self, row: RowT) -> bool:
        """Whether the subclass's own filters let ``row`` through."""
        return True

    def filter_parts(self) -> list[str]:
        """The subclass's filters that are on, a few words each (shown in the title)."""
        return []

    def reset_filters(self) -> None:
        """Turn the subclass's filters back to their defaults."""

    def evictable(self, row: RowT) -> bool:
        """Whether ``row`` may go first when more than MAX_ROWS are kept (closed ones)."""
        return True

    # -- data ---------------------------------------------------------------------
    @property
    def rows_data(self) -> list[RowT]:
        """The rows shown, in display order."""
        return [self._rows[k] for k in self._order]

    @property
    def all_rows(self) -> list[RowT]:
        """Every row kept, shown or filtered out, oldest first."""
        return list(self._all.values())

    @property
    def shown_columns(self) -> list[str]:
        """Keys of the columns on display, left to right."""
        return [self.COLUMNS[i].key for i in self._shown]

    def row_at_cursor(self) -> RowT | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self._rows.get(key) if key is not None else None

    def set_rows(self, rows: Iterable[RowT]) -> None:
        """Keep exactly ``rows`` (the last MAX_ROWS); show those the filters accept."""
        self._all = {self.row_key(r): r for r in rows}
        self._bound()
        self._show()

    def upsert(self, rows: Sequence[RowT]) -> None:
        """Add or update ``rows``, keeping the others; beyond MAX_ROWS the oldest go, closed
        ones first (a backtest's burst of finished orders never pushes out a working one)."""
        for row in rows:
            self._all[self.row_key(row)] = row
        self._bound()
        self._show()

    def _bound(self) -> None:
        over = len(self._all) - self.MAX_ROWS
        if over <= 0:
            return
        # Closed rows the filters hide go first, then closed rows, then the oldest.
        hidden = [k for k, r in self._all.items() if self.evictable(r) and not self.accepts(r)]
        drop = dict.fromkeys(hidden[:over])
        for group in (
            (k for k, r in self._all.items() if self.evictable(r)),
            iter(self._all),
        ):
            for key in group:
                if len(drop) >= over:
                    break
                drop[key] = None
        for key in drop:
            del self._all[key]
            self._found.pop(key, None)

    def refilter(self) -> None:
        """Show the rows the filters accept now (call after changing a filter)."""
        self._show()

    def apply_find(self) -> None:
        self._show()

    def _text_of(self, key: str, row: RowT) -> str:
        cached = self._found.get(key)
        if cached is not None and cached[0] is row:
            return cached[1]
        cells = self.cells(row)
        text = " ".join(c.plain if isinstance(c, Text) else str(c) for c in cells).lower()
        self._found[key] = (row, text)
        return text

    def _matches(self, key: str, row: RowT) -> bool:
        if not self.accepts(row):
            return False
        return not self.find_text or self.find_text.lower() in self._text_of(key, row)

    def _show(self) -> None:
        new = {k: r for k, r in self._all.items() if self._matches(k, r)}
        order = list(new)
        stale = [k for k in self._order if k not in new]
        if order[: len(self._order)] != [k for k in self._order if k in new] or (
            stale and len(stale) * 2 > len(self._order)
        ):
            self._rebuild(order, new)
        else:
            for key in stale:  # rare: a few rows gone; remove_row is O(n)
                self.remove_row(key)
                self._order.remove(key)
                del self._cells[key], self._rows[key]
            self._apply(order, new)
        self._update_title(len(order))

    def _update_title(self, shown: int) -> None:
        parts = self.filter_parts()
        if self.find_text:
            parts.append(f"/{self.find_text}")
        if shown < len(self._all):
            parts.append(f"{shown} of {len(self._all)}")
        title = " · ".join([self._title, *parts]) if parts else self._title
        if title != self.border_title:
            self.border_title = title

    # -- columns ------------------------------------------------------------------
    def _room(self) -> int:
        # The vertical scrollbar's column stays free: it comes and goes with the rows.
        width = self.scrollable_content_region.width
        return width - 1 if width > 1 else width

    def _layout(self, force: bool = False) -> None:
        """Fit the columns to the pane; rebuild the columns when the fit changed."""
        room = self._room()
        if room <= 0 and not force:
            return  # hidden (a tab not shown): fitted once it shows
        shown, widths = fit_columns(self.COLUMNS, self._natural, room)
        if not force and (shown, widths) == (self._shown, self._widths):
            return
        self._shown, self._widths = shown, widths
        cursor = self.cursor_row
        super().clear(columns=True)
        for i, width in zip(shown, widths, strict=True):
            col = self.COLUMNS[i]
            label = fit_text(Text(col.label, justify="right" if col.numeric else None), width)
            self.add_column(label, width=width, key=col.key)
        for key in self._order:
            self.add_row(*self._display(self._cells[key]), key=key)
        if self._order:
            self.move_cursor(row=min(max(cursor, 0), len(self._order) - 1))

    def _measure(self, cells: tuple[Any, ...]) -> bool:
        """Widen the natural widths to fit ``cells``; True if one grew."""
        grew = False
        natural = self._natural
        for i, cell in enumerate(cells):
            width = cell.cell_len if isinstance(cell, Text) else len(str(cell))
            if width > natural[i]:
                natural[i] = width
                grew = True
        return grew

    def _display(self, cells: tuple[Any, ...]) -> list[Text]:
        """The shown columns' cells as Text fitted to their widths (a str cell is plain
        text, not markup: an id with brackets shows as it is)."""
        out = []
        for i, width in zip(self._shown, self._widths, strict=True):
            col = self.COLUMNS[i]
            cell = cells[i]
            text = cell if isinstance(cell, Text) else Text(str(cell))
            if col.numeric and text.justify != "right":
                text = text.copy()
                text.justify = "right"
            out.append(fit_text(text, width, col.keep_tail))
        return out

    def _rebuild(self, order: list[str], new: dict[str, RowT]) -> None:
        cursor = self.cursor_row
        super().clear()
        self._cells = {k: self._safe_cells(new[k]) for k in order}
        self._rows = dict(new)
        self._order = list(order)
        self._natural = [len(c.label) for c in self.COLUMNS]
        for cells in self._cells.values():
            self._measure(cells)
        room = self._room()
        if room > 0 and fit_columns(self.COLUMNS, self._natural, room) != (
            self._shown,
            self._widths,
        ):
            self._layout(force=True)  # adds the rows too
        else:
            for key in order:
                self.add_row(*self._display(self._cells[key]), key=key)
        if order:
            self.move_cursor(row=min(max(cursor, 0), len(order) - 1))

    def _apply(self, order: list[str], new: dict[str, RowT]) -> None:
        grew = False
        for key in order:
            cells = self._safe_cells(new[key])
            old = self._cells.get(key)
            if old is None:
                grew |= self._measure(cells)
                self.add_row(*self._display(cells), key=key)
                self._order.append(key)
            elif old != cells:
                grew |= self._measure(cells)
                shown = self._display(cells)
                for j, i in enumerate(self._shown):
                    if old[i] != cells[i]:
                        self.update_cell(key, self.COLUMNS[i].key, shown[j])
            self._cells[key] = cells
            self._rows[key] = new[key]
        if grew:
            self._layout()  # a wider number must not be cut: refit (rarely changes)

    # -- actions ------------------------------------------------------------------
    def action_clear_filters(self) -> None:
        self.find_text = ""
        self.reset_filters()
        self._show()

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
        short = width - 2 * pad - cell.cell_len
        if cell.justify == "right" and short > 0:  # as Rich justifies: spaces before
            cell = cell.copy()
            cell.pad_left(short)
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
