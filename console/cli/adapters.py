"""`gateway adapters`: exchange adapter profiles and their keys in the OS keyring.

Secrets are read only from a hidden prompt or from stdin (``--secrets-stdin``), never
from command-line options, and are only ever printed masked.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from engine.adapters import (
    KINDS,
    AdapterKind,
    AdapterProfile,
    AdapterService,
    Environment,
    ProfileCorrupt,
    ProfileError,
    ProfileExists,
    ProfileInvalid,
    ProfileIssue,
    ProfileNotFound,
    parse_profile,
)
from engine.adapters.service import required_secret_fields
from engine.credentials import (
    BackendChoice,
    CredentialsError,
    Secret,
    diagnose,
    read_settings,
    write_settings,
)
from engine.principal import Principal
from engine.services.adapters import AdapterProfiles
from engine.services.errors import ServiceError

_WHO = Principal.local("cli")
_KIND_CHOICE = click.Choice([k.value for k in AdapterKind])
_ENV_CHOICE = click.Choice([e.value for e in Environment])


def _passphrase() -> str | None:
    """Ask for the encrypted keyring's passphrase, only when a person is at a terminal."""
    if not sys.stdin.isatty():
        return None
    value: str = click.prompt("Keyring passphrase", hide_input=True, err=True)
    return value


def _service() -> AdapterService:
    return AdapterService(get_workspace(), passphrase=_passphrase)


def _profiles() -> AdapterProfiles:
    """The front ends' adapter service: what it changes is audited."""
    return AdapterProfiles(get_workspace(), passphrase=_passphrase)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn engine errors into ``error: …`` lines and the CLI's exit codes."""
    try:
        try:
            yield
        except ServiceError as exc:  # the engine's error it wraps says it in the CLI's words
            cause = exc.__cause__
            if isinstance(cause, ProfileError | ProfileInvalid | CredentialsError):
                raise cause from None
            fail(exc.message, exc.exit_code)
    except ProfileInvalid as exc:
        for issue in exc.issues:
            click.echo(f"error: {issue.render()}", err=True)
        sys.exit(EXIT_INVALID)
    except (ProfileNotFound, ProfileExists) as exc:
        fail(str(exc), EXIT_INVALID)
    except (ProfileCorrupt, CredentialsError) as exc:
        fail(str(exc), EXIT_FAILURE)


