"""The node host: one NautilusTrader kernel in its own process, journaling its events.

Start it with ``python -m engine.host`` (the NodeManager does). Importing this package
is cheap: Nautilus is imported only by the modules that run a kernel.

- ``host``: the process (lifecycle, channel commands: ``status``, ``stop``, ``order``).
- ``backtest``: a ``BacktestNode``; ``trading``: a sandbox/live ``TradingNode`` with the
  ``GatewayStrategy`` and client connection events.
- ``supervisor``: the detached parent of sandbox/live hosts (restart policy).
- ``actor``: the gateway actor forwarding kernel events; ``logtail``: log lines as events.
"""

from engine.host.events import (
    NODE_STATES,
    TERMINAL_STATES,
    Publish,
)
from engine.host.paths import pid_file, socket_path

__all__ = ["NODE_STATES", "TERMINAL_STATES", "Publish", "pid_file", "socket_path"]
