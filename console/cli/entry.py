"""The `gateway` executable: start a standby host for a backtest launch, then the CLI."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the `gateway` command (``console.cli.main``)."""
    from console.cli.prestart import prestart

    prestart(sys.argv[1:])  # before click and the engine are imported
    from console.cli.main import main as cli_main

    cli_main()
