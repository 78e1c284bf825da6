"""`gateway order` and `gateway orders …`: submit, list, modify and cancel a node's orders.

``gateway order NODE 'buy 100000 EUR/USD.SIM limit 1.0850 gtc'`` takes the one-line
syntax (docs/orders.md); ``--json FILE`` (``-`` for stdin) takes a ticket as JSON. The
ticket is checked here first with the node's instrument rules and quote, as the node will
check it (``engine.orders.dryrun``; exit 2 naming the word or field), then sent to the
node's gateway strategy; its ``invalid_order`` answer exits 2 too, any other refusal 1.
``--dry-run`` stops after the check. ``--wait`` follows the node's stream until the
order is accepted or filled.

Cancelling, closing and flattening cannot be undone: they ask first, and refuse without
a terminal unless ``--yes`` is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from console.cli.context import (
    EXIT_FAILURE,
    EXIT_INVALID,
    echo_json,
    get_workspace,
    pass_workspace_option,
)

if TYPE_CHECKING:
    from engine.orders.dryrun import DryRun
    from engine.orders.issues import OrderIssue
    from engine.orders.status import OrderRow
    from engine.orders.tickets import AnyTicket
    from engine.orders.validation import InstrumentRules
    from engine.workspace import Workspace

WAIT_CHOICES = ("none", "accepted", "filled")
# Statuses at or past acceptance: the order is working (or done) at the venue or emulator.
_ACCEPTED_OR_LATER = frozenset(
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
_REFUSED = frozenset({"DENIED", "REJECTED"})


# --- output helpers ------------------------------------------------------------------------


def _die(message: str, code: int, *, as_json: bool, data: dict[str, Any] | None = None) -> NoReturn:
    if as_json:
        echo_json({"error": message, **(data or {})})
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _die_issues(issues: list[OrderIssue], code: int, *, as_json: bool, what: str) -> NoReturn:
    if as_json:
        echo_json({"error": what, "issues": [i.to_dict() for i in issues]})
    else:
        click.echo(f"error: {what}:", err=True)
        for issue in issues:
            click.echo(f"  {issue}", err=True)
    sys.exit(code)


def _refused(reply: dict[str, Any]) -> bool:
    return reply.get("ok") is False or "error" in reply or "code" in reply


# Node answers that mean "your input is invalid": exit 2 like the same input refused here.
_INVALID_CODES = frozenset({"invalid_order", "invalid_command"})


def _die_refused(reply: dict[str, Any], *, as_json: bool) -> NoReturn:
    exit_code = EXIT_INVALID if reply.get("code") in _INVALID_CODES else EXIT_FAILURE
    if as_json:
        echo_json(reply)
        sys.exit(exit_code)
    code = reply.get("code") or reply.get("error") or "refused"
    message = reply.get("message") or ""
    click.echo(
        f"error: the node refused the order ({code}){': ' + message if message else ''}", err=True
    )
    for issue in reply.get("issues") or ():
        if isinstance(issue, dict):
            click.echo(
                f"  {issue.get('path') or 'ticket'}: got {issue.get('value')!r}, "
                f"expected {issue.get('expected') or issue.get('message')}",
                err=True,
            )
    if reply.get("field"):
        click.echo(f"  {reply['field']}: got {reply.get('value')!r}", err=True)
    sys.exit(exit_code)


# --- reading a ticket ----------------------------------------------------------------------


def read_ticket(line: str | None, json_src: str | None, *, as_json: bool) -> AnyTicket:
    """Build a ticket from the one-line syntax or JSON; exit 2 naming what is wrong.

    Only its form is checked here; :func:`_check_ticket` checks its rules with the node's.
    """
    from engine.orders.issues import OrderValidationError
    from engine.orders.syntax import OrderSyntaxError, parse_ticket
    from engine.orders.tickets import load_ticket

    if (line is None) == (json_src is None):
        _die(
            "give either an order line, e.g. 'buy 100000 EUR/USD.SIM limit 1.0850', "
            "or --json FILE (- for stdin)",
            EXIT_INVALID,
            as_json=as_json,
        )
    try:
        if line is not None:
            ticket = parse_ticket(line)
        else:
            assert json_src is not None
            text = _read_source(json_src, as_json=as_json)
            ticket = load_ticket(text)
    except OrderSyntaxError as exc:
        _die(
            f"order syntax: {exc}",
            EXIT_INVALID,
            as_json=as_json,
            data={"issues": [exc.issue.to_dict()]},
        )
    except OrderValidationError as exc:
        _die_issues(list(exc.issues), EXIT_INVALID, as_json=as_json, what="invalid order")
    return ticket


def _read_source(src: str, *, as_json: bool) -> str:
    if src == "-":
        return sys.stdin.read()
    try:
        return Path(src).read_text(encoding="utf-8")
    except OSError as exc:
        _die(f"--json {src}: cannot read ({exc.strerror or exc})", EXIT_INVALID, as_json=as_json)
    except UnicodeDecodeError as exc:
        _die(
            f"--json {src}: not UTF-8 text (byte {exc.start}), expected a JSON ticket",
            EXIT_INVALID,
            as_json=as_json,
        )


def preview_orders(ticket: AnyTicket, rules: InstrumentRules | None = None) -> list[Any]:
    """Return the Nautilus orders `ticket` would become (ids from a dry-run factory);
    with the node's `rules`, prices and sizes carry the instrument's precision."""
    from nautilus_trader.common.component import TestClock
    from nautilus_trader.common.factories import OrderFactory
    from nautilus_trader.model.identifiers import StrategyId, TraderId
    from nautilus_trader.model.orders import OrderList

    from engine.orders.convert import RulesPrecision, to_nautilus

    clock = TestClock()
    clock.set_time(time.time_ns())
    factory = OrderFactory(TraderId("DRYRUN-001"), StrategyId("GatewayStrategy-DRYRUN"), clock)
    precision = None if rules is None else RulesPrecision(rules)
    built = to_nautilus(ticket, factory, instrument=precision)
    return list(built.orders) if isinstance(built, OrderList) else [built]


# --- talking to the node -------------------------------------------------------------------


def _wait_targets(ticket: AnyTicket, ids: list[str]) -> tuple[list[str], bool]:
    """Which orders --wait follows, and whether any one of them is enough."""
    from engine.orders.tickets import BracketTicket, OcoTicket, OtoTicket

    if isinstance(ticket, BracketTicket | OtoTicket):
        return ids[:1], False  # the entry / parent: the others wait on it
    return ids, isinstance(ticket, OcoTicket)


def _verdict(row: OrderRow | None, wait: str) -> str | None:
    """``done`` / ``failed`` once `row` settles what --wait waits for, else ``None``."""
    if row is None:
        return None
    if row.status in _REFUSED:
        return "failed"
    if wait == "accepted":
        return "done" if row.status in _ACCEPTED_OR_LATER else None
    if row.status == "FILLED":
        return "done"
    return "failed" if not row.is_open else None


class OrderSession:
    """One attached client of a node: sends order commands, follows order status.

    The stream is subscribed from the host's current end *before* any command is sent,
    so no event of a new order is missed, however fast the node answers. Used by
    ``gateway order --wait``, the sandbox tests and ``bench/bench_orders.py``.
    """

    def __init__(self, client: Any) -> None:
        from engine.orders.status import OrderStatusTable

        self.client = client
        self.table = OrderStatusTable()
        self.changed = asyncio.Event()
        self.last_seq = client.host_last_seq
        self._consumer = asyncio.create_task(self._consume())

    @classmethod
    async def open(cls, workspace: Workspace, node_id: str) -> OrderSession:
        """Attach to `node_id`'s live host (``NodeNotRunning`` when there is none)."""
        from engine.channel import NodeClient
        from engine.channel.errors import ChannelError
        from engine.host.paths import socket_path
        from engine.manager import NodeNotRunning

        try:
            client = await NodeClient.connect(socket_path(workspace, node_id))
        except (OSError, ChannelError, TimeoutError):
            raise NodeNotRunning(f"node {node_id!r} is not running (see: gateway ps)") from None
        return cls(client)

    async def _consume(self) -> None:
        async for batch in self.client.events(after_seq=self.client.host_last_seq):
            self.last_seq = batch[-1].seq
            if self.table.apply(batch):
                self.changed.set()

    async def send(self, command: dict[str, Any], timeout_s: float = 10.0) -> dict[str, Any]:
        """Send one order command (``load_command`` data); return the node's reply."""
        reply: dict[str, Any] = await self.client.command(
            "order", command=command, reply_timeout=timeout_s
        )
        return reply

    async def wait_for(
        self, ids: list[str], wait: str, timeout_s: float, *, any_one: bool = False
    ) -> bool:
        """Wait until every order of `ids` (or one, with `any_one`) settles for `wait`.

        Returns whether they settled before `timeout_s`; see :func:`_verdict`.
        """
        deadline = time.perf_counter() + timeout_s
        while True:
            verdicts = [_verdict(self.table.get(i), wait) for i in ids]
            if (any_one and "done" in verdicts) or all(v is not None for v in verdicts):
                return True
            remaining = deadline - time.perf_counter()
            if remaining <= 0 or self._consumer.done():
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

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
    targets: Any = None,
) -> tuple[dict[str, Any], list[OrderRow], float | None]:
    """Send an order command; with ``wait``, follow the stream until the orders settle.

    Returns
    -------
    tuple
        The node's reply, the followed orders' rows, and seconds from sending to the
        last verdict (``None`` without waiting, on a refusal or a timeout).
    """
    session = await OrderSession.open(workspace, node_id)
    try:
        started = time.perf_counter()
        reply = await session.send(command, timeout_s)
        ids = [str(i) for i in reply.get("client_order_ids") or ()]
        if wait == "none" or _refused(reply) or not ids:
            return reply, [], None
        follow, any_one = targets(ids) if targets is not None else (ids, False)
        left = max(0.0, started + timeout_s - time.perf_counter())
        settled = await session.wait_for(follow, wait, left, any_one=any_one)
        elapsed = time.perf_counter() - started if settled else None
        rows = [r for i in follow if (r := session.table.get(i)) is not None]
        return reply, rows, elapsed
    finally:
        await session.close()


