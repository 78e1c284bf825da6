"""Shared CLI plumbing: the workspace option, exit codes, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from engine.workspace import Workspace

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2  # bad input: invalid config, unknown node id, malformed JSON …


def pass_workspace_option[F: Callable[..., Any]](func: F) -> F:
    """Add ``--workspace DIR`` (also ``$GATEWAY_HOME``) to a command or group."""

    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        # Kept on the root context so `gateway -w A nodes list -w B` means B: the last wins.
        if value is not None:
            ctx.find_root().ensure_object(dict)["workspace"] = value

    return click.option(
        "--workspace",
        "-w",
        metavar="DIR",
        default=None,
        expose_value=False,
        is_eager=True,
        callback=store,
        help="Workspace directory (default: $GATEWAY_HOME or ./.gateway).",
    )(func)


def get_workspace(ctx: click.Context | None = None) -> Workspace:
    """The workspace chosen by the innermost ``--workspace`` option, env, or cwd."""
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().obj
    return Workspace.resolve(obj.get("workspace") if isinstance(obj, dict) else None)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def fail(message: str, code: int = EXIT_FAILURE) -> None:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
