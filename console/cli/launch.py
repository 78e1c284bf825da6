"""`gateway launch NODE`: run a node in its own host process.

Backtests are followed to their end. On a terminal: a progress bar (share of the data's
time range) and a summary. With ``--headless``: one line per event. With ``--json``: one
JSON envelope per line. The exit code is 0 when the run completes, 1 when it fails, 3
when it was stopped (``engine.services.follow``: every front end reports the same outcome).

Sandbox and live nodes run detached: launch prints their events until the node is
``running`` and exits 0 (1 if it failed first), leaving it running. With ``--follow`` it
keeps streaming until interrupted; Ctrl-C detaches and never stops the node (use
``gateway stop NODE``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from console.cli.context import (
    EXIT_INVALID,
    EXIT_OK,
    fail,
    get_workspace,
    pass_workspace_option,
)
from engine.events.envelope import Envelope, to_json_line
from engine.host.events import NODE_STATE_CHANGED

if TYPE_CHECKING:
    from engine.services.models import LaunchOutcome
    from engine.services.nodes import NodeService, RunHandle


def _money(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, (int, float)) else str(value)


def format_event(env: Envelope) -> str:
    """One line for one event: ``seq kind type details``."""
    p = env.payload
    if env.kind == "node" and env.type == NODE_STATE_CHANGED:
        detail = p.get("state", "?") + (f" ({p['reason']})" if p.get("reason") else "")
    elif env.kind == "node" and env.type == "ClientConnectionChanged":
        connected = "connected" if p.get("connected") else "disconnected"
        detail = f"{p.get('kind')} client {p.get('client_id')} {connected}"
    elif env.kind == "node" and "error" in p:
        detail = f"{p.get('error')}: {p.get('message')}"
    elif env.kind == "node":
        detail = " ".join(f"{k}={v}" for k, v in list(p.items())[:6])
    elif env.kind == "log":
        detail = f"{p.get('level')} {p.get('component')}: {p.get('message')}"
    elif env.kind == "progress":
        detail = f"{100 * float(p.get('fraction') or 0):.1f}%"
    elif env.kind == "result":
        pnl = ", ".join(f"{_money(v)} {k}" for k, v in (p.get("pnl") or {}).items())
        detail = (
            f"orders={p.get('total_orders')} positions={p.get('total_positions')} "
            f"fills={p.get('fills')} pnl={pnl or '-'} win_rate={p.get('win_rate')}"
        )
    elif env.kind == "order":
        parts = [p.get("client_order_id"), p.get("order_side"), p.get("order_type")]
        if "last_qty" in p:
            parts.append(f"{p['last_qty']} @ {p.get('last_px')}")
        elif "quantity" in p:
            parts.append(str(p["quantity"]))
        if "reason" in p:
            parts.append(f"reason={p['reason']}")
        detail = " ".join(str(x) for x in parts if x)
    elif env.kind == "position":
        detail = (
            f"{p.get('position_id')} {p.get('side')} {p.get('quantity')} "
            f"realized={p.get('realized_pnl')}"
        )
    elif env.kind == "system" and env.type == "PersistenceReady":
        detail = f"cache in Redis {p.get('url')} ({p.get('source')})"
    elif env.kind == "system" and "message" in p:  # PersistenceLost, PersistenceRestored
        detail = str(p["message"])
    elif env.kind == "system" and "error" in p:
        detail = f"{p.get('url', '')} {p['error']}".strip()
    elif env.kind == "system":
        detail = f"{p.get('component_id')} {p.get('state')}"
    elif env.kind == "account":
        balances = p.get("balances") or []
        detail = " ".join(
            f"{b.get('total')} {b.get('currency')}" for b in balances if isinstance(b, dict)
        )
    else:
        detail = " ".join(f"{k}={v}" for k, v in list(p.items())[:6])
    return f"{env.seq:>7} {env.kind:<8} {env.type:<22} {detail}"


def summary_lines(stats: dict[str, Any]) -> list[str]:
    """The headline figures of a backtest's ``stats.json``, one per line."""
    from console.stats_format import headline

    return [f"{label}: {value}" for label, value in headline(stats)]