def _send(node_id: str, command: dict[str, Any], *, as_json: bool) -> dict[str, Any]:
    """Send one order command and return the reply; exit 1 when it fails or is refused."""
    from engine.channel.errors import ChannelError
    from engine.manager import NodeManager, NodeNotRunning

    manager = NodeManager(get_workspace())
    try:
        reply = asyncio.run(manager.command(node_id, "order", command=command))
    except NodeNotRunning as exc:
        _die(str(exc), EXIT_FAILURE, as_json=as_json)
    except ChannelError as exc:
        _die(f"node {node_id!r}: {exc}", EXIT_FAILURE, as_json=as_json)
    if _refused(reply):
        _die_refused(reply, as_json=as_json)
    return reply


def _load(data: dict[str, Any], *, as_json: bool) -> dict[str, Any]:
    """Validate an order command locally (exit 2 naming the field); return it as JSON data."""
    from engine.orders.commands import load_command
    from engine.orders.issues import OrderValidationError

    try:
        command = load_command(data)
    except OrderValidationError as exc:
        _die_issues(list(exc.issues), EXIT_INVALID, as_json=as_json, what="invalid command")
    dumped: dict[str, Any] = command.model_dump(mode="json", exclude_none=True)
    return dumped


def _confirm(prompt: str, yes: bool, *, as_json: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        _die(
            "this cannot be undone and there is no terminal to confirm it: pass --yes",
            EXIT_INVALID,
            as_json=as_json,
        )
    if not click.confirm(prompt, default=False, err=True):
        _die("not confirmed; nothing was sent", EXIT_FAILURE, as_json=as_json)


# --- gateway order -------------------------------------------------------------------------


def _describe(row: OrderRow) -> str:
    parts = [row.client_order_id, row.status]
    if row.status in ("FILLED", "PARTIALLY_FILLED"):
        parts.append(f"{row.filled_qty} @ {row.avg_px}")
    if row.reason:
        parts.append(f"({row.reason})")
    return " ".join(parts)


_output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Print text or JSON.",
)


