"""`gateway runs list [NODE]` and `gateway runs show RUN`: past and current runs."""

from __future__ import annotations

import click

from console.cli.context import EXIT_INVALID, echo_json, fail, get_workspace, pass_workspace_option
from engine.runs import RunNotFound, find_run, list_runs


@click.group()
@pass_workspace_option
def runs() -> None:
    """Runs of nodes: their state and results."""


@runs.command("list")
@click.argument("node_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def list_command(node_id: str | None, as_json: bool) -> None:
    """List runs (of NODE), oldest first."""
    found = list_runs(get_workspace(), node_id)
    if as_json:
        echo_json([r.to_dict() for r in found])
        return
    if not found:
        click.echo("no runs" + (f" of {node_id}" if node_id else ""))
        return
    click.echo(f"{'RUN':<26} {'NODE':<20} {'MODE':<9} {'STATE':<10} {'STARTED':<24} PNL")
    for run in found:
        stats = run.stats() or {}
        pnl = ", ".join(
            f"{v:,.2f} {k}" for k, v in (stats.get("pnl") or {}).items() if v is not None
        )
        m = run.meta
        click.echo(
            f"{m.run_id:<26} {m.node_id:<20} {m.mode:<9} {m.state:<10} {m.started or '':<24} {pnl}"
        )


@runs.command("show")
@click.argument("run_ref", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def show(run_ref: str, as_json: bool) -> None:
    """Show a run (by run id, id prefix, or node id for its latest run) and its results."""
    try:
        run = find_run(get_workspace(), run_ref)
    except RunNotFound as exc:
        fail(str(exc), EXIT_INVALID)
        return
    stats, error = run.stats(), run.error()
    reports = {k: str(v) for k, v in run.reports().items()}
    if as_json:
        echo_json({**run.to_dict(), "stats": stats, "error": error, "reports": reports})
        return
    m = run.meta
    click.echo(f"run {m.run_id}  node {m.node_id} ({m.mode})  {m.state}")
    click.echo(f"  started {m.started}  ended {m.ended or '-'}  pid {m.pid}  exit {m.exit_code}")
    click.echo(f"  directory {run.path}")
    if stats:
        from console.cli.launch import summary_lines

        for line in summary_lines(stats):
            click.echo(f"  {line}")
    if error:
        click.echo(f"  error ({error.get('phase')}): {error.get('message')}")
    for name, path in reports.items():
        click.echo(f"  report {name}: {path}")
