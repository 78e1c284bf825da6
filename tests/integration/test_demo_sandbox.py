"""The demo sandbox node trades sensibly while a trader trades by hand beside it.

The demo's EMACross (engine/demo_strategies.py) decides on its own position. Nautilus's
example decides on the node's net position, so a manual position larger than its trade
size made it close and reopen on every one-second bar in one direction of the cross.
Here a trader holds 2,000,000 long, then 2,000,000 short (so whichever way the EMAs
point, one half would have churned): EMACross places only the orders its crosses call
for, and none of its orders is left open (no stuck PARTIALLY_FILLED pile-up).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.cli.orders import OrderSession
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.manager import NodeManager
from engine.workspace import Workspace
from tests.integration.market_wait import wait_for_quotes

NODE = "demo-sbx"
IID = "EUR/USD.SIM"
HOLD_S = 8.0
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace(Path(tmp_path_factory.mktemp("demo")) / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE)
    doc.pop("restart", None)
    ConfigStore(ws).save(doc, deep=False)
    manager = NodeManager(ws)

    async def start() -> None:
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
        assert meta.state == "running", meta
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    asyncio.run(start())
    try:
        yield ws
    finally:
        asyncio.run(NodeManager(ws).stop(NODE, timeout_s=15))


async def manual(session: OrderSession, side: str, qty: str) -> None:
    ticket = {"type": "MARKET", "instrument_id": IID, "side": side, "quantity": qty}
    reply = await session.send({"action": "submit", "ticket": ticket})
    assert reply.get("ok"), reply
    assert await session.wait_for([str(reply["client_order_ids"][0])], "filled", 8)


def ema_orders(session: OrderSession) -> list[Any]:
    return [r for r in session.table.rows() if r.strategy_id.startswith("EMACross")]


async def test_manual_positions_do_not_make_the_demo_strategy_churn(node: Workspace) -> None:
    session = await OrderSession.open(node, NODE)
    try:
        await manual(session, "BUY", "2000000")
        await asyncio.sleep(HOLD_S)
        await manual(session, "SELL", "4000000")
        await asyncio.sleep(HOLD_S)
        orders = ema_orders(session)
        # About 16 one-second bars: churn would be two orders a bar in one of the halves.
        assert len(orders) <= 6, [(o.side, o.status) for o in orders]
        assert all(not o.is_open for o in orders), [(o.client_order_id, o.status) for o in orders]
        assert all(o.status == "FILLED" for o in orders), [o.status for o in orders]
    finally:
        await session.send({"action": "flatten_all"})
        await session.close()
