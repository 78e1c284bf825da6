"""`gateway nodes …`: create, list, show, edit, validate, delete node configurations."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import click

from console.cli.context import (
    EXIT_FAILURE,
    EXIT_INVALID,
    echo_json,
    fail,
    get_workspace,
    pass_workspace_option,
)
from console.cli.issues_output import issues_json, print_issues
from engine.config.issues import ConfigInvalid, ConfigIssue
from engine.config.migrations import MigrationError, migrate
from engine.config.model import Mode, NodeConfig
from engine.config.store import AmbiguousNode, ConfigStore, NodeNotFound, parse_document
from engine.config.validate import validate_node

MODE_OPTION = click.option(
    "--mode",
    type=click.Choice([m.value for m in Mode]),
    default=None,
    help="Which of the node's configs, when it has several.",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group()
@pass_workspace_option
def nodes() -> None:
    """Node configurations in .gateway/nodes/."""


def _store() -> ConfigStore:
    return ConfigStore(get_workspace())


def _audited[T](
    action: str,
    target: dict[str, Any],
    request: dict[str, Any],
    call: Callable[[], T],
    outcome: Callable[[T], dict[str, Any]],
) -> T:
    """Make a config change and audit it under the CLI's user, as the config service does
    (same action names and entry shape); exit 1 saying so when the entry cannot be written.
    """
    from engine.principal import Principal
    from engine.services.audit import audited
    from engine.services.errors import ServiceError

    try:
        return audited(
            get_workspace(), Principal.local("cli"), action, target, request, call, outcome
        )
    except ServiceError as exc:  # done, but not recorded
        fail(exc.message, exc.exit_code)
        raise  # unreachable: fail exits


def _stored(store: ConfigStore, doc: dict[str, Any]) -> bool:
    """Whether a config with this document's id and mode is stored already."""
    try:
        return store.path_for(str(doc.get("node_id")), str(doc.get("mode"))).exists()
    except (ConfigInvalid, ValueError):
        return False  # save() names what is wrong with the id or mode


def _invalid(exc: ConfigInvalid, as_json: bool, *, saving: bool = True) -> None:
    if as_json:
        issues_json(exc.issues, ok=False, source=exc.source)
    else:
        tail = "; nothing was saved" if saving else ""
        click.echo(f"error: the config is invalid{tail}", err=True)
        print_issues(exc.issues, exc.source)
    sys.exit(EXIT_INVALID)


def _load_or_exit(store: ConfigStore, node_id: str, mode: str | None) -> NodeConfig:
    try:
        return store.get(node_id, mode)
    except (NodeNotFound, AmbiguousNode) as exc:
        fail(str(exc), EXIT_INVALID)
    except ConfigInvalid as exc:
        if exc.source is None:  # the argument itself (e.g. a node id that is not a slug)
            print_issues(exc.issues, "error: invalid argument")
            sys.exit(EXIT_INVALID)
        click.echo(f"error: stored config {exc.source} is invalid", err=True)
        print_issues(exc.issues)
        sys.exit(EXIT_FAILURE)
    raise AssertionError("unreachable")


@nodes.command("list")
@JSON_OPTION
@pass_workspace_option
def list_nodes(as_json: bool) -> None:
    """List node configs; broken files are listed with their path and problems."""
    stored = _store().all()
    if as_json:
        echo_json(
            [
                {
                    "node_id": s.node_id,
                    "mode": s.mode,
                    "ok": s.ok,
                    "path": str(s.path),
                    "description": s.config.description if s.config else None,
                    "tags": list(s.config.tags) if s.config else [],
                    "issues": [i.to_dict() for i in s.issues],
                }
                for s in stored
            ]
        )
        return
    if not stored:
        click.echo("no nodes (create one: gateway nodes create --file F, or gateway demo init)")
        return
    width = max(len(s.node_id) for s in stored)
    for s in stored:
        if s.config is not None:
            tags = f"  [{', '.join(s.config.tags)}]" if s.config.tags else ""
            click.echo(f"{s.node_id:<{width}}  {s.mode:<8}  {s.config.description}{tags}")
        else:
            first = s.issues[0].render() if s.issues else "unreadable"
            click.echo(f"{s.node_id:<{width}}  {s.mode:<8}  INVALID {s.path}: {first}")
    if any(not s.ok for s in stored):
        sys.exit(EXIT_FAILURE)


