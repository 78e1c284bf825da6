"""/ws/events: journal replay then live, no gap and no duplicate across reconnects; a
client that never reads is told its gap and slows neither the node nor the others."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
import websockets

from api.client import GatewayClient
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.services.events import PATIENCE_S
from engine.workspace import Workspace
from tests.integration.api_support import Server, journaled_run, running_server

pytestmark = pytest.mark.timeout(240)
NODE = "ws-sbx"


def _ws_url(server: Server, nodes: str, from_seq: int) -> str:
    return server.url.replace("http", "ws") + f"/ws/events?nodes={nodes}&from_seq={from_seq}"


def _journal(gw: GatewayClient, run_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = gw.run_events(run_id, after_seq=out[-1]["seq"] if out else 0, limit=5000)
        if not page.events:
            return out
        out.extend(e.model_dump() for e in page.events)


async def _collect(ws: Any, seen: list[dict[str, Any]], stop_after: int | None = None) -> str:
    """Append events to ``seen`` until ``end`` (or ``stop_after`` events); return why."""
    async for raw in ws:
        message = json.loads(raw)
        assert message["type"] in ("events", "end"), message
        if message["type"] == "end":
            return "end"
        seen.extend(message["events"])
        if stop_after is not None and len(seen) >= stop_after:
            return "enough"
    return "closed"


def test_a_client_killed_mid_stream_reconnects_from_its_last_seq(tmp_path: Path) -> None:
    ws_root = Workspace(tmp_path / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE)
    doc.pop("restart", None)
    doc["data_clients"][0]["options"].update(rate=50)
    ConfigStore(ws_root).save(doc, deep=False)

    with running_server(ws_root) as server:
        token = server.token("ws-test", "read,trade")
        headers = {"Authorization": f"Bearer {token}"}
        gw = GatewayClient(server.url, token)
        launched = gw.launch(NODE)

        async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            # A client that never reads, attached the whole time.
            idle = await websockets.connect(
                _ws_url(server, NODE, 0), additional_headers=headers, max_queue=1
            )
            first: list[dict[str, Any]] = []
            ws = await websockets.connect(_ws_url(server, NODE, 0), additional_headers=headers)
            assert await _collect(ws, first, stop_after=150) == "enough"
            ws.transport.abort()  # killed: no close handshake
            last = first[-1]["seq"]
            await asyncio.sleep(1.0)  # the node goes on journaling meanwhile
            second: list[dict[str, Any]] = []
            ws = await websockets.connect(_ws_url(server, NODE, last), additional_headers=headers)
            reader = asyncio.create_task(_collect(ws, second))
            await asyncio.sleep(2.0)
            stopped = await asyncio.to_thread(gw.stop, NODE)
            assert stopped.state == "stopped"
            assert await asyncio.wait_for(reader, 30) == "end"
            await ws.close()
            idle.transport.abort()
            return first, second

        first, second = asyncio.run(scenario())
        journal = _journal(gw, launched.run_id)
        got = first + second
        seqs = [e["seq"] for e in got]
        assert len(set(seqs)) == len(seqs), "an event came twice"
        assert seqs == list(range(1, len(seqs) + 1)), "a gap"
        assert got == journal  # every journaled event, once, with its payload
        assert second[0]["seq"] == first[-1]["seq"] + 1
        states = [e["payload"].get("state") for e in got if e["type"] == "NodeStateChanged"]
        assert "running" in states and states[-1] == "stopped"


class _Seq(msgspec.Struct):
    seq: int


class _Message(msgspec.Struct):
    type: str
    events: list[_Seq] = []
    last_seq: int = 0


decode = msgspec.json.Decoder(_Message).decode


class IdleClient:
    """A WebSocket client that reads nothing after the handshake until asked to.

    Raw socket, small receive buffer (no autotuning to loopback's 32 MB): what a client on
    a slow link looks like to the server. Client libraries read ahead, so none is used.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, server: Server, path: str, token: str) -> IdleClient:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        sock.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 16)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def message(self) -> bytes:
        """The next data message (server frames are unmasked; pings are skipped)."""
        data = b""
        while True:
            b0, b1 = await self.reader.readexactly(2)
            size = b1 & 0x7F
            if size == 126:
                size = int.from_bytes(await self.reader.readexactly(2), "big")
            elif size == 127:
                size = int.from_bytes(await self.reader.readexactly(8), "big")
            payload = await self.reader.readexactly(size)
            opcode = b0 & 0x0F
            if opcode in (0x9, 0xA):  # ping, pong
                continue
            data += payload
            if b0 & 0x80:  # FIN
                return data

    def close(self) -> None:
        self.writer.close()


def test_ten_clients_one_never_reading(tmp_path: Path) -> None:
    ws_root = Workspace(tmp_path / ".gateway").ensure()
    total = 30_000
    # 30k events of ~0.5 kB (15 MB): far more than the buffers between server and client.
    run = journaled_run(ws_root, "big-node", total, pad=400)
    with running_server(ws_root, ws_queue=4) as server:
        token = server.token("ws-ten", "read")
        headers = {"Authorization": f"Bearer {token}"}
        url = _ws_url(server, "big-node", 0)

        async def reader() -> list[int]:
            seqs: list[int] = []
            async with websockets.connect(
                url, additional_headers=headers, max_size=None, ping_interval=None
            ) as ws:
                async for raw in ws:
                    message = decode(raw)  # seqs only: the test process decodes 9 streams
                    if message.type == "end":
                        assert message.last_seq == total
                        return seqs
                    assert message.type == "events", message
                    seqs.extend(e.seq for e in message.events)
            raise AssertionError("closed before the end")

        async def scenario() -> tuple[list[list[int]], list[dict[str, Any]]]:
            idle = await IdleClient.open(server, "/ws/events?nodes=big-node&from_seq=0", token)
            started = time.monotonic()
            results = await asyncio.wait_for(asyncio.gather(*(reader() for _ in range(9))), 120)
            print(f"9 readers x {total} events in {time.monotonic() - started:.1f} s")
            # The server holds a full queue PATIENCE_S before it drops for the idle client;
            # nine fast readers can be done sooner, so give it that long from now.
            await asyncio.sleep(PATIENCE_S + 1.0)
            # Now the idle client reads what it was sent: events, a gap notice, the rest.
            slow: list[dict[str, Any]] = []
            while not slow or slow[-1]["type"] != "end":
                slow.append(json.loads(await idle.message()))
            idle.close()
            return list(results), slow

        results, slow = asyncio.run(scenario())
        for seqs in results:
            assert seqs == list(range(1, total + 1))  # every event, once, in order
        gaps = [(m["from"], m["to"]) for m in slow if m["type"] == "gap"]
        assert gaps, "the idle client was not told what it missed"
        covered: list[int] = []
        for m in slow:
            if m["type"] == "events":
                covered.extend(e["seq"] for e in m["events"])
            elif m["type"] == "gap":
                covered.extend(range(m["from"], m["to"] + 1))
        assert covered == list(range(1, total + 1))  # each event sent or announced, once
        # ... and the gap can be re-read from the journal.
        gw = GatewayClient(server.url, token)
        start, end = gaps[0]
        page = gw.run_events(run.run_id, after_seq=start - 1, limit=min(5000, end - start + 1))
        assert [e.seq for e in page.events] == list(range(start, start + len(page.events)))
