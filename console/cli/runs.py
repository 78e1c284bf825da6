"""`gateway runs list|show|verify|delete|prune`: past and current runs, checking their
files, and removing old ones."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from console.cli.context import (
    EXIT_FAILURE,
    EXIT_INVALID,
    echo_json,
    fail,
    get_workspace,
    pass_workspace_option,
)
from engine.runs import Run, RunNotFound, find_run, list_runs

if TYPE_CHECKING:
    from engine.services.runs import RunService


@click.group()
@pass_workspace_option
def runs() -> None:
    """Runs of nodes: their state and results."""


@runs.command("list")
@click.argument("node_id", required=False)
@click.option("--last", type=click.IntRange(min=1), help="Only the newest N runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def list_command(node_id: str | None, last: int | None, as_json: bool) -> None:
    """List runs (of NODE), oldest first, with each backtest's PnL, win rate and orders."""
    from console.stats_format import money, percent

    found = list_runs(get_workspace(), node_id, include_broken=True)
    if last is not None:
        found = found[-last:]
    broken = [r for r in found if r.broken]
    if as_json:
        echo_json([r.to_dict() for r in found])
        if broken:
            sys.exit(EXIT_FAILURE)
        return
    if not found:
        click.echo("no runs" + (f" of {node_id}" if node_id else ""))
        return
    click.echo(
        f"{'RUN':<26} {'NODE':<20} {'MODE':<9} {'STATE':<10} {'STARTED':<24} "
        f"{'ORDERS':>7} {'WIN':>7}  PNL"
    )
    for run in found:
        stats = (run.stats() or {}) if not run.broken else {}
        pnl = ", ".join(
            f"{money(v)} {k}" for k, v in (stats.get("pnl") or {}).items() if v is not None
        )
        orders = stats.get("total_orders")
        win = percent(stats.get("win_rate")) if stats else ""
        m = run.meta
        click.echo(
            f"{m.run_id:<26} {m.node_id:<20} {m.mode:<9} {m.state:<10} {m.started or '':<24} "
            f"{'' if orders is None else orders:>7} {win:>7}  {pnl}"
        )
    for run in broken:
        click.echo(f"warning: run {run.run_id} ({run.node_id}) is broken: {run.broken}", err=True)
    if broken:
        click.echo("check every file of a run: gateway runs verify RUN", err=True)
        sys.exit(EXIT_FAILURE)


@runs.command("verify")
@click.argument("run_refs", nargs=-1, metavar="[RUN...]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def verify(run_refs: tuple[str, ...], as_json: bool) -> None:
    """Check runs' files (all runs without RUN): meta.json, the event journal (torn tail,
    bad frames, sequence gaps) and results. Exit 1 naming each problem found."""
    from engine.run_verify import verify_run

    workspace = get_workspace()
    every = list_runs(workspace, include_broken=True)
    try:
        chosen = [find_run(workspace, ref, runs=every) for ref in run_refs] if run_refs else every
    except RunNotFound as exc:
        fail(str(exc), EXIT_INVALID)
        return
    unique = list({run.path: run for run in chosen}.values())
    checks = [verify_run(workspace, run) for run in unique]
    bad = [c for c in checks if not c.ok]
    if as_json:
        echo_json([c.to_dict() for c in checks])
    else:
        for c in checks:
            head = f"{c.run.run_id} {c.run.node_id}"
            if c.ok:
                click.echo(f"{head}: ok ({c.journal.records} events)")
                continue
            click.echo(f"{head}: {len(c.problems)} problem(s) in {c.run.path}")
            for problem in c.problems:
                click.echo(f"  {problem.render()}")
        if not checks:
            click.echo("no runs")
        elif bad:
            click.echo(f"{len(bad)} of {len(checks)} run(s) damaged", err=True)
    if bad:
        sys.exit(EXIT_FAILURE)


@runs.command("show")
@click.argument("run_ref", metavar="RUN")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def show(run_ref: str, as_json: bool) -> None:
    """Show a run (by run id, id prefix, or node id for its latest run) and its results."""
    workspace = get_workspace()
    try:
        run = find_run(workspace, run_ref, runs=list_runs(workspace, include_broken=True))
    except RunNotFound as exc:
        fail(str(exc), EXIT_INVALID)
        return
    if run.broken:
        if as_json:
            echo_json(run.to_dict())
        else:
            click.echo(f"run {run.run_id}  node {run.node_id}  BROKEN: {run.broken}")
            click.echo(f"  directory {run.path}  (gateway runs verify {run.run_id})")
        sys.exit(EXIT_FAILURE)
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


@runs.command("delete")
@click.argument("run_refs", nargs=-1, required=True, metavar="RUN...")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_workspace_option
def delete(run_refs: tuple[str, ...], yes: bool) -> None:
    """Delete runs (by run id or a unique prefix) with their journals, logs and results.

    A run still running is refused; nothing is deleted when any RUN is refused.
    """
    from engine.services.errors import ServiceError
    from engine.services.runs import RunService

    service = RunService(get_workspace())
    try:
        found = service.named(run_refs)
    except ServiceError as exc:
        fail(exc.message, exc.exit_code)
        return
    _remove(service, found, yes, dry_run=False)


@runs.command("prune")
@click.argument("node_id", required=False)
@click.option(
    "--keep",
    type=click.IntRange(min=0),
    required=True,
    help="How many of each node's newest runs to keep.",
)
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_workspace_option
def prune(node_id: str | None, keep: int, dry_run: bool, yes: bool) -> None:
    """Delete all but the newest KEEP runs of NODE (of every node without NODE).

    Runs still running are never deleted (they count among the kept ones).
    """
    from engine.services.errors import ServiceError
    from engine.services.runs import RunService

    service = RunService(get_workspace())
    try:
        found = service.prunable(node_id, keep)
    except ServiceError as exc:
        fail(exc.message, exc.exit_code)
        return
    _remove(service, found, yes, dry_run=dry_run)


def _remove(service: RunService, found: list[Run], yes: bool, *, dry_run: bool) -> None:
    from engine.principal import Principal

    if not found:
        click.echo("no runs to delete")
        return
    active = service.running(found)
    if active:
        names = ", ".join(f"{r.run_id} ({r.node_id})" for r in active)
        fail(f"still running, stop them first: {names}; nothing was deleted", EXIT_INVALID)
    sizes = service.sizes(found)
    for run in found:
        size = _mib(sizes[run.run_id])
        click.echo(f"  {run.run_id}  {run.node_id:<20} {run.meta.state:<10} {size}")
    total = _mib(sum(sizes.values()))
    if dry_run:
        click.echo(f"would delete {len(found)} run(s), {total}")
        return
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to delete without confirmation; pass --yes", EXIT_INVALID)
        if not click.confirm(f"Delete {len(found)} run(s), {total}?", default=False):
            fail("not confirmed; nothing was deleted", EXIT_FAILURE)
    done = service.delete(Principal.local("cli"), found)
    for run_id, why in done.kept.items():  # started since the check
        click.echo(f"kept {run_id}: {why}", err=True)
    deleted = len(done.deleted)
    if deleted < len(found):
        fail(f"deleted {deleted} of {len(found)} run(s)", EXIT_FAILURE)
    click.echo(f"deleted {deleted} run(s), {total}")


def _mib(size: int) -> str:
    return f"{size / 1_048_576:,.1f} MiB"
