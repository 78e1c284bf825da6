"""Get a node's Redis ready before its host builds the node: reachable, ours, its layout.

Called by the node host (so a launch by the CLI, the console, the API or the supervisor's
restart all go through it). There is no fallback to an in-memory cache: a Redis that cannot
be used stops the node before it starts, with a message naming what and where.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.state.integrity import drop_duplicate_events
from engine.state.namespace import NamespaceConflict, check_layout, claim_trader
from engine.state.redis_server import RedisUnavailable, ensure_workspace_redis, ping
from engine.state.target import RedisTarget, RedisTargetInvalid, configured_target
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.config.model import NodeConfig

__all__ = [
    "NamespaceConflict",
    "PreparedRedis",
    "RedisTargetInvalid",
    "RedisUnavailable",
    "node_redis",
    "prepare_node_redis",
]


def _uses_trader_id(workspace: Workspace, node_id: str, trader_id: str) -> bool:
    """Whether a stored sandbox/live config of ``node_id`` has ``trader_id`` (or cannot be
    read: then it is kept, never taken over on a guess)."""
    from engine.config.store import ConfigStore

    stored = [s for s in ConfigStore(workspace).all() if s.node_id == node_id]
    return any(
        s.config is None or (s.config.mode.value != "backtest" and s.config.trader_id == trader_id)
        for s in stored
    )


def node_redis(workspace: Workspace, node: NodeConfig | None) -> RedisTarget:
    """The Redis of ``node``: the configured one, else the workspace's (started if needed)."""
    target = configured_target(workspace, node)
    return target if target is not None else ensure_workspace_redis(workspace)


@dataclass(frozen=True, slots=True)
class PreparedRedis:
    """A node's Redis, ready; ``deduplicated``: event lists that held an event twice."""

    target: RedisTarget
    deduplicated: list[str]


def prepare_node_redis(workspace: Workspace, node: NodeConfig) -> PreparedRedis:
    """Check ``node``'s Redis answers, its layout version, claim the node's trader id, and
    drop events stored twice (which Nautilus would refuse to load).

    Raises
    ------
    RedisTargetInvalid
        A URL in the node config or settings.json is unusable.
    RedisUnavailable
        The Redis does not answer, or the workspace's redis-server cannot start.
    NamespaceConflict
        Its trader id belongs to another node or workspace, or the layout is newer.
    """
    target = node_redis(workspace, node)
    why = ping(target, 3.0)
    if why is not None:
        raise RedisUnavailable(
            f"Redis at {target.url} ({target.source}) does not answer: {why}; node "
            f"{node.node_id} does not start (its cache would not survive a restart)"
        )
    client = target.client(3.0)
    try:
        check_layout(client, target.url)
        claim_trader(
            client,
            workspace,
            node.trader_id,
            node.node_id,
            target.url,
            still_owns=lambda other: _uses_trader_id(workspace, other, node.trader_id),
        )
        repaired = drop_duplicate_events(client, node.trader_id)
    finally:
        with contextlib.suppress(Exception):
            client.close()
    return PreparedRedis(target, repaired["rewritten"])
