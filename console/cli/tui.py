"""`gateway` / `gateway console`: open the full-screen console."""

from __future__ import annotations

import click

from console.cli.context import pass_workspace_option


@click.command("console")
@pass_workspace_option
def console_command() -> None:
    """Open the full-screen console (keyboard-driven; Ctrl+P lists every action)."""
    import sys

    from console.cli.context import EXIT_INVALID, fail, get_workspace

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # Textual would draw into the pipe and wait for keys that never come.
        fail(
            "the console needs a terminal on stdin and stdout; without one use the "
            "headless commands (gateway --help: nodes, launch, ps, attach, orders, runs)",
            EXIT_INVALID,
        )
    workspace = get_workspace()
    from engine.migrate.guard import check_workspace

    # The CLI refused a newer workspace already; an older one works and is told how to
    # migrate (never migrated here: an older node host may still use its files).
    hint = check_workspace(workspace).hint()
    from console.app import GatewayApp
    from console.services import WorkspaceServices
    from themes.loader import load_themes

    # Settings are validated after the first paint (see console.quick_settings).
    app = GatewayApp(
        WorkspaceServices(workspace),
        settings_path=workspace.settings_path,
        themes=load_themes(workspace.root / "themes"),
        notices=[hint] if hint else [],
    )
    app.run()
    if app.return_code:  # a failure Textual ended the app for (before or after it ran)
        raise SystemExit(app.return_code)
