"""Build, start and stop a Nautilus ``TradingNode`` inside a node host process.

Gotchas this module handles (Nautilus 1.231):

- **One kernel per process.** Build one node per node host process; Nautilus's logger is
  process-global and its first kernel's config wins.
- **Signals.** ``NautilusKernel`` installs SIGTERM/SIGINT/SIGABRT handlers on the loop
  (``loop.add_signal_handler``) and resets SIGINT's disposition, which works only in the
  main thread: build the node in the main thread of the host. By default those handlers
  call ``node.stop()``; pass ``on_signal`` to route the signals to the host instead.
- **uvloop.** Importing the kernel switches asyncio's *policy* to uvloop (unless pytest is
  imported). A loop created before the import stays what it was; create the host's loop
  after importing Nautilus (or call :func:`new_event_loop`) to get uvloop consistently.
- **Dispose.** ``node.dispose()`` stops (or closes) the event loop it runs on, which ends
  the host's ``asyncio.run``; :func:`stop_trading_node` calls ``node.kernel.dispose()``
  instead, which releases the kernel and leaves the loop to the host.
- **No restart.** A stopped node cannot be started again: build a new one from the same
  parts (a new process is cleaner still: the Rust logger keeps the first kernel's config).
- **Slow stop.** ``stop_async`` sleeps ``timeout_post_stop`` (10 s by default) whatever
  happens, so a stop takes at least that long: see ``timeout_post_stop`` below.
- **Slow import.** ``import nautilus_trader.live.node`` takes 3 s of CPU (7-10 s of wall
  time on this shared machine under load); it dominates launch-to-running, while
  building and starting a sandbox node takes about 0.1 s.
- **Connection failures** do not raise: ``kernel.start_async`` logs and returns when a
  client fails to connect within ``timeout_connection``; :func:`start_trading_node`
  therefore waits for the trader to be running and raises on timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nautilus_trader.live.node import TradingNode

    from engine.config.nautilus_build import TradingNodeParts

_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGABRT)


class NodeStartError(RuntimeError):
    """The node did not reach running (a client failed to connect, or it stopped)."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """Return a new event loop of the kind Nautilus expects (uvloop when installed)."""
    import nautilus_trader.system.kernel  # noqa: F401  (sets the uvloop policy)

    return asyncio.new_event_loop()


def build_trading_node(
    parts: TradingNodeParts,
    loop: asyncio.AbstractEventLoop,
    *,
    on_signal: Callable[[signal.Signals], None] | None = None,
    timeout_post_stop: float | None = None,
) -> TradingNode:
    """Build a ``TradingNode`` with its clients, ready for :func:`start_trading_node`.

    Parameters
    ----------
    parts : TradingNodeParts
        From :func:`engine.config.nautilus_build.trading_node_parts`.
    loop : asyncio.AbstractEventLoop
        The loop the node will run on (the host's running loop, or one to run later).
    on_signal : callable, optional
        Called with the signal instead of Nautilus's own handler (which stops the node).
    timeout_post_stop : float, optional
        Overrides the config's wait after strategies stop (Nautilus sleeps all of it, 10 s
        by default, before disconnecting; a sandbox fills at once, so 0.5 s is plenty).

    Raises
    ------
    ValueError
        A client cannot be built (e.g. an offline replay catalog without the instrument).
    """
    import msgspec
    from nautilus_trader.live.node import TradingNode

    config = parts.config
    if timeout_post_stop is not None:
        config = msgspec.structs.replace(config, timeout_post_stop=timeout_post_stop)
    node = TradingNode(config=config, loop=loop)
    for name, factory in parts.data_factories.items():
        node.add_data_client_factory(name, factory)
    for name, factory in parts.exec_factories.items():
        node.add_exec_client_factory(name, factory)
    node.build()
    if on_signal is not None:
        for sig in _SIGNALS:
            loop.remove_signal_handler(sig)
            loop.add_signal_handler(sig, on_signal, sig)
    return node


async def start_trading_node(node: TradingNode, timeout_s: float = 30.0) -> asyncio.Task[None]:
    """Start ``node`` and return its run task once the trader is running.

    The task runs until the node stops; keep it and pass it to :func:`stop_trading_node`.

    Raises
    ------
    NodeStartError
        The node stopped, or its trader was not running within ``timeout_s`` seconds.
    """
    if node.kernel.trader.is_disposed or node.kernel.ts_started is not None:
        raise NodeStartError("a node that ran cannot be started again; build a new one")
    task = asyncio.get_running_loop().create_task(node.run_async(), name="trading-node")
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not node.kernel.trader.is_running:
        if task.done():
            exc = None if task.cancelled() else task.exception()
            raise NodeStartError(f"node stopped while starting: {exc!r}")
        if asyncio.get_running_loop().time() > deadline:
            await stop_trading_node(node, task)
            raise NodeStartError(
                f"node not running after {timeout_s:.0f}s "
                f"(data connected={node.kernel.data_engine.check_connected()}, "
                f"exec connected={node.kernel.exec_engine.check_connected()})"
            )
        await asyncio.sleep(0.02)
    return task


async def stop_trading_node(
    node: TradingNode,
    task: asyncio.Task[None] | None = None,
    timeout_s: float = 10.0,
    before_dispose: Callable[[], None] | None = None,
) -> None:
    """Stop ``node`` gracefully, wait for its run task, and dispose of its kernel.

    ``before_dispose`` runs once the node has stopped, while its cache and portfolio can
    still be read (the final metrics sample). The event loop keeps running (unlike
    ``node.dispose()``). The node cannot be started again afterwards.
    """
    if node.kernel.is_running():
        await node.stop_async()
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout_s)
    if before_dispose is not None:
        before_dispose()
    node.kernel.dispose()