@click.command()
@click.argument("node_id", metavar="NODE")
@click.argument("line", metavar="'ORDER LINE'", required=False)
@click.option(
    "--json",
    "json_src",
    metavar="FILE",
    help="Read the ticket as JSON from FILE (- for stdin) instead of an order line.",
)
@click.option(
    "--dry-run", is_flag=True, help="Only check the ticket and print the orders it would create."
)
@click.option(
    "--wait",
    type=click.Choice(WAIT_CHOICES),
    default="none",
    show_default=True,
    help="Follow the node's events until the order is accepted or filled.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the node's answer and for --wait.",
)
@_output_option
@pass_workspace_option
def order(
    node_id: str,
    line: str | None,
    json_src: str | None,
    dry_run: bool,
    wait: str,
    timeout_s: float,
    output: str,
) -> None:
    """Submit an order to NODE: an order line or a JSON ticket.

    \b
    gateway order NODE 'buy 100000 EUR/USD.SIM limit 1.0850 gtc'
    gateway order NODE 'sell 1 BTCUSDT-PERP.BINANCE stop 42000 reduce-only' --wait accepted
    gateway order NODE --json ticket.json --dry-run
    echo '{"type": "MARKET", ...}' | gateway order NODE --json -

    The grammar is in docs/orders.md. Exit 2: the line or ticket is invalid (the
    word or field is named), here or at the node; exit 1: the node is not running or
    refuses the order for another reason. --dry-run checks with the node's rules and
    says which checks it could not make when the node cannot answer.
    """
    from engine.orders.tickets import dump_ticket

    as_json = output == "json"
    ticket = read_ticket(line, json_src, as_json=as_json)
    checked = _check_ticket(node_id, ticket, timeout_s, as_json=as_json)
    if dry_run:
        _print_dry_run(node_id, ticket, checked, as_json=as_json)
        return

    from engine.channel.errors import ChannelError
    from engine.manager import NodeNotRunning

    command = {"action": "submit", "ticket": dump_ticket(ticket)}
    try:
        reply, rows, elapsed = asyncio.run(
            submit_and_wait(
                get_workspace(),
                node_id,
                command,
                wait=wait,
                timeout_s=timeout_s,
                targets=lambda ids: _wait_targets(ticket, ids),
            )
        )
    except NodeNotRunning as exc:
        _die(str(exc), EXIT_FAILURE, as_json=as_json)
    except ChannelError as exc:
        _die(f"node {node_id!r}: {exc}", EXIT_FAILURE, as_json=as_json)
    if _refused(reply):
        _die_refused(reply, as_json=as_json)
    ids = [str(i) for i in reply.get("client_order_ids") or ()]
    failed = wait != "none" and (
        elapsed is None or any(_verdict(r, wait) == "failed" for r in rows)
    )
    if as_json:
        echo_json(
            {
                "node_id": node_id,
                "client_order_ids": ids,
                "wait": wait,
                "orders": [r.to_dict() for r in rows],
                "elapsed_ms": None if elapsed is None else round(elapsed * 1000, 3),
                "ok": not failed,
            }
        )
    else:
        click.echo(f"{node_id}: submitted {ticket.type} as {', '.join(ids) or '(no ids)'}")
        for row in rows:
            click.echo(f"  {_describe(row)}")
        if wait != "none" and elapsed is not None:
            click.echo(f"  {wait} check settled in {elapsed * 1000:.1f} ms")
        elif wait != "none":
            click.echo(f"  not {wait} within {timeout_s:g} s", err=True)
    if failed:
        sys.exit(EXIT_FAILURE)


