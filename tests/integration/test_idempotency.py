"""A command retried after a lost reply acts once: idempotency keys on a real sandbox node."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from engine.channel import NodeClient
from engine.channel import protocol as p
from engine.channel.errors import CommandError
from engine.config.store import ConfigStore
from engine.host.paths import socket_path
from engine.manager import NodeManager
from engine.orders.status import OrderStatusTable
from engine.workspace import Workspace
from tests.integration.market_wait import wait_for_quotes
from tests.integration.sandbox_docs import quiet_sandbox

NODE = "idem-sbx"
IID = "EUR/USD.SIM"
pytestmark = pytest.mark.timeout(120)


def _command(tag: str) -> dict[str, Any]:
    ticket = {
        "type": "LIMIT",
        "instrument_id": IID,
        "side": "BUY",
        "quantity": "10000",
        "price": "1.05000",  # far below the 1.1 market: rests
        "tags": [tag],
    }
    return {"action": "submit", "ticket": ticket}


async def _orders(ws: Workspace) -> dict[str, str]:
    """Every order the node journaled: client order id -> status."""
    client = await NodeClient.connect(socket_path(ws, NODE))
    table = OrderStatusTable()
    try:
        last = client.host_last_seq
        async with asyncio.timeout(10):
            async for batch in client.events(after_seq=0):
                table.apply(batch)
                if batch[-1].seq >= last:
                    break
    finally:
        await client.close()
    return {r.client_order_id: r.status for r in table.rows()}


async def _scenario(ws: Workspace) -> None:
    path = socket_path(ws, NODE)
    before = await _orders(ws)
    cmd = {"cmd": "order", "command": _command("idem-1"), "idempotency_key": "key-1"}

    # First try: the frame reaches the host, the connection drops before any reply.
    reader, writer = await asyncio.open_unix_connection(str(path))
    got = await p.read_frame(reader)
    assert got is not None and got[0] == p.HELLO
    writer.write(p.frame(p.COMMAND, {"id": 1, "cmd": cmd}))
    await writer.drain()
    writer.close()

    # The retry (twice) gets the first try's outcome, and the node holds one order.
    replies = []
    for _ in range(2):
        client = await NodeClient.connect(path)
        try:
            replies.append(
                await client.command("order", command=_command("idem-1"), idempotency_key="key-1")
            )
        finally:
            await client.close()
    assert replies[0] == replies[1]
    ids = replies[0]["client_order_ids"]
    assert len(ids) == 1

    deadline = time.monotonic() + 10
    while True:
        after = await _orders(ws)
        new = {k: v for k, v in after.items() if k not in before}
        if new.get(ids[0]) == "ACCEPTED" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert new == {ids[0]: "ACCEPTED"}

    # The same key for another command is refused and nothing is sent.
    client = await NodeClient.connect(path)
    try:
        with pytest.raises(CommandError, match="already used for a different command"):
            await client.command("order", command=_command("idem-2"), idempotency_key="key-1")
        # A malformed key is refused too.
        with pytest.raises(CommandError, match="idempotency_key"):
            await client.command("order", command=_command("idem-3"), idempotency_key="")
    finally:
        await client.close()
    await asyncio.sleep(0.5)
    assert set(await _orders(ws)) - set(before) == {ids[0]}


def test_a_submit_retried_after_a_lost_reply_creates_one_order(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = quiet_sandbox(NODE)
    ConfigStore(ws).save(doc, deep=False)

    async def main() -> None:
        manager = NodeManager(ws)
        handle = await manager.launch(NODE)
        try:
            meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
            assert meta.state == "running", meta
            await asyncio.to_thread(wait_for_quotes, handle.run_dir)
            await _scenario(ws)
        finally:
            await NodeManager(ws).stop(NODE, timeout_s=15)

    asyncio.run(main())
