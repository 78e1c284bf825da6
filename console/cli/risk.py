"""`gateway risk show|set|halt|reduce|resume`: a node's trading state and limits, at runtime.

Every change is confirmed by the node (stored there before it is in force) and recorded in
the audit log. `gateway risk halt --all` is the kill switch over every running node.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from console.cli.context import (
    EXIT_FAILURE,
    EXIT_INVALID,
    echo_json,
    fail,
    get_workspace,
    pass_workspace_option,
)
from engine.principal import Principal
from engine.risk.limits import FIELDS

LIMITS_HELP = ", ".join(FIELDS)


@click.group()
@pass_workspace_option
def risk() -> None:
    """Trading state (ACTIVE, REDUCING, HALTED) and risk limits of running nodes."""


def _exit_for(outcome: Any) -> int:
    if outcome.ok:
        return EXIT_FAILURE if getattr(outcome, "audit_error", None) else 0
    return EXIT_INVALID if outcome.code in ("invalid_limits", "invalid_state") else EXIT_FAILURE


def _print(outcome: Any, as_json: bool, what: str) -> None:
    if getattr(outcome, "audit_error", None) and not as_json:
        click.echo(f"error: NOT in the audit log: {outcome.audit_error}", err=True)
    if as_json:
        echo_json(outcome.to_dict())
    elif outcome.ok:
        r = outcome.risk
        click.echo(f"{outcome.node_id}: {what}: trading state {r.get('trading_state', '?')}")
    elif outcome.issues:
        click.echo(f"error: {outcome.node_id}: refused, nothing changed:", err=True)
        for issue in outcome.issues:
            value = issue.get("value")
            got = "" if value is None else f" (got {str(value)[:60]!r})"
            click.echo(f"  {issue.get('field')}: {issue.get('message')}{got}", err=True)
    else:
        click.echo(f"error: {outcome.node_id}: {outcome.message}", err=True)


@risk.command("show")
@click.argument("node_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def show(node_id: str, as_json: bool) -> None:
    """The node's trading state, each limit and what it is measured against now."""
    from engine.risk import service

    outcome = asyncio.run(service.show(get_workspace(), node_id))
    if as_json:
        echo_json(outcome.to_dict())
        sys.exit(_exit_for(outcome))
    if not outcome.ok:
        fail(f"{node_id}: {outcome.message}", _exit_for(outcome))
    r, usage = outcome.risk, outcome.usage
    state = r.get("trading_state", "ACTIVE")
    click.echo(f"{node_id}  trading state {state}" + ("" if outcome.running else " (not running)"))
    if r.get("changed_by"):
        click.echo(
            f"  last change {r.get('changed_at')} by {r.get('changed_by')}: {r.get('reason')}"
        )
    if not outcome.running:
        click.echo(f"  {outcome.message}")
        stored = r.get("loss_baseline") or {}
        for cur, pnl in (stored.get("day_pnl") or {}).items():
            click.echo(f"  stored pnl {stored.get('day')} ({stored.get('timezone')}) {cur}: {pnl}")
        for cur, peak in (stored.get("equity_peak") or {}).items():
            click.echo(f"  stored equity peak {cur}: {peak}")
    limits = r.get("limits") or {}
    for name in FIELDS:
        value = limits.get(name)
        click.echo(f"  {name:<32} {'-' if value is None else value}")
    if usage:
        click.echo(f"  {'open orders':<32} {usage.get('open_orders')}")
        for iid, net in (usage.get("positions") or {}).items():
            click.echo(f"  {'position ' + iid:<32} {net}")
        day = f"  (day {usage['day']} {usage.get('day_timezone')})" if usage.get("day") else ""
        for cur, pnl in (usage.get("daily_pnl") or {}).items():
            click.echo(f"  {'pnl today ' + cur:<32} {pnl}{day}")
        peaks = usage.get("equity_peak") or {}
        for cur, dd in (usage.get("drawdown") or {}).items():
            peak = f"  (equity peak {peaks[cur]})" if cur in peaks else ""
            click.echo(f"  {'drawdown ' + cur:<32} {dd}{peak}")
        click.echo(f"  orders checked {usage.get('checked')}, denied {usage.get('denied')}")


