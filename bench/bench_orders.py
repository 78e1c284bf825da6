"""Ticket submitted -> ``OrderAccepted`` seen by an attached client, on a sandbox node.

Launches one sandbox node host (offline feed, Nautilus sandbox execution), attaches a
client as ``gateway order --wait accepted`` does, and submits limit orders far from the
market one after another, timing each from sending the ticket to the client seeing its
``OrderAccepted``; then cancels them all and stops the node. Target: p99 < 20 ms.
"""

from __future__ import annotations

import asyncio
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

N_ORDERS = 1000
NODE = "bench-orders"


async def _run(root: Path, n: int) -> list[float]:
    from engine.config.store import ConfigStore
    from engine.demo import demo_sandbox
    from engine.manager import NodeManager
    from engine.orders.session import OrderSession
    from engine.workspace import Workspace

    ws = Workspace(root / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, strategies=[])
    doc.pop("restart", None)
    doc["data_clients"][0]["options"].update(rate=20, start_prices={"EUR/USD.SIM": 1.1})
    # One order after another is far above the default 100 orders/s risk limit.
    doc["risk"] = {"max_order_submit_rate": "100000/00:00:01"}
    ConfigStore(ws).save(doc, deep=False)
    manager = NodeManager(ws)
    await manager.launch(NODE)
    try:
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=60)
        if meta.state != "running":
            raise RuntimeError(f"node did not start: {meta.state} {meta.error}")
        await asyncio.sleep(1.0)
        session = await OrderSession.open(ws, NODE)
        ticket = {
            "type": "LIMIT",
            "instrument_id": "EUR/USD.SIM",
            "side": "BUY",
            "quantity": "1000",
            "price": "1.00000",
        }
        latencies = []
        try:
            for _ in range(n):
                t0 = time.perf_counter()
                reply = await session.send({"action": "submit", "ticket": ticket})
                ids = reply.get("client_order_ids") or []
                if not reply.get("ok") or not await session.wait_for(ids, "accepted", 5):
                    raise RuntimeError(f"order not accepted: {reply}")
                row = session.table.get(ids[0])
                if row is None or row.status != "ACCEPTED":
                    raise RuntimeError(f"order ended {row}")
                latencies.append((time.perf_counter() - t0) * 1000)
            await session.send({"action": "cancel_all"})
        finally:
            await session.close()
        return latencies
    finally:
        await manager.stop(NODE, timeout_s=20)


def main(n: int = N_ORDERS) -> dict[str, float]:
    """Run the benchmark; print and return p50/p99 in milliseconds."""
    with tempfile.TemporaryDirectory() as tmp:
        lat = asyncio.run(_run(Path(tmp), n))
    q = statistics.quantiles(lat, n=100, method="inclusive")
    figures = {"orders": float(len(lat)), "p50_ms": q[49], "p99_ms": q[98], "max_ms": max(lat)}
    print(
        f"ticket -> OrderAccepted seen by an attached client, sandbox node, {len(lat)} orders: "
        f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
        f"max {figures['max_ms']:.2f} ms (target p99 < 20 ms)"
    )
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_ORDERS)
