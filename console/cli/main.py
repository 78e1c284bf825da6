"""Entry point of the `gateway` command.

``gateway`` alone opens the console; every subcommand also works headless. Subcommands
live in their own modules and are imported lazily, so `gateway nodes list` never pays
for Textual or Nautilus imports it does not need.
"""

from __future__ import annotations

import click

from console.cli.context import pass_workspace_option
from console.cli.lazy import LazyGroup

COMMANDS = {
    "nodes": "console.cli.nodes:nodes",
    "demo": "console.cli.demo:demo",
    "launch": "console.cli.launch:launch",
    "runs": "console.cli.runs:runs",
    "data": "console.cli.data:data",
    "ps": "console.cli.control:ps",
    "attach": "console.cli.control:attach",
    "stop": "console.cli.control:stop",
    "logs": "console.cli.control:logs",
    "adapters": "console.cli.adapters:adapters",
    "order": "console.cli.orders:order",
    "orders": "console.cli.orders:orders",
    "positions": "console.cli.positions:positions",
    "balances": "console.cli.positions:balances",
    "metrics": "console.cli.metrics:metrics",
    "audit": "console.cli.audit:audit",
    "risk": "console.cli.risk:risk",
    "serve": "console.cli.serve:serve",
    "tokens": "console.cli.tokens:tokens",
    "console": "console.cli.tui:console_command",
    "migrate": "console.cli.migrate:migrate",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, invoke_without_command=True)
@pass_workspace_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Operate NautilusTrader nodes: with no command, open the console."""
    import sys

    # migrate reports the same itself; --help reads no workspace
    if ctx.invoked_subcommand != "migrate" and "--help" not in sys.argv[1:]:
        _check_workspace()
    if ctx.invoked_subcommand is None:
        ctx.invoke(cli.get_command(ctx, "console"))  # type: ignore[arg-type]


def _check_workspace() -> None:
    """Refuse a workspace this gateway must not touch (newer, or unusable schema.json).

    An older one it still reads works as it is; on a terminal a line says how to migrate.
    """
    import sys

    from console.cli.context import EXIT_INVALID, fail, get_workspace
    from engine.migrate.guard import WorkspaceRefused, check_workspace

    try:
        status = check_workspace(get_workspace())
    except WorkspaceRefused as exc:
        fail(str(exc), EXIT_INVALID)
        return
    hint = status.hint()
    if hint and sys.stderr.isatty():
        click.echo(f"note: {hint}", err=True)


def main() -> None:
    cli(prog_name="gateway")