@risk.command(
    "set",
    help="Set limits (all or none are taken; VALUE none clears one). Names: " + LIMITS_HELP,
)
@click.argument("node_id")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def set_command(node_id: str, assignments: tuple[str, ...], as_json: bool) -> None:
    from engine.risk import service

    changes: dict[str, Any] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"{item!r}: expected NAME=VALUE, e.g. max_open_orders=20", EXIT_INVALID)
        changes[name.strip()] = value.strip()
    from engine.risk.limits import LimitsError, RiskLimits, apply_changes

    try:  # the node checks again against its own limits; bad input fails here, node or not
        apply_changes(RiskLimits(), changes)
    except LimitsError as exc:
        click.echo(f"error: {node_id}: refused, nothing changed:", err=True)
        for issue in exc.issues:
            got = "" if issue.get("value") is None else f" (got {str(issue['value'])[:60]!r})"
            click.echo(f"  {issue['field']}: {issue['message']}{got}", err=True)
        sys.exit(EXIT_INVALID)
    who = Principal.local("cli")
    outcome = asyncio.run(service.set_limits(get_workspace(), node_id, changes, who))
    _print(outcome, as_json, "limits set")
    sys.exit(_exit_for(outcome))


def _state_command(state: str, help_text: str) -> click.Command:
    @click.command(state_name(state), help=help_text)
    @click.argument("node_id")
    @click.option("--reason", default="", help="Why (kept with the change and in the audit log).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_workspace_option
    def command(node_id: str, reason: str, as_json: bool) -> None:
        from engine.risk import service

        who = Principal.local("cli")
        outcome = asyncio.run(
            service.set_state(get_workspace(), node_id, state, who, reason)  # type: ignore[arg-type]
        )
        _print(outcome, as_json, state_name(state))
        sys.exit(_exit_for(outcome))

    return command


def state_name(state: str) -> str:
    return {"HALTED": "halt", "REDUCING": "reduce", "ACTIVE": "resume"}[state]


risk.add_command(
    _state_command(
        "REDUCING", "Let NODE only reduce positions (nothing opens one, from flat included)."
    )
)
risk.add_command(_state_command("ACTIVE", "Let NODE trade again (ACTIVE)."))


@risk.command("halt")
@click.argument("node_id", required=False)
@click.option("--all", "all_nodes", is_flag=True, help="The kill switch: every running node.")
@click.option("--reason", default="", help="Why (kept with the change and in the audit log).")
@click.option(
    "--flatten",
    is_flag=True,
    help="With --all: first only reductions, cancel every order and close every position "
    "(followed until flat), then halt. The kill switch.",
)
@click.option("--yes", is_flag=True, help="Do not ask before halting every node.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def halt(
    node_id: str | None, all_nodes: bool, flatten: bool, reason: str, yes: bool, as_json: bool
) -> None:
    """Halt NODE (no new orders from any strategy), or with --all every running node."""
    from engine.risk import service

    who = Principal.local("cli")
    workspace = get_workspace()
    if all_nodes == (node_id is not None):
        fail("give NODE or --all (not both)", EXIT_INVALID)
    if flatten and not all_nodes:
        fail("--flatten goes with --all (for one node: gateway orders flatten NODE)", EXIT_INVALID)
    if node_id is not None:
        outcome = asyncio.run(service.set_state(workspace, node_id, "HALTED", who, reason))
        _print(outcome, as_json, "halted")
        sys.exit(_exit_for(outcome))
    if not yes:
        if not sys.stdin.isatty():
            fail("halt --all asks first: pass --yes to run it without a terminal", EXIT_INVALID)
        question = "Flatten and halt" if flatten else "Halt"
        click.confirm(f"{question} every running node?", abort=True)
    if flatten:
        kills = asyncio.run(service.kill_switch(workspace, who))
        if as_json:
            echo_json([k.to_dict() for k in kills])
        else:
            if not kills:
                click.echo("no running sandbox or live node")
            for k in kills:
                click.echo("\n".join(k.lines()), err=not k.ok)
        sys.exit(0 if all(k.ok for k in kills) else EXIT_FAILURE)
    outcomes = asyncio.run(service.halt_all(workspace, who, reason))
    if as_json:
        echo_json([o.to_dict() for o in outcomes])
    else:
        if not outcomes:
            click.echo("no running sandbox or live node")
        for o in outcomes:
            _print(o, False, "halted")
    sys.exit(0 if all(o.ok for o in outcomes) else EXIT_FAILURE)
