"""`gateway order` and `gateway orders …`: submit, list, modify and cancel a node's orders.

``gateway order NODE 'buy 100000 EUR/USD.SIM limit 1.0850 gtc'`` takes the one-line
syntax (docs/orders.md); ``--json FILE`` (``-`` for stdin) takes a ticket as JSON. The
ticket is checked here first with the node's instrument rules and quote, as the node will
check it (``engine.orders.dryrun``; exit 2 naming the word or field), then sent to the
node's gateway strategy; its ``invalid_order`` answer exits 2 too, any other refusal 1.
``--dry-run`` stops after the check. ``--wait`` follows the node's stream until the
order is accepted or filled.

An order whose notional is above the workspace's ``orders.confirm_notional_above`` (or
cannot be valued) needs confirming: on a terminal ``gateway order`` asks, without one it
is refused (exit 2, nothing sent, audited) unless ``--yes`` is given. The rule is the
core's (``engine.services.orders``): the API and the console ask the same question.

Cancelling, closing and flattening cannot be undone: they ask first, and refuse without
a terminal unless ``--yes`` is given.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from console.cli.context import (
    EXIT_FAILURE,
    EXIT_INVALID,
    echo_json,
    get_workspace,
    pass_workspace_option,
)

# The session lives in the engine (engine.orders.session); the CLI only calls it. Its
# names stay importable from here for code written against them.
from engine.orders.session import WAIT_CHOICES, refused, verdict, wait_targets
from engine.orders.session import OrderSession as OrderSession
from engine.principal import Principal

if TYPE_CHECKING:
    from engine.orders.dryrun import DryRun
    from engine.orders.issues import OrderIssue
    from engine.orders.outcome import Outcome
    from engine.orders.status import OrderRow
    from engine.orders.tickets import AnyTicket
    from engine.orders.validation import InstrumentRules
    from engine.services.errors import ServiceError
    from engine.services.notional import NotionalCheck
    from engine.services.orders import OrderService

FC = TypeVar("FC", bound=Callable[..., Any])
_refused = refused  # older names, for code written against them
_verdict = verdict

# --- output helpers ------------------------------------------------------------------------


def _service() -> OrderService:
    """The order service the API uses, over this workspace."""
    from engine.services.orders import OrderService

    return OrderService.for_workspace(get_workspace())


def _die(message: str, code: int, *, as_json: bool, data: dict[str, Any] | None = None) -> NoReturn:
    if as_json:
        echo_json({"error": message, **(data or {})})
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _die_error(exc: ServiceError, *, as_json: bool) -> NoReturn:
    """Exit with the core's error: its message (and notes), or with -o json its model."""
    if as_json:
        echo_json({"error": exc.message, **exc.to_dict()})
    else:
        click.echo(f"error: {exc.message}", err=True)
        for note in getattr(exc, "__notes__", ()):
            click.echo(f"error: {note}", err=True)
    sys.exit(exc.exit_code)


def _die_issues(issues: list[OrderIssue], code: int, *, as_json: bool, what: str) -> NoReturn:
    if as_json:
        echo_json({"error": what, "issues": [i.to_dict() for i in issues]})
    else:
        click.echo(f"error: {what}:", err=True)
        for issue in issues:
            click.echo(f"  {issue}", err=True)
    sys.exit(code)


