"""The node host: one NautilusTrader kernel in its own process, journaling its events.

Start it with ``python -m engine.host`` (the NodeManager does). Importing this package
is cheap: Nautilus is imported only by the modules that run a kernel.
"""

from engine.host.events import (
    NODE_STATES,
    TERMINAL_STATES,
    Publish,
)
from engine.host.paths import pid_file, socket_path

__all__ = ["NODE_STATES", "TERMINAL_STATES", "Publish", "pid_file", "socket_path"]
