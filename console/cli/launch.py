"""`gateway launch NODE`: run a node in its own host process.

Backtests are followed to their end. On a terminal: a progress bar (share of the data's
time range) and a summary. With ``--headless``: one line per event. With ``--json``: one
JSON envelope per line. The exit code is 0 when the run completes, 1 when it fails, 3
when it was stopped.

Sandbox and live nodes run detached: launch prints their events until the node is
``running`` and exits 0 (1 if it failed first), leaving it running. With ``--follow`` it
keeps streaming until interrupted; Ctrl-C detaches and never stops the node (use
``gateway stop NODE``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from console.cli.context import (
    EXIT_FAILURE,
    EXIT_INVALID,
    EXIT_OK,
    echo_json,
    fail,
    get_workspace,
    pass_workspace_option,
)
from engine.events.envelope import Envelope, to_json_line
from engine.host.events import NODE_STATE_CHANGED, TERMINAL_STATES

EXIT_STOPPED = 3
_EXIT_BY_STATE = {"completed": EXIT_OK, "failed": EXIT_FAILURE, "stopped": EXIT_STOPPED}


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


async def follow_run(
    manager: Any,
    ref: str,
    on_batch: Callable[[list[Envelope]], None],
    *,
    after_seq: int = 0,
    until_running: bool = False,
) -> str | None:
    """Feed a run's events to ``on_batch`` until it ends; return the final state seen."""
    final: str | None = None
    async for batch in manager.attach(ref, after_seq):
        on_batch(batch)
        for env in batch:
            if env.type == NODE_STATE_CHANGED:
                state = env.payload.get("state")
                if state in TERMINAL_STATES:
                    final = state
                elif until_running and state == "running":
                    return "running"
        if final is not None:
            break
    return final


async def _run_detached(manager: Any, handle: Any, *, as_json: bool, follow: bool) -> str | None:
    """Stream a sandbox/live node's events until running (and on, with ``follow``)."""
    last = [0]
    started = [False]

    def printer(batch: list[Envelope]) -> None:
        last[0] = batch[-1].seq
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
    final = await follow_run(manager, handle.run_id, printer, until_running=True)
    if final is None:  # the host died before reporting a state: its supervisor marked it
        meta = await handle.meta()
        final = meta.state if meta else "failed"
    if final != "running":
        return final
    if not as_json:
        click.echo(
            f"{handle.node_id} is running (run {handle.run_id}, pid {handle.pid}); "
            f"gateway attach {handle.node_id} | gateway stop {handle.node_id}",
            err=follow,
        )
    if follow:
        started[0] = True
        end = await follow_run(manager, handle.run_id, printer, after_seq=last[0])
        return "running" if end is None else end
    return final


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
    state: dict[str, Any] = {"handle": None, "manager": None}

    async def run() -> str | None:
        # A backtest host starts first and imports Nautilus on the other core while this
        # process imports the engine and validates the config (see engine.host.standby):
        # the entry point started it already, unless the command line fooled its reading.
        guess = likely_mode(workspace, node_id, mode)
        standby = prestart.take(workspace, guess)
        if standby is None and guess:
            standby = Standby.start(workspace, guess)
        from engine.manager import NodeManager

        manager = state["manager"] = NodeManager(workspace)
        handle = await manager.launch(node_id, mode, standby=standby)
        state["handle"] = handle
        if handle.mode != "backtest":
            return await _run_detached(manager, handle, as_json=as_json, follow=follow)
        if as_json:
            final = await follow_run(
                manager,
                handle.run_id,
                lambda b: click.echo("\n".join(to_json_line(e) for e in b)),
            )
        elif tty:
            with _TerminalView(node_id, handle.run_id) as view:
                final = await follow_run(manager, handle.run_id, view.on_batch)
        else:
            click.echo(f"launched {node_id} run {handle.run_id} pid {handle.pid}")
            final = await follow_run(
                manager,
                handle.run_id,
                lambda b: click.echo("\n".join(format_event(e) for e in b)),
            )
        code = await handle.wait(timeout_s=30)
        if final is None:  # the host died without a final event: the supervisor marked it
            meta = await handle.meta()
            final = meta.state if meta else "failed"
            if not as_json:
                click.echo(f"node host exited with status {code}", err=True)
        return final

    try:
        final = asyncio.run(run())
    except KeyboardInterrupt:
        handle = state["handle"]
        if handle is not None and handle.mode != "backtest":
            click.echo(f"\ndetached; {node_id} keeps running (gateway stop {node_id})", err=True)
            sys.exit(EXIT_OK)
        if handle is not None and handle.mode == "backtest":
            click.echo(f"\nstopping {node_id} …", err=True)
            try:
                asyncio.run(state["manager"].stop(node_id))
            except Exception as exc:
                click.echo(f"could not stop {node_id}: {exc}", err=True)
        sys.exit(130)
    except Exception as exc:
        _fail_launch(node_id, exc)  # exits, or re-raises what is not bad input
        return
    from engine.runs import read_json

    handle = state["handle"]
    if handle is not None and handle.mode != "backtest":
        if final != "running" and not as_json:
            error = read_json(handle.run_dir / "error.json")
            click.echo(f"run {handle.run_id}: {final}  ({handle.run_dir})")
            if error:
                click.echo(f"error: {error.get('message')}", err=True)
        sys.exit(EXIT_OK if final == "running" else _EXIT_BY_STATE.get(final or "failed", 1))
    if not as_json and handle is not None:
        stats = read_json(handle.run_dir / "stats.json")
        error = read_json(handle.run_dir / "error.json")
        click.echo(f"run {handle.run_id}: {final}  ({handle.run_dir})")
        if error and final == "failed":
            click.echo(f"error: {error.get('message')}", err=True)
        elif stats and tty:
            for line in summary_lines(stats):
                click.echo(f"  {line}")
    elif as_json and handle is not None and final is None:
        echo_json({"run_id": handle.run_id, "state": "failed"})
    _exit_now(_EXIT_BY_STATE.get(final or "failed", EXIT_FAILURE))


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
    from engine.manager import NodeAlreadyRunning

    if isinstance(exc, (NodeNotFound, AmbiguousNode, NodeAlreadyRunning)):
        fail(str(exc), EXIT_INVALID)
    if isinstance(exc, ConfigInvalid):
        from console.cli.issues_output import print_issues

        print_issues(exc.issues, exc.source)
        fail(f"node {node_id} has an invalid config", EXIT_INVALID)
    raise exc