# Node answers that mean "your input is invalid": exit 2 like the same input refused here.
_INVALID_CODES = frozenset({"invalid_order", "invalid_command", "unconfirmed"})


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
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Send an order above the notional threshold without asking (needed without a terminal).",
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
    yes: bool,
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
    risk limits (exit 1 when its risk guard would deny the order) and says which
    checks it could not make when the node cannot answer.

    Above the workspace's orders.confirm_notional_above (settings.json, default
    1,000,000) or of unknown notional, it asks first on a terminal; without one it
    sends only with --yes (else exit 2, nothing sent). --dry-run says whether it would.
    """
    from engine.orders.order_settings import confirm_threshold
    from engine.orders.tickets import dump_ticket
    from engine.services.notional import assess_notional

    as_json = output == "json"
    ticket = read_ticket(line, json_src, as_json=as_json)
    checked = _check_ticket(node_id, ticket, timeout_s, as_json=as_json)
    notional = assess_notional(
        ticket, checked.rules, checked.quote, confirm_threshold(get_workspace())
    )
    if dry_run:
        _print_dry_run(node_id, ticket, checked, notional, as_json=as_json)
        return

    from engine.services.errors import ServiceError

    confirm: bool | Decimal | None = True if yes else None
    # Asked only when the node answered the dry run: one that did not is reported as not
    # running (or, running but silent, refused as unknown: --yes sends it) by the core.
    ask = notional.needs_confirmation and checked.rules is not None and sys.stdin.isatty()
    if confirm is None and ask:
        if not click.confirm(notional.question(), default=False, err=True):
            _die("not confirmed; nothing was sent", EXIT_FAILURE, as_json=as_json)
        confirm = True if notional.notional is None else notional.notional
    command = {"action": "submit", "ticket": dump_ticket(ticket)}
    try:
        reply, rows, elapsed = asyncio.run(
            _service().submit(
                Principal.local("cli"),
                node_id,
                command,
                confirm,
                market=(checked.rules, checked.quote),
                wait=wait,
                timeout_s=timeout_s,
                targets=lambda ids: wait_targets(command, ids),
            )
        )
    except ServiceError as exc:  # unconfirmed (2), not running or not answering (1)
        _die_error(exc, as_json=as_json)
    if refused(reply):
        _die_refused(reply, as_json=as_json)
    ids = [str(i) for i in reply.get("client_order_ids") or ()]
    failed = wait != "none" and (elapsed is None or any(verdict(r, wait) == "failed" for r in rows))
    if as_json:
        echo_json(
            {
                "node_id": node_id,
                "client_order_ids": ids,
                "wait": wait,
                "orders": [r.to_dict() for r in rows],
                "elapsed_ms": None if elapsed is None else round(elapsed * 1000, 3),
                "ok": not failed,
                "audit_error": reply.get("audit_error"),
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
        if reply.get("audit_error"):
            click.echo(f"error: NOT in the audit log: {reply['audit_error']}", err=True)
    if failed or reply.get("audit_error"):
        sys.exit(EXIT_FAILURE)


def _check_ticket(node_id: str, ticket: AnyTicket, timeout_s: float, *, as_json: bool) -> DryRun:
    """Check `ticket` as the node will, with its rules and quote; exit 2 on any issue.

    Sent or not, a ticket is checked the same way, so ``--dry-run`` agrees with the node.
    """
    result = asyncio.run(_service().dry_run(node_id, ticket, timeout_s=min(timeout_s, 5.0)))
    if result.issues:
        if as_json:
            echo_json({"error": "invalid order", **result.to_dict()})
            sys.exit(EXIT_INVALID)
        _die_issues(result.issues, EXIT_INVALID, as_json=False, what="invalid order")
    return result


def _print_dry_run(
    node_id: str, ticket: AnyTicket, result: DryRun, notional: NotionalCheck, *, as_json: bool
) -> None:
    """Print the orders a checked ticket would create, what could not be checked, and
    whether sending it would need a confirmation."""
    from engine.orders.tickets import dump_ticket

    orders = preview_orders(ticket, result.rules)
    if as_json:
        echo_json(
            {
                "ticket": dump_ticket(ticket),
                "orders": [o.to_dict() for o in orders],
                **result.to_dict(),
                "notional": notional.to_dict(),
            }
        )
        if result.risk_denial:
            sys.exit(EXIT_FAILURE)
        return
    verdict = "passes the checks that could be made" if result.not_checked else "is valid"
    if result.risk_denial:
        verdict += " but the node's risk guard would deny it"
    click.echo(f"this {ticket.type} ticket {verdict}; it would submit {len(orders)} order(s):")
    for o in orders:
        click.echo(f"  {o}")
    if result.rules is not None:
        at = "" if result.quote is None else f" at bid {result.quote.bid} / ask {result.quote.ask}"
        click.echo(f"checked against node {node_id}'s rules for {result.rules.instrument_id}{at}")
    if notional.needs_confirmation:
        click.echo(
            f"needs confirmation: {notional.question().removesuffix(': send?')} "
            "(asked on a terminal, else --yes)"
        )
    elif notional.notional is not None:
        click.echo(f"notional {notional.shown}")
    for sentence in result.not_checked:
        click.echo(f"not checked: {sentence}", err=True)
    if result.risk_denial:
        click.echo(f"error: node {node_id} would deny it: {result.risk_denial}", err=True)
        sys.exit(EXIT_FAILURE)


# --- gateway orders ------------------------------------------------------------------------


@click.group()
def orders() -> None:
    """List, modify, cancel and close a node's orders and positions."""