def _check_ticket(node_id: str, ticket: AnyTicket, timeout_s: float, *, as_json: bool) -> DryRun:
    """Check `ticket` as the node will, with its rules and quote; exit 2 on any issue.

    Sent or not, a ticket is checked the same way, so ``--dry-run`` agrees with the node.
    """
    from engine.manager import NodeManager
    from engine.orders.dryrun import dry_run

    result = asyncio.run(
        dry_run(NodeManager(get_workspace()), node_id, ticket, timeout_s=min(timeout_s, 5.0))
    )
    if result.issues:
        if as_json:
            echo_json({"error": "invalid order", **result.to_dict()})
            sys.exit(EXIT_INVALID)
        _die_issues(result.issues, EXIT_INVALID, as_json=False, what="invalid order")
    return result


def _print_dry_run(node_id: str, ticket: AnyTicket, result: DryRun, *, as_json: bool) -> None:
    """Print the orders a checked ticket would create, and what could not be checked."""
    from engine.orders.tickets import dump_ticket

    orders = preview_orders(ticket, result.rules)
    if as_json:
        echo_json(
            {
                "ticket": dump_ticket(ticket),
                "orders": [o.to_dict() for o in orders],
                **result.to_dict(),
            }
        )
        return
    verdict = "passes the checks that could be made" if result.not_checked else "is valid"
    click.echo(f"this {ticket.type} ticket {verdict}; it would submit {len(orders)} order(s):")
    for o in orders:
        click.echo(f"  {o}")
    if result.rules is not None:
        at = "" if result.quote is None else f" at bid {result.quote.bid} / ask {result.quote.ask}"
        click.echo(f"checked against node {node_id}'s rules for {result.rules.instrument_id}{at}")
    for sentence in result.not_checked:
        click.echo(f"not checked: {sentence}", err=True)


