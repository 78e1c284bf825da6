"""What a sandbox or live node has persisted, read back without running it; and its reset.

Orders, positions and accounts are read from the node's Redis with Nautilus's own
``CacheDatabaseAdapter`` (the code its node restores with at build), so what is shown is
what the next start restores. The risk state is ``.gateway/state/<node>/risk.json``.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from typing import Any

from engine.config.model import NodeConfig
from engine.risk import store as risk_store
from engine.state.namespace import release_trader, trader_prefix
from engine.state.prepare import node_redis
from engine.state.redis_server import RedisUnavailable, ping
from engine.state.target import RedisTarget, cache_config
from engine.workspace import Workspace


@dataclass(frozen=True, slots=True)
class PersistedState:
    """One node's persisted state: where it is kept and what it holds."""

    node_id: str
    trader_id: str
    redis_url: str
    redis_source: str
    key_prefix: str
    keys: int
    orders: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    risk_path: str = ""
    risk: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "trader_id": self.trader_id,
            "redis": {"url": self.redis_url, "source": self.redis_source},
            "key_prefix": self.key_prefix,
            "keys": self.keys,
            "counts": {
                "orders": len(self.orders),
                "orders_open": sum(1 for o in self.orders if o["is_open"]),
                "positions": len(self.positions),
                "positions_open": sum(1 for p in self.positions if p["is_open"]),
                "accounts": len(self.accounts),
            },
            "orders": self.orders,
            "positions": self.positions,
            "accounts": self.accounts,
            "risk": {"path": self.risk_path, "state": self.risk},
        }


def _reachable(workspace: Workspace, node: NodeConfig) -> RedisTarget:
    target = node_redis(workspace, node)
    why = ping(target, 3.0)
    if why is not None:
        raise RedisUnavailable(f"Redis at {target.url} ({target.source}) does not answer: {why}")
    return target


def _order_row(order: Any) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id.value,
        "venue_order_id": order.venue_order_id.value if order.venue_order_id else None,
        "strategy_id": order.strategy_id.value,
        "instrument_id": order.instrument_id.value,
        "side": order.side_string(),
        "type": order.type_string(),
        "quantity": str(order.quantity),
        "filled_qty": str(order.filled_qty),
        "price": str(order.price) if getattr(order, "has_price", False) else None,
        "status": order.status_string(),
        "is_open": bool(order.is_open),
        "events": order.event_count,
    }


def _position_row(position: Any) -> dict[str, Any]:
    return {
        "position_id": position.id.value,
        "strategy_id": position.strategy_id.value,
        "instrument_id": position.instrument_id.value,
        "side": position.side.name,
        "quantity": str(position.quantity),
        "avg_px_open": position.avg_px_open,
        "realized_pnl": str(position.realized_pnl) if position.realized_pnl else None,
        "is_open": bool(position.is_open),
        "events": position.event_count,
    }


def _account_row(account: Any) -> dict[str, Any]:
    return {
        "account_id": account.id.value,
        "type": account.type.name,
        "balances": {
            b.currency.code: {"total": str(b.total), "free": str(b.free), "locked": str(b.locked)}
            for b in account.balances().values()
        },
        "events": account.event_count,
    }


def read_persisted(workspace: Workspace, node: NodeConfig) -> PersistedState:
    """Read ``node``'s persisted state; raise :class:`RedisUnavailable` if Redis is away."""
    import msgspec
    from nautilus_trader.cache.database import CacheDatabaseAdapter
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.model.identifiers import TraderId
    from nautilus_trader.serialization.serializer import MsgSpecSerializer

    target = _reachable(workspace, node)
    prefix = trader_prefix(node.trader_id)
    client = target.client(3.0)
    try:
        keys = sum(1 for _ in client.scan_iter(match=f"{prefix}*", count=1000))
    finally:
        with contextlib.suppress(Exception):
            client.close()
    adapter = CacheDatabaseAdapter(
        TraderId(node.trader_id),
        UUID4(),
        MsgSpecSerializer(encoding=msgspec.msgpack, timestamps_as_str=True),
        cache_config(target),
    )
    try:
        orders = sorted(adapter.load_orders().values(), key=lambda o: o.ts_init)
        positions = sorted(adapter.load_positions().values(), key=lambda p: p.ts_opened)
        accounts = sorted(adapter.load_accounts().values(), key=lambda a: a.id.value)
    finally:
        with contextlib.suppress(Exception):
            adapter.close()
    risk_path = risk_store.state_path(workspace, node.node_id)
    try:
        risk = risk_store.load(workspace, node.node_id)
        risk_dict = risk.to_dict() if risk is not None else None
    except risk_store.RiskStateError as exc:
        risk_dict = {"error": str(exc)}
    return PersistedState(
        node_id=node.node_id,
        trader_id=node.trader_id,
        redis_url=target.url,
        redis_source=target.source,
        key_prefix=prefix,
        keys=keys,
        orders=[_order_row(o) for o in orders],
        positions=[_position_row(p) for p in positions],
        accounts=[_account_row(a) for a in accounts],
        risk_path=str(risk_path),
        risk=risk_dict,
    )


def reset_persisted(workspace: Workspace, node: NodeConfig) -> dict[str, Any]:
    """Delete ``node``'s keys in Redis, its trader-id claim and its risk state.

    The caller makes sure the node does not run (a running node would write again).
    Returns ``{"keys_deleted": n, "risk_deleted": bool}``.
    """
    target = _reachable(workspace, node)
    prefix = trader_prefix(node.trader_id)
    client = target.client(5.0)
    deleted = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += int(client.delete(*batch))
                batch = []
        if batch:
            deleted += int(client.delete(*batch))
        release_trader(client, workspace, node.trader_id)
    finally:
        with contextlib.suppress(Exception):
            client.close()
    state_dir = risk_store.state_path(workspace, node.node_id).parent
    risk_deleted = state_dir.is_dir()
    if risk_deleted:
        shutil.rmtree(state_dir)
    from engine.recovery.venue_store import mark_reset
    from engine.runs import latest_run

    last = latest_run(workspace, node.node_id)  # its journal no longer says what is held
    mark_reset(workspace, node.node_id, last.run_id if last is not None else None)
    return {"keys_deleted": deleted, "risk_deleted": risk_deleted}
