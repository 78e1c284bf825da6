"""One attached client of a node's order flow: send order commands, follow their events.

:class:`OrderSession` subscribes to the node's stream from the host's current end *before*
any command is sent, so no event of a new order is missed however fast the node answers.
It folds order events into an :class:`~engine.orders.status.OrderStatusTable` and keeps
the answers a command waits for (``OrderUpdated``, ``OrderModifyRejected``,
``OrderCancelRejected`` …) with their sequence numbers, so a caller can tell an answer to
*its* command from an earlier one. :func:`submit_and_wait` is ``gateway order --wait``;
:mod:`engine.orders.outcome` builds close, flatten, modify and cancel outcomes on it.
Front ends (CLI, console, the coming HTTP API) and ``bench/`` use it from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.orders.status import OrderStatusTable

if TYPE_CHECKING:
    from engine.orders.status import OrderRow
    from engine.principal import Principal
    from engine.workspace import Workspace

WAIT_CHOICES = ("none", "accepted", "filled")
# Statuses at or past acceptance: the order is working (or done) at the venue or emulator.
ACCEPTED_OR_LATER = frozenset(
    {
        "ACCEPTED",
        "TRIGGERED",
        "EMULATED",
        "PENDING_UPDATE",
        "PENDING_CANCEL",
        "PARTIALLY_FILLED",
        "FILLED",
        "CANCELED",
        "EXPIRED",
    }
)
REFUSED_STATUSES = frozenset({"DENIED", "REJECTED"})
# Events that answer a modify or cancel (or end the order before the answer came).
ANSWER_EVENTS = frozenset(
    {
        "OrderUpdated",
        "OrderModifyRejected",
        "OrderCancelRejected",
        "OrderCanceled",
        "OrderExpired",
        "OrderRejected",
        "OrderDenied",
        "OrderFilled",
    }
)


def wait_targets(command: dict[str, Any], ids: list[str]) -> tuple[list[str], bool]:
    """Which of a submit's orders a wait follows, and whether any one of them is enough."""
    ticket = command.get("ticket") if isinstance(command, dict) else None
    kind = str(ticket.get("type", "")).upper() if isinstance(ticket, dict) else ""
    if kind in ("BRACKET", "OTO"):
        return ids[:1], False  # the entry / parent: the others wait on it
    return ids, kind == "OCO"


def new_idempotency_key() -> str:
    """A key for one command (a person's or a script's single intent)."""
    import uuid

    return uuid.uuid4().hex


def refused(reply: dict[str, Any]) -> bool:
    """Whether a node's reply to a command is a refusal (``ok: false`` / an error code)."""
    return reply.get("ok") is False or "error" in reply or "code" in reply


