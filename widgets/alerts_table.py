"""Alerts: the active ones first (rule alerts, a reduced or halted trading state), then the
history (resolved alerts, denied and rejected orders), newest last."""

from __future__ import annotations

from typing import Any

from widgets.data import AlertRow
from widgets.event_log import clock
from widgets.keyed_table import Col, KeyedTable

_SEVERITY = {"critical": "error", "error": "error", "warning": "warning", "info": "primary"}
_STATE = {"active": "error", "resolved": "success"}


class AlertsTable(KeyedTable[AlertRow]):
    """Active alerts, then resolved alerts and risk events."""

    BORDER_TITLE = "Risk alerts"
    MAX_ROWS = 300
    COLUMNS = (
        Col("time", "Time", priority=0),
        Col("node", "Node", priority=4, min_width=8),
        Col("severity", "Severity", priority=3),
        Col("state", "State", priority=2),
        Col("message", "Alert", priority=1, min_width=24, long=True),
    )

    def row_key(self, row: AlertRow) -> str:
        return row.key or f"{row.node_id}/{row.seq}"

    def cells(self, row: AlertRow) -> tuple[Any, ...]:
        severity = self.styled(row.severity, _SEVERITY.get(row.severity, "foreground"))
        colour = _STATE.get(row.state)
        state = self.styled(row.state, colour) if colour else row.state
        return (clock(row.ts_ns), row.node_id, severity, state, row.message)

    def set_rows(self, rows: Any) -> None:
        super().set_rows(rows)
        active = sum(1 for r in self.rows_data if r.active)
        self.border_subtitle = f"{active} active" if active else ""
