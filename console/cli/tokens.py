"""`gateway tokens create|list|revoke`: bearer tokens for the API (stored hashed)."""

from __future__ import annotations

import click

from console.cli.context import echo_json, fail, get_workspace, pass_workspace_option


def _split(value: str | None) -> list[str] | None:
    return None if value is None else value.split(",")


@click.group()
@pass_workspace_option
def tokens() -> None:
    """API tokens: scopes read, trade, admin; optionally limited to nodes or modes."""


@tokens.command("create")
@click.argument("name")
@click.option("--scope", required=True, metavar="S,..", help="read, trade, admin (commas).")
@click.option("--nodes", metavar="ID,..", help="Only these node ids.")
@click.option("--modes", metavar="M,..", help="Only nodes of these modes (e.g. sandbox).")
@pass_workspace_option
def create(name: str, scope: str, nodes: str | None, modes: str | None) -> None:
    """Create a token and print it once (only its sha256 is stored)."""
    from engine.principal import Principal
    from engine.services import ServiceError
    from engine.services.tokens import TokenStore

    try:
        token = TokenStore(get_workspace()).create(
            Principal.local("cli"), name, scope.split(","), nodes=_split(nodes), modes=_split(modes)
        )
    except ServiceError as exc:
        fail(exc.message, exc.exit_code)
        return
    click.echo(token)
    click.echo(f"token {name!r} created; it is shown only this once", err=True)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace_option
def list_command(as_json: bool) -> None:
    """List tokens: name, scopes, limits, created, revoked."""
    from engine.services import ServiceError
    from engine.services.tokens import TokenStore

    try:
        infos = TokenStore(get_workspace()).list()
    except ServiceError as exc:  # tokens.json unreadable, or from a newer gateway
        fail(exc.message, exc.exit_code)
        return
    if as_json:
        echo_json([i.model_dump() for i in infos])
        return
    if not infos:
        click.echo("no tokens (create one: gateway tokens create NAME --scope read)")
        return
    click.echo(f"{'NAME':<20} {'SCOPES':<18} {'NODES':<20} {'MODES':<16} {'CREATED':<26} REVOKED")
    for i in infos:
        click.echo(
            f"{i.name:<20} {','.join(i.scopes):<18} {','.join(i.nodes or ['*']):<20} "
            f"{','.join(i.modes or ['*']):<16} {i.created:<26} {i.revoked or '-'}"
        )


@tokens.command("revoke")
@click.argument("name")
@pass_workspace_option
def revoke(name: str) -> None:
    """Revoke a token: it is refused (401) from the next request on."""
    from engine.principal import Principal
    from engine.services import ServiceError
    from engine.services.tokens import TokenStore

    try:
        TokenStore(get_workspace()).revoke(Principal.local("cli"), name)
    except ServiceError as exc:
        fail(exc.message, exc.exit_code)
        return
    click.echo(f"token {name!r} revoked")
