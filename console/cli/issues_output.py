"""Printing validation issues for people (stderr) and for scripts (--json)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from console.cli.context import echo_json
from engine.config.issues import ConfigIssue


def print_issues(issues: Sequence[ConfigIssue], source: str | None = None) -> None:
    """Print each issue on its own line, errors first: ``path: message (got value)``."""
    ordered = sorted(issues, key=lambda i: i.severity != "error")
    if source:
        click.echo(f"{source}:", err=True)
    for issue in ordered:
        click.echo(f"  {issue.severity}: {issue.render()}", err=True)


def issues_json(issues: Sequence[ConfigIssue], *, ok: bool, source: str | None = None) -> None:
    echo_json({"ok": ok, "source": source, "issues": [i.to_dict() for i in issues]})
