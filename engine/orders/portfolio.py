"""Snapshots of a node's positions and account balances, read from its Nautilus kernel.

The one source of these numbers: the node host serves them as the channel commands
``positions`` and ``balances`` (``gateway positions|balances NODE``, the coming HTTP
API), and the metrics sampler puts the same position rows and counts into every sample,
which is what the console's positions and metrics panes and Prometheus show. So a
position's unrealized PnL, or the number of open positions, is the same figure
everywhere at the same instant.

Call on the kernel's event loop (the host runs its commands there): the cache and the
portfolio are not thread-safe.

Amounts are decimal strings, exact as Nautilus holds them (``"188.00"``), with their
currency beside them; quantities and prices likewise (``"100000"``, ``"1.10005"``).

Unrealized PnL of a position is marked as ``Portfolio`` marks it: a long at the bid, a
short at the ask, else the last trade; ``null`` when the node has no price yet.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

SNAPSHOT_SCHEMA = 1


def mark_price(cache: Any, position: Any) -> Any:
    """The price ``Portfolio`` marks ``position`` at (bid long, ask short, else last)."""
    from nautilus_trader.model.enums import PositionSide, PriceType

    if position.side == PositionSide.LONG:
        price_type = PriceType.BID
    elif position.side == PositionSide.SHORT:
        price_type = PriceType.ASK
    else:
        price_type = PriceType.LAST
    iid = position.instrument_id
    return cache.price(iid, price_type) or cache.price(iid, PriceType.LAST)


def _amount(money: Any) -> str | None:
    # To the currency's precision, as Nautilus prints money ("64.00", not "64").
    if money is None:
        return None
    return f"{money.as_decimal():.{money.currency.precision}f}"


def _price_text(value: float, precision: int | None) -> str:
    # An average price is a float: shown exactly, padded to the instrument's precision.
    text = Decimal(repr(float(value)))
    if precision is not None and -int(text.as_tuple().exponent) < precision:
        text = text.quantize(Decimal(1).scaleb(-precision))
    return format(text, "f")


def position_row(cache: Any, position: Any) -> dict[str, Any]:
    """One position as plain data: ids, side, size, prices and PnL."""
    price = mark_price(cache, position) if position.is_open else None
    unrealized = position.unrealized_pnl(price) if price is not None else None
    realized = position.realized_pnl
    currency = (
        unrealized.currency.code
        if unrealized is not None
        else realized.currency.code
        if realized is not None
        else position.settlement_currency.code
    )
    instrument = cache.instrument(position.instrument_id)
    precision = None if instrument is None else int(instrument.price_precision)
    sign = "-" if position.is_short else ""
    return {
        "position_id": position.id.value,
        "instrument_id": position.instrument_id.value,
        "strategy_id": position.strategy_id.value,
        "side": position.side.name,
        "quantity": str(position.quantity),
        "signed_qty": f"{sign}{position.quantity}",
        "avg_px_open": _price_text(position.avg_px_open, precision),
        "mark_price": None if price is None else str(price),
        "unrealized_pnl": _amount(unrealized),
        "realized_pnl": _amount(realized),
        "currency": currency,
        "is_open": bool(position.is_open),
        "ts_opened": int(position.ts_opened),
    }


def position_counts(cache: Any) -> dict[str, Any]:
    """``{open, closed, by_strategy: {sid: {open, closed}}}``, all from one pass each.

    The totals are the sums of the per-strategy counts by construction.
    """
    open_by: Counter[str] = Counter(p.strategy_id.value for p in cache.positions_open())
    closed_by: Counter[str] = Counter(p.strategy_id.value for p in cache.positions_closed())
    by_strategy = {
        sid: {"open": open_by[sid], "closed": closed_by[sid]}
        for sid in sorted(set(open_by) | set(closed_by))
    }
    return {
        "open": sum(open_by.values()),
        "closed": sum(closed_by.values()),
        "by_strategy": by_strategy,
    }


def _sort_key(position: Any) -> tuple[str, str, str]:
    return (position.instrument_id.value, position.strategy_id.value, position.id.value)


def open_position_rows(cache: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of the open positions, by instrument, strategy and id (the first ``limit``).

    Only the rows returned are built (marked), so a sample stays cheap with thousands.
    """
    positions = sorted(cache.positions_open(), key=_sort_key)
    if limit is not None:
        positions = positions[:limit]
    return [position_row(cache, p) for p in positions]


