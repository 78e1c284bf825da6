"""Order commands to a node: ``send`` forwards one command with its idempotency key and
returns the node's reply; ``act`` carries out a modify, cancel, cancel all, close or flatten
and follows it to the verified outcome (``engine.orders.outcome``). Both are audited.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from engine.channel import ChannelError, CommandError
from engine.manager import NodeManager
from engine.principal import Principal
from engine.services.audit import audited_async
from engine.services.channels import NodeChannels
from engine.services.configs import check_node_ref
from engine.services.errors import ServiceError
from engine.services.models import (
    OrderActionRequest,
    OrderCommandReply,
    OrderCommandRequest,
    OrderList,
    OrderOutcome,
    OrderRowOut,
    PositionsSnapshot,
)

if TYPE_CHECKING:
    from engine.orders.dryrun import DryRun
    from engine.orders.outcome import Outcome
    from engine.orders.tickets import AnyTicket


class OrderService:
    def __init__(self, manager: NodeManager) -> None:
        self.manager = manager
        self.workspace = manager.workspace
        self.channels = NodeChannels(self.workspace)

    async def list(self, ref: str, *, open_only: bool = False) -> OrderList:
        """The orders of ``ref``'s run (a node's live or latest run, or a run id), folded
        from its events by the engine's one fold (``engine.orders.status``).

        A damaged journal is said (``damaged``), and orders still open where it stops show
        ``UNKNOWN``: the events lost may have moved them on.
        """
        import asyncio

        from engine.orders.status import OrderStatusTable
        from engine.run_verify import distrust_open_orders, journal_damage
        from engine.runs import RunNotFound

        try:
            run = await self.manager.find_run(ref)
        except RunNotFound as exc:
            raise ServiceError(
                "not_found",
                str(exc),
                field="node_id",
                value=ref,
                expected="a node id with a run, or a run id",
            ) from None
        table = OrderStatusTable()
        async for batch in self.manager.attach(run.run_id, 0, follow=False):
            table.apply(batch)
        rows = table.rows()
        damage = await asyncio.to_thread(journal_damage, self.workspace, run)
        if damage is not None:
            rows = distrust_open_orders(rows, damage)
        if open_only:
            rows = [r for r in rows if r.is_open]
        return OrderList(
            node_id=run.node_id,
            run_id=run.run_id,
            orders=[OrderRowOut.model_validate(r.to_dict()) for r in rows],
            damaged=None if damage is None else damage.problems[0].message,
            intact_seq=None if damage is None else damage.intact_seq,
        )

    async def snapshot(self, node_id: str, kind: str) -> dict[str, Any]:
        """A snapshot the running node serves from its kernel (``positions`` or ``balances``).

        The ``SnapshotError`` is kept as the cause: the CLI prints its code and exit code.
        """
        from engine.orders.portfolio import SnapshotError, request_snapshot

        try:
            return await request_snapshot(self.manager, node_id, kind)
        except SnapshotError as exc:
            code = {
                "invalid_node_id": "invalid",
                "invalid_kind": "invalid",
                "not_running": "conflict",
            }.get(exc.code)
            field = "kind" if exc.code == "invalid_kind" else "node_id"
            raise ServiceError(
                code or "unreachable",  # type: ignore[arg-type]
                exc.message,
                field=field,
                value=kind if field == "kind" else node_id,
                expected="a running node" if code != "invalid" else f"a {field.replace('_', ' ')}",
            ) from exc

    async def positions(self, node_id: str) -> PositionsSnapshot:
        """The running node's open positions, read from its kernel (a snapshot it serves)."""
        snap = await self.snapshot(node_id, "positions")
        return PositionsSnapshot.model_validate(
            {"node_id": node_id, **{k: snap[k] for k in ("ts_ns", "positions", "totals", "counts")}}
        )

    async def balances(self, node_id: str) -> dict[str, Any]:
        """The running node's account balances and margins (a snapshot it serves)."""
        return await self.snapshot(node_id, "balances")

    async def send(
        self, who: Principal, node_id: str, request: OrderCommandRequest
    ) -> OrderCommandReply:
        """Send ``{"cmd": "order", "command": …, "idempotency_key": …}``; return the reply.

        On the node's channel kept open in ``self.channels``: a caller sending more than once
        keeps one service (the API's ``Services``), or each leaves a connection open.
        """

        async def call() -> OrderCommandReply:
            check_node_ref(node_id)
            # The node's open channel first: a running host answers on it, and reading every
            # pid file (ps) on each submit cost a thread hop and ~1 ms. Only a failed
            # connect asks ps whether the node runs at all (409) or does not answer (503).
            try:
                client = await self.channels.get(node_id)
            except (OSError, ChannelError, TimeoutError) as exc:
                live = {s.node_id for s in await self.manager.ps() if s.alive}
                if node_id not in live:
                    raise ServiceError(
                        "conflict",
                        f"node {node_id!r} is not running (see: gateway ps)",
                        field="node_id",
                        value=node_id,
                        expected="a node with a host running",
                    ) from None
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
                if not client.is_open:  # the host ended it: connect afresh next time
                    await self.channels.discard(node_id, client)
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

    async def act(self, who: Principal, node_id: str, request: OrderActionRequest) -> OrderOutcome:
        """Modify, cancel, cancel all, close or flatten; follow it to its verified outcome.

        Audited by the engine (``engine.orders.outcome.run_action``) under ``who``.
        """
        check_node_ref(node_id)
        action = request.command.get("action")
        if action not in ACTIONS:
            raise ServiceError(
                "invalid",
                f"command.action: got {action!r}, expected one of {', '.join(ACTIONS)}",
                field="command.action",
                value=action,
                expected=", ".join(ACTIONS),
            )
        outcome = await self.carry_out(
            who, node_id, request.command, wait=request.wait, timeout_s=request.timeout_s
        )
        if outcome.code == "not_running":
            raise ServiceError(
                "conflict", outcome.summary, field="node_id", value=node_id,
                expected="a node with a host running",
            )  # fmt: skip
        if outcome.reply.get("code") in ("invalid_order", "invalid_command"):
            issues = outcome.reply.get("issues") or []
            first = issues[0] if issues else {}
            raise ServiceError(
                "invalid",
                outcome.summary,
                field=str(first.get("path") or "command"),
                value=first.get("value"),
                expected=str(first.get("expected") or ""),
            )
        return OrderOutcome(
            ok=outcome.ok and outcome.audit_error is None, outcome=outcome.to_dict()
        )

    async def carry_out(
        self,
        who: Principal,
        node_id: str,
        command: dict[str, Any],
        *,
        wait: bool = True,
        timeout_s: float | None = None,
    ) -> Outcome:
        """Carry out one order action (``load_command`` data) and return the engine's
        outcome as is: the CLI prints it whole, ``act`` maps it to the API's model."""
        from engine.orders.outcome import run_action

        return await run_action(
            self.workspace, node_id, command, wait=wait, timeout_s=timeout_s, who=who
        )

    async def flatten_everywhere(
        self, who: Principal, *, timeout_s: float | None = None, cancel_orders: bool = True
    ) -> builtins.list[Outcome]:  # ``list`` here is the method above
        """The kill switch: flatten every running sandbox/live node at once."""
        from engine.orders.outcome import flatten_everywhere

        return await flatten_everywhere(
            self.workspace, timeout_s=timeout_s, cancel_orders=cancel_orders, who=who
        )

    async def dry_run(self, node_id: str, ticket: AnyTicket, *, timeout_s: float = 5.0) -> DryRun:
        """Check ``ticket`` as the node will (its rules and quote), sending nothing."""
        from engine.orders.dryrun import dry_run

        return await dry_run(self.manager, node_id, ticket, timeout_s=timeout_s)


ACTIONS = ("modify", "cancel", "cancel_all", "close_position", "flatten_all")
