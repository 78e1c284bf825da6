"""A client's stream of node events: journal replay, then live, through a bounded queue.

Each node in the stream is read by its own task from ``NodeManager.attach`` (the host's
channel while it runs, its journal otherwise), at the node's pace: a task never waits for
the client. What the client has not taken sits in a bounded queue; when the queue is full
the events are dropped and the client is told the range it missed (a ``gap`` message,
``from``..``to`` inclusive) before anything newer, so it can re-read that range from the
journal. A burst (a replay) may fill the queue of a client that does read: events are
dropped only once the queue has stayed full for ``patience_s`` seconds, and from then on
at once until the client has room again. A client that reconnects with the last seq it saw
gets the rest: no gap, no duplicate.

Messages (JSON objects, encoded once here):

- ``{"type": "events", "node_id", "run_id", "events": [envelope, ...]}``
- ``{"type": "gap", "node_id", "run_id", "from": N, "to": M}``
- ``{"type": "end", "node_id", "run_id", "last_seq": N}``: the run ended and all of it
  was sent (or announced as a gap).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import msgspec

from engine.events.envelope import Envelope
from engine.manager import NodeManager
from engine.runs import RunNotFound, find_run
from engine.services.configs import check_node_ref
from engine.services.errors import ServiceError

MESSAGE_EVENTS = 1000  # events per message: frames stay well under 1 MiB
QUEUE_MESSAGES = 64  # per client: at most 64k events held for a slow one
PATIENCE_S = 2.0  # how long a full queue may stay full before events are dropped

_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One node in a stream and the last seq its client already has."""

    node_id: str
    after_seq: int = 0


def parse_stream(nodes: str, from_seq: str | None) -> list[StreamSpec]:
    """``nodes=a,b`` and ``from_seq=N`` (every node) or ``from_seq=a:N,b:M`` (per node)."""
    ids = [n.strip() for n in nodes.split(",") if n.strip()]
    if not ids:
        raise ServiceError.invalid("nodes", nodes, "expected node ids separated by commas")
    if len(ids) > 64:
        raise ServiceError.invalid("nodes", nodes, "expected at most 64 node ids")
    for node_id in ids:
        check_node_ref(node_id)
    after = dict.fromkeys(ids, 0)
    for part in (from_seq or "").split(","):
        part = part.strip()
        if not part:
            continue
        node, sep, number = part.rpartition(":")
        if not number.isascii() or not number.isdigit() or len(number) > 18:
            raise ServiceError.invalid(
                "from_seq", from_seq, "expected a seq N >= 0, or node:N pairs separated by commas"
            )
        if not sep:
            after = dict.fromkeys(ids, int(number))
        elif node in after:
            after[node] = int(number)
        else:
            raise ServiceError.invalid("from_seq", from_seq, f"node {node!r} is not in nodes")
    return [StreamSpec(n, after[n]) for n in dict.fromkeys(ids)]


class EventStream:
    """The events of several nodes for one client; iterate :meth:`messages`, then close."""

    def __init__(
        self,
        manager: NodeManager,
        specs: Sequence[StreamSpec],
        *,
        queue_messages: int = QUEUE_MESSAGES,
        patience_s: float = PATIENCE_S,
        follow: bool = True,
    ) -> None:
        self.manager = manager
        self.specs = list(specs)
        self.follow = follow
        self.patience_s = patience_s
        self.queue: asyncio.Queue[tuple[bytes, bool]] = asyncio.Queue(queue_messages)
        self.dropped = 0  # events dropped for this client (announced as gaps)
        self._tasks: list[asyncio.Task[None]] = []

    def check(self) -> None:
        """Raise ``not_found`` for a node without any run (before the stream opens)."""
        for spec in self.specs:
            try:
                find_run(self.manager.workspace, spec.node_id)
            except RunNotFound as exc:
                raise ServiceError(
                    "not_found",
                    str(exc),
                    field="nodes",
                    value=spec.node_id,
                    expected="node ids that have a run",
                ) from None

    async def messages(self) -> AsyncIterator[bytes]:
        """Encoded messages until every node's run has ended (never, while one runs)."""
        self._tasks = [asyncio.create_task(self._pump(spec)) for spec in self.specs]
        ended = 0
        try:
            while ended < len(self._tasks):
                data, last = await self.queue.get()
                ended += last
                yield data
        finally:
            await self.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task

    async def _offer(self, data: bytes, behind: bool) -> bool:
        """Queue ``data``; when full, wait up to ``patience_s`` unless already ``behind``."""
        try:
            self.queue.put_nowait((data, False))
            return True
        except asyncio.QueueFull:
            if behind:
                return False
        try:  # a burst (a replay) may fill the queue of a client that does read
            await asyncio.wait_for(self.queue.put((data, False)), self.patience_s)
        except TimeoutError:
            return False
        return True

    async def _pump(self, spec: StreamSpec) -> None:
        gap: list[int] | None = None  # [from, to] dropped and not yet announced
        run_id = ""
        last = spec.after_seq
        try:
            async for batch in self.manager.attach(
                spec.node_id, spec.after_seq, follow=self.follow
            ):
                run_id = batch[0].run_id
                for i in range(0, len(batch), MESSAGE_EVENTS):
                    chunk = batch[i : i + MESSAGE_EVENTS]
                    last = chunk[-1].seq
                    if (
                        gap is not None
                        and not self.queue.full()
                        and await self._offer(_gap(spec.node_id, run_id, gap), True)
                    ):
                        gap = None
                    if gap is None and await self._offer(
                        _events(spec.node_id, run_id, chunk), False
                    ):
                        continue
                    self.dropped += len(chunk)  # still behind: nothing encoded
                    if gap is None:
                        gap = [chunk[0].seq, last]
                    else:
                        gap[1] = last
        except RunNotFound as exc:
            error = {"type": "error", "node_id": spec.node_id, "message": str(exc)}
            await self.queue.put((_json.encode(error), False))
        # The run ended: the client must learn of a pending gap and of the end, so wait.
        if gap is not None:
            await self.queue.put((_gap(spec.node_id, run_id, gap), False))
        end = {"type": "end", "node_id": spec.node_id, "run_id": run_id, "last_seq": last}
        await self.queue.put((_json.encode(end), True))


def _events(node_id: str, run_id: str, chunk: list[Envelope]) -> bytes:
    return _json.encode({"type": "events", "node_id": node_id, "run_id": run_id, "events": chunk})


def _gap(node_id: str, run_id: str, gap: list[int]) -> bytes:
    return _json.encode(
        {"type": "gap", "node_id": node_id, "run_id": run_id, "from": gap[0], "to": gap[1]}
    )