@nodes.command("show")
@click.argument("node_id")
@MODE_OPTION
@JSON_OPTION
@pass_workspace_option
def show(node_id: str, mode: str | None, as_json: bool) -> None:
    """Print a node's config as stored (JSON)."""
    config = _load_or_exit(_store(), node_id, mode)
    if as_json:
        echo_json(config.to_json_dict())
    else:
        click.echo(json.dumps(config.to_json_dict(), indent=2))


def _read_source(file: str) -> tuple[dict[str, Any], str]:
    source = "<stdin>" if file == "-" else file
    try:
        text = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror}", EXIT_INVALID)
    return parse_document(text, source), source


@nodes.command("create")
@click.option(
    "--file", "-f", "file", required=True, metavar="F", help="JSON config file, or - for stdin."
)
@click.option("--force", is_flag=True, help="Replace an existing config with the same id/mode.")
@JSON_OPTION
@pass_workspace_option
def create(file: str, force: bool, as_json: bool) -> None:
    """Validate a config and store it (refused if invalid, or if it exists without --force)."""
    store = _store()
    try:
        doc, source = _read_source(file)
        existed = _stored(store, doc)
        report = _audited(
            "nodes.create",
            {"node_id": doc.get("node_id"), "mode": doc.get("mode")},
            {"overwrite": force},
            lambda: store.save(doc, overwrite=force),
            lambda _: {"created": not existed},
        )
    except ConfigInvalid as exc:
        if exc.source is None:
            exc.source = "<stdin>" if file == "-" else file
        _invalid(exc, as_json)
    except FileExistsError as exc:
        fail(f"{exc} (use --force to replace it)", EXIT_INVALID)
    config = report.config
    assert config is not None
    if as_json:
        issues_json(report.issues, ok=True, source=source)
    else:
        print_issues(report.warnings)
        click.echo(
            f"saved {config.node_id} ({config.mode.value}) to "
            f"{store.path_for(config.node_id, config.mode)}"
        )


@nodes.command("validate")
@click.argument("target", metavar="ID-or-FILE")
@MODE_OPTION
@JSON_OPTION
@pass_workspace_option
def validate_cmd(target: str, mode: str | None, as_json: bool) -> None:
    """Validate a stored node (by id) or a file (path, or - for stdin), all the way down."""
    store = _store()
    workspace = store.workspace
    try:
        if target == "-" or _is_file(target):
            doc, source = _read_source(target)
            try:
                doc, _ = migrate(doc)
            except MigrationError as exc:
                raise ConfigInvalid(
                    [ConfigIssue("schema_version", str(exc), doc.get("schema_version"))], source
                ) from None
            report = validate_node(doc, workspace, deep=True)
        else:
            stored = store.load(target, mode, deep=True)
            source = str(stored.path)
            report_issues = list(stored.issues)
            if as_json:
                issues_json(report_issues, ok=stored.ok, source=source)
            elif stored.ok:
                print_issues(report_issues)
                click.echo(f"{source}: valid")
            else:
                print_issues(report_issues, source)
            sys.exit(0 if stored.ok else EXIT_INVALID)
    except ConfigInvalid as exc:
        _invalid(exc, as_json, saving=False)
    except (NodeNotFound, AmbiguousNode) as exc:
        fail(f"{exc} (and no file {target!r})", EXIT_INVALID)
    if as_json:
        issues_json(report.issues, ok=report.ok, source=source)
    elif report.ok:
        print_issues(report.warnings)
        click.echo(f"{source}: valid")
    else:
        print_issues(report.issues, source)
    sys.exit(0 if report.ok else EXIT_INVALID)


def _is_file(target: str) -> bool:
    try:
        return Path(target).is_file()
    except OSError:  # e.g. a name too long to be a path: then it is no file
        return False


