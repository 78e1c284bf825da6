"""`gateway audit list|verify`: who changed what, when, with what result; and the chain's check."""

from __future__ import annotations

import click

from console.cli.context import (
    EXIT_FAILURE,
    echo_json,
    fail,
    get_workspace,
    pass_workspace_option,
)
from engine.services.audit import AuditService
from engine.services.errors import ServiceError


@click.group()
@pass_workspace_option
def audit() -> None:
    """The audit log of every command that changed something, from any front end."""


@audit.command("list")
@click.option("--since", metavar="WHEN", help="An age (30m, 2h, 7d) or an ISO 8601 time.")
@click.option("--who", metavar="NAME", help="Only this principal (a user or token name).")
@click.option("--action", metavar="ACTION", help="Only this action or family (e.g. orders).")
@click.option("--last", type=click.IntRange(min=1), help="Only the newest N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def list_command(
    since: str | None, who: str | None, action: str | None, last: int | None, as_json: bool
) -> None:
    """List audit entries, oldest first."""
    try:
        entries = AuditService(get_workspace()).list(since=since, who=who, action=action, last=last)
    except ServiceError as exc:  # the service names its fields; here they are options
        fail(f"--{exc.message}" if exc.field == "since" else exc.message, exc.exit_code)
        return
    if as_json:
        echo_json([e.model_dump() for e in entries])
        return
    if not entries:
        click.echo("no audit entries")
        return
    click.echo(f"{'SEQ':>6}  {'TIME (UTC)':<26} {'WHO':<18} {'ACTION':<22} {'TARGET':<20} RESULT")
    for e in entries:
        target = e.target.get("node_id") or ",".join(f"{k}={v}" for k, v in e.target.items())
        click.echo(
            f"{e.seq:>6}  {e.ts[:26]:<26} {e.who + '@' + e.via:<18} {e.action:<22} "
            f"{target!s:<20} {_outcome(e.result)[:80]}"
        )


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def verify_command(as_json: bool) -> None:
    """Check the hash chain; exit 1 naming the first altered, missing or damaged entry."""
    report = AuditService(get_workspace()).verify()
    if as_json:
        echo_json(report.model_dump())
    elif report.ok:
        sealed = f" ({report.sealed} through their seals)" if report.sealed else ""
        click.echo(
            f"ok: {report.entries} entries{sealed}, chain intact up to seq {report.last_seq}"
        )
    if report.note and not as_json:
        click.echo(f"note: {report.note}", err=True)
    if report.problem is not None:
        if not as_json:
            click.echo(f"error: {report.problem['kind']}: {report.problem['message']}", err=True)
        raise SystemExit(EXIT_FAILURE)


def _outcome(result: dict[str, object]) -> str:
    if result.get("ok") is True:
        return "ok" + (f" {result['message']}" if result.get("message") else "")
    code = result.get("code") or "failed"
    return f"{code}: {result.get('message', '')}".rstrip(": ")
