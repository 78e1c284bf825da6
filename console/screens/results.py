"""A run's results: statistics and each report as a table, one tab each (1-9, [ and ]);
/ narrows the tab's table to the rows holding a text."""

from __future__ import annotations

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from console.services import RunResults, Services
from widgets.find_table import FindableTable, RowsTable
from widgets.key_bar import KeyBar


class ResultsScreen(Screen[None]):
    """Statistics and reports (fills, positions, account) of a node's run: its latest
    first, then earlier or later ones with p and n."""

    BINDINGS = [
        Binding(
            "escape,q",
            "app.pop_screen",
            "Back",
            tooltip="Back to the main screen",
            id="results.back",
        ),
        Binding(
            "p", "step(-1)", "Earlier run", tooltip="The node's run before this one",
            id="results.previous",
        ),
        Binding(
            "n", "step(1)", "Later run", tooltip="The node's run after this one",
            id="results.next",
        ),
        Binding(
            "left_square_bracket", "cycle_tab(-1)", "Prev tab",
            tooltip="The tab before this one (statistics, fills, positions, account)",
            id="results.previous-tab",
        ),
        Binding(
            "right_square_bracket", "cycle_tab(1)", "Next tab",
            tooltip="The tab after this one (statistics, fills, positions, account)",
            id="results.next-tab",
        ),
        Binding(
            "slash", "find", "Find",
            tooltip="Show only the rows of this tab holding a text (Enter applies, Esc clears)",
            id="results.find",
        ),
        *[
            Binding(
                str(i), f"show_tab({i})", f"Tab {i}", show=False,
                tooltip=f"Show tab {i} (the number before its name)", id=f"results.tab-{i}",
            )
            for i in range(1, 10)
        ],
    ]  # fmt: skip

    def __init__(self, services: Services, node_id: str) -> None:
        super().__init__()
        self.services = services
        self.node_id = node_id
        self.results: RunResults | None = None
        self._head = ""
        self._finding: FindableTable | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            f"Results of {self.node_id}: loading…",
            id="results-title",
            classes="screen-title",
            markup=False,
        )
        yield Container(id="results-body")
        yield KeyBar(lead=frozenset(), id="results-keys")
        yield Input(placeholder="text to find; Enter applies, Esc clears", id="results-find")

    def on_mount(self) -> None:
        self._load(None)

    def action_step(self, step: int) -> None:
        shown = self.results
        run_id = shown.neighbour(step) if shown is not None else None
        if run_id is None:
            which = "earlier" if step < 0 else "later"
            self.notify(f"no {which} run of {self.node_id}", severity="information")
            return
        self._load(run_id)

    # -- finding --------------------------------------------------------------------
    def action_find(self) -> None:
        tabs = self.query(TabbedContent)
        if tabs:
            pane = tabs.first().active_pane
            for table in pane.query(FindableTable) if pane else ():
                table.action_find()

    def open_find(self, table: FindableTable) -> Input:
        """Show the find field for ``table`` and focus it at once (typed keys follow)."""
        self._finding = table
        field = self.query_one("#results-find", Input)
        field.value = table.find_text
        field.add_class("-shown")
        self.set_focus(field)
        return field

    @on(Input.Submitted, "#results-find")
    def _found(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_find(event.value)

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.focused is self.query_one("#results-find", Input):
            event.stop()
            self._close_find("")

    def _close_find(self, text: str) -> None:
        self.query_one("#results-find", Input).remove_class("-shown")
        table, self._finding = self._finding, None
        if table is not None:
            table.set_find(text)
            self.set_focus(table)
            self._show_title(table)

    def _show_title(self, table: FindableTable | None = None) -> None:
        head = self._head
        if isinstance(table, RowsTable) and table.find_text:  # first: a long head is cut
            head = f"/{table.find_text}: {table.shown_count} of {table.total} rows · {head}"
        self.query_one("#results-title", Static).update(head)

    def _tab_ids(self) -> list[str]:
        tabs = self.query(TabbedContent)
        return [p.id for p in tabs.first().query(TabPane) if p.id] if tabs else []

    def action_show_tab(self, number: int) -> None:
        ids = self._tab_ids()
        if not 1 <= number <= len(ids):
            self.notify(f"no tab {number}: this run has {len(ids)}", severity="information")
            return
        tabs = self.query_one(TabbedContent)
        tabs.active = ids[number - 1]
        pane = tabs.get_pane(ids[number - 1])
        for table in pane.query(DataTable):
            self.set_focus(table)  # now: keys typed right after go to this tab's table
            self._show_title(table if isinstance(table, FindableTable) else None)

    def action_cycle_tab(self, step: int) -> None:
        ids = self._tab_ids()
        if not ids:
            return
        active = self.query_one(TabbedContent).active
        index = ids.index(active) if active in ids else 0
        self.action_show_tab((index + step) % len(ids) + 1)

    @work(thread=True, exclusive=True)
    def _load(self, run_id: str | None) -> None:
        results = self.services.results(self.node_id, run_id)
        self.app.call_from_thread(self._show_later, results)

    def _show_later(self, results: RunResults | None) -> None:
        self.run_worker(self.show_results(results), exclusive=True, group="show")

    async def show_results(self, results: RunResults | None) -> None:
        title = self.query_one("#results-title", Static)
        if results is None:
            title.update(f"Results of {self.node_id}: no run yet (launch it first)")
            return
        self.results = results
        place = ""
        if results.run_id in results.run_ids:
            place = f" ({results.run_ids.index(results.run_id) + 1} of {len(results.run_ids)})"
        head = f"Results of {results.node_id} · run {results.run_id}{place} · {results.state}"
        if results.error:
            head += f" · {results.error}"
        self._head = head
        title.update(head)
        body = self.query_one("#results-body", Container)
        await body.remove_children()  # the run shown before, if any
        tabs = TabbedContent(id="results-tabs")
        await body.mount(tabs)  # composed when awaited
        stats = RowsTable(
            ("Statistic", "Value"),
            results.stats or [("(none)", "no statistics in this run")],
            id="results-stats",
        )
        await tabs.add_pane(TabPane("1 Statistics", stats, id="tab-stats"))
        for number, report in enumerate(results.reports, 2):
            table = RowsTable(report.columns, report.rows, id=f"report-{report.name}")
            label = f"{number} {report.name}" + (" (first rows)" if report.truncated else "")
            await tabs.add_pane(TabPane(label, table, id=f"tab-{report.name}"))
        stats.focus()
