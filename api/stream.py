"""``GET /ws/events?nodes=a,b&from_seq=N``: journal replay, then live, per client.

The token comes in the ``Authorization: Bearer`` header of the upgrade request. Errors are
sent as one ``{"type": "error", ...error model}`` message, then the socket closes with
4000 + the HTTP status (4401, 4403, 4404, 4422, 4429). The messages are described in
``engine.services.events``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from starlette.websockets import WebSocket, WebSocketDisconnect

from api.auth import authenticate
from api.ratelimit import RateLimiter
from engine.services import ServiceError, Services
from engine.services.events import QUEUE_MESSAGES, EventStream, parse_stream


def _open(
    websocket: WebSocket, services: Services, limiter: RateLimiter, queue: int
) -> EventStream:
    grant = authenticate(services, limiter, websocket.headers.get("authorization"))
    grant.require("read")
    params = websocket.query_params
    specs = parse_stream(params.get("nodes", ""), params.get("from_seq"))
    stream = EventStream(services.manager, specs, queue_messages=queue)
    stream.check()
    for spec in specs:
        mode = services.runs.find(spec.node_id, node_ids=True).meta.mode if grant.modes else None
        grant.require_node(spec.node_id, mode)
    return stream


async def stream_events(
    websocket: WebSocket,
    services: Services,
    limiter: RateLimiter,
    queue: int = QUEUE_MESSAGES,
) -> None:
    """Serve one client: its token, its nodes, then the stream until either side ends."""
    await websocket.accept()
    try:
        stream = await asyncio.to_thread(_open, websocket, services, limiter, queue)
    except ServiceError as exc:
        with contextlib.suppress(Exception):
            await websocket.send_text(json.dumps({"type": "error", **exc.to_dict()}))
            await websocket.close(code=4000 + exc.http_status, reason=exc.code)
        return

    async def send_all() -> None:
        async for data in stream.messages():
            await websocket.send({"type": "websocket.send", "text": data.decode("utf-8")})
        await websocket.close(code=1000)

    async def until_closed() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return

    sender = asyncio.create_task(send_all())
    watcher = asyncio.create_task(until_closed())
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        for task in (sender, watcher):
            with contextlib.suppress(BaseException):
                await task
        await stream.close()
