"""Order commands sent to a node: the node's reply, audited (no waiting for outcomes).

This is the place where the order endpoints (submit, modify, cancel, cancel all, close,
flatten, with outcome waiting from ``engine.orders``) belong; today it forwards one order
command with its idempotency key and returns what the node answered.
"""

from __future__ import annotations

from engine.channel import ChannelError, CommandError, NodeClient
from engine.host.paths import socket_path
from engine.manager import NodeManager
from engine.principal import Principal
from engine.services.audit import audited_async
from engine.services.configs import check_node_ref
from engine.services.errors import ServiceError
from engine.services.models import OrderCommandReply, OrderCommandRequest


class OrderService:
    def __init__(self, manager: NodeManager) -> None:
        self.manager = manager
        self.workspace = manager.workspace

    async def send(
        self, who: Principal, node_id: str, request: OrderCommandRequest
    ) -> OrderCommandReply:
        """Send ``{"cmd": "order", "command": …, "idempotency_key": …}``; return the reply."""

        async def call() -> OrderCommandReply:
            check_node_ref(node_id)
            live = {s.node_id for s in await self.manager.ps() if s.alive}
            if node_id not in live:
                raise ServiceError(
                    "conflict",
                    f"node {node_id!r} is not running (see: gateway ps)",
                    field="node_id",
                    value=node_id,
                    expected="a node with a host running",
                )
            try:
                client = await NodeClient.connect(socket_path(self.workspace, node_id))
            except (OSError, ChannelError, TimeoutError) as exc:
                raise ServiceError(
                    "unreachable",
                    f"node {node_id!r} does not answer: {exc}",
                    field="node_id",
                    value=node_id,
                    expected="a node host that answers on its channel",
                ) from None
            try:
                reply = await client.command(
                    "order",
                    command=request.command,
                    idempotency_key=request.idempotency_key,
                    principal=str(who),
                )
            except CommandError as exc:
                if isinstance(exc, TimeoutError):
                    raise ServiceError(
                        "unreachable", str(exc), field="node_id", value=node_id
                    ) from None
                raise ServiceError(
                    "refused",
                    str(exc),
                    field="command",
                    value=request.command.get("action"),
                    expected="a command the node accepts",
                ) from None
            except ChannelError as exc:
                raise ServiceError(
                    "unreachable", str(exc), field="node_id", value=node_id
                ) from None
            finally:
                await client.close()
            return OrderCommandReply(node_id=node_id, reply=reply)

        return await audited_async(
            self.workspace,
            who,
            "orders.command",
            {"node_id": node_id},
            {"command": request.command, "idempotency_key": request.idempotency_key},
            call,
            lambda r: {"reply": r.reply},
        )
