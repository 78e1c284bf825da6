"""Risk alerts: denied orders, trading-state changes, limit breaches."""

from __future__ import annotations

from typing import Any

from widgets.data import AlertRow
from widgets.event_log import clock
from widgets.keyed_table import KeyedTable

_SEVERITY = {"error": "error", "warning": "warning", "info": "primary"}


class AlertsTable(KeyedTable[AlertRow]):
    """The latest risk alerts, newest last."""

    BORDER_TITLE = "Risk alerts"
    MAX_ROWS = 200
    COLUMNS = (("time", "Time"), ("node", "Node"), ("severity", "Severity"), ("message", "Alert"))

    def row_key(self, row: AlertRow) -> str:
        return f"{row.node_id}/{row.seq}"

    def cells(self, row: AlertRow) -> tuple[Any, ...]:
        severity = self.styled(row.severity, _SEVERITY.get(row.severity, "foreground"))
        return (clock(row.ts_ns), row.node_id, severity, row.message)