def _parse_options(pairs: tuple[str, ...]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ProfileInvalid(
                [ProfileIssue("--option", "expected KEY=VALUE, e.g. recv_window_ms=10000", pair)]
            )
        options[key.strip()] = value
    return options


def _read_stdin_secrets(fields: tuple[str, ...]) -> dict[str, Secret]:
    """Read secrets from stdin: a JSON object, ``field=value`` lines, or bare lines in order."""
    text = sys.stdin.read()
    stripped = text.strip()
    if not stripped:
        raise ProfileInvalid([ProfileIssue("--secrets-stdin", "stdin was empty")])
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            # The position only; the text may be a secret.
            raise ProfileInvalid(
                [ProfileIssue("--secrets-stdin", f"not valid JSON (line {exc.lineno})")]
            ) from None
        bad = [k for k, v in data.items() if not isinstance(v, str)]
        if bad:
            raise ProfileInvalid([ProfileIssue(f"secrets.{k}", "expected a string") for k in bad])
        return {str(k): Secret(v) for k, v in data.items()}
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    if all("=" in line for line in lines):
        pairs = (line.partition("=") for line in lines)
        return {k.strip(): Secret(v.strip()) for k, _, v in pairs}
    if len(lines) > len(fields):
        raise ProfileInvalid(
            [
                ProfileIssue(
                    "--secrets-stdin",
                    f"got {len(lines)} lines, expected at most {len(fields)} "
                    f"({', '.join(fields)}), or JSON / field=value lines",
                )
            ]
        )
    return {field: Secret(line) for field, line in zip(fields, lines, strict=False)}


def _prompt_secrets(fields: tuple[str, ...]) -> dict[str, Secret]:
    secrets: dict[str, Secret] = {}
    for field in fields:
        value = click.prompt(field, hide_input=True, err=True, default="", show_default=False)
        if value:
            secrets[field] = Secret(value)
    return secrets


def _collect_secrets(
    profile: AdapterProfile, from_stdin: bool, wanted: tuple[str, ...]
) -> dict[str, Secret]:
    if not wanted:
        return {}
    if from_stdin:
        return _read_stdin_secrets(wanted)
    if not sys.stdin.isatty():
        raise ProfileInvalid(
            [
                ProfileIssue(
                    "secrets",
                    f"{', '.join(wanted)} needed for {profile.info.label}: run in a terminal "
                    "to be prompted, or pass --secrets-stdin and write them to stdin",
                )
            ]
        )
    return _prompt_secrets(wanted)


def _common_options[F: Callable[..., Any]](func: F) -> F:
    func = click.option("--description", default=None, help="free text shown in lists")(func)
    func = click.option(
        "--option",
        "-o",
        "options",
        multiple=True,
        metavar="KEY=VALUE",
        help="a kind-specific option (see `gateway adapters kinds`)",
    )(func)
    func = click.option("--base-url-ws", default=None, help="WebSocket base URL override")(func)
    func = click.option("--base-url-http", default=None, help="REST base URL override")(func)
    func = click.option("--account-type", default=None, help="account type (kind-specific)")(func)
    func = click.option("--env", "environment", type=_ENV_CHOICE, default=None)(func)
    return func


@click.group()
@pass_workspace_option
def adapters() -> None:
    """Exchange adapter profiles (Binance, Bybit, Interactive Brokers, sandbox)."""


@adapters.command("kinds")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def kinds_command(as_json: bool) -> None:
    """List adapter kinds with their environments, account types, secrets and options."""
    rows = [
        {
            "kind": info.kind.value,
            "label": info.label,
            "environments": [e.value for e in info.environments],
            "default_environment": info.default_environment.value,
            "account_types": list(info.account_types),
            "secrets": list(info.secret_fields),
            "optional_secrets": list(info.optional_secret_fields),
            "options": {k: {"type": s.type.__name__, "default": s.default, "help": s.help}
                        for k, s in info.options.items()},
        }
        for info in KINDS.values()
    ]  # fmt: skip
    if as_json:
        echo_json(rows)
        return
    for info in KINDS.values():
        click.echo(f"{info.kind.value:<22} {info.label}")
        click.echo(f"    environments: {', '.join(e.value for e in info.environments)}")
        click.echo(f"    account types: {', '.join(info.account_types)}")
        secrets = [*info.secret_fields, *(f"{s} (optional)" for s in info.optional_secret_fields)]
        click.echo(f"    secrets: {', '.join(secrets) or 'none'}")
        click.echo(f"    options: {', '.join(info.options) or 'none'}")


@adapters.command("add")
@click.argument("name")
@click.option("--kind", "-k", type=_KIND_CHOICE, required=True, help="adapter kind")
@_common_options
@click.option("--secrets-stdin", is_flag=True, help="read secrets from stdin (JSON or lines)")
@pass_workspace_option
def add_command(
    name: str,
    kind: str,
    environment: str | None,
    account_type: str | None,
    base_url_http: str | None,
    base_url_ws: str | None,
    options: tuple[str, ...],
    description: str | None,
    secrets_stdin: bool,
) -> None:
    """Add profile NAME; its secrets are prompted for (hidden) or read from stdin."""
    with _errors():
        data: dict[str, Any] = {"name": name, "kind": kind, "options": _parse_options(options)}
        for key, value in (
            ("environment", environment),
            ("account_type", account_type),
            ("base_url_http", base_url_http),
            ("base_url_ws", base_url_ws),
            ("description", description),
        ):
            if value is not None:
                data[key] = value
        profile = parse_profile(data)
        service = _service()
        if service.store.exists(name):
            raise ProfileExists(name)
        info = profile.info
        wanted = info.secret_fields + (info.optional_secret_fields if secrets_stdin else ())
        if set(required_secret_fields(profile)) > set(wanted):
            wanted = required_secret_fields(profile)
        secrets = _collect_secrets(profile, secrets_stdin, wanted)
        _profiles().add(_WHO, profile, secrets)
        stored = ", ".join(sorted(secrets)) or "none"
        click.echo(f"added {name} ({info.label}, {profile.env.value}); secrets stored: {stored}")


@adapters.command("list")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@pass_workspace_option
def list_command(as_json: bool) -> None:
    """List profiles (without touching the keyring)."""
    with _errors():
        listed = _service().profiles()
    rows: list[dict[str, Any]] = []
    for item in listed:
        if item.profile is None:
            rows.append({"name": item.name, "path": str(item.path), "error": item.error})
        else:
            p = item.profile
            rows.append(
                {
                    "name": p.name,
                    "kind": p.kind.value,
                    "environment": p.env.value,
                    "account_type": p.account_type,
                    "description": p.description,
                    "path": str(item.path),
                }
            )
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no adapter profiles (add one: gateway adapters add NAME --kind KIND)")
        return
    for row in rows:
        if "error" in row:
            click.echo(f"{row['name']:<20} CORRUPT  {row['error']}")
        else:
            click.echo(
                f"{row['name']:<20} {row['kind']:<22} {row['environment']:<8} "
                f"{row['account_type']:<16} {row['description']}"
            )


@adapters.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--no-secrets", is_flag=True, help="do not read the keyring")
@pass_workspace_option
def show_command(name: str, as_json: bool, no_secrets: bool) -> None:
    """Show profile NAME with its secrets masked."""
    keyring_error: str | None = None
    with _errors():
        service = _service()
        try:
            view = service.view(name, with_secrets=not no_secrets)
        except CredentialsError as exc:
            keyring_error = str(exc)
            view = service.view(name, with_secrets=False)
    data = view.to_dict()
    if keyring_error:
        data["keyring_error"] = keyring_error
    if as_json:
        echo_json(data)
    else:
        for key, value in data.items():
            if key in ("secrets", "options", "missing", "keyring_error"):
                continue
            click.echo(f"{key:<14} {value}")
        for key, value in view.profile.options.items():
            click.echo(f"option {key:<7} {value}")
        for field, masked in view.secrets.items():
            click.echo(f"secret {field:<7} {masked if masked else '(not stored)'}")
        if view.missing:
            click.echo(
                f"missing: {', '.join(view.missing)} (gateway adapters edit {name} --secrets)"
            )
    if keyring_error:
        click.echo(f"warning: secrets not shown: {keyring_error}", err=True)


@adapters.command("edit")
@click.argument("name")
@_common_options
@click.option("--unset-option", multiple=True, metavar="KEY", help="remove an option")
@click.option("--secrets", "prompt_secrets", is_flag=True, help="re-enter secrets (hidden)")
@click.option("--secrets-stdin", is_flag=True, help="read new secrets from stdin")
@pass_workspace_option
def edit_command(
    name: str,
    environment: str | None,
    account_type: str | None,
    base_url_http: str | None,
    base_url_ws: str | None,
    options: tuple[str, ...],
    description: str | None,
    unset_option: tuple[str, ...],
    prompt_secrets: bool,
    secrets_stdin: bool,
) -> None:
    """Change profile NAME. An empty --base-url-http/--base-url-ws clears the override."""
    with _errors():
        service = _service()
        profile = service.get(name)
        changes: dict[str, Any] = {}
        for key, value in (
            ("environment", environment),
            ("account_type", account_type),
            ("description", description),
        ):
            if value is not None:
                changes[key] = value
        for key, value in (("base_url_http", base_url_http), ("base_url_ws", base_url_ws)):
            if value is not None:
                changes[key] = value or None
        secrets: dict[str, Secret] = {}
        if prompt_secrets or secrets_stdin:
            secrets = _collect_secrets(profile, secrets_stdin, profile.info.all_secret_fields)
        new = _profiles().update(
            _WHO,
            name,
            changes,
            set_options=_parse_options(options),
            unset_options=unset_option,
            secrets=secrets,
        )
        stored = f"; secrets updated: {', '.join(sorted(secrets))}" if secrets else ""
        click.echo(f"updated {new.name}{stored}")


@adapters.command("remove")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
@pass_workspace_option
def remove_command(name: str, yes: bool) -> None:
    """Remove profile NAME and delete its secrets from the keyring."""
    with _errors():
        service = _service()
        if not service.store.exists(name):
            raise ProfileNotFound(name)
        if not yes:
            if not sys.stdin.isatty():
                fail(
                    f"removing {name} deletes its secrets and cannot be undone; there is no "
                    "terminal to confirm it: pass --yes",
                    EXIT_INVALID,
                )
            click.confirm(f"remove {name} and its secrets?", abort=True, err=True)
        removed = _profiles().remove(_WHO, name)
        deleted = removed.secrets_deleted
        click.echo(f"removed {name}; secrets deleted: {', '.join(deleted) or 'none'}")


@adapters.command("test")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--timeout", type=click.FloatRange(0.1, 60), default=5.0, show_default=True)
@pass_workspace_option
def test_command(name: str, as_json: bool, timeout: float) -> None:
    """Check that profile NAME reaches its venue and that its keys work.

    Exit 0 when authenticated (reachable for IB and sandbox), 1 otherwise.
    """
    from engine.adapters.probe import ProbeMissingSecrets, probe

    with _errors():
        service = _service()
        profile = service.get(name)
        secrets = service.secrets(name) if profile.info.all_secret_fields else {}
        try:
            result = probe(profile, secrets, timeout=timeout)
        except ProbeMissingSecrets as exc:
            fail(str(exc), EXIT_FAILURE)
            return
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(f"{name}: {result.state.value} - {result.message}")
        for step in result.steps:
            status = f" HTTP {step.http_status}" if step.http_status else ""
            mark = "ok" if step.ok else "failed"
            click.echo(
                f"  {step.name:<15} {mark:<6} {step.elapsed_ms:>7.1f} ms{status}  {step.target}"
            )
        if result.clock_offset_ms is not None:
            click.echo(f"  clock offset    {result.clock_offset_ms:+d} ms (server - local)")
    sys.exit(0 if result.ok else EXIT_FAILURE)


@adapters.command("keyring")
@click.option("--use", type=click.Choice([c.value for c in BackendChoice]), default=None,
              help="store the backend choice in this workspace")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@pass_workspace_option
def keyring_command(use: str | None, as_json: bool) -> None:
    """Show which keyring holds the secrets and whether it works; --use to change it."""
    workspace = get_workspace()
    with _errors():
        if use is not None:
            path = write_settings(workspace, BackendChoice(use))
            if not as_json:
                click.echo(f"keyring backend set to {use} in {path}")
        status = diagnose(read_settings(workspace))
    if as_json:
        echo_json(status.to_dict())
    else:
        state = "usable" if status.usable else "NOT usable"
        click.echo(f"keyring: {status.choice.value} (from {status.source}) - {state}")
        click.echo(status.message)
    if not status.usable:
        sys.exit(EXIT_FAILURE)
