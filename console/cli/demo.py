"""`gateway demo init`: a ready workspace that runs offline."""

from __future__ import annotations

import click

from console.cli.context import get_workspace, pass_workspace_option
from engine.demo import init_demo


@click.group()
@pass_workspace_option
def demo() -> None:
    """The demo workspace."""


@demo.command("init")
@click.option("--if-missing", is_flag=True, help="Do nothing when the workspace already exists.")
@click.option("--force", is_flag=True, help="Rewrite the demo nodes even if they exist.")
@pass_workspace_option
def init(if_missing: bool, force: bool) -> None:
    """Write the demo nodes (and their data) into the workspace."""
    workspace = get_workspace()
    if if_missing and workspace.nodes_dir.is_dir() and any(workspace.nodes_dir.iterdir()):
        click.echo(f"workspace {workspace.root} exists; leaving it as it is")
        return
    created = init_demo(workspace, overwrite=force)
    for item in created:
        click.echo(f"created {item}")
    if not created:
        click.echo(f"demo nodes already in {workspace.root} (use --force to rewrite them)")
