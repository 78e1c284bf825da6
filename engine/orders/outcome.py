"""What an order action did at the node: close, flatten, modify, cancel, cancel all.

Every front end (CLI, console, the coming HTTP API) calls :func:`run_action` (or
:func:`carry_out` on an open :class:`~engine.orders.session.OrderSession`) and reports
the :class:`Outcome` it returns; nothing is reported from what was sent.

Close and flatten mean flat. The node closes each position with a reduce-only market order
of the strategy that holds it (``GatewayStrategy._close``). A closing order that stops
filling (the sandbox's L1 book fills a market order up to the quote's size and leaves the
rest working) is canceled after :data:`STALL_S`, and once every closing order has
settled the node's cache is read (``exposure``): what is still open is closed again, in
rounds, until nothing is left or the time is up. The outcome lists what is flat and what
remains, read from the node's cache after the orders settled.

Modify and cancel wait for the venue's answer (``OrderUpdated`` / ``OrderCanceled``, or
``OrderModifyRejected`` / ``OrderCancelRejected`` / ``OrderRejected`` with its reason).

An order whose cancel the venue rejects as unknown ("not found") no longer works there
although the node's cache still shows it open (the sandbox drops a market order's
unfillable rest that way); it is reported as ``stale_orders``, apart from orders left
working.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.orders.session import OrderSession, refused

if TYPE_CHECKING:
    from engine.principal import Principal
    from engine.workspace import Workspace

CLOSE_TIMEOUT_S = 30.0
ANSWER_TIMEOUT_S = 10.0
STALL_S = 1.0  # a closing order working this long without a fill is canceled and re-sent
POLL_S = 0.1
# The node's reply to a command only says it took it; a short --timeout bounds the wait
# for the outcome, not this (a loaded machine may take a moment to answer).
REPLY_TIMEOUT_S = 5.0
CLOSING_ACTIONS = frozenset({"close_position", "flatten_all"})
ANSWERED_ACTIONS = frozenset({"modify", "cancel", "cancel_all"})
TRADING_MODES = frozenset({"sandbox", "live"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verified result of one order action at one node (plain, JSON-safe data).

    ``ok`` is true only when the node did what was asked: flat (close/flatten, and no
    order left working when orders were to be canceled), or every order modified /
    canceled. ``code`` says why not: the node's refusal code (``unknown_position`` …),
    ``rejected`` (the venue said no), ``not_flat``, ``orders_left``, ``timeout``,
    ``not_running``; ``sent`` when not waiting.
    """

    node_id: str
    action: str
    ok: bool
    summary: str
    code: str | None = None
    reply: dict[str, Any] = field(default_factory=dict)
    answers: tuple[dict[str, Any], ...] = ()
    closed: tuple[str, ...] = ()
    canceled: tuple[str, ...] = ()
    closing_orders: tuple[str, ...] = ()
    positions_left: tuple[dict[str, Any], ...] = ()
    orders_left: tuple[dict[str, Any], ...] = ()
    stale_orders: tuple[dict[str, Any], ...] = ()
    net: dict[str, str] = field(default_factory=dict)
    rounds: int = 0
    elapsed_s: float = 0.0
    audit_error: str | None = None  # the action happened, its audit entry could not be written

    @property
    def exit_code(self) -> int:
        """0 done and verified at the node (and audited); 2 it wants a confirmation it
        lacked (as a submit's); 1 refused or not what was asked."""
        if self.code == "unconfirmed":
            return 2
        return 0 if self.ok and self.audit_error is None else 1

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome as JSON-safe data."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        return data

    def lines(self) -> list[str]:
        """The outcome for a person: the summary, then what remains, one item a line."""
        out = [f"{self.node_id}: {self.summary}"]
        for p in self.positions_left:
            out.append(
                f"  still open: {p.get('position_id')} {p.get('side')} {p.get('quantity')} "
                f"(strategy {p.get('strategy_id')})"
            )
        for o in self.orders_left:
            out.append(
                f"  still working: {o.get('client_order_id')} {o.get('side')} "
                f"{o.get('order_type')} {o.get('status')} (strategy {o.get('strategy_id')})"
            )
        for o in self.stale_orders:
            out.append(
                f"  not at the venue (cancel rejected: {o.get('reason')}), still "
                f"{o.get('status')} in the node's cache: {o.get('client_order_id')}"
            )
        for a in self.answers if len(self.answers) > 1 else ():
            if a.get("result") != "done":
                out.append(
                    f"  {a.get('client_order_id')}: {a.get('result')}"
                    + (f": {a['reason']}" if a.get("reason") else "")
                )
        for issue in self.reply.get("issues") or ():
            if isinstance(issue, dict):
                out.append(
                    f"  {issue.get('path') or 'command'}: got {issue.get('value')!r}, "
                    f"expected {issue.get('expected') or issue.get('message')}"
                )
        if self.reply.get("field"):
            out.append(f"  {self.reply['field']}: got {self.reply.get('value')!r}")
        if self.audit_error:
            out.append(f"  NOT in the audit log: {self.audit_error}")
        return out