@orders.command("list")
@click.argument("ref", metavar="NODE")
@click.option("--open", "open_only", is_flag=True, help="Only orders still working.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def list_orders(ref: str, open_only: bool, as_json: bool) -> None:
    """List the orders of NODE's live or latest run (or a run id) with their status."""
    from engine.services import ServiceError

    try:
        listed = asyncio.run(_service().list(ref, open_only=open_only))
    except ServiceError as exc:
        _die(exc.message, exc.exit_code, as_json=as_json)
    rows = listed.orders
    if listed.damaged is not None:  # open orders may have moved on in the events lost
        click.echo(
            f"warning: the journal of run {listed.run_id} is damaged after seq "
            f"{listed.intact_seq} ({listed.damaged}); orders still open there "
            "show status UNKNOWN and later orders are missing (gateway runs verify)",
            err=True,
        )
    code = EXIT_FAILURE if listed.damaged is not None else 0
    if as_json:
        echo_json([r.model_dump() for r in rows])
        sys.exit(code)
    if not rows:
        click.echo("no open orders" if open_only else "no orders")
        sys.exit(code)
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
    sys.exit(code)


def _carry_out(
    node_id: str, command: dict[str, Any], *, wait: bool, timeout_s: float | None, as_json: bool
) -> None:
    """Run an order action through the engine, print its verified outcome, exit 0 or 1."""
    outcome = asyncio.run(
        _service().carry_out(
            Principal.local("cli"), node_id, command, wait=wait, timeout_s=timeout_s
        )
    )
    _print_outcomes([outcome], as_json=as_json)
    sys.exit(outcome.exit_code)


def _print_outcomes(outcomes: list[Outcome], *, as_json: bool, many: bool = False) -> None:
    if as_json:
        if many:
            echo_json({"ok": all(o.ok for o in outcomes), "nodes": [o.to_dict() for o in outcomes]})
        else:
            echo_json(outcomes[0].to_dict())
        return
    for outcome in outcomes:
        lines = outcome.lines()
        if outcome.ok:
            click.echo("\n".join(lines))
        else:
            click.echo("error: " + "\n".join(lines), err=True)


_yes_option = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
_json_flag = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_no_wait_option = click.option(
    "--no-wait",
    is_flag=True,
    help="Send and return without waiting for the venue's answer (exit 0 once the node took it).",
)


class _Seconds(click.ParamType[float]):
    """Seconds as plain ASCII decimal, finite, within [lo, hi] (NaN, inf, '١٢٣' refused)."""

    name = "seconds"

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        ok = bool(text) and len(text) <= 32 and text.isascii()
        try:
            seconds = float(text) if ok else math.nan
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and self.lo <= seconds <= self.hi):
            self.fail(
                f"got {str(value)[:40]!r}, expected seconds from {self.lo:g} to {self.hi:g}",
                param,
                ctx,
            )
        return seconds


