"""Open channels to node hosts, one per node, reused by the order commands of one process.

Connecting costs a socket, the host's greeting and a reader task on both sides: about a
millisecond of an API order submit's few. The host runs the commands of one connection
concurrently, so one channel per node serves concurrent requests as separate ones did.
A channel the host ended (it stopped or restarted) is replaced at its next use; channels
belong to the event loop they were opened on (a CLI's ``asyncio.run`` each time starts
afresh).
"""

from __future__ import annotations

import asyncio

from engine.channel import NodeClient
from engine.host.paths import socket_path
from engine.workspace import Workspace


class NodeChannels:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, NodeClient] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, node_id: str) -> NodeClient:
        """The node's open channel, connecting if there is none (``NodeClient.connect``'s
        errors when the host does not answer)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # those of a finished loop cannot be used (nor closed)
            self._loop, self._clients, self._locks = loop, {}, {}
        client = self._clients.get(node_id)
        if client is not None and client.is_open:
            return client
        async with self._locks.setdefault(node_id, asyncio.Lock()):
            client = self._clients.get(node_id)
            if client is not None and client.is_open:
                return client
            if client is not None:
                await client.close()
            client = await NodeClient.connect(socket_path(self.workspace, node_id))
            self._clients[node_id] = client
            return client

    async def discard(self, node_id: str, client: NodeClient) -> None:
        """Close ``client`` after a failure on it; the next ``get`` connects again."""
        if self._clients.get(node_id) is client:
            del self._clients[node_id]
        await client.close()