def _refusal(node_id: str, action: str, reply: dict[str, Any], started: float) -> Outcome:
    code = str(reply.get("code") or reply.get("error") or "refused")
    message = str(reply.get("message") or "")
    return Outcome(
        node_id,
        action,
        False,
        f"{_VERB.get(action, action)} refused by the node ({code})"
        + (f": {message}" if message else ""),
        code=code,
        reply=reply,
        elapsed_s=time.perf_counter() - started,
    )


_VERB = {
    "modify": "modify",
    "cancel": "cancel",
    "cancel_all": "cancel-all",
    "close_position": "close",
    "flatten_all": "flatten",
}


# --- entry points ----------------------------------------------------------------------------


async def run_action(
    workspace: Workspace,
    node_id: str,
    command: dict[str, Any],
    *,
    wait: bool = True,
    timeout_s: float | None = None,
    who: Principal | None = None,
    notional: dict[str, Any] | None = None,
) -> Outcome:
    """Attach to `node_id`, carry out `command` (``load_command`` data), return the outcome.

    ``notional``: the confirmation a modify is checked against at the node.

    A node that is not running (or whose channel fails) gives ``ok=False`` with code
    ``not_running`` / ``channel_error`` rather than an exception. With ``who``, the action
    and its outcome go into the audit log (``orders.<action>``).
    """
    keys: list[str] = []
    outcome = await _run_action(
        workspace,
        node_id,
        command,
        wait=wait,
        timeout_s=timeout_s,
        principal=None if who is None else str(who),
        keys=keys,
        notional=notional,
    )
    if who is None:
        return outcome
    from engine.audit.log import record
    from engine.orders.audit_entry import action_name, request_entry

    error = await asyncio.to_thread(
        record,
        workspace,
        who,
        action_name(command),
        target={"node_id": node_id},
        request=request_entry(command, keys[0] if keys else None),
        result={"ok": outcome.ok, "code": outcome.code, "message": outcome.summary},
    )
    return outcome if error is None else replace(outcome, audit_error=error)


async def _run_action(
    workspace: Workspace,
    node_id: str,
    command: dict[str, Any],
    *,
    wait: bool,
    timeout_s: float | None,
    principal: str | None = None,
    keys: list[str] | None = None,
    notional: dict[str, Any] | None = None,
) -> Outcome:
    """``keys``: filled with the idempotency keys of the commands sent, in order."""
    from engine.channel.errors import ChannelError
    from engine.manager import NodeNotRunning

    started = time.perf_counter()
    action = str(command.get("action", ""))
    try:
        session = await OrderSession.open(workspace, node_id, principal)
        if keys is not None:
            session.sent_keys = keys  # the caller's list: what was sent, even on an error
        session.notional = notional
    except NodeNotRunning as exc:
        return Outcome(node_id, action, False, str(exc), code="not_running")
    try:
        return await carry_out(session, command, wait=wait, timeout_s=timeout_s)
    except (ChannelError, TimeoutError) as exc:
        return Outcome(
            node_id,
            action,
            False,
            f"{_VERB.get(action, action)}: lost the node's answer ({type(exc).__name__}: {exc})",
            code="channel_error",
            elapsed_s=time.perf_counter() - started,
        )
    finally:
        await session.close()


