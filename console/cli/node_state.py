"""`gateway nodes state NODE [--json] [--reset [--yes]]`: a node's persisted state.

Thin: the engine's StateService reads and resets; this parses and prints.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from console.cli.context import EXIT_INVALID, echo_json, fail, get_workspace, pass_workspace_option
from engine.principal import Principal


def _print(state: dict[str, Any]) -> None:
    counts = state["counts"]
    redis = state["redis"]
    click.echo(
        f"{state['node_id']}: trader {state['trader_id']}, Redis {redis['url']} "
        f"({redis['source']}), {state['keys']} keys under {state['key_prefix']}"
    )
    click.echo(
        f"  orders {counts['orders']} ({counts['orders_open']} open), positions "
        f"{counts['positions']} ({counts['positions_open']} open), accounts {counts['accounts']}"
    )
    open_orders = [o for o in state["orders"] if o["is_open"]]
    if open_orders:
        click.echo("  open orders:")
        for o in open_orders:
            price = f" @ {o['price']}" if o["price"] else ""
            click.echo(
                f"    {o['client_order_id']}  {o['side']} {o['quantity']} {o['instrument_id']} "
                f"{o['type']}{price}  {o['status']}  filled {o['filled_qty']}"
            )
    for p in state["positions"]:
        if p["is_open"]:
            click.echo(
                f"  position {p['position_id']}  {p['side']} {p['quantity']} "
                f"@ {p['avg_px_open']}  realized {p['realized_pnl']}"
            )
    for a in state["accounts"]:
        balances = ", ".join(f"{b['total']}" for b in a["balances"].values())
        click.echo(f"  account {a['account_id']} ({a['type']}): {balances}")
    risk = state["risk"]
    held = risk["state"]
    if held is None:
        click.echo(f"  risk: nothing stored ({risk['path']}): starts ACTIVE with its config limits")
    elif "error" in held:
        click.echo(f"  risk: {held['error']}")
    else:
        click.echo(f"  risk: {held.get('trading_state')} ({risk['path']})")


@click.command("state")
@click.argument("node_id")
@click.option("--mode", type=click.Choice(["sandbox", "live"]), help="Which config of NODE.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--reset", is_flag=True, help="Delete the node's persisted state (asks first).")
@click.option("--yes", "-y", is_flag=True, help="With --reset: do not ask.")
@pass_workspace_option
def state(node_id: str, mode: str | None, as_json: bool, reset: bool, yes: bool) -> None:
    """Show what NODE has persisted: orders, positions, accounts (in Redis), risk state.

    --reset deletes it (Redis keys, trader-id claim, .gateway/state/NODE/), after a
    confirmation (--yes for scripts); refused while the node runs. The next start of the
    node then begins empty.
    """
    from engine.services.core import Services
    from engine.services.errors import ServiceError

    services = Services(get_workspace())
    try:
        if not reset:
            shown = asyncio.run(services.state.show(node_id, mode))
            echo_json(shown) if as_json else _print(shown)
            return
        if not yes:
            if not sys.stdin.isatty():
                fail("refusing to reset without confirmation; pass --yes", EXIT_INVALID)
            click.confirm(
                f"Delete everything node {node_id} has persisted (orders, positions, "
                "accounts, risk state)?",
                abort=True,
            )
        done = asyncio.run(services.state.reset(Principal.local("cli"), node_id, mode))
    except ServiceError as exc:
        if as_json:
            echo_json({"ok": False, **exc.to_dict()})
            sys.exit(exc.exit_code)
        fail(exc.message, exc.exit_code)
    if as_json:
        echo_json({"ok": True, **done})
    else:
        click.echo(
            f"{node_id}: reset: {done['keys_deleted']} Redis keys deleted"
            + (", risk state deleted" if done["risk_deleted"] else "")
        )
