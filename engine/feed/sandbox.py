"""Make Nautilus's sandbox venue apply its own events as it generates them.

Nautilus 1.231's sandbox execution client runs the *backtest* matching engine
(``SimulatedExchange``) inside a live ``TradingNode``. That matching engine reads the
order object's state right after generating an event for it, which is only right when
events are applied synchronously, as the backtest's ``ExecutionEngine.process`` does.
The live execution engine queues events instead (``LiveExecutionEngine.process`` puts
them on an asyncio queue applied later), so inside one submit the matching engine sees
a stale order:

- an IOC/FOK limit that cannot fill is accepted, then its cancel is refused ("Cannot
  cancel an order with INITIALIZED from the matching engine") and it rests as ACCEPTED,
  able to fill later;
- a market order larger than the top of the book fills the top, then its remainder is
  never slipped to the next tick (``order.is_open`` still reads SUBMITTED): it stays
  PARTIALLY_FILLED for ever;
- a quote-quantity order is converted to a base quantity (``OrderUpdated``) but then
  filled at its old quote quantity, which the execution engine rejects as an overfill;
  the order sits SUBMITTED until the in-flight check gives up and rejects it "UNKNOWN".

:func:`apply_sandbox_events_inline` routes the ``ExecEngine.process`` endpoint to the
live engine's own event handler, run at once instead of from its queue. A sandbox node
has only sandbox execution clients, all on the node's event loop thread, so nothing
else sends events there; commands still go through the engine's command queue, so a
strategy reacting to a fill never re-enters the matching engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENDPOINT = "ExecEngine.process"


def apply_sandbox_events_inline(
    kernel: Any,
    before: Callable[[Any], None] | None = None,
    after: Callable[[Any], None] | None = None,
) -> bool:
    """Have ``kernel``'s execution engine apply order events as they are sent.

    Call once, after the node is built and before it starts. Returns ``False`` (and
    changes nothing) when the engine is not a ``LiveExecutionEngine`` of the shape this
    was written against, so a Nautilus upgrade fails safe to Nautilus's own behaviour.
    ``before`` sees each event before the engine applies it (the venue's memory is stored
    there: a venue has its state before it reports it), ``after`` once it is applied.
    """
    engine = kernel.exec_engine
    handle = getattr(engine, "_handle_event_with_tracking", None)
    msgbus = kernel.msgbus
    if handle is None or ENDPOINT not in msgbus.endpoints():
        return False
    try:
        msgbus.deregister(ENDPOINT, engine.process)
    except ValueError:  # someone else's handler: leave it alone
        return False
    on_error = getattr(engine, "_handle_queue_exception", None)

    def process(event: Any) -> None:
        # As the queue's consumer does: an event that fails is logged, and the matching
        # engine (or the data engine feeding it) goes on with the next.
        try:
            if before is not None:
                before(event)
            handle(event)
            if after is not None:
                after(event)
        except Exception as exc:
            if on_error is None:
                raise
            on_error(exc, "event")

    msgbus.register(ENDPOINT, process)
    return True
