"""`gateway positions NODE` and `gateway balances NODE`: snapshots the node serves.

Thin callers of ``OrderService.snapshot`` (what the API's positions call): the node host builds
the snapshot from its kernel (the same rows its metrics samples carry), this prints it.
Exit 0 with the snapshot, 2 for a malformed node id, 1 when the node is not running or
cannot answer.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from console.cli.context import echo_json, get_workspace, pass_workspace_option


def _fetch(node: str, kind: str, *, as_json: bool) -> dict[str, Any]:
    from engine.orders.portfolio import SnapshotError
    from engine.services.errors import ServiceError
    from engine.services.orders import OrderService

    service = OrderService.for_workspace(get_workspace())
    try:
        return asyncio.run(service.snapshot(node, kind))
    except ServiceError as exc:
        cause = exc.__cause__
        if isinstance(cause, SnapshotError):  # the node's own code and the CLI's exit code
            _die(cause.to_dict(), cause.exit_code, as_json=as_json)
        _die(
            {"ok": False, "code": exc.code, "message": exc.message}, exc.exit_code, as_json=as_json
        )


def _die(error: dict[str, Any], code: int, *, as_json: bool) -> NoReturn:
    if as_json:
        echo_json(error)
    else:
        click.echo(f"error: {error['message']}", err=True)
    sys.exit(code)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(header), *(line(r) for r in rows)]


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


@click.command("positions")
@click.argument("node")
@click.option("--json", "as_json", is_flag=True, help="The snapshot as JSON.")
@pass_workspace_option
def positions(node: str, as_json: bool) -> None:
    """Open positions of NODE by instrument and strategy: side, quantity, average price,
    unrealized and realized PnL (marked as the node's portfolio marks them).

    A position's realized PnL is that of its current open cycle (a netting position that
    closed and reopened starts again); `gateway metrics` totals include closed ones.
    """
    snap = _fetch(node, "positions", as_json=as_json)
    if as_json:
        echo_json({"node_id": node, **snap})
        return
    counts = snap.get("counts") or {}
    per = ", ".join(
        f"{sid} {c.get('open', 0)}" for sid, c in (counts.get("by_strategy") or {}).items()
    )
    n_open = counts.get("open", 0)
    click.echo(
        f"{node}: {n_open} open position{'' if n_open == 1 else 's'}"
        + (f" ({per})" if per else "")
        + f", {counts.get('closed', 0)} closed"
    )
    rows = snap.get("positions") or []
    if rows:
        header = (
            "INSTRUMENT",
            "STRATEGY",
            "SIDE",
            "QTY",
            "AVG PX",
            "UNREALIZED",
            "REALIZED",
            "CCY",
        )
        body = [
            (
                r["instrument_id"],
                r["strategy_id"],
                r["side"],
                _text(r.get("quantity")),
                _text(r.get("avg_px_open")),
                _text(r.get("unrealized_pnl")),
                _text(r.get("realized_pnl")),
                _text(r.get("currency")),
            )
            for r in rows
        ]
        for text in _table(header, body, right={3, 4, 5, 6}):
            click.echo(f"  {text}")
    for ccy, total in (snap.get("totals") or {}).items():
        click.echo(
            f"  total {ccy}: unrealized {total.get('unrealized')}  realized {total.get('realized')}"
        )


@click.command("balances")
@click.argument("node")
@click.option("--json", "as_json", is_flag=True, help="The snapshot as JSON.")
@pass_workspace_option
def balances(node: str, as_json: bool) -> None:
    """Account balances of NODE: total, locked and free per currency, and margins."""
    snap = _fetch(node, "balances", as_json=as_json)
    if as_json:
        echo_json({"node_id": node, **snap})
        return
    accounts = snap.get("accounts") or []
    if not accounts:
        click.echo(f"{node}: no accounts yet")
        return
    for acc in accounts:
        base = acc.get("base_currency")
        click.echo(
            f"{node}: account {acc['account_id']} ({acc.get('type', '?')}"
            + (f", base {base}" if base else "")
            + ")"
        )
        body = [
            (b["currency"], _text(b.get("total")), _text(b.get("locked")), _text(b.get("free")))
            for b in acc.get("balances") or []
        ]
        if body:
            for text in _table(("CURRENCY", "TOTAL", "LOCKED", "FREE"), body, right={1, 2, 3}):
                click.echo(f"  {text}")
        margins = [
            (
                _text(m.get("instrument_id") or m.get("key")),
                m["currency"],
                _text(m.get("initial")),
                _text(m.get("maintenance")),
            )
            for m in acc.get("margins") or []
        ]
        if margins:
            header = ("MARGIN FOR", "CURRENCY", "INITIAL", "MAINTENANCE")
            for text in _table(header, margins, right={2, 3}):
                click.echo(f"  {text}")
        else:
            click.echo("  margins: none")
