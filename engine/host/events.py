"""The host's own event types and the shapes of their payloads.

``node`` kind
    ``NodeStateChanged``: ``{"state", "previous", "mode", "pid", "reason"}``, state one of
    :data:`NODE_STATES`. ``NodeError``: ``{"error", "message", "phase", "field",
    "traceback"}``.
    ``ClientConnectionChanged`` (sandbox/live): ``{"client_id", "kind": "data"|"exec",
    "connected"}``, sent for each client when first seen and on every change.
    ``StopCanceledOrders`` ``{"canceled"}`` / ``StopFlattened`` ``{"canceled", "closed"}`` /
    ``StopWindDownFailed`` ``{"message"}``: what a graceful stop did before stopping.
``progress`` kind
    ``BacktestProgress``: ``{"fraction", "sim_ts_ns", "start_ns", "end_ns",
    "elapsed_s"}``; fraction is the share of the data's time range processed.
``log`` kind
    ``LogLine``: ``{"level", "component", "message", "timestamp"}`` from Nautilus's log.
``result`` kind
    ``BacktestResult``: the contents of ``stats.json`` (see ``engine.host.results``).
Nautilus events (``order``, ``position``, ``account``, ``risk``, ``system``)
    ``type`` is the Nautilus class name; the payload is the class's ``to_dict``.
"""

from __future__ import annotations

from typing import Any, Protocol

NODE_STATES = ("created", "starting", "running", "stopping", "stopped", "completed", "failed")
TERMINAL_STATES = frozenset({"stopped", "completed", "failed"})

NODE_STATE_CHANGED = "NodeStateChanged"
NODE_ERROR = "NodeError"
BACKTEST_PROGRESS = "BacktestProgress"
LOG_LINE = "LogLine"
CLIENT_CONNECTION_CHANGED = "ClientConnectionChanged"
BACKTEST_RESULT = "BacktestResult"

# Message bus topic patterns the gateway actor forwards, with the envelope kind of each.
FORWARDED_TOPICS = (
    ("events.order.*", "order"),
    ("events.position.*", "position"),
    ("events.account.*", "account"),
    ("events.risk", "risk"),
    ("events.system.*", "system"),
)


class Publish(Protocol):
    """Journal an event and hand it to clients (``HostChannel.publish``'s signature)."""

    def __call__(
        self, kind: str, type: str, payload: dict[str, Any], ts_ns: int | None = None
    ) -> Any: ...