async def _run_detached(
    nodes: NodeService, handle: RunHandle, *, as_json: bool, follow: bool
) -> LaunchOutcome:
    """Stream a sandbox/live node's events until running (and on, with ``follow``)."""
    started = [False]

    def printer(batch: list[Envelope]) -> None:
        if as_json:
            click.echo("\n".join(to_json_line(e) for e in batch))
            return
        # Until the node runs, Nautilus logs its kernel's build at INFO (~100 lines):
        # warnings and errors are shown, the rest is in `gateway logs NODE`.
        shown = [e for e in batch if started[0] or not _startup_noise(e)]
        if shown:
            click.echo("\n".join(format_event(e) for e in shown))

    if not as_json:
        click.echo(f"launched {handle.node_id} run {handle.run_id} pid {handle.pid}")
    outcome = await nodes.wait(handle, until="running", on_batch=printer)
    if outcome.state != "running":
        return outcome
    if not as_json:
        click.echo(
            f"{handle.node_id} is running (run {handle.run_id}, pid {handle.pid}); "
            f"gateway attach {handle.node_id} | gateway stop {handle.node_id}",
            err=follow,
        )
    if follow:
        started[0] = True
        return await nodes.wait(handle, on_batch=printer, after_seq=outcome.last_seq)
    return outcome


def _startup_noise(env: Envelope) -> bool:
    level = str(env.payload.get("level", ""))
    return env.kind == "log" and level not in ("WARN", "WARNING", "ERROR")


class _TerminalView:
    """A rich progress bar with live counters; warnings and errors printed above it."""

    def __init__(self, node_id: str, run_id: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=False)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
            transient=False,
        )
        self.task = self.progress.add_task(node_id, total=1.0, status="created")
        self.run_id = run_id
        self.state = "created"
        self.orders = 0
        self.fills = 0
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None

    def __enter__(self) -> _TerminalView:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def on_batch(self, batch: list[Envelope]) -> None:
        fraction = None
        for env in batch:
            if env.kind == "progress":
                fraction = float(env.payload.get("fraction") or 0.0)
            elif env.kind == "order":
                if env.type == "OrderInitialized":
                    self.orders += 1
                elif env.type == "OrderFilled":
                    self.fills += 1
            elif env.type == NODE_STATE_CHANGED:
                self.state = str(env.payload.get("state"))
            elif env.kind == "node":
                self.error = env.payload
            elif env.kind == "result":
                self.result = env.payload
            elif env.kind == "log" and env.payload.get("level") in ("WARN", "WARNING", "ERROR"):
                p = env.payload
                self.progress.console.print(
                    f"[yellow]{p.get('level')}[/] {p.get('component')}: {p.get('message')}",
                    markup=True,
                    highlight=False,
                )
        update: dict[str, Any] = {
            "status": f"{self.state}  orders {self.orders}  fills {self.fills}"
        }
        if fraction is not None:
            update["completed"] = fraction
        self.progress.update(self.task, **update)


