"""Gateway actors in a backtest time themselves on the kernel's clock while they run.

A BacktestEngine advances every registered component clock at every data point, and again
after every timer callback. Measured with callgrind on the demo EMA cross: each idle extra
actor costs ~455 instructions per tick, 0.5% of the run, so the gateway's two actors made
a bare two-clock backtest (kernel and strategy) a four-clock one. An actor that shares the
kernel's clock takes its own off that list when it starts and sets its timers on the
kernel's clock, which advances anyway. Nothing reads its own clock while it runs; when it
stops, the clock is set to the kernel's time and put back on the list, so its state events
(``ComponentStateChanged``) carry the same simulated times as everyone else's.
"""

from __future__ import annotations

from typing import Any


class KernelClockTimers:
    """Mixin for a Nautilus ``Actor`` (listed before it): timers on the kernel's clock.

    Call :meth:`share_kernel_clock` once the actor is added to a backtest kernel's trader;
    the actor's ``on_start`` must call :meth:`_detach_own_clock` first thing (the engine has
    set every clock to the start time by then). Without it, :attr:`timer_clock` is the
    actor's own clock (live nodes, where clocks are not advanced per event).
    """

    _kernel: Any = None  # the NautilusKernel whose clock is shared, once asked
    _shared: Any = None  # that kernel's clock, from the actor's start on
    _detached = False  # the actor's own clock is off the engine's list

    clock: Any  # provided by Actor

    def share_kernel_clock(self, kernel: Any) -> None:
        """Time this actor on ``kernel``'s clock (a ``NautilusKernel``, or anything with
        ``.kernel``, such as a ``BacktestEngine``) from its start on."""
        self._kernel = getattr(kernel, "kernel", kernel)

    @property
    def timer_clock(self) -> Any:
        """The clock this actor's timers are set on and its simulated time is read from."""
        return self._shared if self._shared is not None else self.clock

    def _detach_own_clock(self) -> None:
        if self._kernel is None or self._detached:
            return
        from nautilus_trader.common.component import deregister_component_clock

        deregister_component_clock(self._kernel.instance_id, self.clock)
        self._shared = self._kernel.clock
        self._detached = True

    def _rejoin_own_clock(self) -> None:
        if not self._detached:
            return
        from nautilus_trader.common.component import register_component_clock

        self.clock.set_time(self._kernel.clock.timestamp_ns())
        register_component_clock(self._kernel.instance_id, self.clock)
        self._detached = False

    def stop(self) -> None:
        """Stop the actor, its clock back in step with the kernel's first."""
        self._rejoin_own_clock()
        super().stop()  # type: ignore[misc]  # Actor.stop, next in the MRO
