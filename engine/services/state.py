"""Persisted node state: what a sandbox or live node keeps in Redis and risk.json; reset.

``gateway nodes state NODE [--json] [--reset]`` and ``GET /nodes/{id}/state`` call this.
Reading imports Nautilus (its own loader reads Redis), so it runs in a thread.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engine.config.issues import ConfigInvalid
from engine.config.model import Mode, NodeConfig
from engine.config.store import AmbiguousNode, ConfigStore, NodeNotFound
from engine.manager import NodeManager
from engine.principal import Principal
from engine.services.audit import audited_async
from engine.services.configs import check_mode, check_node_ref, lookup_error
from engine.services.errors import ServiceError
from engine.workspace import Workspace


class StateService:
    """Show and reset the persisted state of one workspace's nodes."""

    def __init__(self, workspace: Workspace, manager: NodeManager | None = None) -> None:
        self.workspace = workspace
        self.manager = manager or NodeManager(workspace)

    def _config(self, node_id: str, mode: str | None) -> NodeConfig:
        check_node_ref(node_id)
        resolved = check_mode(mode)
        try:
            config = ConfigStore(self.workspace).get(node_id, resolved.value if resolved else None)
        except (NodeNotFound, AmbiguousNode, ConfigInvalid) as exc:
            raise lookup_error(exc, node_id) from None
        if config.mode is Mode.BACKTEST:
            raise ServiceError(
                "invalid",
                f"node {node_id} is a backtest: its cache stays in memory, nothing is persisted",
                field="node_id",
                value=node_id,
                expected="a sandbox or live node",
            )
        return config

    async def show(self, node_id: str, mode: str | None = None) -> dict[str, Any]:
        """The node's persisted orders, positions, accounts and risk state (a plain dict)."""
        from engine.state.persisted import read_persisted

        config = await asyncio.to_thread(self._config, node_id, mode)
        try:
            state = await asyncio.to_thread(read_persisted, self.workspace, config)
        except Exception as exc:
            raise _unreachable(exc, config) from None
        return state.to_dict()

    async def reset(self, who: Principal, node_id: str, mode: str | None = None) -> dict[str, Any]:
        """Delete the node's persisted state; refused (``conflict``) while it runs."""
        from engine.state.persisted import reset_persisted

        async def call() -> dict[str, Any]:
            config = await asyncio.to_thread(self._config, node_id, mode)
            live = [s for s in await self.manager.ps() if s.node_id == node_id and s.alive]
            if live:
                raise ServiceError(
                    "conflict",
                    f"node {node_id} is running (run {live[0].run_id}); its state cannot be "
                    f"reset under it: stop it first (gateway stop {node_id})",
                    field="node_id",
                    value=node_id,
                    expected="a node with no host running",
                )
            try:
                done = await asyncio.to_thread(reset_persisted, self.workspace, config)
            except Exception as exc:
                raise _unreachable(exc, config) from None
            return {"node_id": node_id, "trader_id": config.trader_id, **done}

        return await audited_async(
            self.workspace,
            who,
            "nodes.state.reset",
            {"node_id": node_id},
            {"mode": mode},
            call,
            lambda r: {"keys_deleted": r["keys_deleted"], "risk_deleted": r["risk_deleted"]},
        )


def _unreachable(exc: Exception, config: NodeConfig) -> ServiceError:
    from engine.state.prepare import RedisTargetInvalid, RedisUnavailable

    if isinstance(exc, RedisTargetInvalid):
        return ServiceError.invalid(exc.field, exc.value, exc.expected)
    if isinstance(exc, RedisUnavailable):
        return ServiceError("unreachable", str(exc), field="redis_url", value=config.redis_url)
    return ServiceError("failed", f"reading node {config.node_id}'s state: {exc}")
