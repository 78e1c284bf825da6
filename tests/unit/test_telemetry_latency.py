"""Order latency percentiles over a window, and equity drawdown tracking."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.telemetry.collect import Drawdown
from engine.telemetry.latency import LatencyTracker, percentile

MS = 1_000_000


# Stand-ins carrying the two fields the tracker reads; it dispatches on the class name,
# as Nautilus's event classes are named.
@dataclass
class OrderSubmitted:
    client_order_id: str
    ts_init: int


class OrderAccepted(OrderSubmitted):
    pass


class OrderFilled(OrderSubmitted):
    pass


class OrderCanceled(OrderSubmitted):
    pass


def test_percentile_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile([7], 0.99) == 7
    with pytest.raises(ValueError, match="at least one value"):
        percentile([], 0.5)


def test_accept_and_first_fill_latencies_in_ms() -> None:
    t = LatencyTracker(window=100)
    for i in range(10):
        cid = f"O-{i}"
        t.on_order_event(OrderSubmitted(cid, 0))
        t.on_order_event(OrderAccepted(cid, (i + 1) * MS))
        t.on_order_event(OrderFilled(cid, (i + 1) * 10 * MS))
        t.on_order_event(OrderFilled(cid, 999 * MS))  # a partial's second fill: ignored
    s = t.summary()
    assert s["submit_to_accept"] == {"p50": 5.0, "p99": 10.0, "max": 10.0, "count": 10}
    assert s["submit_to_fill"] == {"p50": 50.0, "p99": 100.0, "max": 100.0, "count": 10}
    assert t.pending == 0


def test_window_keeps_the_latest_and_terminal_events_stop_tracking() -> None:
    t = LatencyTracker(window=3)
    for i, ms in enumerate([100, 1, 2, 3]):
        t.on_order_event(OrderSubmitted(f"O-{i}", 0))
        t.on_order_event(OrderFilled(f"O-{i}", ms * MS))
    assert t.summary()["submit_to_fill"]["max"] == 3.0  # the 100 ms fill left the window
    t.on_order_event(OrderSubmitted("X", 0))
    t.on_order_event(OrderCanceled("X", 5 * MS))
    t.on_order_event(OrderFilled("X", 9 * MS))  # no submit on record any more
    assert t.summary()["submit_to_fill"]["count"] == 3
    assert t.summary()["submit_to_accept"] == {"p50": None, "p99": None, "max": None, "count": 0}


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="latency window: expected at least 1, got 0"):
        LatencyTracker(window=0)


def test_drawdown_from_the_running_peak() -> None:
    dd = Drawdown()
    assert dd.update({"USD": 100.0})["USD"]["pct"] == 0.0
    assert dd.update({"USD": 120.0})["USD"]["peak"] == 120.0
    row = dd.update({"USD": 90.0})["USD"]
    assert row == {"equity": 90.0, "peak": 120.0, "abs": 30.0, "pct": 25.0}
