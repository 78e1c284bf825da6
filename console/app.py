"""The console: a keyboard-driven Textual app over the engine's node manager.

It embeds the engine in-process through :mod:`console.services`, drains the event feed on
a timer (``settings.ui.refresh_hz``) and hands each pane one batch per tick. Blocking
work (config files, validation, Nautilus imports) runs in thread workers.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.theme import Theme

from console.commands import GatewayCommands
from console.errors import LOG_NAME, ErrorLog
from console.feed import FeedState, PaneBatch, step
from console.key_order import KeyOrderApp
from console.order_desk import OrderDesk
from console.quick_settings import QuickSettings, peek_settings
from console.screens.confirm import ConfirmModal
from console.screens.keys import KeysModal
from console.screens.main import MainScreen
from console.screens.node_form import NodeFormScreen
from console.screens.node_log import NodeLogScreen
from console.screens.quit import QuitChoice, QuitModal
from console.screens.results import ResultsScreen
from console.screens.templates import TemplatePicker
from console.services import LiveNode, Services, Template
from themes.loader import BUILTIN_DIR, BUILTIN_THEMES, DEFAULT_THEME, ThemeLoad, load_themes
from widgets.alerts_table import AlertsTable
from widgets.data import NodeRow
from widgets.event_log import EventLog
from widgets.metrics_pane import MetricsPane
from widgets.node_list import EMPTY_HINT, NodeList
from widgets.orders_table import OrdersTable
from widgets.positions_table import PositionsTable

if TYPE_CHECKING:
    from console.settings import SettingsLoad
    from engine.config.issues import ConfigIssue
    from engine.watch import RunState, WorkspaceChange

CSS_FILE = BUILTIN_DIR / "console.tcss"
LIVE_POLL_S = 2.0
# A drain this large is a burst: the panes then update on every third tick (about 3 Hz),
# which left keystrokes the loop time that repainting them took at 100k events/s.
BURST_EVENTS = 2_000
BURST_REST_TICKS = 2


class GatewayApp(KeyOrderApp):
    """nautilus-gateway's console."""

    TITLE = "nautilus-gateway"
    CSS_PATH = str(CSS_FILE)
    COMMANDS = App.COMMANDS | {GatewayCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            tooltip="Quit (asks about live nodes)",
            priority=True,
            id="app.quit",
        ),
        Binding(
            "ctrl+c",
            "help_quit",
            show=False,
            system=True,
            tooltip="How to quit",
            id="app.help-quit",
        ),
        Binding(
            "ctrl+p",
            "command_palette",
            "Commands",
            priority=True,
            show=False,
            tooltip="Every action, searchable",
            id="app.palette",
        ),
        Binding(
            "question_mark", "show_keys", "Keys", tooltip="Keys of the focused pane", id="app.keys"
        ),
        Binding(
            "ctrl+t", "cycle_theme", "Theme", tooltip="Next theme (remembered)", id="app.theme"
        ),
        Binding(
            "b",
            "order('BUY')",
            "Buy",
            tooltip="Open a buy ticket for the selected running sandbox/live node",
            id="app.order-buy",
        ),
        Binding(
            "s",
            "order('SELL')",
            "Sell",
            tooltip="Open a sell ticket for the selected running sandbox/live node",
            id="app.order-sell",
        ),
        Binding(
            "ctrl+k",
            "kill_switch",
            "Kill switch",
            show=False,  # not priority: in a text field ctrl+k deletes to the end of the line
            tooltip="Kill switch: flatten every running node, then halt it (asks once)",
            id="app.kill-switch",
        ),
        Binding(
            "A",
            "adapters",
            "Adapters",
            show=False,
            tooltip="Venue adapter profiles and their credentials",
            id="app.adapters",
        ),
        Binding(
            "ctrl+r",
            "risk",
            "Risk",
            show=False,
            tooltip="Trading state and risk limits of the selected node",
            id="app.risk",
        ),
        Binding(
            "ctrl+e",
            "reconcile",
            "Reconcile",
            show=False,
            tooltip="Journal, cache and venue of the selected node, compared after a restart",
            id="app.reconcile",
        ),
    ]

    def __init__(
        self,
        services: Services,
        *,
        settings: SettingsLoad | None = None,
        settings_path: Path | None = None,
        themes: ThemeLoad | None = None,
        clock: Callable[[], float] = time.time,
        watch_feed: bool = True,
        notices: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.services = services
        self.error_log = ErrorLog(services.workspace.root / "logs" / LOG_NAME)
        # Validated settings (pydantic), or None until the worker after the first paint
        # has read them; ``settings`` holds what the panes use meanwhile.
        self.settings_load: SettingsLoad | None = settings
        if settings is not None:
            self.settings = settings.settings.quick()
        elif settings_path is not None:
            self.settings = peek_settings(settings_path)
        else:
            self.settings = QuickSettings()
        self.settings_path = settings_path
        self.theme_load = themes or load_themes()
        self.clock = clock
        self.watch_feed = watch_feed
        self.notices = tuple(notices)  # shown once the screen is up (e.g. "gateway migrate")
        self.feed_state = FeedState()
        self.configs: list[NodeRow] = []
        self.live: dict[str, LiveNode] = {}
        self.runs: dict[str, RunState] = {}  # each node's latest run, from the workspace watcher
        self.node_rows: list[NodeRow] = []
        self.events_in = 0  # envelopes drained from the feed (the ingest benchmark reads it)
        self._folding: asyncio.Task[None] | None = None
        self._rest_ticks = 0  # ticks left to skip after a burst
        self.nodes_loaded = 0  # how many times the node list was loaded (tests wait on it)
        self.workspace_seen = 0  # workspace changes applied, the first scan included (same)
        self._main = MainScreen(self.settings.max_lines)
        self.orders = OrderDesk(self)
        for theme in self.theme_load.themes:
            self.register_theme(theme)

    # -- start-up -----------------------------------------------------------------
    def on_mount(self) -> None:
        self.set_keymap(self.settings.keymap)
        self.theme = self._initial_theme()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.push_screen(self._main)
        for error in self.theme_load.errors:
            self.notify(f"theme file skipped: {error}", severity="warning", timeout=10)
        for notice in self.notices:
            self.notify(notice, timeout=15)
        if self.settings_load is not None:
            self._settings_checked(self.settings_load)
        elif self.settings_path is not None:
            self.call_after_refresh(self._check_settings)
        # File names only, on the loop (a directory listing): rows in the first paint. The
        # full load (pydantic, validation) follows in a worker once the screen is up.
        self._set_configs(self.services.scan_nodes(), loaded=False)
        self.call_after_refresh(self.refresh_nodes)
        self.call_after_refresh(
            lambda: self.run_worker(self._attach_and_poll(), group="live", exit_on_error=False)
        )
        if self.watch_feed:
            self.set_interval(1 / self.settings.refresh_hz, self._tick)
        self.set_interval(1.0, self._refresh_rows)

    def _initial_theme(self) -> str:
        wanted = self.settings.theme
        if wanted in self.available_themes:
            return wanted
        self.notify(
            f"theme {wanted!r} is not available (a bad or missing theme file?); "
            f"using {DEFAULT_THEME}",
            severity="warning",
            timeout=10,
        )
        return DEFAULT_THEME

    @property
    def main(self) -> MainScreen:
        return self._main

    # -- nodes --------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="nodes")
    def refresh_nodes(self) -> None:
        """Reload the node configs (files: off the loop) and show them."""
        rows = self.services.list_nodes()
        self.call_from_thread(self._set_configs, rows)

    def _set_configs(self, rows: list[NodeRow], loaded: bool = True) -> None:
        self.configs = rows
        self.nodes_loaded += loaded
        self._refresh_rows()
        if loaded and self.nodes_loaded == 1:
            # Start-up is over (screen, widgets, config models): move what it made out of
            # the collector's way. Full collections then scan only what came after: under
            # 100k events/s the longest pause fell from 41 ms to 17 ms.
            self.call_after_refresh(gc.freeze)

    async def _attach_and_poll(self) -> None:
        """Attach to running hosts, then poll their states (the next poll only after this
        one finished, so a slow poll never piles up)."""
        try:
            attached = await self.services.open()
        except Exception as exc:  # the console works without the manager (configs only)
            self.notify(f"cannot reach running nodes: {exc}", severity="error")
            return
        if attached:
            self.notify(f"attached to running node(s): {', '.join(attached)}")
        self.run_worker(self._follow_workspace(), group="watch", exit_on_error=False)
        while True:
            try:
                live = await self.services.live_nodes()
            except Exception as exc:
                self.log.warning(f"listing live nodes failed: {exc}")
            else:
                if {n.node_id: n for n in live} != self.live:
                    self.live = {n.node_id: n for n in live}
                    self._refresh_rows()
            await asyncio.sleep(LIVE_POLL_S)

    async def _follow_workspace(self) -> None:
        """Follow what other processes change: configs (CLI, editors) and runs (a
        supervisor's restart, a launch from the CLI or another console)."""
        async for change in self.services.watch():
            self._workspace_changed(change)

    def _workspace_changed(self, change: WorkspaceChange) -> None:
        if change.initial:  # what the watcher saw first, against what the list shows
            shown = {(r.node_id, r.mode) for r in self.configs}
            configs_changed = set(change.configs_added) != shown
        else:
            configs_changed = change.configs
        if configs_changed:
            self.refresh_nodes()
        for run in change.runs:
            self.runs[run.node_id] = run
        for node_id in change.runs_removed:
            self.runs.pop(node_id, None)
        if change.runs or change.runs_removed:
            self._refresh_rows()
        self.workspace_seen += 1

    def _refresh_rows(self) -> None:
        now = self.clock()
        rows = []
        for row in self.configs:
            status = self.feed_state.nodes.get(row.node_id)
            live = self.live.get(row.node_id)
            run = self.runs.get(row.node_id)
            if (
                run is not None
                and run.mode == row.mode
                and (status is None or status.run_id < run.run_id)
            ):
                # A run whose events have not come (yet): its meta says how it stands.
                end = run.ended_s if run.terminal and run.ended_s else now
                row = NodeRow(
                    row.node_id,
                    row.mode,
                    run.state if row.state != "invalid" else "invalid",
                    uptime_s=max(0.0, end - run.started_s) if run.started_s else None,
                    run_id=run.run_id,
                    problem=row.problem,
                )
            elif status is None and live is not None and live.mode == row.mode:
                uptime = live.uptime_s
                row = NodeRow(
                    row.node_id,
                    row.mode,
                    live.state,
                    uptime_s=uptime,
                    run_id=live.run_id,
                    problem=row.problem,
                )
            elif status is not None and status.mode in (None, row.mode):
                state = status.state
                if status.progress is not None and state == "running":
                    state = f"running {status.progress:.0%}"
                end = status.until_ns / 1e9 if status.until_ns else now  # an ended run's stays
                uptime = end - status.since_ns / 1e9 if status.since_ns else None
                row = NodeRow(
                    row.node_id,
                    row.mode,
                    state if row.state != "invalid" else "invalid",
                    uptime_s=max(0.0, uptime) if uptime is not None else None,
                    pnl=status.pnl,
                    open_orders=self.feed_state.open_orders(row.node_id),
                    run_id=status.run_id,
                    problem=row.problem,
                )
            rows.append(row)
        self.node_rows = rows
        for node_list in self._main.query(NodeList):  # none until the screen is composed
            node_list.set_rows(rows)
            # Said only once the configs are read: an empty list while loading is no news.
            node_list.border_subtitle = EMPTY_HINT if not rows and self.nodes_loaded else ""
            self._main.update_scope()  # "this node", "this run": the orders/positions filters

    def show_pane(self, pane_id: str) -> None:
        self.main.action_show_pane(pane_id)

    def event_log_action(self, action: str) -> None:
        self.show_pane("events")
        getattr(self.main.query_one(EventLog), f"action_{action}")()

    def node_action(self, action: str, row: NodeRow | None) -> None:
        """Run a node action (from the node list's keys or the command palette)."""
        if action == "create":
            self._pick_template()
            return
        if row is None:
            self.notify("no node selected: create one with n", severity="warning")
            return
        if action == "edit":
            self._edit(row)
        elif action == "validate":
            self._validate(row)
        elif action == "delete":
            self._confirm_delete(row)
        elif action == "log":
            self.push_screen(NodeLogScreen(self.services, row.node_id))
        elif action == "results":
            self.push_screen(ResultsScreen(self.services, row.node_id))
        elif action in {"launch", "stop", "restart"}:
            self.run_worker(self._control(action, row), group="control", exit_on_error=False)

    @work(thread=True, group="templates")
    def _pick_template(self) -> None:
        templates = self.services.templates()
        self.call_from_thread(self.push_screen, TemplatePicker(templates), self._template_picked)

    def _template_picked(self, template: Template | None) -> None:
        if template is None:
            return
        doc = dict(template.doc)
        taken = {r.node_id for r in self.configs}
        base, n = doc["node_id"], 1
        while f"{base}-{n}" in taken:
            n += 1
        doc["node_id"] = f"{base}-{n}"
        self.push_screen(NodeFormScreen(self.services, doc, new=True), self._form_closed)

    @work(thread=True, group="load")
    def _edit(self, row: NodeRow) -> None:
        try:
            doc = self.services.load_doc(row.node_id, row.mode)
        except (OSError, ValueError) as exc:
            self.call_from_thread(
                self.notify, f"cannot open {row.node_id}: {exc}", severity="error"
            )
            return
        self.call_from_thread(
            self.push_screen, NodeFormScreen(self.services, doc, new=False), self._form_closed
        )

    def _form_closed(self, saved: str | None) -> None:
        if saved:
            self.refresh_nodes()

    @work(thread=True, group="validate")
    def _validate(self, row: NodeRow) -> None:
        self.call_from_thread(self.notify, f"validating {row.node_id}…", timeout=2)
        try:
            doc = self.services.load_doc(row.node_id, row.mode)
            issues = self.services.check(doc, deep=True)
        except (OSError, ValueError) as exc:
            from engine.config.issues import ConfigIssue

            issues = [ConfigIssue("", str(exc))]
        self.call_from_thread(self._validated, row, issues)

    def _validated(self, row: NodeRow, issues: list[ConfigIssue]) -> None:
        errors = [i for i in issues if i.severity == "error"]
        if not issues:
            self.notify(f"{row.node_id}: valid")
            return
        text = "\n".join(i.render() for i in issues[:6])
        more = f"\n… {len(issues) - 6} more (e: edit)" if len(issues) > 6 else ""
        self.notify(
            f"{row.node_id}: {len(errors)} error(s), {len(issues) - len(errors)} warning(s)\n"
            f"{text}{more}",
            severity="error" if errors else "warning",
            timeout=12,
        )

    def _confirm_delete(self, row: NodeRow) -> None:
        if row.live:
            self.notify(f"{row.node_id} is {row.state}: stop it first", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(row)

        self.push_screen(
            ConfirmModal(
                f"Delete node {row.node_id} ({row.mode})? Its runs are kept.", "Delete", "Keep"
            ),
            answered,
        )

    @work(thread=True, group="delete")
    def _delete(self, row: NodeRow) -> None:
        from engine.services.errors import ServiceError

        try:
            self.services.delete(row.node_id, row.mode)
        except ServiceError as exc:  # deleted, but its audit entry could not be written
            self.call_from_thread(self.notify, exc.message, severity="warning", markup=False)
        except (OSError, KeyError, ValueError) as exc:
            self.call_from_thread(self.notify, f"not deleted: {exc}", severity="error")
            return
        self.call_from_thread(self.notify, f"deleted {row.node_id} ({row.mode})")
        self.call_from_thread(self.refresh_nodes)

    async def _control(self, action: str, row: NodeRow) -> None:
        try:
            if action in {"stop", "restart"}:
                await self.services.stop(row.node_id)
                self.notify(f"stopping {row.node_id}")
            if action in {"launch", "restart"}:
                run_id = await self.services.launch(row.node_id, row.mode)
                self.notify(f"launched {row.node_id} (run {run_id})")
        except Exception as exc:
            self.notify(f"cannot {action} {row.node_id}: {exc}", severity="error", timeout=10)

    # -- events -------------------------------------------------------------------
    def _tick(self) -> None:
        # On the loop, not in a thread: measured, a folding thread (and, later, a thread
        # decoding the channels) fighting the UI for the GIL made keystrokes slower. The
        # fold runs as a task in steps instead, so a key is handled between two steps.
        if self._folding is not None and not self._folding.done():
            return  # the last burst is still being folded; what arrived meanwhile waits
        if self._rest_ticks:
            self._rest_ticks -= 1
            return
        feed = self.services.feed()
        drained = feed.drain() if feed is not None else None
        if drained is not None and drained.failed:
            self.notify(
                "events missed and not re-read from the journal (panes may be stale; "
                "restart the console to re-read): " + "; ".join(drained.failed[:3]),
                severity="error",
                timeout=15,
            )
        if drained is not None and (drained.envelopes or drained.missed):
            if len(drained.envelopes) >= BURST_EVENTS:
                # A firehose: repainting the panes costs more than folding, and nobody reads
                # thousands of lines a second, so the panes change less often meanwhile.
                self._rest_ticks = BURST_REST_TICKS
            self._folding = asyncio.get_running_loop().create_task(
                self._fold(drained.envelopes, drained.missed)
            )
            self._folding.add_done_callback(self._fold_done)

    def _fold_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            # A bug in the fold must show, not vanish with its task.
            self.log.error(f"event fold failed: {exc!r}")
            self.notify(f"event display failed: {exc!r}", severity="error", timeout=10)

    async def _fold(self, envelopes: list[Any], missed: int) -> None:
        self.events_in += len(envelopes)
        folding = self.feed_state.folding(envelopes, missed)
        while (batch := step(folding)) is None:  # noqa: ASYNC110 (a turn, not a wait)
            await asyncio.sleep(0)
        if batch:
            for _pane in self.applying(batch):
                await asyncio.sleep(0)  # a key waits for one pane's update, not all six

    def ingest(self, envelopes: list[Any], missed: int = 0) -> PaneBatch:
        """Apply one batch of envelopes to every pane (one call per tick)."""
        self.events_in += len(envelopes)
        batch = self.feed_state.apply(envelopes, missed)
        if batch:
            self.apply_batch(batch)
        return batch

    def apply_batch(self, batch: PaneBatch) -> None:
        for _pane in self.applying(batch):
            pass

    def applying(self, batch: PaneBatch) -> Iterator[str]:
        """Apply ``batch`` pane by pane, yielding each pane's name once it is updated.

        Synchronous between two yields, so no frame shows a half-updated pane.
        """
        main = self.main
        if batch.events or batch.skipped_lines:
            main.query_one(EventLog).add_events(batch.events, batch.skipped_lines)
            yield "events"
        if batch.orders:
            main.query_one(OrdersTable).upsert(batch.orders)
            yield "orders"
        if batch.positions:
            main.query_one(PositionsTable).upsert(batch.positions)
            yield "positions"
        if batch.alerts:
            main.query_one(AlertsTable).set_rows(batch.alerts)
            yield "alerts"
        if batch.metrics:
            main.query_one(MetricsPane).update_snapshots(batch.metrics)
            yield "metrics"
        if batch.nodes or batch.orders:
            self._refresh_rows()
            yield "nodes"
        for node_id, run_id in batch.results:
            self.notify(f"{node_id}: results of run {run_id} are ready (R opens them)")
        if batch.missed:
            self.notify(
                f"{batch.missed} log/metric event(s) skipped to keep up (orders, positions "
                "and risk were re-read from the journal; the journal has all)",
                severity="warning",
            )

    # -- orders and adapters ----------------------------------------------------------
    def action_order(self, side: str) -> None:
        """Open a ticket for the focused node (b: buy, s: sell)."""
        self.orders.open_ticket(side)

    def order_from_line(self, line: str) -> None:
        """Open a ticket pre-filled from one line of order syntax (the palette)."""
        side = line.strip().split(" ", 1)[0].upper()
        self.orders.open_ticket(side if side in {"BUY", "SELL"} else "BUY", line.strip())

    def action_risk(self) -> None:
        """The selected node's risk view (ctrl+r)."""
        from console.screens.risk import RiskScreen

        node_id = self.orders.focused_node_id()
        if node_id is None:
            self.notify("no node selected", severity="warning")
            return
        self.push_screen(RiskScreen(self.services.workspace, node_id))

    def action_reconcile(self) -> None:
        """The selected node's reconciliation view (ctrl+e)."""
        from console.screens.reconcile import ReconcileScreen

        node_id = self.orders.focused_node_id()
        if node_id is None:
            self.notify("no node selected", severity="warning")
            return
        self.push_screen(ReconcileScreen(self.services.workspace, node_id))

    def action_kill_switch(self) -> None:
        """Ask once; then on every running node: no new exposure, flatten, HALTED (ctrl+k)."""
        self.orders.kill_switch()

    def action_adapters(self) -> None:
        from console.screens.adapters import AdaptersScreen
        from engine.adapters.service import AdapterService

        self.push_screen(AdaptersScreen(AdapterService(self.services.workspace)))

    # -- keys, themes, settings ------------------------------------------------------
    def action_show_keys(self) -> None:
        screen = self.screen
        pane = screen.focused_pane() if isinstance(screen, MainScreen) else None
        rows: list[tuple[str, str, str, str, str]] = []
        for key, active in self.active_bindings.items():
            node = active.node
            scope = (
                "app"
                if isinstance(node, App)
                else (
                    "screen"
                    if isinstance(node, Screen)
                    else (pane.id if pane else "pane") or "pane"
                )
            )
            binding = active.binding
            if binding.system or not binding.id:
                continue  # Textual's own navigation keys; ours all have ids
            rows.append(
                (
                    scope,
                    self.get_key_display(binding) or key,
                    binding.id,
                    binding.description,
                    active.tooltip or binding.tooltip,
                )
            )
        order = {"app": 2, "screen": 1}
        rows.sort(key=lambda r: (order.get(r[0], 0), r[2], r[1]))
        title = f"Keys · {pane.id} pane" if pane is not None else "Keys"
        self.push_screen(KeysModal(title, rows))

    def action_cycle_theme(self) -> None:
        names = [n for n in BUILTIN_THEMES if n in self.available_themes]
        names += sorted(t.name for t in self.theme_load.themes if t.name not in BUILTIN_THEMES)
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    @work(thread=True, exclusive=True, group="settings")
    def _check_settings(self) -> None:
        from console.settings import load_settings

        assert self.settings_path is not None
        self.call_from_thread(self._settings_checked, load_settings(self.settings_path))

    def _settings_checked(self, load: SettingsLoad) -> None:
        self.settings_load = load
        if load.error is None:
            return
        self.notify(
            f"{load.source}: {len(load.problems)} problem(s); those entries use defaults "
            "(the file is left as is):\n" + "\n".join(f"• {p}" for p in load.problems),
            severity="error",
            timeout=30,
        )
        checked = load.settings.quick()  # the valid entries, defaults for the refused
        if self.settings != checked:  # painted with values from the file as it was
            self.settings = checked
            self.set_keymap(checked.keymap)
            if checked.theme in self.available_themes:
                self.theme = checked.theme
            else:
                self.theme = DEFAULT_THEME

    def _theme_changed(self, theme: Theme) -> None:
        if theme.name == self.settings.theme:
            return
        self.settings = replace(self.settings, theme=theme.name)
        self._save_theme(theme.name)

    @work(thread=True, exclusive=True, group="settings")
    def _save_theme(self, theme_name: str) -> None:
        """Store the theme: re-read and validate the file, then write it atomically."""
        from console.settings import load_settings, save_settings

        if self.settings_path is None:
            return
        load = load_settings(self.settings_path)
        if load.error is not None:
            self.call_from_thread(
                self.notify,
                "settings.json is invalid, so this change is not saved (fix or delete it)",
                severity="warning",
            )
            return
        try:
            save_settings(
                self.settings_path, load.settings.model_copy(update={"theme": theme_name})
            )
        except OSError as exc:
            self.call_from_thread(self.notify, f"settings not saved: {exc}", severity="error")

    # -- quitting -----------------------------------------------------------------
    async def action_quit(self) -> None:
        live = [r.node_id for r in self.node_rows if r.live]
        if not live:
            await self._close_and_exit(stop_live=False)
            return

        async def chosen(choice: QuitChoice | None) -> None:
            if choice in {"stop", "leave"}:
                await self._close_and_exit(stop_live=choice == "stop")

        await self.push_screen(QuitModal(live), chosen)

    async def _close_and_exit(self, *, stop_live: bool) -> None:
        try:
            await self.services.close(stop_live=stop_live)
        except Exception as exc:
            self.log.error(f"closing services failed: {exc}")
        self.exit()