def _timeout_option(default: float, what: str) -> Callable[[FC], FC]:
    return click.option(
        "--timeout",
        "timeout_s",
        type=_Seconds(0.1, 3600),
        default=default,
        show_default=True,
        help=f"Seconds to wait for {what}.",
    )


@orders.command()
@click.argument("node_id", metavar="NODE")
@click.argument("client_order_id")
@click.option("--price", help="New limit price.")
@click.option("--quantity", help="New quantity.")
@click.option("--trigger-price", help="New trigger price.")
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="Send it even if it raises the order's notional above orders.confirm_notional_above.",
)
@_no_wait_option
@_timeout_option(10.0, "the venue's answer")
@_json_flag
@pass_workspace_option
def modify(
    node_id: str,
    client_order_id: str,
    price: str | None,
    quantity: str | None,
    trigger_price: str | None,
    yes: bool,
    no_wait: bool,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Change the price, quantity and/or trigger price of a working order.

    Waits for the venue's answer: exit 0 once the order is updated, 1 when the node or
    the venue rejects it (with its reason), 2 on a bad value (the field is named). A
    modify that raises the order's notional above orders.confirm_notional_above asks on a
    terminal, and without one needs --yes (else exit 2, nothing changed).
    """
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
    who, service = Principal.local("cli"), _service()
    outcome = asyncio.run(
        service.carry_out(
            who, node_id, command, wait=not no_wait, timeout_s=timeout_s, confirm=yes or None
        )
    )
    if outcome.code == "unconfirmed" and sys.stdin.isatty() and not as_json:
        message = str(outcome.reply.get("message") or outcome.summary)
        if click.confirm(f"{message}\nSend it anyway?", default=False, err=True):
            outcome = asyncio.run(
                service.carry_out(
                    who, node_id, command, wait=not no_wait, timeout_s=timeout_s, confirm=True
                )
            )
    _print_outcomes([outcome], as_json=as_json)
    sys.exit(outcome.exit_code)


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
@_no_wait_option
@_timeout_option(10.0, "the venue's answer")
@_json_flag
@pass_workspace_option
def cancel(
    node_id: str, client_order_id: str, yes: bool, no_wait: bool, timeout_s: float, as_json: bool
) -> None:
    """Cancel one working order; exit 0 once the venue canceled it, 1 if it refused."""
    command = _load({"action": "cancel", "client_order_id": client_order_id}, as_json=as_json)
    _confirm(f"Cancel order {client_order_id} on {node_id}?", yes, as_json=as_json)
    _carry_out(node_id, command, wait=not no_wait, timeout_s=timeout_s, as_json=as_json)


@orders.command("cancel-all")
@click.argument("node_id", metavar="NODE")
@click.option("--instrument", "instrument_id", help="Only orders of this instrument.")
@click.option(
    "--side", type=click.Choice(["buy", "sell"], case_sensitive=False), help="Only this side."
)
@_yes_option
@_no_wait_option
@_timeout_option(10.0, "the venue's answers")
@_json_flag
@pass_workspace_option
def cancel_all(
    node_id: str,
    instrument_id: str | None,
    side: str | None,
    yes: bool,
    no_wait: bool,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Cancel every working order of NODE's gateway strategy (or of one instrument / side).

    Exit 0 once the venue canceled every one; 1 naming each it refused.
    """
    data: dict[str, Any] = {"action": "cancel_all", "instrument_id": instrument_id}
    if side is not None:
        data["side"] = side.upper()
    command = _load({k: v for k, v in data.items() if v is not None}, as_json=as_json)
    scope = f" in {instrument_id}" if instrument_id else ""
    _confirm(f"Cancel every working order{scope} on {node_id}?", yes, as_json=as_json)
    _carry_out(node_id, command, wait=not no_wait, timeout_s=timeout_s, as_json=as_json)


_CLOSE_HELP = """

    Each position (whichever strategy opened it; NETTING or HEDGING) is closed by a
    reduce-only market order; a closing order that stops filling is canceled and the rest
    closed again until flat or --timeout. Exit 0 only when the node's cache shows it flat
    (and, with orders canceled, none working); 1 with what remains; 2 on bad input."""


@orders.command()
@click.argument("node_id", metavar="NODE")
@click.option("--position", "position_id", help="The position to close.")
@click.option("--instrument", "instrument_id", help="Close every open position of this instrument.")
@click.option(
    "--cancel-orders",
    is_flag=True,
    help="First cancel the working orders that could reopen it (the instrument's, or the "
    "position's strategy's).",
)
@_yes_option
@_timeout_option(30.0, "the position to be flat")
@_json_flag
@pass_workspace_option
def close(
    node_id: str,
    position_id: str | None,
    instrument_id: str | None,
    cancel_orders: bool,
    yes: bool,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Close a position (or every position of an instrument) at market and wait until flat."""
    if (position_id is None) == (instrument_id is None):
        _die("give exactly one of --position ID or --instrument ID", EXIT_INVALID, as_json=as_json)
    data = {
        "action": "close_position",
        "position_id": position_id,
        "instrument_id": instrument_id,
        "cancel_orders": cancel_orders,
    }
    command = _load({k: v for k, v in data.items() if v is not None}, as_json=as_json)
    what = f"position {position_id}" if position_id else f"every position in {instrument_id}"
    _confirm(f"Close {what} on {node_id} at market?", yes, as_json=as_json)
    _carry_out(node_id, command, wait=True, timeout_s=timeout_s, as_json=as_json)


close.help = (close.help or "") + _CLOSE_HELP


@orders.command()
@click.argument("node_id", metavar="NODE", required=False)
@click.option(
    "--all",
    "all_nodes",
    is_flag=True,
    help="Kill switch: flatten every strategy on every running sandbox/live node.",
)
@click.option(
    "--keep-orders", is_flag=True, help="Do not cancel working orders (only close positions)."
)
@_yes_option
@_timeout_option(30.0, "every position to be flat")
@_json_flag
@pass_workspace_option
def flatten(
    node_id: str | None,
    all_nodes: bool,
    keep_orders: bool,
    yes: bool,
    timeout_s: float,
    as_json: bool,
) -> None:
    """Cancel every working order and close every position of NODE (or --all) and wait.

    \b
    gateway orders flatten NODE --yes
    gateway orders flatten --all --yes      # every running node, at once
    """
    if (node_id is None) == (not all_nodes):
        _die("give either NODE or --all", EXIT_INVALID, as_json=as_json)
    command = _load({"action": "flatten_all", "cancel_orders": not keep_orders}, as_json=as_json)
    what = "close every position" if keep_orders else "cancel every order and close every position"
    if node_id is not None:
        _confirm(f"{what.capitalize()} on {node_id} at market?", yes, as_json=as_json)
        _carry_out(node_id, command, wait=True, timeout_s=timeout_s, as_json=as_json)
    _confirm(
        f"Kill switch: {what} on EVERY running node at market?",
        yes,
        as_json=as_json,
    )
    outcomes = asyncio.run(
        _service().flatten_everywhere(
            Principal.local("cli"), timeout_s=timeout_s, cancel_orders=not keep_orders
        )
    )
    if not outcomes:
        if as_json:
            echo_json({"ok": True, "nodes": []})
        else:
            click.echo("no running sandbox or live node: nothing to flatten")
        return
    _print_outcomes(outcomes, as_json=as_json, many=True)
    sys.exit(0 if all(o.ok for o in outcomes) else EXIT_FAILURE)


flatten.help = (flatten.help or "") + _CLOSE_HELP