def unrealized_totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """``{currency: {unrealized, realized}}`` summed over ``rows`` (exact decimals)."""
    sums: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        acc = sums.setdefault(row["currency"], {"unrealized": Decimal(0), "realized": Decimal(0)})
        for key in ("unrealized", "realized"):
            value = row.get(f"{key}_pnl")
            if value is not None:
                acc[key] += Decimal(value)
    return {c: {k: str(v) for k, v in acc.items()} for c, acc in sorted(sums.items())}


def positions_snapshot(cache: Any, ts_ns: int) -> dict[str, Any]:
    """The node's open positions, their totals per currency, and the position counts."""
    rows = open_position_rows(cache)
    return {
        "ok": True,
        "schema": SNAPSHOT_SCHEMA,
        "ts_ns": int(ts_ns),
        "positions": rows,
        "totals": unrealized_totals(rows),
        "counts": position_counts(cache),
    }


def _balance_rows(account: Any) -> list[dict[str, Any]]:
    rows = []
    for currency, balance in sorted(account.balances().items(), key=lambda kv: kv[0].code):
        rows.append(
            {
                "currency": currency.code,
                "total": _amount(balance.total),
                "locked": _amount(balance.locked),
                "free": _amount(balance.free),
            }
        )
    return rows


def _margin_rows(account: Any) -> list[dict[str, Any]]:
    margins = getattr(account, "margins", None)
    if not callable(margins):  # a cash account has no margins
        return []
    rows = []
    for key, margin in margins().items():
        rows.append(
            {
                "instrument_id": None
                if margin.instrument_id is None
                else str(margin.instrument_id),
                "key": str(key),
                "currency": margin.currency.code,
                "initial": _amount(margin.initial),
                "maintenance": _amount(margin.maintenance),
            }
        )
    return sorted(rows, key=lambda r: (r["key"], r["currency"]))


def balances_snapshot(cache: Any, ts_ns: int) -> dict[str, Any]:
    """Every account of the node: balances (total, locked, free) and margins per currency."""
    accounts = []
    for account in sorted(cache.accounts(), key=lambda a: a.id.value):
        base = account.base_currency
        accounts.append(
            {
                "account_id": account.id.value,
                "venue": account.id.get_issuer(),
                "type": account.type.name,
                "base_currency": None if base is None else base.code,
                "balances": _balance_rows(account),
                "margins": _margin_rows(account),
            }
        )
    return {"ok": True, "schema": SNAPSHOT_SCHEMA, "ts_ns": int(ts_ns), "accounts": accounts}


# -- the client side: ask a running node for a snapshot ------------------------------------

SNAPSHOT_KINDS = ("positions", "balances")


class SnapshotError(Exception):
    """A snapshot could not be had; ``code`` says why, ``exit_code`` is the CLI's."""

    def __init__(self, code: str, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-safe data."""
        return {"ok": False, "code": self.code, "message": self.message}


async def request_snapshot(manager: Any, node_id: str, kind: str) -> dict[str, Any]:
    """Ask ``node_id``'s host (through ``manager``, a ``NodeManager``) for a snapshot.

    Raises
    ------
    SnapshotError
        ``invalid_node_id`` / ``invalid_kind`` (exit code 2), ``not_running`` (no live
        host, or the node is not trading), ``channel_error``, or the host's own code.
    """
    import re

    from engine.channel.errors import ChannelError
    from engine.config.model import NODE_ID_PATTERN
    from engine.manager import NodeNotRunning

    if kind not in SNAPSHOT_KINDS:
        raise SnapshotError(
            "invalid_kind",
            f"kind: got {kind!r}, expected one of {list(SNAPSHOT_KINDS)}",
            exit_code=2,
        )
    if not isinstance(node_id, str) or not re.fullmatch(NODE_ID_PATTERN, node_id):
        shown = node_id if len(str(node_id)) <= 80 else f"{str(node_id)[:80]}…"
        raise SnapshotError(
            "invalid_node_id",
            f"NODE: got {shown!r}, expected a node id (lower-case letters, digits and "
            "hyphens, e.g. demo-sandbox)",
            exit_code=2,
        )
    try:
        reply: dict[str, Any] = await manager.command(node_id, kind)
    except NodeNotRunning as exc:
        raise SnapshotError("not_running", str(exc)) from None
    except ChannelError as exc:
        raise SnapshotError("channel_error", f"node {node_id!r}: {exc}") from None
    if not isinstance(reply, dict) or not reply.get("ok"):
        data = reply if isinstance(reply, dict) else {}
        raise SnapshotError(
            str(data.get("code", "failed")), str(data.get("message", data.get("error", reply)))
        )
    return reply
