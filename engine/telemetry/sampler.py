"""The metrics actor: samples a kernel's figures once per wall-clock interval.

Add it to a kernel like any actor (``trader.add_actor(MetricsActor(config))``, or
``ImportableActorConfig(actor_path="engine.telemetry.sampler:MetricsActor",
config_path="engine.telemetry.sampler:MetricsActorConfig", config={...})``), then give it
the host's ``publish`` with :meth:`MetricsActor.set_publisher` and the kernel's engines with
:meth:`MetricsActor.attach_kernel` (the message bus does not hand them out). Each sample is
published as ``publish("metric", "MetricsSample", payload)``.

Cost in a backtest: no per-tick handler, and no clock of its own for the engine to advance
per tick once the host shares the kernel's (:mod:`engine.host.kernel_clock`). A one-shot
alert on the simulated clock is re-armed so that it fires about ``backtest_checks_per_sec``
times per wall second whatever the data's density; each firing reads ``time.monotonic()``
and returns unless ``interval_secs`` of wall time have passed. In a live node an ordinary
clock timer fires every ``interval_secs``.

Payload (``MetricsSample``), schema 1; money as floats keyed by currency code::

    schema, seq, reason ("interval" | "stop" | "final"), mode ("backtest" | "live"),
    ts_ns (wall clock), sim_ts_ns (the kernel's clock), interval_s (wall s since last sample)
    pnl: {total: {CCY: {realized, unrealized, total}},
          by_venue: {VENUE: {CCY: {...}}},
          by_instrument: {ID: {venue, currency, realized, unrealized, total, net_exposure,
                               exposure_currency, net_position}},
          by_strategy: {SID: {CCY: {...}}}}
    accounts: {VENUE: {account_id, type, equity, balance_total, balance_free, balance_locked,
                       margin_init, margin_maint, net_exposure}}   (each {CCY: float})
    drawdown: {CCY: {equity, peak, abs, pct}}       (equity summed over venues)
    orders: {total, open, inflight, by_status: {STATUS: n}, by_strategy: {SID: {STATUS: n}}}
    positions: {open, closed, by_strategy: {SID: {open, closed}}, rows: [open position rows
               as engine.orders.portfolio.position_row], rows_truncated}
    latency_ms: {submit_to_accept: {p50, p99, max, count}, submit_to_fill: {...}, window, pending}
    bus: {pub_count, sent_count, req_count, res_count, pub_rate}   (rate per wall second)
    engines: {data: {data_count, command_count, request_count, response_count, data_qsize,
                     cmd_qsize}, exec: {command_count, event_count, report_count, cmd_qsize,
                     evt_qsize}, risk: {command_count, event_count, cmd_qsize, evt_qsize}}
    feed: {data_count, data_rate, data_idle_s}   (idle: wall s since the data count last moved)
    loop: {lag_ms, lag_max_ms} | null             (null in backtests)
    process: {pid, cpu_percent, rss_bytes, num_threads}

Queue sizes are null in backtests (the engines there have no queues).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psutil
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig

from engine.host.kernel_clock import KernelClockTimers
from engine.telemetry import collect
from engine.telemetry.latency import LatencyTracker

METRICS_SAMPLE = "MetricsSample"
SCHEMA_VERSION = 1
_TIMER = "gateway-metrics"
_MIN_SIM_STEP_NS = 1_000_000  # 1 ms of simulated time
_MAX_SIM_STEP_NS = 86_400 * 1_000_000_000  # one simulated day

Publisher = Callable[..., Any]


class MetricsActorConfig(ActorConfig, frozen=True):  # type: ignore[misc,call-arg]  # untyped Nautilus
    """Configuration of :class:`MetricsActor`.

    Parameters
    ----------
    interval_secs
        Wall-clock seconds between samples.
    latency_window
        How many latest order latencies the percentiles cover.
    loop_probe_secs
        Live nodes: how often the event-loop lag probe runs.
    backtest_checks_per_sec
        Backtests: how many times per wall second the simulated-clock alert fires to look
        at the wall clock (more gives a more punctual sample, at a tiny cost each).
    """

    interval_secs: float = 1.0
    latency_window: int = 1000
    loop_probe_secs: float = 0.25
    backtest_checks_per_sec: float = 20.0


class LoopLagProbe:
    """Measure how late an asyncio loop runs a callback scheduled ``period`` ahead."""

    def __init__(self, loop: asyncio.AbstractEventLoop, period: float) -> None:
        self._loop = loop
        self._period = period
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0
        self.last_ms = 0.0
        self.max_ms = 0.0  # since the last take_max()

    def start(self) -> None:
        """Schedule the first probe."""
        self._schedule()

    def stop(self) -> None:
        """Cancel the pending probe."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def take_max(self) -> float:
        """Return the largest lag since the last call, and reset it."""
        value, self.max_ms = self.max_ms, self.last_ms
        return value

    def _schedule(self) -> None:
        self._due = self._loop.time() + self._period
        self._handle = self._loop.call_at(self._due, self._fire)

    def _fire(self) -> None:
        lag = max(0.0, (self._loop.time() - self._due) * 1000.0)
        self.last_ms = lag
        self.max_ms = max(self.max_ms, lag)
        self._schedule()