@nodes.command("edit")
@click.argument("node_id")
@MODE_OPTION
@pass_workspace_option
def edit(node_id: str, mode: str | None) -> None:
    """Open a node's config in $EDITOR; save only if the result is valid.

    On errors the editor reopens with the problems listed at the top; quitting without
    changes (or an empty file) keeps the stored config untouched.
    """
    store = _store()
    config = _load_or_exit(store, node_id, mode)
    original = json.dumps(config.to_json_dict(), indent=2) + "\n"
    text = original
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="gateway-edit-") as tmp:
        path = Path(tmp) / f"{node_id}.{config.mode.value}.json"
        while True:
            path.write_text(text, encoding="utf-8")
            result = subprocess.run([*shlex.split(editor), str(path)], check=False)
            if result.returncode != 0:
                fail(f"editor {editor!r} exited with {result.returncode}; nothing saved")
            edited = path.read_text(encoding="utf-8")
            body = _strip_issue_header(edited)
            if not body.strip() or body == original:
                click.echo("no changes; nothing saved")
                return
            try:
                doc = parse_document(body, str(path))
                if doc.get("node_id") != config.node_id or doc.get("mode") != config.mode.value:
                    raise ConfigInvalid(
                        [
                            ConfigIssue(
                                "node_id",
                                "edit cannot rename a node or change its mode; create a new "
                                "one with gateway nodes create",
                                doc.get("node_id"),
                            )
                        ]
                    )
                report = _audited(
                    "nodes.update",
                    {"node_id": node_id, "mode": config.mode.value},
                    {},
                    partial(store.save, doc, overwrite=True),
                    lambda _: {"created": False},
                )
            except ConfigInvalid as exc:
                print_issues(exc.issues, "the edited config is invalid")
                if not sys.stdin.isatty() or not click.confirm("Edit again?", default=True):
                    click.echo("nothing saved", err=True)
                    sys.exit(EXIT_INVALID)
                text = _issue_header(exc.issues) + body
                continue
            print_issues(report.warnings)
            click.echo(f"saved {node_id} ({config.mode.value})")
            return


_HEADER_MARK = "// gateway: "


def _issue_header(issues: list[ConfigIssue]) -> str:
    lines = [f"{_HEADER_MARK}{i.severity}: {i.render()}\n" for i in issues]
    return "".join(lines) + f"{_HEADER_MARK}(these lines are removed on save)\n"


def _strip_issue_header(text: str) -> str:
    return "".join(
        line for line in text.splitlines(keepends=True) if not line.startswith(_HEADER_MARK)
    )


@nodes.command("delete")
@click.argument("node_id")
@MODE_OPTION
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@pass_workspace_option
def delete(node_id: str, mode: str | None, yes: bool) -> None:
    """Delete a node config (asks first unless --yes)."""
    store = _store()
    try:
        resolved = store.resolve_mode(node_id, mode)
    except (NodeNotFound, AmbiguousNode, ConfigInvalid) as exc:
        fail(str(exc), EXIT_INVALID)
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to delete without confirmation; pass --yes", EXIT_INVALID)
        click.confirm(f"Delete node {node_id} ({resolved.value})?", abort=True)
    try:
        deleted = _audited(
            "nodes.delete",
            {"node_id": node_id, "mode": mode},
            {},
            lambda: store.delete(node_id, resolved),
            lambda _: {"mode": resolved.value},
        )
    except (NodeNotFound, ConfigInvalid) as exc:
        fail(str(exc), EXIT_INVALID)
    for path in deleted:
        click.echo(f"deleted {path}")


@nodes.command("migrate")
@pass_workspace_option
def migrate_cmd() -> None:
    """Rewrite stored configs from older schema versions in the current one."""
    done = _store().migrate_all()
    for path, version in done:
        click.echo(f"migrated {path} from schema version {version}")
    if not done:
        click.echo("all configs are at the current schema version")


@nodes.command("schema")
def schema() -> None:
    """Print the node config JSON Schema (for editors)."""
    echo_json(NodeConfig.model_json_schema())


def _add_recovery_commands() -> None:
    from console.cli.reconcile import reconcile

    nodes.add_command(reconcile)


_add_recovery_commands()


def _add_state_command() -> None:
    from console.cli.node_state import state

    nodes.add_command(state)


_add_state_command()
