"""The gateway actor: lives inside the kernel and forwards its events to the host.

It does no per-tick work: it subscribes only to event topics (orders, positions,
accounts, risk, component states), and reports progress from a timer on the simulated
clock, throttled by wall time. In a backtest it runs on the kernel's clock rather than its
own (:mod:`engine.host.kernel_clock`), so the engine has no extra clock to advance per tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.component import set_backtest_force_stop
from nautilus_trader.config import ActorConfig

from engine.host.events import BACKTEST_PROGRESS, FORWARDED_TOPICS, Publish
from engine.host.kernel_clock import KernelClockTimers

PROGRESS_STEPS = 500  # timer firings over the data's time range
PROGRESS_MIN_INTERVAL_S = 0.2  # at most ~5 progress events per wall second
_PROGRESS_TIMER = "gateway-progress"


def event_payload(event: Any) -> dict[str, Any]:
    """Return a Nautilus event as a dict through its class's ``to_dict``, else its repr."""
    to_dict = getattr(type(event), "to_dict", None)
    if to_dict is not None:
        try:
            payload = to_dict(event)
        except Exception:  # a few events cannot serialise every field; keep what we can
            payload = None
        if isinstance(payload, dict):
            payload.pop("type", None)  # the envelope carries the type
            return payload
    return {"repr": repr(event)}


class GatewayActor(KernelClockTimers, Actor):  # type: ignore[misc]  # Nautilus is untyped
    """Forward the kernel's events through ``publish``; report backtest progress.

    Parameters
    ----------
    publish
        Called as ``publish(kind, type, payload)`` for every forwarded event.
    start_ns, end_ns
        The data's time range (backtests); progress is reported when both are given.
    on_running
        Called once when the kernel starts the actor (the node is running).
    stop_requested
        Polled on the progress timer; when it returns true the backtest is stopped.
    """

    def __init__(
        self,
        publish: Publish,
        *,
        start_ns: int | None = None,
        end_ns: int | None = None,
        on_running: Callable[[], None] | None = None,
        stop_requested: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(config=ActorConfig(component_id="GatewayActor"))
        self._publish = publish
        self._start_ns = start_ns
        self._end_ns = end_ns
        self._on_running = on_running
        self._stop_requested = stop_requested
        self._wall_start = 0.0
        self._last_progress = 0.0

    def on_start(self) -> None:
        self._detach_own_clock()
        for topic, kind in FORWARDED_TOPICS:
            self.msgbus.subscribe(topic=topic, handler=self._forwarder(kind))
        self._wall_start = time.monotonic()
        if self._on_running is not None:
            self._on_running()
        start, end = self._start_ns, self._end_ns
        if start is not None and end is not None and end > start:
            interval_ns = max(1_000_000, (end - start) // PROGRESS_STEPS)
            self.timer_clock.set_timer(
                _PROGRESS_TIMER,
                timedelta(microseconds=interval_ns / 1000),
                callback=self._on_progress_timer,
            )
            self._emit_progress(self.timer_clock.timestamp_ns())

    def on_stop(self) -> None:
        if _PROGRESS_TIMER in self.timer_clock.timer_names:
            self.timer_clock.cancel_timer(_PROGRESS_TIMER)

    def _forwarder(self, kind: str) -> Callable[[Any], None]:
        publish = self._publish

        def forward(event: Any) -> None:
            publish(kind, type(event).__name__, event_payload(event))

        return forward

    def _on_progress_timer(self, event: Any) -> None:
        if self._stop_requested is not None and self._stop_requested():
            set_backtest_force_stop(True)
            return
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_MIN_INTERVAL_S:
            self._emit_progress(event.ts_event)

    def _emit_progress(self, sim_ts_ns: int) -> None:
        start, end = self._start_ns or 0, self._end_ns or 0
        fraction = 0.0 if end <= start else min(1.0, max(0.0, (sim_ts_ns - start) / (end - start)))
        self._last_progress = time.monotonic()
        self._publish(
            "progress",
            BACKTEST_PROGRESS,
            {
                "fraction": fraction,
                "sim_ts_ns": sim_ts_ns,
                "start_ns": start,
                "end_ns": end,
                "elapsed_s": self._last_progress - self._wall_start,
            },
        )
