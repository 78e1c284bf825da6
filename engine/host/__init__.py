"""The node host: one NautilusTrader kernel in its own process, journaling its events.

Start it with ``python -m engine.host`` (the NodeManager does). Importing this package
imports nothing: the CLI starts a standby host (``standby``) before its own imports, and
Nautilus is imported only by the modules that run a kernel.

- ``host``: the process (lifecycle, channel commands: ``status``, ``stop``, ``order``).
- ``backtest``: a ``BacktestNode``; ``trading``: a sandbox/live ``TradingNode`` with the
  ``GatewayStrategy`` and client connection events.
- ``supervisor``: the detached parent of sandbox/live hosts (restart policy).
- ``actor``: the gateway actor forwarding kernel events; ``logtail``: log lines as events.
- ``command``: host command lines and environment; ``standby``: a backtest host started
  before its run exists, importing Nautilus while the caller validates the config.
"""
