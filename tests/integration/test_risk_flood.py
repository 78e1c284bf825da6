"""After a halt, a randomized flood of orders from several strategies gets nothing through:
every order a strategy creates after the node confirmed HALTED is denied."""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path

import pytest

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.journal.reader import JournalReader
from engine.manager import NodeManager
from engine.orders.status import OrderStatusTable
from engine.workspace import Workspace
from tests.integration.cli import gateway

NODE = "risk-flood"
IID = "EUR/USD.SIM"
FLOOD = "tests.integration.flood_strategy"
pytestmark = pytest.mark.timeout(180)


def _flooder(seed: int) -> dict[str, object]:
    return {
        "strategy_path": f"{FLOOD}:Flood",
        "config_path": f"{FLOOD}:FloodConfig",
        "config": {"instrument_id": IID, "seed": seed, "order_id_tag": f"{100 + seed}"},
    }


def test_a_flood_from_several_strategies_after_a_halt_gets_nothing_through(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, strategies=[_flooder(1), _flooder(2), _flooder(3)])
    doc.pop("restart", None)
    doc["data_clients"][0]["options"].update(rate=20, start_prices={IID: 1.1})
    doc["risk"] = {"max_order_submit_rate": "100000/00:00:01"}
    ConfigStore(ws).save(doc, deep=False)
    manager = NodeManager(ws)

    async def start() -> Path:
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed"}, timeout_s=40)
        assert meta.state == "running", meta
        return handle.run_dir

    run_dir = asyncio.run(start())
    try:
        deadline = time.monotonic() + 20
        while True:  # the flood is on: orders from every strategy filled
            table = OrderStatusTable()
            table.apply(JournalReader(run_dir).read())
            filled = {r.strategy_id for r in table.rows() if r.status == "FILLED"}
            if len(filled) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(filled) >= 3, filled

        halt = gateway("risk", "halt", NODE, "--reason", "flood", workspace=ws.root)
        assert halt.code == 0, halt.err
        time.sleep(3)  # ~60 quotes: ~360 more orders from the three strategies
        events = JournalReader(run_dir).read()
        halted_at = next(
            e.seq
            for e in events
            if e.type == "TradingStateChanged" and "HALTED" in str(e.payload.get("state"))
        )
        after = OrderStatusTable()
        after.apply(events)
        created_after = {
            str(e.payload.get("client_order_id"))
            for e in events
            if e.type == "OrderInitialized" and e.seq > halted_at
        }
        assert len(created_after) > 100, len(created_after)
        statuses = {after.get(c).status for c in created_after}  # type: ignore[union-attr]
        assert statuses == {"DENIED"}, statuses
        accepted_after = [
            e for e in events if e.seq > halted_at and e.type in ("OrderAccepted", "OrderFilled")
            and str(e.payload.get("client_order_id")) in created_after
        ]  # fmt: skip
        assert accepted_after == []
    finally:
        asyncio.run(NodeManager(ws).stop(NODE, kill=True))
