"""Keys the gateway keeps beside Nautilus's in a Redis, and who owns which trader id.

Nautilus names every cache key ``trader-<TRADER_ID>:<kind>:<id>`` (``use_trader_prefix``,
no instance id): nodes with different trader ids never collide, and the config store
refuses two node configs of a workspace with one trader id. Two *workspaces* sharing one
Redis URL could still both run a ``TRADER-001``. Nautilus 1.231 cannot select a database
index (it connects to host:port, database 0), so instead each workspace has an id
(``.gateway/workspace-id``) and claims the trader ids it runs in the hash
``gateway:traders`` (trader id -> ``{"workspace", "path", "node_id"}``, HSETNX): a node whose
trader id is claimed by another workspace, or another node, is refused before it starts.

``gateway:layout`` holds the version of this key layout (an int, :data:`LAYOUT_VERSION`),
written when a node first uses a Redis; a newer one is refused (``gateway migrate`` moves
older ones forward).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from engine.atomic import atomic_write_text
from engine.workspace import Workspace

LAYOUT_KEY = "gateway:layout"
LAYOUT_VERSION = 1
TRADERS_KEY = "gateway:traders"


class NamespaceConflict(RuntimeError):
    """The trader id is another node's, or the Redis key layout is newer than ours."""


def workspace_id(workspace: Workspace) -> str:
    """The workspace's id, created once (a UUID in ``workspace-id``)."""
    path = workspace.root / "workspace-id"
    try:
        found = path.read_text(encoding="utf-8").strip()
    except OSError:
        found = ""
    if found:
        return found
    new = uuid.uuid4().hex
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, new + "\n")
    return new


def trader_prefix(trader_id: str) -> str:
    """Nautilus's key prefix for a trader's cache."""
    return f"trader-{trader_id}:"


def check_layout(client: Any, where: str) -> int:
    """Write the layout version if absent; refuse a newer one. Returns the stored version.

    The version rules are engine.migrate's (``redis_layout_steps``): a layout that needs
    migration steps is refused here until ``gateway migrate`` has run them.
    """
    from engine.migrate.kinds import redis_layout_steps
    from engine.migrate.versions import VersionError

    client.set(LAYOUT_KEY, LAYOUT_VERSION, nx=True)
    raw = client.get(LAYOUT_KEY)
    try:
        steps = redis_layout_steps(raw, f"{where}: {LAYOUT_KEY}")
    except VersionError as exc:
        raise NamespaceConflict(f"{exc}; upgrade the gateway, nothing was changed") from None
    if steps:
        raise NamespaceConflict(
            f"{where}: Redis key layout {raw!r} needs migration steps {steps}: run gateway migrate"
        )
    return int(raw)


def claim_trader(
    client: Any,
    workspace: Workspace,
    trader_id: str,
    node_id: str,
    where: str,
    *,
    still_owns: Callable[[str], bool] = lambda _node: True,
) -> dict[str, Any]:
    """Claim ``trader_id`` for this workspace's ``node_id``; raise :class:`NamespaceConflict`.

    ``still_owns(node)``: whether another node of this workspace that claimed the trader id
    still has it in its config; one that was deleted or given another trader id hands its
    claim (and the state under that trader id) to ``node_id``.
    """
    mine = {"workspace": workspace_id(workspace), "path": str(workspace.root), "node_id": node_id}
    client.hsetnx(TRADERS_KEY, trader_id, json.dumps(mine))
    raw = client.hget(TRADERS_KEY, trader_id)
    try:
        owner = json.loads(raw) if raw is not None else {}
    except ValueError:
        owner = {}
    if (
        owner.get("workspace") == mine["workspace"]
        and owner.get("node_id") != node_id
        and not still_owns(str(owner.get("node_id")))
    ):
        client.hset(TRADERS_KEY, trader_id, json.dumps(mine))
        owner = mine
    if owner.get("workspace") != mine["workspace"] or owner.get("node_id") != node_id:
        raise NamespaceConflict(
            f"trader id {trader_id} in Redis at {where} belongs to node "
            f"{owner.get('node_id')!r} of workspace {owner.get('path')!r}; each node needs "
            "its own trader id (change trader_id in the node config, or use another Redis)"
        )
    return owner


def release_trader(client: Any, workspace: Workspace, trader_id: str) -> None:
    """Drop this workspace's claim on ``trader_id`` (another workspace's stays)."""
    raw = client.hget(TRADERS_KEY, trader_id)
    try:
        owner = json.loads(raw) if raw is not None else {}
    except ValueError:
        owner = {}
    if owner.get("workspace") == workspace_id(workspace):
        client.hdel(TRADERS_KEY, trader_id)
