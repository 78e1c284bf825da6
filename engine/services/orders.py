"""Order commands to a node: ``send`` forwards one command with its idempotency key and
returns the node's reply; ``act`` carries out a modify, cancel, cancel all, close or flatten
and follows it to the verified outcome (``engine.orders.outcome``). Both are audited.

The notional confirmation (the fat-finger guard) lives here, so every front end has it:
a submit whose notional (``engine.orders.notional``) is above the workspace's
``orders.confirm_notional_above`` (``engine.orders.order_settings``, default 1,000,000),
or whose notional cannot be valued, is refused with code ``unconfirmed`` (CLI exit 2,
HTTP 409) and never reaches the node, unless the request carries a confirmation:

- ``confirm_notional: true``: sent whatever its notional (``gateway order --yes``, the
  console's "Send" on an order it could not value);
- ``confirm_notional: <amount>``: sent if its notional, valued here at send time, is at
  most that amount (what the sender was shown and accepted, or a ceiling an agent sets).
  An order that cannot be valued is not confirmed by an amount: there is nothing to
  compare it with.

Unknown is refused, not allowed: a market order with no quote, or any order without the
instrument's rules (a future's multiplier is not 1), may be the biggest order of the day,
and a guard that waves through what it cannot value guards nothing. The refusal is
audited like the node's refusals.
"""

from __future__ import annotations

import builtins
import contextlib
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.channel import ChannelError, CommandError, NodeClient
from engine.manager import NodeManager, NodeNotRunning
from engine.orders.audit_entry import action_name, request_entry, result_entry
from engine.orders.session import (
    REFUSED_STATUSES,
    OrderSession,
    refused,
    verdict,
    wait_targets,
)
from engine.principal import Principal
from engine.services.audit import audited_async
from engine.services.channels import NodeChannels
from engine.services.configs import check_node_ref
from engine.services.errors import ServiceError
from engine.services.models import (
    OrderActionRequest,
    OrderCheck,
    OrderCommandReply,
    OrderCommandRequest,
    OrderList,
    OrderOutcome,
    OrderRowOut,
    PositionsSnapshot,
)
from engine.services.notional import (
    CONFIRM_FIELD,
    Confirmation,
    NotionalCheck,
    assess_notional,
    confirm_value,
)
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.orders.dryrun import DryRun
    from engine.orders.outcome import Outcome
    from engine.orders.status import OrderRow
    from engine.orders.tickets import AnyTicket
    from engine.orders.validation import InstrumentRules, MarketQuote


