"""The local channel between a node host and its clients (console, CLI)."""

from engine.channel.client import NodeClient
from engine.channel.errors import ChannelError, CommandError, CommandTimeout, StaleSocketError
from engine.channel.host import CommandHandler, HostChannel
from engine.channel.transport import Transport, UnixSocketTransport

__all__ = [
    "ChannelError",
    "CommandError",
    "CommandHandler",
    "CommandTimeout",
    "HostChannel",
    "NodeClient",
    "StaleSocketError",
    "Transport",
    "UnixSocketTransport",
]