# --- gateway orders ------------------------------------------------------------------------


@click.group()
def orders() -> None:
    """List, modify, cancel and close a node's orders and positions."""


async def _collect(ref: str) -> list[OrderRow]:
    from engine.manager import NodeManager
    from engine.orders.status import OrderStatusTable

    table = OrderStatusTable()
    async for batch in NodeManager(get_workspace()).attach(ref, 0, follow=False):
        table.apply(batch)
    return table.rows()


@orders.command("list")
@click.argument("ref", metavar="NODE")
@click.option("--open", "open_only", is_flag=True, help="Only orders still working.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def list_orders(ref: str, open_only: bool, as_json: bool) -> None:
    """List the orders of NODE's live or latest run (or a run id) with their status."""
    from engine.run_verify import distrust_open_orders, journal_damage
    from engine.runs import RunNotFound, find_run

    try:
        run = find_run(get_workspace(), ref)
        rows = asyncio.run(_collect(run.run_id))
    except RunNotFound as exc:
        _die(str(exc), EXIT_INVALID, as_json=as_json)
    damage = journal_damage(get_workspace(), run)
    if damage is not None:  # open orders may have moved on in the events lost
        rows = distrust_open_orders(rows, damage)
        click.echo(
            f"warning: the journal of run {run.run_id} is damaged after seq "
            f"{damage.intact_seq} ({damage.problems[0].message}); orders still open there "
            "show status UNKNOWN and later orders are missing (gateway runs verify)",
            err=True,
        )
    if open_only:
        rows = [r for r in rows if r.is_open]
    if as_json:
        echo_json([r.to_dict() for r in rows])
        sys.exit(EXIT_FAILURE if damage is not None else 0)
    if not rows:
        click.echo("no open orders" if open_only else "no orders")
        sys.exit(EXIT_FAILURE if damage is not None else 0)
    click.echo(
        f"{'CLIENT ORDER ID':<34} {'SIDE':<4} {'TYPE':<20} {'QTY':>12} {'FILLED':>12} "
        f"{'PRICE':>10} {'TRIGGER':>10} {'STATUS':<16} INSTRUMENT"
    )
    for r in rows:
        click.echo(
            f"{r.client_order_id:<34} {r.side:<4} {r.order_type:<20} {r.quantity or '-':>12} "
            f"{r.filled_qty:>12} {r.price or '-':>10} {r.trigger_price or '-':>10} "
            f"{r.status:<16} {r.instrument_id}"
        )
    if damage is not None:
        sys.exit(EXIT_FAILURE)


def _report(node_id: str, what: str, reply: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json({"node_id": node_id, **reply})
        return
    details = []
    for key in ("client_order_ids", "canceled", "position_ids", "closed"):
        if key in reply:
            values = reply[key] or []
            details.append(f"{key.replace('_', ' ')}: {', '.join(map(str, values)) or 'none'}")
    click.echo(f"{node_id}: {what}" + (f" ({'; '.join(details)})" if details else ""))


_yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@orders.command()
@click.argument("node_id", metavar="NODE")
@click.argument("client_order_id")
@click.option("--price", help="New limit price.")
@click.option("--quantity", help="New quantity.")
@click.option("--trigger-price", help="New trigger price.")
@_json_flag
@pass_workspace_option
def modify(
    node_id: str,
    client_order_id: str,
    price: str | None,
    quantity: str | None,
    trigger_price: str | None,
    as_json: bool,
) -> None:
    """Change the price, quantity and/or trigger price of a working order."""
    if price is None and quantity is None and trigger_price is None:
        _die(
            "give at least one of --price, --quantity, --trigger-price",
            EXIT_INVALID,
            as_json=as_json,
        )
    data = {
        "action": "modify",
        "client_order_id": client_order_id,
        "price": price,
        "quantity": quantity,
        "trigger_price": trigger_price,
    }
    command = _load({k: v for k, v in data.items() if v is not None}, as_json=as_json)
    _check_modify(command, as_json=as_json)
    _report(node_id, "modify sent", _send(node_id, command, as_json=as_json), as_json)


def _check_modify(command: dict[str, Any], *, as_json: bool) -> None:
    """Refuse (exit 2) what is invalid on its face before sending; the node checks the rest
    (the order's type, the instrument's increments and limits)."""
    from decimal import Decimal

    from engine.orders.validation import check_modify_values

    def num(name: str) -> Decimal | None:
        value = command.get(name)
        return None if value is None else Decimal(str(value))

    issues = check_modify_values(
        None, quantity=num("quantity"), price=num("price"), trigger_price=num("trigger_price")
    )
    if issues:
        _die_issues(issues, EXIT_INVALID, as_json=as_json, what="invalid command")


@orders.command()
@click.argument("node_id", metavar="NODE")
@click.argument("client_order_id")
@_yes_option
@_json_flag
@pass_workspace_option
def cancel(node_id: str, client_order_id: str, yes: bool, as_json: bool) -> None:
    """Cancel one working order."""
    command = _load({"action": "cancel", "client_order_id": client_order_id}, as_json=as_json)
    _confirm(f"Cancel order {client_order_id} on {node_id}?", yes, as_json=as_json)
    _report(node_id, "cancel sent", _send(node_id, command, as_json=as_json), as_json)


@orders.command("cancel-all")
@click.argument("node_id", metavar="NODE")
@click.option("--instrument", "instrument_id", help="Only orders of this instrument.")
@click.option(
    "--side", type=click.Choice(["buy", "sell"], case_sensitive=False), help="Only this side."
)
@_yes_option
@_json_flag
@pass_workspace_option
def cancel_all(
    node_id: str, instrument_id: str | None, side: str | None, yes: bool, as_json: bool
) -> None:
    """Cancel every working order of NODE (or of one instrument / side)."""
    data: dict[str, Any] = {"action": "cancel_all", "instrument_id": instrument_id}
    if side is not None:
        data["side"] = side.upper()
    command = _load({k: v for k, v in data.items() if v is not None}, as_json=as_json)
    scope = f" in {instrument_id}" if instrument_id else ""
    _confirm(f"Cancel every working order{scope} on {node_id}?", yes, as_json=as_json)
    _report(node_id, "cancel-all sent", _send(node_id, command, as_json=as_json), as_json)


@orders.command()
@click.argument("node_id", metavar="NODE")
@click.option("--position", "position_id", help="The position to close.")
@click.option("--instrument", "instrument_id", help="Close every open position of this instrument.")
@_yes_option
@_json_flag
@pass_workspace_option
def close(
    node_id: str, position_id: str | None, instrument_id: str | None, yes: bool, as_json: bool
) -> None:
    """Close a position (or every position of an instrument) at market."""
    if (position_id is None) == (instrument_id is None):
        _die("give exactly one of --position ID or --instrument ID", EXIT_INVALID, as_json=as_json)
    data = {"action": "close_position", "position_id": position_id, "instrument_id": instrument_id}
    command = _load({k: v for k, v in data.items() if v is not None}, as_json=as_json)
    what = f"position {position_id}" if position_id else f"every position in {instrument_id}"
    _confirm(f"Close {what} on {node_id} at market?", yes, as_json=as_json)
    _report(node_id, "close sent", _send(node_id, command, as_json=as_json), as_json)


@orders.command()
@click.argument("node_id", metavar="NODE")
@_yes_option
@_json_flag
@pass_workspace_option
def flatten(node_id: str, yes: bool, as_json: bool) -> None:
    """Cancel every working order and close every open position of NODE at market."""
    command = _load({"action": "flatten_all"}, as_json=as_json)
    _confirm(
        f"Cancel every order and close every position on {node_id} at market?",
        yes,
        as_json=as_json,
    )
    _report(node_id, "flatten sent", _send(node_id, command, as_json=as_json), as_json)
