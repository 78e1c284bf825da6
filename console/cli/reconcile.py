"""`gateway nodes reconcile NODE`: a node's journal, Nautilus cache and venue, compared.

Exit 0: the three views agree (after accepting the venue's view, when asked); exit 1:
they differ (the node stays HALTED), the node is not running or does not answer, or the
acceptance is missing from the audit log; exit 2: bad input.
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

COLUMNS = ("journal", "cache", "venue")


@click.command("reconcile")
@click.argument("node_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--accept-venue",
    is_flag=True,
    help="Adopt the venue's view: the node cancels what the venue does not work, the "
    "journal takes the venue's state, and the node trades again once all three agree.",
)
@click.option("--yes", is_flag=True, help="Accept without asking (needed without a terminal).")
@pass_workspace_option
def reconcile(node_id: str, as_json: bool, accept_venue: bool, yes: bool) -> None:
    """Compare NODE's journal, Nautilus cache and venue, order by order and position by
    position; with --accept-venue, adopt the venue's view."""
    from engine.recovery import service

    workspace = get_workspace()
    if yes and not accept_venue:
        fail("--yes: only with --accept-venue", EXIT_INVALID)
    if accept_venue and not yes:
        if not sys.stdin.isatty():
            fail(
                "refusing to accept the venue's view without confirmation; pass --yes", EXIT_INVALID
            )
        click.confirm(
            f"Adopt the venue's view at {node_id} (orders it does not work are closed)?",
            abort=True,
        )
    if accept_venue:
        outcome = asyncio.run(service.accept_venue(workspace, node_id, Principal.local("cli")))
    else:
        outcome = asyncio.run(service.compare(workspace, node_id))
    code = 0 if outcome.ok and outcome.audit_error is None else EXIT_FAILURE
    if outcome.code in service.BAD_NODE:
        code = EXIT_INVALID
    if as_json:
        echo_json(outcome.to_dict())
        sys.exit(code)
    if outcome.audit_error:
        click.echo(f"error: NOT in the audit log: {outcome.audit_error}", err=True)
    if outcome.result is None:
        fail(f"{node_id}: {outcome.message}", code)
    _print(outcome)
    sys.exit(code)


def _print(outcome: Any) -> None:
    result = outcome.result
    state = f" (trading state {outcome.trading_state})" if outcome.trading_state else ""
    verdict = "" if result.agree else "journal, cache and venue DIFFER: "
    click.echo(f"{outcome.node_id}: {verdict}{result.summary()}{state}")
    if not outcome.running:
        click.echo(f"  {outcome.message}")
    for action in outcome.actions:
        click.echo(f"  done: {action}")
    for title, rows in (("ORDER", result.orders), ("POSITION", result.positions)):
        if not rows:
            continue
        key_w = max(len(title), *(len(r.key) for r in rows))
        widths = [max(len(c.upper()), *(len(getattr(r, c)) for r in rows)) for c in COLUMNS]
        head = [
            title.ljust(key_w),
            *(c.upper().ljust(w) for c, w in zip(COLUMNS, widths, strict=True)),
        ]
        click.echo("  " + "  ".join(head))
        for r in rows:
            cells = [
                r.key.ljust(key_w),
                *(getattr(r, c).ljust(w) for c, w in zip(COLUMNS, widths, strict=True)),
            ]
            mark = "ok" if r.agree else f"DIFFERS {r.note}".rstrip()
            click.echo("  " + "  ".join(cells) + "  " + mark)
    if not result.agree and outcome.running:
        click.echo(
            f"  accept the venue's view: gateway nodes reconcile {outcome.node_id} "
            "--accept-venue --yes; or stop the node: gateway stop " + outcome.node_id
        )
