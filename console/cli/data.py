"""`gateway data synth`: deterministic synthetic quotes in the workspace's catalog."""

from __future__ import annotations

from pathlib import Path

import click

from console.cli.context import EXIT_INVALID, echo_json, fail, get_workspace, pass_workspace_option


@click.group()
@pass_workspace_option
def data() -> None:
    """Market data in Parquet catalogs."""


@data.command("synth")
@click.option(
    "--instrument",
    "-i",
    default="EUR/USD.SIM",
    show_default=True,
    help="Instrument id (FX pairs like EUR/USD.SIM on any venue).",
)
@click.option(
    "--ticks",
    "-n",
    type=click.IntRange(min=2),
    default=1_000_000,
    show_default=True,
    help="Number of quote ticks.",
)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--interval-ms",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Milliseconds between ticks.",
)
@click.option(
    "--catalog",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalog directory (default: the workspace's catalog).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def synth_command(
    instrument: str, ticks: int, seed: int, interval_ms: int, catalog: Path | None, as_json: bool
) -> None:
    """Write seeded random-walk quote ticks (replacing this instrument's quotes)."""
    from engine.data import synth

    path = catalog or get_workspace().ensure().catalog_dir
    try:
        result = synth(path, instrument, ticks, seed, interval_ms=interval_ms)
    except ValueError as exc:
        fail(str(exc), EXIT_INVALID)
        return
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(f"wrote {result.n_ticks:,} quote ticks of {result.instrument_id} to {path}")
