"""A node's risk view: trading state, each limit beside what it is measured against now.

Everything goes through ``engine.risk.service`` (the same calls as ``gateway risk``), in
async workers: the screen never waits on the node. The view refreshes every second; a
change is shown only once the node confirmed it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from console.screens.confirm import ConfirmModal
from engine.principal import Principal
from engine.risk.limits import FIELDS
from engine.workspace import Workspace

REFRESH_S = 1.0


def usage_of(name: str, usage: dict[str, Any]) -> str:
    """What limit ``name`` is measured against now, as a short text."""
    if not usage:
        return ""
    if name == "max_open_orders":
        return f"{usage.get('open_orders', 0)} working"
    if name in ("max_position_net", "max_position_gross"):
        positions = usage.get("positions") or {}
        return ", ".join(f"{k} {v}" for k, v in positions.items()) or "flat"
    if name == "max_daily_loss":
        return ", ".join(f"{v} {k}" for k, v in (usage.get("daily_pnl") or {}).items())
    if name == "max_drawdown":
        return ", ".join(f"{v} {k}" for k, v in (usage.get("drawdown") or {}).items())
    return ""


class RiskScreen(Screen[None]):
    """Trading state and limits of one node; h halt, r reduce, a resume, e edit a limit."""

    DEFAULT_CSS = """
    RiskScreen #risk-state { padding: 0 1; height: auto; }
    RiskScreen #risk-limits { height: 1fr; }
    RiskScreen #risk-input.hidden { display: none; }
    RiskScreen #risk-error { color: $text-error; padding: 0 1; height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", tooltip="Back to the main screen", id="risk.back"),
        Binding("h", "set_state('HALTED')", "Halt", tooltip="No new orders", id="risk.halt"),
        Binding(
            "r",
            "set_state('REDUCING')",
            "Reduce",
            tooltip="Only orders that reduce a position",
            id="risk.reduce",
        ),
        Binding(
            "a", "set_state('ACTIVE')", "Resume", tooltip="Trade again (asks)", id="risk.resume"
        ),
        Binding("e,enter", "edit", "Edit limit", tooltip="Set the selected limit", id="risk.edit"),
    ]

    def __init__(self, workspace: Workspace, node_id: str) -> None:
        super().__init__()
        self.workspace = workspace
        self.node_id = node_id
        self.who = Principal.local("console")
        self.limits: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Static(f"Risk of {self.node_id}", id="risk-title", classes="screen-title")
        yield Static("", id="risk-state", markup=False)
        table: DataTable[str] = DataTable(id="risk-limits", cursor_type="row")
        # Fixed widths: cells are filled after the first read, and auto widths would stay
        # those of the empty cells.
        for column, width in (("limit", 29), ("value", 14), ("now", 29)):
            table.add_column(column, key=column, width=width)
        for name in FIELDS:
            table.add_row(name, "", "", key=name)
        yield table
        yield Input(placeholder="new value (none clears it)", id="risk-input", classes="hidden")
        yield Static("", id="risk-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._error("")
        self.query_one(DataTable).focus()
        self.refresh_view()
        self.set_interval(REFRESH_S, self.refresh_view)

    # -- reading ---------------------------------------------------------------------
    @work(exclusive=True, group="risk-refresh", exit_on_error=False)
    async def refresh_view(self) -> None:
        from engine.risk import service

        outcome = await service.show(self.workspace, self.node_id)
        self._show(outcome)

    def _show(self, outcome: Any) -> None:
        state = self.query_one("#risk-state", Static)
        if not outcome.ok:
            state.update(f"{outcome.message}")
            return
        risk = outcome.risk
        text = f"trading state {risk.get('trading_state', 'ACTIVE')}"
        if not outcome.running:
            text += f"  ({outcome.message})"
        if risk.get("changed_by"):
            text += f"  · last change by {risk['changed_by']}"
            if risk.get("reason"):
                text += f": {risk['reason']}"
        state.update(text)
        self.limits = dict(risk.get("limits") or {})
        table = self.query_one(DataTable)
        for name in FIELDS:
            value = self.limits.get(name)
            table.update_cell(name, "value", "-" if value is None else str(value))
            table.update_cell(name, "now", usage_of(name, outcome.usage))

    # -- changing --------------------------------------------------------------------
    def action_back(self) -> None:
        editor = self.query_one("#risk-input", Input)
        if not editor.has_class("hidden"):
            self._close_editor()
            return
        self.app.pop_screen()

    def action_set_state(self, state: str) -> None:
        if state == "ACTIVE":

            def answered(yes: bool | None) -> None:
                if yes:
                    self._set_state(state)

            self.app.push_screen(
                ConfirmModal(f"Resume trading on {self.node_id}?", yes="Resume"), answered
            )
            return
        self._set_state(state)

    @work(group="risk-change", exit_on_error=False)
    async def _set_state(self, state: str) -> None:
        from engine.risk import service

        outcome = await service.set_state(self.workspace, self.node_id, state, self.who)  # type: ignore[arg-type]
        if outcome.ok:
            self.notify(f"{self.node_id}: {state} (confirmed by the node)")
        else:
            self.notify(f"{self.node_id}: not changed: {outcome.message}", severity="error")
        self.refresh_view()

    def action_edit(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        name = FIELDS[table.cursor_row]
        editor = self.query_one("#risk-input", Input)
        editor.remove_class("hidden")
        current = self.limits.get(name)
        editor.value = "" if current is None else str(current)
        editor.placeholder = f"{name}: new value (none clears it)"
        editor.focus()

    def _close_editor(self) -> None:
        editor = self.query_one("#risk-input", Input)
        editor.add_class("hidden")
        self._error("")
        self.query_one(DataTable).focus()

    @on(Input.Submitted, "#risk-input")
    def _submitted(self, event: Input.Submitted) -> None:
        name = FIELDS[self.query_one(DataTable).cursor_row]
        self._set_limit(name, event.value)

    @work(group="risk-change", exit_on_error=False)
    async def _set_limit(self, name: str, value: str) -> None:
        from engine.risk import service

        outcome = await service.set_limits(self.workspace, self.node_id, {name: value}, self.who)
        if outcome.ok:
            self._close_editor()
            self.notify(f"{self.node_id}: {name} = {value or 'none'} (confirmed by the node)")
            self.refresh_view()
            return
        issues = "; ".join(f"{i.get('field')}: {i.get('message')}" for i in outcome.issues)
        self._error(f"not changed: {issues or outcome.message}")

    def _error(self, text: str) -> None:
        error = self.query_one("#risk-error", Static)
        error.update(text)
        error.display = bool(text)
