"""`gateway metrics NODE` (the latest sample) and `gateway metrics serve` (Prometheus)."""

from __future__ import annotations

import signal
import time
from types import FrameType
from typing import Any

import click

from console.cli.context import EXIT_INVALID, echo_json, fail, get_workspace, pass_workspace_option


class _NodeOrCommand(click.Group):
    """`gateway metrics NODE` is short for `gateway metrics show NODE`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_NodeOrCommand)
@pass_workspace_option
def metrics() -> None:
    """Metrics of nodes: PnL, exposure, orders, latency, resources."""


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}"
    return f"{value}{unit}"


def _print_sample(node_id: str, run_id: str, sample: dict[str, Any]) -> None:
    click.echo(
        f"{node_id}  run {run_id}  ({sample.get('reason', '?')} sample, "
        f"mode {sample.get('mode', '?')})"
    )
    for ccy, pnl in sorted((sample.get("pnl", {}).get("total") or {}).items()):
        click.echo(
            f"  PnL {ccy}: realized {_fmt(pnl.get('realized'))}  unrealized "
            f"{_fmt(pnl.get('unrealized'))}  total {_fmt(pnl.get('total'))}"
        )
    for strategy, by_ccy in sorted((sample.get("pnl", {}).get("by_strategy") or {}).items()):
        for ccy, pnl in sorted(by_ccy.items()):
            click.echo(f"    {strategy} {ccy}: total {_fmt(pnl.get('total'))}")
    orders = sample.get("orders") or {}
    positions = sample.get("positions") or {}
    click.echo(
        f"  orders: {_fmt(orders.get('total'))} total, {_fmt(orders.get('open'))} open; "
        f"positions: {_fmt(positions.get('open'))} open, "
        f"{_fmt(positions.get('closed'))} closed"
    )
    for name, lat in sorted((sample.get("latency_ms") or {}).items()):
        if not isinstance(lat, dict):
            continue
        click.echo(
            f"  latency {name}: p50 {_fmt(lat.get('p50'), ' ms')}  p99 "
            f"{_fmt(lat.get('p99'), ' ms')}  (n={_fmt(lat.get('count'))})"
        )
    proc = sample.get("process") or {}
    rss = proc.get("rss_bytes")
    click.echo(
        f"  process: cpu {_fmt(proc.get('cpu_percent'), '%')}  rss "
        f"{_fmt(rss / 2**20 if rss else None, ' MiB')}"
    )


@metrics.command("show")
@click.argument("node")
@click.option("--json", "as_json", is_flag=True, help="The whole sample as JSON.")
@pass_workspace_option
def show(node: str, as_json: bool) -> None:
    """Print the latest metrics sample of NODE (a node id or a run id)."""
    from engine.runs import RunNotFound, find_run
    from engine.telemetry.journal_samples import latest_sample

    workspace = get_workspace()
    try:
        run = find_run(workspace, node)
    except RunNotFound as exc:
        fail(str(exc), EXIT_INVALID)
    env = latest_sample(run.path)
    if env is None:
        fail(f"run {run.run_id} of {run.node_id} has no metrics sample yet")
    assert env is not None
    if as_json:
        echo_json(
            {
                "node_id": run.node_id,
                "run_id": run.run_id,
                "seq": env.seq,
                "ts_ns": env.ts_ns,
                "sample": env.payload,
            }
        )
    else:
        _print_sample(run.node_id, run.run_id, env.payload)


@metrics.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback by default: samples include PnL).",
)
@click.option("--port", default=9464, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--interval",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0.1, 60),
    help="Seconds between reads of the run journals.",
)
@pass_workspace_option
def serve_cmd(host: str, port: int, interval: float) -> None:
    """Serve every node's latest metrics for Prometheus (OpenMetrics) until Ctrl-C or SIGTERM."""
    from engine.telemetry.journal_samples import SampleFollower
    from engine.telemetry.prometheus import MetricsRegistry, serve

    registry = MetricsRegistry()
    follower = SampleFollower(get_workspace())
    try:
        server = serve(registry, host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_INVALID)
    click.echo(f"serving {server.url} (Ctrl-C to stop)", err=True)
    # A service manager stops it with SIGTERM: a clean stop, like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            for node_id, env in follower.poll():
                registry.update(node_id, env.payload)
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
