"""A node's reconciliation: its journal, Nautilus's cache and its venue, side by side.

After a restart or a crash the node host compares the three (``engine.recovery``); when
they differ the node stays HALTED and this screen shows, order by order and position by
position, which source says what. The user accepts the venue's view (``a``, asks first) or
stops the node (``x``, asks first). Everything goes through ``engine.recovery.service``
(the same calls as ``gateway nodes reconcile``) in async workers; a node not running shows
its last run's comparison.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.screens.confirm import ConfirmModal
from engine.principal import Principal
from engine.workspace import Workspace

REFRESH_S = 2.0
WIDE = 120  # from this many columns every row shows its kind and its note in the table
SOURCES = ("journal", "cache", "venue")
# Narrow tables: the statuses that would not fit a source's column.
_SHORT = {"PARTIALLY_FILLED": "PARTIAL", "PENDING_CANCEL": "PEND_CXL", "PENDING_UPDATE": "PEND_UPD"}


def shorten(text: str) -> str:
    for long, short in _SHORT.items():
        text = text.replace(long, short)
    return text


def id_tail(key: str, width: int) -> str:
    """Order ids share their start (the date and trader): a narrow column shows their end."""
    return key if len(key) <= width else "…" + key[-(width - 1) :]


def column_widths(width: int) -> list[tuple[str, int]]:
    """The table's columns for a screen ``width`` columns wide (each cell pads 1 a side).

    Narrow: id, the three sources and agree ("yes"/"NO"); the selected row's whole story
    (and the note) is in the line below the table. Wide: kind and note as columns too."""
    if width < WIDE:
        room = max(40, width - 2 * 5 - 1)
        source = max(10, (room - 3 - 14) // 3)
        return [("id", room - 3 - 3 * source), *((s, source) for s in SOURCES), ("ok", 3)]
    room = width - 2 * 6 - 1
    source = 28
    rest = room - 8 - 3 * source
    return [
        ("what", 8),
        ("id", min(30, rest // 2)),
        *((s, source) for s in SOURCES),
        ("agree", rest - min(30, rest // 2)),
    ]


class ReconcileScreen(Screen[None]):
    """Journal, cache and venue of one node; a accept the venue's view, x stop the node."""

    DEFAULT_CSS = """
    ReconcileScreen #reconcile-state { padding: 0 1; height: auto; }
    ReconcileScreen #reconcile-rows { height: 1fr; }
    ReconcileScreen #reconcile-detail { padding: 0 1; height: auto; }
    ReconcileScreen #reconcile-hint { padding: 0 1; height: auto; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", tooltip="Back to the main screen", id="reconcile.back"),
        Binding(
            "a",
            "accept_venue",
            "Accept venue",
            tooltip="Adopt the venue's view: close what it does not work, trade again (asks)",
            id="reconcile.accept",
        ),
        Binding("x", "stop_node", "Stop node", tooltip="Stop the node (asks)", id="reconcile.stop"),
        Binding("r", "refresh_now", "Refresh", tooltip="Compare again now", id="reconcile.refresh"),
    ]

    def __init__(self, workspace: Workspace, node_id: str, *, follow: bool = True) -> None:
        super().__init__()
        self.workspace = workspace
        self.node_id = node_id
        self.who = Principal.local("console")
        self.follow = follow
        self.loaded = 0  # comparisons shown (tests wait on it)
        self.rows: list[Any] = []
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Static(f"Reconciliation of {self.node_id}", classes="screen-title")
        yield Static("comparing journal, cache and venue...", id="reconcile-state", markup=False)
        yield DataTable(id="reconcile-rows", cursor_type="row")
        yield Static("", id="reconcile-detail", markup=False)
        yield Static("", id="reconcile-hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._layout(self.app.size.width)
        self.query_one(DataTable).focus()
        self.refresh_view()
        if self.follow:
            self.set_interval(REFRESH_S, self.refresh_view)

    def on_resize(self, event: Any) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        if width == self._width:
            return
        self._width = width
        table: DataTable[str] = self.query_one(DataTable)
        table.clear(columns=True)
        for name, w in column_widths(width):
            table.add_column(name, key=name, width=w)
        self._fill()

    def _fill(self) -> None:
        table: DataTable[str] = self.query_one(DataTable)
        keys = [str(k.value) for k in table.columns]
        wide = "what" in keys
        id_width = next((c.width for c in table.columns.values() if c.key.value == "id"), 30)
        with self.app.batch_update():
            table.clear()
            for r in self.rows:
                says = [getattr(r, src) for src in SOURCES]
                if not wide:
                    says = [shorten(x) for x in says]
                cells = {
                    "what": r.kind,
                    "id": r.key if wide else id_tail(r.key, id_width),
                    **dict(zip(SOURCES, says, strict=True)),
                    "ok": "yes" if r.agree else "NO",
                    "agree": "yes" if r.agree else f"NO  {r.note}".rstrip(),
                }
                table.add_row(*(cells[k] for k in keys))
        self._detail()

    def on_data_table_row_highlighted(self, _event: Any) -> None:
        self._detail()

    def _detail(self) -> None:
        detail = self.query_one("#reconcile-detail", Static)
        table: DataTable[str] = self.query_one(DataTable)
        if not self.rows or not 0 <= table.cursor_row < len(self.rows):
            detail.update("")
            return
        r = self.rows[table.cursor_row]
        said = " · ".join(f"{s} {getattr(r, s)}" for s in SOURCES)
        verdict = "agree" if r.agree else f"DIFFER: {r.note}"
        detail.update(f"{r.kind} {r.key}: {said} ({verdict})")

    def action_refresh_now(self) -> None:
        self.refresh_view()

    @work(exclusive=True, group="reconcile-refresh", exit_on_error=False)
    async def refresh_view(self) -> None:
        from engine.recovery import service

        self.show(await service.compare(self.workspace, self.node_id))

    def show(self, outcome: Any) -> None:
        """Render one comparison (``engine.recovery.service.ReconcileOutcome``)."""
        state = self.query_one("#reconcile-state", Static)
        hint = self.query_one("#reconcile-hint", Static)
        result = outcome.result
        self.loaded += 1
        if result is None:
            state.update(outcome.message)
            self.rows = []
            self._fill()
            hint.update("")
            return
        text = "AGREE: " if result.agree else "DIFFER: "
        text += result.summary()
        if outcome.trading_state:
            text += f"  · trading state {outcome.trading_state}"
        if not outcome.running:
            text += f"\n{outcome.message}"
        state.update(text)
        self.rows = [*result.orders, *result.positions]
        self._fill()
        if result.agree:
            hint.update("")
        elif outcome.running:
            hint.update("a: accept the venue's view and trade again · x: stop the node")
        else:
            hint.update("the node is not running: start it to reconcile again")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_accept_venue(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._accept()

        question = (
            f"Adopt the venue's view on {self.node_id}? Orders the venue does not work "
            "are closed on the node, and it trades again once all three agree."
        )
        self.app.push_screen(ConfirmModal(question, yes="Accept venue"), answered)

    @work(group="reconcile-change", exit_on_error=False)
    async def _accept(self) -> None:
        from engine.recovery import service

        outcome = await service.accept_venue(self.workspace, self.node_id, self.who)
        if outcome.ok:
            self.notify(f"{self.node_id}: venue's view accepted; journal, cache and venue agree")
        else:
            self.notify(f"{self.node_id}: {outcome.message}", severity="error")
        self.show(outcome)

    def action_stop_node(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._stop()

        self.app.push_screen(ConfirmModal(f"Stop {self.node_id}?", yes="Stop"), answered)

    @work(group="reconcile-change", exit_on_error=False)
    async def _stop(self) -> None:
        from engine.services.models import StopRequest
        from engine.services.nodes import NodeService

        try:  # audited under the console's user, as every stop from the console
            await NodeService(self.workspace).stop(self.who, self.node_id, StopRequest())
        except Exception as exc:  # shown, never raised into the app
            self.notify(f"{self.node_id}: not stopped: {exc}", severity="error")
            return
        self.notify(f"{self.node_id}: stopped")
        self.refresh_view()