def verdict(row: OrderRow | None, wait: str) -> str | None:
    """``done`` / ``failed`` once `row` settles what ``wait`` waits for, else ``None``."""
    if row is None:
        return None
    if row.status in REFUSED_STATUSES:
        return "failed"
    if wait == "accepted":
        return "done" if row.status in ACCEPTED_OR_LATER else None
    if row.status == "FILLED":
        return "done"
    return "failed" if not row.is_open else None


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer-type event of an order, as the node sent it."""

    seq: int
    type: str
    reason: str | None


class OrderSession:
    """One attached client of a node: sends order commands, follows order status."""

    def __init__(self, client: Any, node_id: str = "", principal: str | None = None) -> None:
        self.client = client
        self.node_id = node_id
        self.principal = principal  # who sends this session's commands (to the host)
        self.sent_keys: list[str] = []  # every command's idempotency key, in order
        # The notional confirmation the node checks this session's submits and modifies
        # against (``engine.host.notional_guard``), unless a send gives its own.
        self.notional: dict[str, Any] | None = None
        self.table = OrderStatusTable()
        self.answers: dict[str, list[Answer]] = {}
        self.changed = asyncio.Event()
        self.last_seq: int = client.host_last_seq
        self._consumer = asyncio.create_task(self._consume())

    @classmethod
    async def open(
        cls, workspace: Workspace, node_id: str, principal: str | None = None
    ) -> OrderSession:
        """Attach to `node_id`'s live host (``NodeNotRunning`` when there is none);
        ``principal``: who sends its commands."""
        from engine.channel import NodeClient
        from engine.channel.errors import ChannelError
        from engine.host.paths import socket_path
        from engine.manager import NodeNotRunning

        try:
            client = await NodeClient.connect(socket_path(workspace, node_id))
        except (OSError, ChannelError, TimeoutError):
            raise NodeNotRunning(f"node {node_id!r} is not running (see: gateway ps)") from None
        return cls(client, node_id, principal)

    async def _consume(self) -> None:
        async for batch in self.client.events(after_seq=self.client.host_last_seq):
            self.last_seq = batch[-1].seq
            for env in batch:
                if env.kind == "order" and env.type in ANSWER_EVENTS:
                    coid = env.payload.get("client_order_id")
                    if isinstance(coid, str):
                        reason = env.payload.get("reason")
                        self.answers.setdefault(coid, []).append(
                            Answer(env.seq, env.type, None if reason is None else str(reason))
                        )
            if self.table.apply(batch):
                self.changed.set()

    @property
    def following(self) -> bool:
        """Whether the node's stream is still followed (false once it ended)."""
        return not self._consumer.done()

    async def send(
        self,
        command: dict[str, Any],
        timeout_s: float = 10.0,
        *,
        idempotency_key: str | None = None,
        principal: str | None = None,
        notional: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one order command (``load_command`` data); return the node's reply.

        The host runs a command's ``idempotency_key`` (a new one unless given) once however
        often it is sent (a retry after a lost reply gets the first reply); ``principal``
        (else the session's) says who sent it;
        ``notional``: the confirmation the node checks a submit against
        (``engine.host.notional_guard``).
        """
        # Every command carries a key (a new one unless given) and who sent it, so the
        # host runs it once however often it arrives.
        key = idempotency_key or new_idempotency_key()
        self.sent_keys.append(key)
        meta: dict[str, Any] = {"idempotency_key": key}
        if (principal or self.principal) is not None:
            meta["principal"] = principal or self.principal
        guard = notional if notional is not None else self.notional
        if guard is not None and command.get("action") in ("submit", "modify"):
            meta["notional"] = guard
        reply: dict[str, Any] = await self.client.command(
            "order", command=command, reply_timeout=timeout_s, **meta
        )
        return reply

    async def query(self, cmd: str, timeout_s: float = 10.0, **args: Any) -> dict[str, Any]:
        """Send any other host command (``exposure``, ``market`` …); return the reply."""
        reply: dict[str, Any] = await self.client.command(cmd, reply_timeout=timeout_s, **args)
        return reply

    def answers_after(self, client_order_id: str, seq: int) -> list[Answer]:
        """The answer-type events of one order with a sequence number above `seq`."""
        return [a for a in self.answers.get(client_order_id, ()) if a.seq > seq]

    async def until(self, settled: Callable[[], bool], timeout_s: float) -> bool:
        """Wait until ``settled()`` holds (checked on every change); whether it did in time."""
        deadline = time.perf_counter() + timeout_s
        while True:
            if settled():
                return True
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or self._consumer.done():
                return settled()
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    async def wait_for(
        self, ids: list[str], wait: str, timeout_s: float, *, any_one: bool = False
    ) -> bool:
        """Wait until every order of `ids` (or one, with `any_one`) settles for `wait`.

        Returns whether they settled before `timeout_s`; see :func:`verdict`.
        """

        def settled() -> bool:
            verdicts = [verdict(self.table.get(i), wait) for i in ids]
            return (any_one and "done" in verdicts) or all(v is not None for v in verdicts)

        return await self.until(settled, timeout_s)

    async def close(self) -> None:
        """Detach (the node keeps running)."""
        self._consumer.cancel()
        with contextlib.suppress(BaseException):
            await self._consumer
        await self.client.close()


async def submit_and_wait(
    workspace: Workspace,
    node_id: str,
    command: dict[str, Any],
    *,
    wait: str,
    timeout_s: float,
    targets: Callable[[list[str]], tuple[list[str], bool]] | None = None,
    who: Principal | None = None,
    idempotency_key: str | None = None,
    confirmation: dict[str, Any] | None = None,
    notional: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[OrderRow], float | None]:
    """Send an order command; with ``wait``, follow the stream until the orders settle.

    With ``who``, the command and the node's answer go into the audit log (an entry that
    cannot be written is reported as ``audit_error`` in the reply; ``confirmation``: the
    notional confirmation as the entry shows it). The command carries an idempotency key
    (a new one unless given), so the host runs it once whatever happens to the connection.

    Returns
    -------
    tuple
        The node's reply, the followed orders' rows, and seconds from sending to the
        last verdict (``None`` without waiting, on a refusal or a timeout).
    """
    session = await OrderSession.open(workspace, node_id)
    try:
        started = time.perf_counter()
        key = idempotency_key or new_idempotency_key()
        principal = None if who is None else str(who)
        reply = await session.send(
            command, timeout_s, idempotency_key=key, principal=principal, notional=notional
        )
        if who is not None:
            from engine.audit.log import record
            from engine.orders.audit_entry import action_name, request_entry, result_entry

            error = await asyncio.to_thread(
                record,
                workspace,
                who,
                action_name(command),
                target={"node_id": node_id},
                request=request_entry(command, key, confirmation),
                result=result_entry(reply),
            )
            if error is not None:
                reply = {**reply, "audit_error": error}
        ids = [str(i) for i in reply.get("client_order_ids") or ()]
        if wait == "none" or refused(reply) or not ids:
            return reply, [], None
        follow, any_one = targets(ids) if targets is not None else (ids, False)
        left = max(0.0, started + timeout_s - time.perf_counter())
        settled = await session.wait_for(follow, wait, left, any_one=any_one)
        elapsed = time.perf_counter() - started if settled else None
        rows = [r for i in follow if (r := session.table.get(i)) is not None]
        return reply, rows, elapsed
    finally:
        await session.close()