class OrderService:
    def __init__(self, manager: NodeManager) -> None:
        self.manager = manager
        self.workspace = manager.workspace
        self.channels = NodeChannels(self.workspace)

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> OrderService:
        """The order service of ``workspace`` alone (a CLI command's: one manager of its own)."""
        return cls(NodeManager(workspace))

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
        self,
        who: Principal,
        node_id: str,
        request: OrderCommandRequest,
        *,
        market: tuple[InstrumentRules | None, MarketQuote | None] | None = None,
    ) -> OrderCommandReply:
        """Send ``{"cmd": "order", "command": …, "idempotency_key": …}``; return the reply.

        A refusal is a reply too (``ok`` false; :func:`refusal` turns it into the error
        model). ``market``: the rules and quote a ticket was valued with (see
        :meth:`check_submit`). Audited as every front end's order commands are
        (``engine.orders.audit_entry``). Without a wait, on the node's channel kept open in
        ``self.channels``: a caller sending more than once keeps one service (the API's
        ``Services``), or each leaves a connection open.
        """

        async def call() -> OrderCommandReply:
            check_node_ref(node_id)
            if request.wait != "none":
                await self.require_running(node_id)
                return await self._send_and_wait(who, node_id, request, market)
            guard = await self._notional_guard(node_id, request, market)
            client = await self._channel(node_id)
            try:
                with _channel_errors(node_id, request.command):
                    reply = await client.command(
                        "order",
                        command=request.command,
                        idempotency_key=request.idempotency_key,
                        principal=str(who),
                        reply_timeout=request.timeout_s,
                        **guard,
                    )
            finally:
                if not client.is_open:  # the host ended it: connect afresh next time
                    await self.channels.discard(node_id, client)
            return OrderCommandReply(node_id=node_id, reply=reply)

        return await audited_async(
            self.workspace,
            who,
            action_name(request.command),
            {"node_id": node_id},
            request_entry(
                request.command,
                request.idempotency_key,
                _confirm_entry(request.confirm_notional),
            ),
            call,
            lambda r: result_entry(r.reply),
        )

    async def _notional_guard(
        self,
        node_id: str,
        request: OrderCommandRequest,
        market: tuple[InstrumentRules | None, MarketQuote | None] | None,
    ) -> dict[str, Any]:
        """The notional confirmation for a submit: checked by the node as it sends it
        (``engine.host.notional_guard``), with its rules and quote at that moment. With
        ``market`` (what the sender was shown), checked here first too: refused before
        anything is sent."""
        from engine.host.notional_guard import guard_arg

        if request.command.get("action") != "submit":
            return {}
        threshold = await self._threshold()
        if market is not None:
            self.check_submit(request.command, request.confirm_notional, market, threshold)
        guard = guard_arg(threshold, request.confirm_notional)
        return {} if guard is None else {"notional": guard}

    async def _channel(self, node_id: str) -> NodeClient:
        """The node's open channel. A running host answers on it; reading every pid file
        (ps) on each submit cost a thread hop and ~1 ms, so only a failed connect asks ps
        whether the node runs at all (409) or does not answer (503)."""
        try:
            return await self.channels.get(node_id)
        except (OSError, ChannelError, TimeoutError) as exc:
            await self.require_running(node_id)
            raise ServiceError.unreachable(node_id, exc) from None

    async def _send_and_wait(
        self,
        who: Principal,
        node_id: str,
        request: OrderCommandRequest,
        market: tuple[InstrumentRules | None, MarketQuote | None] | None,
    ) -> OrderCommandReply:
        """Send on a session that follows the node's orders from before the send, and wait
        for them (``request.wait``), as ``gateway order --wait``."""
        guard = await self._notional_guard(node_id, request, market)
        session = await self._session(node_id)
        try:
            with _channel_errors(node_id, request.command):
                started = time.perf_counter()
                reply = await session.send(
                    request.command,
                    request.timeout_s,
                    idempotency_key=request.idempotency_key,
                    principal=str(who),
                    notional=guard.get("notional"),
                )
                ids = [str(i) for i in reply.get("client_order_ids") or ()]
                if refused(reply) or not ids:
                    return OrderCommandReply(node_id=node_id, reply=reply)
                follow, any_one = wait_targets(request.command, ids)
                left = max(0.0, started + request.timeout_s - time.perf_counter())
                if reply.get("replayed"):  # a retry: its orders' events are in the past
                    settled, out = await self._wait_in_journal(
                        node_id, follow, request.wait, left, any_one=any_one
                    )
                else:
                    settled = await session.wait_for(follow, request.wait, left, any_one=any_one)
                    rows = [r for i in follow if (r := session.table.get(i)) is not None]
                    out = [OrderRowOut.model_validate(r.to_dict()) for r in rows]
                elapsed = (time.perf_counter() - started) * 1000 if settled else None
                return OrderCommandReply(
                    node_id=node_id,
                    reply=reply,
                    wait=request.wait,
                    settled=settled,
                    elapsed_ms=None if elapsed is None else round(elapsed, 3),
                    orders=out,
                )
        finally:
            await session.close()

    async def _wait_in_journal(
        self, node_id: str, ids: builtins.list[str], wait: str, timeout_s: float, *, any_one: bool
    ) -> tuple[bool, builtins.list[OrderRowOut]]:
        """Wait on orders from the run's journal (folded again each poll): for a retried
        submit, whose orders' events came before this client was listening."""
        import asyncio

        deadline = time.perf_counter() + timeout_s
        while True:
            by_id = {r.client_order_id: r for r in (await self.list(node_id)).orders}
            rows = [by_id[i] for i in ids if i in by_id]
            verdicts = [verdict(by_id.get(i), wait) for i in ids]  # type: ignore[arg-type]
            if (any_one and "done" in verdicts) or all(v is not None for v in verdicts):
                return True, rows
            if time.perf_counter() >= deadline:
                return False, rows
            await asyncio.sleep(min(0.1, max(0.0, deadline - time.perf_counter())))

    async def _session(self, node_id: str) -> OrderSession:
        """The node's order flow, followed from its current end (before anything is sent)."""
        try:
            return await OrderSession.open(self.workspace, node_id)
        except NodeNotRunning as exc:
            raise ServiceError.unreachable(node_id, exc) from None

    async def require_running(self, node_id: str) -> None:
        """Raise ``conflict`` unless ``node_id`` names a node whose host is running."""
        check_node_ref(node_id)
        live = {s.node_id for s in await self.manager.ps() if s.alive}
        if node_id not in live:
            raise ServiceError.not_running(node_id)

    async def _threshold(self) -> Decimal | None:
        """The workspace's ``orders.confirm_notional_above`` (``None``: never ask)."""
        import asyncio

        from engine.orders.order_settings import confirm_threshold

        return await asyncio.to_thread(confirm_threshold, self.workspace)

    @staticmethod
    def check_submit(
        command: dict[str, Any],
        confirm: Confirmation,
        market: tuple[InstrumentRules | None, MarketQuote | None],
        threshold: Decimal | None,
    ) -> NotionalCheck | None:
        """The notional check of a submit with the rules and quote its sender was shown
        (the CLI's dry run, the console's ticket), so the number confirmed is the number
        checked; raises ``ServiceError("unconfirmed")`` when it may not go. The node checks
        it again as it sends it, with its own numbers (``engine.host.notional_guard``).

        ``None`` for other commands and for a submit that does not load (the node refuses
        those itself, naming the field).
        """
        ticket = _submitted_ticket(command)
        if ticket is None:
            return None
        if threshold is None:  # never ask: no need to value it
            return NotionalCheck(None, "", None)
        rules, quote = market
        check = assess_notional(ticket, rules, quote, threshold)
        if not check.confirmed_by(confirm):
            raise check.refusal(confirm)
        return check

    async def guard_submit(
        self,
        who: Principal,
        node_id: str,
        command: dict[str, Any],
        confirm: Confirmation,
        *,
        market: tuple[InstrumentRules | None, MarketQuote | None],
        idempotency_key: str | None = None,
    ) -> Decimal | None:
        """:meth:`check_submit`, its refusal written to the audit log as ``orders.submit``
        (the entry every front end writes for a submit the node answered). Returns the
        threshold it checked against (for the node's own check)."""
        import asyncio

        from engine.audit.log import record

        threshold = await self._threshold()
        try:
            self.check_submit(command, confirm, market, threshold)
        except ServiceError as exc:
            error = await asyncio.to_thread(
                record,
                self.workspace,
                who,
                action_name(command),
                target={"node_id": node_id},
                request=request_entry(command, idempotency_key, _confirm_entry(confirm)),
                result={"ok": False, **exc.to_dict()},
            )
            if error is not None:
                exc.add_note(f"NOT in the audit log: {error}")
            raise
        return threshold

    async def submit(
        self,
        who: Principal,
        node_id: str,
        command: dict[str, Any],
        confirm: Confirmation,
        *,
        market: tuple[InstrumentRules | None, MarketQuote | None] | None = None,
        wait: str = "none",
        timeout_s: float = 10.0,
        targets: Callable[[builtins.list[str]], tuple[builtins.list[str], bool]] | None = None,
    ) -> tuple[dict[str, Any], builtins.list[OrderRow], float | None]:
        """Guard a submit (:meth:`guard_submit`), then send it and follow it as
        ``engine.orders.session.submit_and_wait`` does (``gateway order``).

        A host gone meanwhile is ``conflict`` (not running) and one that stops answering
        ``unreachable``, in the CLI's words: front ends need not know the channel's errors.
        """
        from engine.host.notional_guard import guard_arg
        from engine.orders.session import new_idempotency_key, submit_and_wait

        await self.require_running(node_id)  # "not running" says more than "unconfirmed"
        key = new_idempotency_key()
        if market is not None:  # what the sender was shown: refused before anything is sent
            threshold = await self.guard_submit(
                who, node_id, command, confirm, market=market, idempotency_key=key
            )
        else:
            threshold = await self._threshold()
        try:
            return await submit_and_wait(
                self.workspace,
                node_id,
                command,
                wait=wait,
                timeout_s=timeout_s,
                targets=targets,
                who=who,
                idempotency_key=key,
                confirmation=_confirm_entry(confirm),
                notional=guard_arg(threshold, confirm),
            )
        except NodeNotRunning as exc:
            raise ServiceError.not_running(node_id, str(exc)) from None
        except ChannelError as exc:
            raise ServiceError(
                "unreachable",
                f"node {node_id!r}: {exc}",
                field="node_id",
                value=node_id,
                expected="a node host that answers on its channel",
            ) from None

    async def check_ticket(self, node_id: str, ticket: dict[str, Any]) -> OrderCheck:
        """A dry run: the ticket checked as the node will, and whether it needs confirming."""
        import asyncio

        from engine.orders.issues import OrderValidationError
        from engine.orders.order_settings import confirm_threshold
        from engine.orders.tickets import load_ticket

        check_node_ref(node_id)
        try:
            loaded = load_ticket(ticket)
        except OrderValidationError as exc:
            first = exc.issues[0]
            raise ServiceError(
                "invalid",
                "ticket: " + "; ".join(str(i) for i in exc.issues),
                field=f"ticket.{first.path}" if first.path else "ticket",
                value=first.value,
                expected=first.expected,
            ) from None
        result = await self.dry_run(node_id, loaded)
        threshold = await asyncio.to_thread(confirm_threshold, self.workspace)
        check = assess_notional(loaded, result.rules, result.quote, threshold)
        return OrderCheck.model_validate({**result.to_dict(), "notional": check.to_dict()})

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
            who,
            node_id,
            request.command,
            wait=request.wait,
            timeout_s=request.timeout_s,
            confirm=request.confirm_notional,
        )
        if outcome.code == "unconfirmed":  # a modify raising the notional above the threshold
            error = refusal(outcome.reply)
            if error is not None:
                raise error
        if outcome.code == "not_running":
            raise ServiceError.not_running(node_id, outcome.summary)
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
        confirm: Confirmation = None,
    ) -> Outcome:
        """Carry out one order action (``load_command`` data) and return the engine's
        outcome as is: the CLI prints it whole, ``act`` maps it to the API's model.

        A modify that raises the order's notional above the workspace's threshold is
        refused by the node (code ``unconfirmed``) unless ``confirm`` covers it."""
        import asyncio

        from engine.host.notional_guard import guard_arg
        from engine.orders.order_settings import confirm_threshold
        from engine.orders.outcome import run_action

        guard = None
        if command.get("action") == "modify":
            guard = guard_arg(await asyncio.to_thread(confirm_threshold, self.workspace), confirm)
        return await run_action(
            self.workspace,
            node_id,
            command,
            wait=wait,
            timeout_s=timeout_s,
            who=who,
            notional=guard,
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


def _submitted_ticket(command: dict[str, Any]) -> AnyTicket | None:
    """The ticket of a submit command that loads; else ``None``."""
    if not isinstance(command, dict) or command.get("action") != "submit":
        return None
    from engine.orders.commands import SubmitTicket, load_command
    from engine.orders.issues import OrderValidationError

    try:
        loaded = load_command(command)
    except (OrderValidationError, ValueError, TypeError):
        return None
    return loaded.ticket if isinstance(loaded, SubmitTicket) else None


def _confirm_entry(confirm: Confirmation) -> dict[str, Any]:
    """The confirmation as the audit entry's request shows it (absent when there is none)."""
    return {} if confirm is None else {CONFIRM_FIELD: confirm_value(confirm)}


@contextlib.contextmanager
def _channel_errors(node_id: str, command: dict[str, Any]) -> Iterator[None]:
    """The channel's errors as the error model."""
    try:
        yield
    except CommandError as exc:  # the host answered: it refused the command
        raise ServiceError(
            "refused",
            str(exc),
            field="command",
            value=command.get("action"),
            expected="a command the node accepts",
        ) from None
    except ChannelError as exc:  # the connection lost, or no answer in time (CommandTimeout)
        raise ServiceError("unreachable", str(exc), field="node_id", value=node_id) from None


def outcome_error(sent: OrderCommandReply) -> ServiceError | None:
    """With a wait: an order the node refused (DENIED, REJECTED) or that ended unfilled
    when a fill was waited for, as the error model (``None`` when done or still waiting)."""
    for row in sent.orders:
        failed = row.status in REFUSED_STATUSES or (
            sent.wait == "filled" and not row.is_open and row.status != "FILLED"
        )
        if failed:
            because = f": {row.reason}" if row.reason else ""
            return ServiceError(
                "refused",
                f"order {row.client_order_id} {row.status}{because}",
                field="command",
                value=row.client_order_id,
                expected=f"an order the node {sent.wait}",
            )
    return None


# The node's refusal codes that mean the command itself is wrong (bad input: 422, exit 2);
# any other refusal is the node declining a well-formed command (409, exit 1).
INVALID_REPLY_CODES = frozenset({"invalid_order", "invalid_command"})


def refusal(reply: dict[str, Any]) -> ServiceError | None:
    """A node's refusal of an order command as the error model (``None`` when it took it)."""
    from engine.config.issues import ConfigIssue

    if not refused(reply):
        return None
    code = str(reply.get("code") or reply.get("error") or "refused")
    message = str(reply.get("message") or code)
    found = reply.get("issues")
    raw: list[Any] = found if isinstance(found, list) else []
    issues = [
        ConfigIssue(
            str(i.get("path", "")),
            str(i.get("expected") or i.get("message") or ""),
            i.get("value"),
        )
        for i in raw
        if isinstance(i, dict)
    ]
    first = issues[0] if issues else None
    if code == "unconfirmed":  # the node's notional check: the sender must confirm it
        return ServiceError(
            "unconfirmed",
            message,
            field=str(reply.get("field") or "confirm_notional"),
            value=reply.get("value"),
            expected=str(reply.get("expected") or ""),
        )
    if code in INVALID_REPLY_CODES:
        return ServiceError(
            "invalid",
            message,
            field=first.path if first else "command",
            value=first.value if first else None,
            expected=first.message if first else "an order command the node accepts",
            issues=issues,
        )
    return ServiceError(
        "refused",
        f"{code}: {message}" if code not in message else message,
        field=str(reply.get("field") or "command"),
        value=reply.get("value"),
        expected="a command the node can carry out now",
    )
