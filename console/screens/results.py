"""A run's results: statistics and each report as a table."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from console.services import RunResults, Services


class ResultsScreen(Screen[None]):
    """Statistics and reports (fills, positions, account) of a node's latest run."""

    BINDINGS = [
        Binding(
            "escape,q",
            "app.pop_screen",
            "Back",
            tooltip="Back to the main screen",
            id="results.back",
        ),
    ]

    def __init__(self, services: Services, node_id: str) -> None:
        super().__init__()
        self.services = services
        self.node_id = node_id

    def compose(self) -> ComposeResult:
        yield Static(
            f"Results of {self.node_id}: loading…",
            id="results-title",
            classes="screen-title",
            markup=False,
        )
        yield Container(id="results-body")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True)
    def _load(self) -> None:
        results = self.services.latest_results(self.node_id)
        self.app.call_from_thread(self._show_later, results)

    def _show_later(self, results: RunResults | None) -> None:
        self.run_worker(self.show_results(results), exclusive=True, group="show")

    async def show_results(self, results: RunResults | None) -> None:
        title = self.query_one("#results-title", Static)
        if results is None:
            title.update(f"Results of {self.node_id}: no run yet (launch it first)")
            return
        head = f"Results of {results.node_id} · run {results.run_id} · {results.state}"
        if results.error:
            head += f" · {results.error}"
        title.update(head)
        tabs = TabbedContent(id="results-tabs")
        await self.query_one("#results-body", Container).mount(tabs)  # composed when awaited
        stats: DataTable[str] = DataTable(cursor_type="row", id="results-stats")
        stats.add_columns("Statistic", "Value")
        stats.add_rows(results.stats or [("(none)", "no statistics in this run")])
        await tabs.add_pane(TabPane("Statistics", stats, id="tab-stats"))
        for report in results.reports:
            table: DataTable[str] = DataTable(cursor_type="row", id=f"report-{report.name}")
            table.add_columns(*report.columns)
            table.add_rows(report.rows)
            label = report.name + (" (first rows)" if report.truncated else "")
            await tabs.add_pane(TabPane(label, table, id=f"tab-{report.name}"))
        stats.focus()
