"""`gateway migrate`: bring a workspace's files to this gateway's schema versions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from console.cli.context import (
    EXIT_FAILURE,
    EXIT_INVALID,
    echo_json,
    get_workspace,
    pass_workspace_option,
)

LIST_AT_MOST = 20  # files listed one by one; beyond, counts per kind


@click.command()
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_workspace_option
def migrate(dry_run: bool, as_json: bool) -> None:
    """Migrate the workspace to this gateway's schema versions (a backup is kept).

    Exit 0: done, or nothing to do; 2: a file stops it (newer, or unreadable version;
    nothing written); 1: it failed (what remains is listed).
    """
    from engine.migrate.apply import MigrateFailed, Outcome
    from engine.migrate.apply import migrate as run
    from engine.migrate.plan import plan

    workspace = get_workspace()
    if not workspace.root.is_dir():
        _finish(
            as_json,
            {
                "workspace": str(workspace.root),
                "done": True,
                "changes": [],
                "problems": [],
                "note": "no workspace here: nothing to migrate",
            },
        )
        return
    try:
        outcome = Outcome(plan(workspace)) if dry_run else run(workspace)
    except MigrateFailed as exc:
        _finish(
            as_json,
            {
                "workspace": str(workspace.root),
                "done": False,
                "error": str(exc),
                "remaining": exc.remaining,
            },
            EXIT_FAILURE,
        )
        return
    p = outcome.plan
    doc: dict[str, Any] = {
        "workspace": str(workspace.root),
        "dry_run": dry_run,
        "from_version": p.from_version,
        "to_version": p.to_version,
        "changes": [
            {
                "path": _rel(c.path, workspace.root),
                "kind": c.kind,
                "from": c.from_version,
                "to": c.to_version,
            }
            for c in p.changes
        ],
        "problems": [
            {"path": _rel(x.path, workspace.root), "message": x.message, "category": x.category}
            for x in p.problems
        ],
        "checked": p.checked,
        "backup": str(outcome.backup) if outcome.backup else None,
        "done": not dry_run and not p.problems,
    }
    code = 0
    if p.problems:
        code = EXIT_INVALID if all(x.category == "invalid" for x in p.problems) else EXIT_FAILURE
    _finish(as_json, doc, code)


def _rel(path: Any, root: Any) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _finish(as_json: bool, doc: dict[str, Any], code: int = 0) -> None:
    if as_json:
        echo_json(doc)
    else:
        _print(doc)
    if code:
        raise SystemExit(code)


def _print(doc: dict[str, Any]) -> None:
    echo = click.echo
    if "error" in doc:
        echo(f"error: {doc['error']}", err=True)
        for item in doc["remaining"]:
            echo(f"  remaining: {item}", err=True)
        return
    if "note" in doc:
        echo(doc["note"])
        return
    for problem in doc["problems"]:
        echo(f"error: {problem['message']}", err=True)
    if doc["problems"]:
        echo(
            "nothing was written: fix or remove the files named above, then run it again", err=True
        )
        return
    changes = doc["changes"]
    frm = doc["from_version"]
    head = f"workspace {doc['workspace']}: schema {frm} -> {doc['to_version']}"
    if not changes and frm == doc["to_version"]:
        echo(
            f"workspace {doc['workspace']} is at schema {frm}: nothing to migrate "
            f"({doc['checked']} file(s) checked)"
        )
        return
    echo(head)
    if len(changes) <= LIST_AT_MOST:
        for c in changes:
            echo(f"  {c['kind']:<16} {c['path']}  {c['from']} -> {c['to']}")
    else:  # thousands of runs: a count per kind and version step (--json lists each file)
        counts = Counter((c["kind"], c["from"], c["to"]) for c in changes)
        for (kind, frm_v, to_v), n in sorted(counts.items()):
            echo(f"  {kind:<16} {n} file(s)  {frm_v} -> {to_v}")
    if doc["dry_run"]:
        echo(f"{len(changes)} file(s) would change, then schema.json (dry run: nothing written)")
    else:
        backup = f"; backup: {doc['backup']}" if doc["backup"] else ""
        echo(f"migrated {len(changes)} file(s) and schema.json{backup}")
