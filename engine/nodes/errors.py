"""What a caller of the node manager catches."""

from __future__ import annotations


class NodeAlreadyRunning(RuntimeError):
    """The node has a live host already (one host per node)."""


class NodeNotRunning(RuntimeError):
    """No live host for this node."""