async def flatten_everywhere(
    workspace: Workspace,
    *,
    timeout_s: float | None = None,
    cancel_orders: bool = True,
    who: Principal | None = None,
) -> list[Outcome]:
    """The kill switch: flatten every strategy on every running sandbox/live node, at once."""
    from engine.manager import NodeManager

    nodes = [
        st.node_id
        for st in await NodeManager(workspace).ps()
        if st.alive and st.mode in TRADING_MODES and st.state == "running"
    ]
    command = {"action": "flatten_all", "cancel_orders": cancel_orders}
    return list(
        await asyncio.gather(
            *(run_action(workspace, n, command, timeout_s=timeout_s, who=who) for n in nodes)
        )
    )


async def carry_out(
    session: OrderSession,
    command: dict[str, Any],
    *,
    wait: bool = True,
    timeout_s: float | None = None,
) -> Outcome:
    """Send `command` through `session` and follow it to its outcome (see the module)."""
    action = str(command.get("action", ""))
    if action in CLOSING_ACTIONS:
        return await _close_out(session, command, timeout_s or CLOSE_TIMEOUT_S)
    if action in ANSWERED_ACTIONS:
        return await _answered(session, command, wait, timeout_s or ANSWER_TIMEOUT_S)
    raise ValueError(f"action: got {action!r}, expected one of {sorted(_VERB)}")


# --- modify / cancel -------------------------------------------------------------------------


def _decide(session: OrderSession, action: str, coid: str, base: int) -> dict[str, Any] | None:
    """The venue's answer to a modify or cancel of `coid` sent after `base`, or None yet."""
    row = session.table.get(coid)
    for a in session.answers_after(coid, base):
        result = None
        if action == "modify":
            if a.type == "OrderUpdated":
                result = "done"
            elif a.type in ("OrderModifyRejected", "OrderRejected", "OrderDenied"):
                result = "rejected"
        else:
            if a.type == "OrderCanceled":
                result = "done"
            elif a.type in ("OrderCancelRejected", "OrderRejected", "OrderDenied"):
                result = "rejected"
        if result is None and a.type in ("OrderCanceled", "OrderExpired"):
            result = "ended"  # ended before a modify answered
        if result is None and a.type == "OrderFilled" and row is not None and not row.is_open:
            result = "filled"
        if result is not None:
            return {
                "client_order_id": coid,
                "result": result,
                "event": a.type,
                "reason": a.reason,
            }
    return None


async def _answered(
    session: OrderSession, command: dict[str, Any], wait: bool, timeout_s: float
) -> Outcome:
    action = str(command["action"])
    verb = _VERB[action]
    started = time.perf_counter()
    base = session.last_seq
    reply = await session.send(command, max(timeout_s, REPLY_TIMEOUT_S))
    if refused(reply):
        return _refusal(session.node_id, action, reply, started)
    ids = (
        [str(i) for i in reply.get("canceled") or ()]
        if action == "cancel_all"
        else [str(command["client_order_id"])]
    )
    if not wait:
        return Outcome(
            session.node_id,
            action,
            True,
            f"{verb} sent for {', '.join(ids) or 'no order'} (not waiting for the venue)",
            code="sent",
            reply=reply,
            canceled=tuple(ids) if action != "modify" else (),
            elapsed_s=time.perf_counter() - started,
        )
    kind = "modify" if action == "modify" else "cancel"
    decided: dict[str, dict[str, Any]] = {}

    def settled() -> bool:
        for coid in ids:
            if coid not in decided and (got := _decide(session, kind, coid, base)) is not None:
                decided[coid] = got
        return len(decided) == len(ids)

    in_time = await session.until(settled, max(0.0, started + timeout_s - time.perf_counter()))
    answers = [
        decided.get(coid)
        or {"client_order_id": coid, "result": "no answer", "event": None, "reason": None}
        for coid in ids
    ]
    done = [a["client_order_id"] for a in answers if a["result"] == "done"]
    failed = [a for a in answers if a["result"] != "done"]
    elapsed = time.perf_counter() - started
    if not ids:
        summary, code = "no working order to cancel", None
    elif not failed:
        summary = f"{'modified' if kind == 'modify' else 'canceled'}: {', '.join(done)}"
        code = None
    elif not in_time:
        summary = f"{verb}: no answer from the venue within {timeout_s:g} s"
        code = "timeout"
    else:
        first = failed[0]
        what = {
            "rejected": "rejected by the venue",
            "ended": "the order ended first",
            "filled": "the order filled first",
        }.get(str(first["result"]), str(first["result"]))
        summary = f"{verb} of {first['client_order_id']} {what}" + (
            f": {first['reason']}" if first.get("reason") else ""
        )
        if len(failed) > 1:
            done_word = "modified" if kind == "modify" else "canceled"
            summary += f" (and {len(failed) - 1} more not {done_word})"
        code = "rejected"
    return Outcome(
        session.node_id,
        action,
        not failed,
        summary,
        code=code,
        reply=reply,
        answers=tuple(answers),
        canceled=tuple(done) if kind == "cancel" else (),
        elapsed_s=elapsed,
    )