@click.command()
@click.argument("node_id")
@click.option("--mode", type=click.Choice(["backtest", "sandbox", "live"]), default=None)
@click.option("--headless", is_flag=True, help="Print one line per event (no progress bar).")
@click.option("--json", "as_json", is_flag=True, help="Print every event as a JSON line.")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Sandbox/live: keep streaming events once running (Ctrl-C detaches).",
)
@pass_workspace_option
def launch(node_id: str, mode: str | None, headless: bool, as_json: bool, follow: bool) -> None:
    """Run NODE in its own node host process.

    A backtest is followed until it ends; a sandbox or live node until it is running,
    then it keeps running detached (--follow keeps streaming its events).
    """
    from console.cli import prestart
    from engine.host.standby import Standby, likely_mode

    workspace = get_workspace()
    tty = sys.stdout.isatty() and not headless and not as_json
    state: dict[str, Any] = {"handle": None, "nodes": None}

    async def run() -> LaunchOutcome:
        # A backtest host starts first and imports Nautilus on the other core while this
        # process imports the engine and validates the config (see engine.host.standby):
        # the entry point started it already, unless the command line fooled its reading.
        guess = likely_mode(workspace, node_id, mode)
        standby = prestart.take(workspace, guess)
        if standby is None and guess:
            standby = Standby.start(workspace, guess)
        from engine.principal import Principal
        from engine.services.nodes import NodeService

        nodes = state["nodes"] = NodeService(workspace)
        handle = await nodes.start(Principal.local("cli"), node_id, mode, standby=standby)
        state["handle"] = handle
        if handle.mode != "backtest":
            return await _run_detached(nodes, handle, as_json=as_json, follow=follow)
        # The core follows the run to its outcome; this only renders its events.
        if as_json:
            outcome = await nodes.wait(
                handle, on_batch=lambda b: click.echo("\n".join(to_json_line(e) for e in b))
            )
        elif tty:
            with _TerminalView(node_id, handle.run_id) as view:
                outcome = await nodes.wait(handle, on_batch=view.on_batch)
        else:
            click.echo(f"launched {node_id} run {handle.run_id} pid {handle.pid}")
            outcome = await nodes.wait(
                handle, on_batch=lambda b: click.echo("\n".join(format_event(e) for e in b))
            )
        if not outcome.reported and not as_json:  # the host died without a final event
            click.echo(f"node host exited with status {outcome.host_exit_code}", err=True)
        return outcome

    try:
        outcome = asyncio.run(run())
    except KeyboardInterrupt:
        handle = state["handle"]
        if handle is not None and handle.mode != "backtest":
            click.echo(f"\ndetached; {node_id} keeps running (gateway stop {node_id})", err=True)
            sys.exit(EXIT_OK)
        if handle is not None and handle.mode == "backtest":
            click.echo(f"\nstopping {node_id} …", err=True)
            from engine.principal import Principal
            from engine.services.models import StopRequest

            try:
                asyncio.run(state["nodes"].stop(Principal.local("cli"), node_id, StopRequest()))
            except Exception as exc:
                click.echo(f"could not stop {node_id}: {exc}", err=True)
        sys.exit(130)
    except Exception as exc:
        _fail_launch(node_id, exc)  # exits, or re-raises what is not bad input
        return
    handle = state["handle"]
    if handle.mode != "backtest":
        if outcome.state != "running" and not as_json:
            click.echo(f"run {handle.run_id}: {outcome.state}  ({handle.run_dir})")
            if outcome.error:
                click.echo(f"error: {outcome.error}", err=True)
        sys.exit(outcome.exit_code)
    if not as_json:
        click.echo(f"run {handle.run_id}: {outcome.state}  ({handle.run_dir})")
        if outcome.error:
            click.echo(f"error: {outcome.error}", err=True)
        elif tty:
            from engine.runs import STATS_FILE, read_json

            stats = read_json(handle.run_dir / STATS_FILE)
            for line in summary_lines(stats) if stats else ():
                click.echo(f"  {line}")
    _exit_now(outcome.exit_code if outcome.exit_code is not None else 1)


def _exit_now(code: int) -> None:
    """Exit once the backtest's output is flushed, skipping the interpreter's teardown.

    The run is over and on disk, the host is reaped, the event loop is closed: nothing is
    left to clean up, and tearing down the engine's imports would delay a script waiting
    on ``gateway launch`` by ~0.05 s.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _fail_launch(node_id: str, exc: Exception) -> None:
    """Exit 2 with the reason for a launch refused as bad input; re-raise anything else."""
    # Imported here, not at the top: the standby host must start before these imports.
    from engine.config.issues import ConfigInvalid
    from engine.config.store import AmbiguousNode, NodeNotFound
    from engine.services.errors import ServiceError

    refused = (NodeNotFound, AmbiguousNode, ConfigInvalid)
    if isinstance(exc, ServiceError):  # the launch service's: what it wraps says most
        if exc.code == "conflict":  # a host of the node runs already: bad input here
            fail(exc.message, EXIT_INVALID)
        if not isinstance(exc.__cause__, refused):
            fail(exc.message, exc.exit_code)
            return
        exc = exc.__cause__
    if isinstance(exc, (NodeNotFound, AmbiguousNode)):
        fail(str(exc), EXIT_INVALID)
    if isinstance(exc, ConfigInvalid):
        from console.cli.issues_output import print_issues

        print_issues(exc.issues, exc.source)
        fail(f"node {node_id} has an invalid config", EXIT_INVALID)
    raise exc
