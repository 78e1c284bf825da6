"""Order latencies measured from the order events a node emits.

Two stages are measured, each from ``OrderSubmitted`` (the gateway sent the order):
``submit_to_accept`` (until ``OrderAccepted``) and ``submit_to_fill`` (until the first
``OrderFilled``). Both ends use ``ts_init``, the node's own clock, so a venue whose clock
drifts does not skew the figure. Percentiles are over the last ``window`` measurements.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

# Events after which an order can no longer be accepted or filled.
_TERMINAL = frozenset({"OrderRejected", "OrderDenied", "OrderCanceled", "OrderExpired"})
# A node with more working orders than this stops tracking the oldest ones.
MAX_PENDING = 100_000
STAGES = ("submit_to_accept", "submit_to_fill")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile (0..1) of ``sorted_values`` by the nearest-rank method."""
    if not sorted_values:
        raise ValueError("percentile: expected at least one value, got none")
    rank = max(1, -(-len(sorted_values) * q // 1))  # ceil(n * q), at least 1
    return sorted_values[int(rank) - 1]


class LatencyTracker:
    """Follow order events and keep the latest ``window`` latencies of each stage.

    Parameters
    ----------
    window
        How many latest measurements each percentile is computed over.
    """

    def __init__(self, window: int = 1000) -> None:
        if window < 1:
            raise ValueError(f"latency window: expected at least 1, got {window}")
        self.window = window
        self._submitted: dict[Any, int] = {}
        self._accepted: deque[int] = deque(maxlen=window)
        self._filled: deque[int] = deque(maxlen=window)

    def on_order_event(self, event: Any) -> None:
        """Update from one Nautilus order event (any type; the unrelated ones cost a lookup)."""
        name = type(event).__name__
        if name == "OrderSubmitted":
            if len(self._submitted) >= MAX_PENDING:
                self._submitted.pop(next(iter(self._submitted)))
            self._submitted[event.client_order_id] = event.ts_init
        elif name == "OrderAccepted":
            sent = self._submitted.get(event.client_order_id)
            if sent is not None:
                self._accepted.append(event.ts_init - sent)
        elif name == "OrderFilled":
            sent = self._submitted.pop(event.client_order_id, None)
            if sent is not None:  # the first fill only: later ones find nothing
                self._filled.append(event.ts_init - sent)
        elif name in _TERMINAL:
            self._submitted.pop(event.client_order_id, None)

    @property
    def pending(self) -> int:
        """Return how many submitted orders await their first fill."""
        return len(self._submitted)

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """Return ``{stage: {"p50", "p99", "max", "count"}}`` in milliseconds.

        ``count`` is the number of measurements in the window; the figures are ``None``
        when it is zero.
        """
        out: dict[str, dict[str, float | int | None]] = {}
        for stage, values in zip(STAGES, (self._accepted, self._filled), strict=True):
            ordered = sorted(values)
            if ordered:
                out[stage] = {
                    "p50": percentile(ordered, 0.50) / 1e6,
                    "p99": percentile(ordered, 0.99) / 1e6,
                    "max": ordered[-1] / 1e6,
                    "count": len(ordered),
                }
            else:
                out[stage] = {"p50": None, "p99": None, "max": None, "count": 0}
        return out
