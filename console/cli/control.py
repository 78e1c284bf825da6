"""`gateway ps | attach | stop | logs`: control node hosts that run detached.

They work for every mode: a backtest host can be listed, attached to, stopped, and its
log read, like a live one.
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
from engine.events.envelope import Envelope, to_json_line

LEVELS = {"TRACE": 0, "DEBUG": 10, "INFO": 20, "WARN": 30, "WARNING": 30, "ERROR": 40}


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--all",
    "-a",
    "show_all",
    is_flag=True,
    help="Also list nodes with no host running: the state (and error) of their latest run.",
)
@pass_workspace_option
def ps(as_json: bool, show_all: bool) -> None:
    """List node hosts: state, pid, uptime, run id."""
    from engine.services.nodes import NodeService

    # The API's ps: hosts with a pid file, and with --all every other node's latest run.
    states = asyncio.run(NodeService(get_workspace()).ps(all_nodes=show_all))
    rows: list[dict[str, Any]] = [s.model_dump() for s in states]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(
            "no node hosts running"
            + ("" if show_all else " (gateway ps --all lists the latest run of every node)")
        )
        return
    click.echo(f"{'NODE':<20} {'MODE':<9} {'STATE':<10} {'PID':>7} {'UPTIME':>8}  RUN")
    for row in rows:
        state = row["state"] if row["alive"] or not row["pid"] else f"{row['state']}*"
        error = f"  {row['error'][:80]}" if row["error"] else ""
        click.echo(
            f"{row['node_id']:<20} {row['mode']:<9} {state:<10} {row['pid'] or '-':>7} "
            f"{_uptime(row['uptime_s']):>8}  {row['run_id']}{error}"
        )


def _stream(ref: str, after_seq: int, printer: Any, *, follow: bool = True) -> None:
    """Print a run's events; exit 1 with a warning if its journal turns out damaged."""
    from engine.run_verify import journal_damage
    from engine.runs import Run
    from engine.services.errors import ServiceError
    from engine.services.nodes import NodeService

    workspace = get_workspace()

    async def run() -> Run:
        nodes = NodeService(workspace)
        found = await nodes.find_run(ref)
        async for batch in nodes.attach(found.run_id, after_seq, follow=follow):
            printer(batch)
        return found

    try:
        streamed = asyncio.run(run())
    except ServiceError as exc:  # no such node or run
        fail(exc.message, EXIT_INVALID)
        return
    except KeyboardInterrupt:
        sys.exit(0)  # detaching never stops the node
    damage = journal_damage(workspace, streamed)
    if damage is not None:
        # The reader stops at the first damaged record: say so rather than end as if
        # the run had nothing more to tell.
        click.echo(
            f"warning: the journal of run {streamed.run_id} is damaged; events after seq "
            f"{damage.intact_seq} are missing or unreliable:",
            err=True,
        )
        for problem in damage.problems[:10]:
            click.echo(f"  {problem.message}", err=True)
        click.echo(f"  (gateway runs verify {streamed.run_id})", err=True)
        sys.exit(EXIT_FAILURE)


@click.command()
@click.argument("ref", metavar="NODE")
@click.option(
    "--from",
    "after_seq",
    type=click.IntRange(min=0),
    default=0,
    help="Stream the events after this sequence number.",
)
@click.option("--json", "as_json", is_flag=True, help="Print every event as a JSON line.")
@pass_workspace_option
def attach(ref: str, after_seq: int, as_json: bool) -> None:
    """Stream a node's events (its live run, or a run id) until its host ends.

    Ctrl-C detaches; the node keeps running.
    """
    from console.cli.launch import format_event

    def printer(batch: list[Envelope]) -> None:
        fmt = to_json_line if as_json else format_event
        click.echo("\n".join(fmt(e) for e in batch))

    _stream(ref, after_seq, printer)


@click.command()
@click.argument("node_id")
@click.option("--kill", is_flag=True, help="Kill the host at once (SIGKILL), without waiting.")
@click.option("--cancel-orders", is_flag=True, help="Cancel open orders before stopping.")
@click.option("--flatten", is_flag=True, help="Close open positions before stopping.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(0.1, 300),  # what the stop service accepts
    default=15.0,
    show_default=True,
    help="Seconds to wait for a graceful stop before killing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def stop(
    node_id: str, kill: bool, cancel_orders: bool, flatten: bool, timeout_s: float, as_json: bool
) -> None:
    """Stop a node's host: gracefully (journal flushed), or with --kill."""
    from engine.principal import Principal
    from engine.runs import find_run
    from engine.services.errors import ServiceError
    from engine.services.models import StopRequest
    from engine.services.nodes import NodeService

    workspace = get_workspace()
    request = StopRequest(
        kill=kill, timeout_s=timeout_s, cancel_orders=cancel_orders, flatten=flatten
    )
    try:
        stopped = asyncio.run(NodeService(workspace).stop(Principal.local("cli"), node_id, request))
    except ServiceError as exc:
        fail(exc.message, exc.exit_code)
        return
    if as_json:
        echo_json(find_run(workspace, stopped.run_id).meta.to_dict())
    else:
        click.echo(f"{node_id}: {stopped.state} (run {stopped.run_id}, exit {stopped.exit_code})")


@click.command()
@click.argument("ref", metavar="NODE")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until the host ends.")
@click.option(
    "--level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Lowest level shown.",
)
@click.option("--json", "as_json", is_flag=True, help="Print each log event as a JSON line.")
@pass_workspace_option
def logs(ref: str, follow: bool, level: str, as_json: bool) -> None:
    """Print a node's Nautilus log (its live or latest run, or a run id)."""
    floor = LEVELS[level.upper()]

    def printer(batch: list[Envelope]) -> None:
        lines = []
        for env in batch:
            if env.kind != "log" or LEVELS.get(str(env.payload.get("level")), 20) < floor:
                continue
            if as_json:
                lines.append(to_json_line(env))
            else:
                p = env.payload
                lines.append(
                    f"{p.get('timestamp') or ''} {p.get('level'):<7} {p.get('component')}: "
                    f"{p.get('message')}"
                )
        if lines:
            click.echo("\n".join(lines))

    _stream(ref, 0, printer, follow=follow)