class MetricsActor(KernelClockTimers, Actor):  # type: ignore[misc]  # Nautilus is untyped
    """Sample PnL, orders, latencies, engine counters and resources; publish each sample.

    Parameters
    ----------
    config
        The actor's configuration (defaults: one sample per wall second).
    """

    def __init__(self, config: MetricsActorConfig | None = None) -> None:
        config = config or MetricsActorConfig()
        if not config.interval_secs > 0:
            raise ValueError(
                f"MetricsActorConfig.interval_secs: got {config.interval_secs!r}, "
                "expected a number of seconds above 0"
            )
        if config.backtest_checks_per_sec <= 0:
            raise ValueError(
                "MetricsActorConfig.backtest_checks_per_sec: got "
                f"{config.backtest_checks_per_sec!r}, expected a number above 0"
            )
        super().__init__(config=config)
        self._interval = float(config.interval_secs)
        self._check_gap = 1.0 / float(config.backtest_checks_per_sec)
        self._probe_secs = float(config.loop_probe_secs)
        self._publish: Publisher | None = None
        self._engines: tuple[Any, Any, Any] = (None, None, None)
        self._latency = LatencyTracker(config.latency_window)
        self._orders = collect.OrderCounts()
        self._strategy_pnl = collect.StrategyPnL()
        self._drawdown = collect.Drawdown()
        self._process = psutil.Process(os.getpid())
        self._probe: LoopLagProbe | None = None
        self._backtest = False
        self._seq = 0
        self._last_sample_wall = 0.0
        self._last_pub = 0
        self._last_data = 0
        self._last_data_change = 0.0
        self._step_ns = 1_000_000_000
        self._last_check_wall = 0.0
        self.last_sample: dict[str, Any] | None = None
        self.checks = 0  # backtest alert firings so far
        self.sample_time_s = 0.0  # wall seconds spent taking samples so far

    # -- wiring ---------------------------------------------------------------------------

    def set_publisher(self, publish: Publisher | None) -> None:
        """Publish every later sample through ``publish(kind, type, payload)``."""
        self._publish = publish

    def attach_kernel(self, kernel: Any) -> None:
        """Read engine counters from ``kernel`` (a ``NautilusKernel``, or anything with
        ``.kernel``: a ``BacktestEngine`` or a ``TradingNode``)."""
        kernel = getattr(kernel, "kernel", kernel)
        self._engines = (kernel.data_engine, kernel.exec_engine, kernel.risk_engine)

    # -- lifecycle ------------------------------------------------------------------------

    def on_start(self) -> None:
        from nautilus_trader.common.component import TestClock

        self._detach_own_clock()
        self._orders.reset(self.cache)
        self.msgbus.subscribe(topic="events.order.*", handler=self._on_order_event)
        self._process.cpu_percent(None)  # the first call only starts psutil's measurement
        now = time.monotonic()
        self._last_sample_wall = self._last_check_wall = self._last_data_change = now
        self._last_pub = int(self.msgbus.pub_count)
        self._last_data = self._data_count() or 0
        self._backtest = isinstance(self.clock, TestClock)
        if self._backtest:
            self._arm_backtest_alert()
            return
        self.timer_clock.set_timer(
            _TIMER, timedelta(seconds=self._interval), callback=self._on_live_timer
        )
        with contextlib.suppress(RuntimeError):  # no running loop: no lag figure
            self._probe = LoopLagProbe(asyncio.get_running_loop(), self._probe_secs)
            self._probe.start()

    def on_stop(self) -> None:
        # Order events stay followed: strategies stop after actors and still send orders
        # (closing positions), and the final sample must count them.
        if _TIMER in self.timer_clock.timer_names:
            self.timer_clock.cancel_timer(_TIMER)
        if self._probe is not None:
            self._probe.stop()
        self.sample("stop")

    def on_dispose(self) -> None:
        with contextlib.suppress(Exception):  # the bus may already be gone
            self.msgbus.unsubscribe(topic="events.order.*", handler=self._on_order_event)

    def final_sample(self) -> dict[str, Any]:
        """Take and publish the sample that closes a run; return it.

        Call it after the kernel stopped and before it is disposed: strategies close
        positions in their ``on_stop``, after actors stop, and a backtest settles those
        fills after the trader stopped. The order counts are recounted from the cache.
        """
        self._orders.reset(self.cache)
        return self.sample("final")

    def _on_order_event(self, event: Any) -> None:
        self._orders.on_order_event(event)
        self._latency.on_order_event(event)

    # -- timers ---------------------------------------------------------------------------

    def _on_live_timer(self, _event: Any) -> None:
        self.sample("interval")

    def _arm_backtest_alert(self) -> None:
        at = self.timer_clock.timestamp_ns() + self._step_ns
        self.timer_clock.set_time_alert_ns(_TIMER, at, self._on_backtest_alert)

    def _on_backtest_alert(self, _event: Any) -> None:
        now = time.monotonic()
        self.checks += 1
        # Aim the next firing ~check_gap wall seconds ahead at the current sim/wall pace,
        # moving at most x8 up or /4 down per step so a burst does not throw it far off.
        wall = now - self._last_check_wall
        self._last_check_wall = now
        step = self._step_ns
        target = step * 8 if wall <= 0 else int(step * self._check_gap / wall)
        self._step_ns = min(
            _MAX_SIM_STEP_NS, max(_MIN_SIM_STEP_NS, step // 4, min(target, step * 8))
        )
        if now - self._last_sample_wall >= self._interval:
            self.sample("interval")
        self._arm_backtest_alert()

    # -- sampling -------------------------------------------------------------------------

    def _data_count(self) -> int | None:
        data = self._engines[0]
        return None if data is None else int(data.data_count)

    def sample(self, reason: str = "interval") -> dict[str, Any]:
        """Take one sample now, publish it, and return its payload."""
        now = time.monotonic()
        dt = now - self._last_sample_wall
        self._last_sample_wall = now
        self._seq += 1
        cache, portfolio = self.cache, self.portfolio
        venue_list = collect.venues(cache)
        by_venue = collect.pnl_by_venue(portfolio, venue_list)
        accounts = collect.accounts(portfolio, cache, venue_list)
        equity: dict[str, float] = {}
        for row in accounts.values():
            for code, value in row["equity"].items():
                equity[code] = equity.get(code, 0.0) + value
        pub = int(self.msgbus.pub_count)
        data_count = self._data_count()
        if data_count is not None and data_count != self._last_data:
            self._last_data_change = now
        data_delta = 0 if data_count is None else data_count - self._last_data
        latency: dict[str, Any] = dict(self._latency.summary())
        latency["window"] = self._latency.window
        latency["pending"] = self._latency.pending
        payload: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "seq": self._seq,
            "reason": reason,
            "mode": "backtest" if self._backtest else "live",
            "ts_ns": time.time_ns(),
            "sim_ts_ns": int(self.timer_clock.timestamp_ns()),
            "interval_s": dt,
            "pnl": {
                "total": collect.pnl_totals(by_venue),
                "by_venue": by_venue,
                "by_instrument": collect.pnl_by_instrument(portfolio, cache),
                "by_strategy": self._strategy_pnl.compute(cache),
            },
            "accounts": accounts,
            "drawdown": self._drawdown.update(equity),
            "orders": self._orders.summary(),
            "positions": collect.positions(cache),
            "latency_ms": latency,
            "bus": {
                "pub_count": pub,
                "sent_count": int(self.msgbus.sent_count),
                "req_count": int(self.msgbus.req_count),
                "res_count": int(self.msgbus.res_count),
                "pub_rate": (pub - self._last_pub) / dt if dt > 0 else 0.0,
            },
            "engines": collect.engine_counts(*self._engines),
            "feed": {
                "data_count": data_count,
                "data_rate": data_delta / dt if dt > 0 else 0.0,
                "data_idle_s": now - self._last_data_change,
            },
            "loop": None
            if self._probe is None
            else {"lag_ms": self._probe.last_ms, "lag_max_ms": self._probe.take_max()},
            "process": self._process_figures(),
        }
        self._last_pub = pub
        if data_count is not None:
            self._last_data = data_count
        self.last_sample = payload
        if self._publish is not None:
            self._publish("metric", METRICS_SAMPLE, payload)
        self.sample_time_s += time.monotonic() - now
        return payload

    def _process_figures(self) -> dict[str, Any]:
        proc = self._process
        with proc.oneshot():
            return {
                "pid": proc.pid,
                "cpu_percent": proc.cpu_percent(None),
                "rss_bytes": proc.memory_info().rss,
                "num_threads": proc.num_threads(),
            }


def install(
    target: Any, publish: Publisher | None, config: MetricsActorConfig | None = None
) -> MetricsActor:
    """Create a :class:`MetricsActor`, wire it to ``target`` and add it to its trader.

    ``target`` is a ``BacktestEngine``, a ``TradingNode`` (built, not yet running) or a
    ``NautilusKernel``; in a backtest the actor times itself on the kernel's clock
    (:mod:`engine.host.kernel_clock`). Return the actor: call
    :meth:`MetricsActor.final_sample` on it once the run has ended.
    """
    from nautilus_trader.common.component import TestClock

    kernel = getattr(target, "kernel", target)
    actor = MetricsActor(config)
    actor.set_publisher(publish)
    actor.attach_kernel(kernel)
    kernel.trader.add_actor(actor)
    if isinstance(kernel.clock, TestClock):  # a backtest: no extra clock to advance per tick
        actor.share_kernel_clock(kernel)
    return actor