# --- close / flatten -------------------------------------------------------------------------


class _Closer:
    """Follows closing orders to their end: cancels one that stalls, notes stale ones."""

    def __init__(self, session: OrderSession, base: int) -> None:
        self.session = session
        self.base = base
        self.sent_at: dict[str, float] = {}
        self.last_change: dict[str, tuple[int, float]] = {}
        self.cancel_sent: dict[str, int] = {}

    def add(self, ids: list[str]) -> None:
        now = time.perf_counter()
        for coid in ids:
            self.sent_at.setdefault(coid, now)

    def _settled(self, coid: str, base: int) -> bool:
        row = self.session.table.get(coid)
        if row is not None and not row.is_open:
            return True
        # The venue answered a cancel with a reject: the order is not working there now.
        return any(a.type == "OrderCancelRejected" for a in self.session.answers_after(coid, base))

    async def settle(self, closing: list[str], canceling: list[str], deadline: float) -> None:
        """Wait until every closing and canceled order has settled, or `deadline`."""
        while True:
            now = time.perf_counter()
            open_closing = [
                c for c in closing if not self._settled(c, self.cancel_sent.get(c, 1 << 62))
            ]
            open_canceling = [c for c in canceling if not self._settled(c, self.base)]
            if (not open_closing and not open_canceling) or now >= deadline:
                return
            if not self.session.following:
                return  # the node's stream ended (it stopped): the cache read will say
            for coid in open_closing:
                row = self.session.table.get(coid)
                seq = 0 if row is None else row.seq
                last = self.last_change.get(coid)
                if last is None or last[0] != seq:
                    self.last_change[coid] = (seq, now)
                    continue
                if coid not in self.cancel_sent and now - last[1] >= STALL_S:
                    self.cancel_sent[coid] = self.session.last_seq
                    reply = await self.session.send(
                        {"action": "cancel", "client_order_id": coid},
                        REPLY_TIMEOUT_S,
                    )
                    if refused(reply) and reply.get("code") == "order_not_open":
                        continue  # it ended meanwhile; its event is on the way
            await self.session.until(lambda: False, min(POLL_S, max(0.0, deadline - now)))

    def stale(self, open_orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Open orders whose cancel the venue rejected as unknown since `base`."""
        out = []
        for o in open_orders:
            coid = str(o.get("client_order_id"))
            for a in self.session.answers_after(coid, self.base):
                if a.type == "OrderCancelRejected" and "not found" in (a.reason or "").lower():
                    out.append({**o, "reason": a.reason})
                    break
        return out


def _scope(command: dict[str, Any]) -> tuple[str | None, str | None]:
    if command["action"] == "close_position":
        return command.get("instrument_id"), command.get("position_id")
    return None, None


def _in_scope(
    exposure: dict[str, Any], position_id: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    positions = list(exposure.get("positions") or ())
    orders = list(exposure.get("open_orders") or ())
    if position_id is not None:
        positions = [p for p in positions if p.get("position_id") == position_id]
        owners = {p.get("strategy_id") for p in positions}
        iids = {p.get("instrument_id") for p in positions}
        orders = [
            o for o in orders if o.get("strategy_id") in owners and o.get("instrument_id") in iids
        ]
    return positions, orders


async def _exposure(session: OrderSession, instrument_id: str | None) -> dict[str, Any]:
    reply = await session.query("exposure", instrument_id=instrument_id)
    if refused(reply):
        raise _ExposureUnavailable(reply)
    return reply


class _ExposureUnavailable(Exception):
    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__(str(reply.get("message") or reply))
        self.reply = reply


async def _close_out(session: OrderSession, command: dict[str, Any], timeout_s: float) -> Outcome:
    action = str(command["action"])
    started = time.perf_counter()
    deadline = started + timeout_s
    instrument_id, position_id = _scope(command)
    cancel_orders = bool(command.get("cancel_orders", action == "flatten_all"))
    base = session.last_seq
    try:
        before, _ = _in_scope(await _exposure(session, instrument_id), position_id)
    except _ExposureUnavailable as exc:
        return _refusal(session.node_id, action, exc.reply, started)
    first = reply = await session.send(command, max(timeout_s, REPLY_TIMEOUT_S))
    if refused(reply):
        return _refusal(session.node_id, action, reply, started)
    closer = _Closer(session, base)
    skipped = {str(i) for i in reply.get("skipped") or ()}
    first_canceled = [str(i) for i in reply.get("canceled") or ()]
    canceled = list(first_canceled)
    closing = [str(i) for i in reply.get("client_order_ids") or ()]
    all_closing = list(closing)
    closer.add(closing)
    rounds = 1 if closing else 0
    again = {**command, "cancel_orders": False}
    while True:
        await closer.settle(closing, canceled, deadline)
        canceled = []  # settled or out of time: later rounds only follow their closes
        try:
            exposure = await _exposure(session, instrument_id)
        except _ExposureUnavailable:
            break
        left, _ = _in_scope(exposure, position_id)
        if not left or time.perf_counter() >= deadline:
            break
        if all(p.get("position_id") in skipped for p in left):
            break  # only positions no order can close (their strategy is gone)
        reply = await session.send(again, REPLY_TIMEOUT_S)
        if refused(reply):
            break  # e.g. unknown_position: it closed meanwhile; the cache read says
        skipped = {str(i) for i in reply.get("skipped") or ()}
        closing = [str(i) for i in reply.get("client_order_ids") or ()]
        if not closing:
            break
        closer.add(closing)
        all_closing += closing
        rounds += 1
    try:
        final = await _exposure(session, instrument_id)
    except _ExposureUnavailable as exc:
        return _refusal(session.node_id, action, exc.reply, started)
    positions_left, orders_in_scope = _in_scope(final, position_id)
    stale = closer.stale(orders_in_scope)
    stale_ids = {o["client_order_id"] for o in stale}
    orders_left = [o for o in orders_in_scope if o["client_order_id"] not in stale_ids]
    still = {p["position_id"] for p in positions_left}
    closed = [str(p["position_id"]) for p in before if p["position_id"] not in still]
    net = {k: v for k, v in (final.get("net") or {}).items() if instrument_id in (None, k)}
    elapsed = time.perf_counter() - started
    flat = not positions_left
    ok = flat and not (cancel_orders and orders_left)
    if not before and not positions_left:
        summary = "nothing was open: flat"
    elif flat:
        summary = (
            f"flat: closed {', '.join(closed) or 'nothing'} "
            f"({len(all_closing)} closing order(s), {rounds} round(s), {elapsed:.1f} s)"
        )
    else:
        sizes = ", ".join(
            f"{p['instrument_id']} {_net_text(v)}"
            for p in positions_left[:1]
            for v in [net.get(str(p["instrument_id"]), p.get("signed_qty"))]
        )
        summary = (
            f"NOT flat after {elapsed:.1f} s: {len(positions_left)} position(s) still open"
            f" (net {sizes}); closed {', '.join(closed) or 'nothing'}"
        )
    if flat and cancel_orders and orders_left:
        summary += f"; {len(orders_left)} order(s) still working"
    code = None if ok else ("not_flat" if not flat else "orders_left")
    return Outcome(
        session.node_id,
        action,
        ok,
        summary,
        code=code,
        reply=first,
        closed=tuple(closed),
        canceled=tuple(first_canceled),
        closing_orders=tuple(all_closing),
        positions_left=tuple(positions_left),
        orders_left=tuple(orders_left),
        stale_orders=tuple(stale),
        net=net,
        rounds=rounds,
        elapsed_s=elapsed,
    )


def _net_text(value: Any) -> str:
    try:
        d = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    if not d.is_finite():
        return str(value)
    if d == 0:
        return "0"
    return f"{'LONG' if d > 0 else 'SHORT'} {abs(d).normalize():f}"
