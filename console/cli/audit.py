"""`gateway audit list|verify`: who changed what, when, with what result; and the chain's check."""

from __future__ import annotations

import click

from console.cli.context import (
    EXIT_FAILURE,
    EXIT_INVALID,
    echo_json,
    fail,
    get_workspace,
    pass_workspace_option,
)
from engine.audit.log import AuditLog
from engine.audit.query import AuditQuery, BadSince, parse_since


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
        when = parse_since(since) if since is not None else None
    except BadSince as exc:
        fail(f"--since: {exc}", EXIT_INVALID)
        return
    query = AuditQuery(since=when, who=who, action=action, last=last)
    entries = query.select(AuditLog.of(get_workspace()).entries())
    if as_json:
        echo_json([_as_dict(e) for e in entries])
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
    from engine.audit.verify import verify

    report = verify(AuditLog.of(get_workspace()))
    if as_json:
        echo_json(report.to_dict())
    elif report.ok:
        click.echo(f"ok: {report.entries} entries, chain intact up to seq {report.last_seq}")
    if report.problem is not None:
        if not as_json:
            click.echo(f"error: {report.problem.kind}: {report.problem.message}", err=True)
        raise SystemExit(EXIT_FAILURE)


def _as_dict(entry: object) -> dict[str, object]:
    import msgspec

    return msgspec.to_builtins(entry)  # type: ignore[no-any-return]


def _outcome(result: dict[str, object]) -> str:
    if result.get("ok") is True:
        return "ok" + (f" {result['message']}" if result.get("message") else "")
    code = result.get("code") or "failed"
    return f"{code}: {result.get('message', '')}".rstrip(": ")
