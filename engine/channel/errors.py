"""Errors of the node channel."""

from __future__ import annotations


class ChannelError(RuntimeError):
    """The channel to a node host cannot be opened or was lost."""


class StaleSocketError(ChannelError):
    """A socket file exists but no node host listens on it (the host died)."""


class CommandError(ChannelError):
    """The node host answered a command with an error."""


class CommandTimeout(ChannelError, TimeoutError):
    """The node host did not answer a command in time."""
