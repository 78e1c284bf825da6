"""The client's end of the channel (console, CLI): replay plus live events, commands."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from engine.channel import protocol as p
from engine.channel.errors import ChannelError, CommandError, CommandTimeout
from engine.channel.transport import Transport, UnixSocketTransport
from engine.events.envelope import Envelope
from engine.journal.reader import JournalReader

QUEUE_BATCHES = 8  # decoded batches held before the client stops reading the socket
_END = object()


class NodeClient:
    """A connection to one node host.

    Attributes
    ----------
    node_id, run_id
        The run the host serves.
    host_last_seq
        The journal's last seq when the client connected.
    ended_cleanly
        After :meth:`events` ends: whether the host closed the stream (``True``) or the
        connection was lost (``False``, e.g. the host crashed).
    recovered_from_journal
        Events :meth:`events` read from the journal file after losing the connection.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        hello: dict[str, Any],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.node_id: str = str(hello.get("node_id", ""))
        self.run_id: str = str(hello.get("run_id", ""))
        self.host_last_seq: int = int(hello.get("last_seq", 0))
        self.ended_cleanly = False
        self.recovered_from_journal = 0
        journal_dir = hello.get("journal_dir")
        self._journal_dir = Path(journal_dir) if isinstance(journal_dir, str) else None
        self._last_seq = 0
        self._queue: asyncio.Queue[object] = asyncio.Queue(QUEUE_BATCHES)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._subscribed = False
        self._closed = False
        self._lost: Exception | None = None
        self._read_task = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def connect(
        cls, socket_path: Path, *, connect_timeout: float = 5.0, transport: Transport | None = None
    ) -> NodeClient:
        """Connect to the node host serving ``socket_path``.

        Raises
        ------
        StaleSocketError
            The socket belongs to a host that is no longer running.
        ChannelError
            No socket there, or the host does not greet in ``connect_timeout`` seconds.
        """
        transport = transport or UnixSocketTransport(Path(socket_path))
        reader, writer = await asyncio.wait_for(transport.connect(), connect_timeout)
        try:
            got = await asyncio.wait_for(p.read_frame(reader), connect_timeout)
        except (TimeoutError, ConnectionError) as exc:
            writer.close()
            raise ChannelError(f"node host at {socket_path} did not greet: {exc!r}") from None
        if got is None or got[0] != p.HELLO:
            writer.close()
            raise ChannelError(f"node host at {socket_path} closed without a greeting")
        hello = p.parse_body(got[1])
        if hello.get("version") != p.PROTOCOL_VERSION:
            writer.close()
            raise ChannelError(
                f"node host at {socket_path} speaks channel protocol {hello.get('version')!r},"
                f" expected {p.PROTOCOL_VERSION}"
            )
        return cls(reader, writer, hello)

    async def events(self, after_seq: int = 0) -> AsyncIterator[list[Envelope]]:
        """Yield batches of envelopes with ``seq > after_seq``: the journal, then live ones.

        Seqs are contiguous: no gap, no duplicate. Ends when the host closes the run's
        stream or the connection is lost (see :attr:`ended_cleanly`); after a lost
        connection it first delivers the rest of the journal when the run directory is
        readable here. One call per client.

        Raises
        ------
        ChannelError
            The host refuses the subscription (``after_seq`` beyond its journal ...).
        """
        if self._subscribed:
            raise ChannelError("events() was already called on this client")
        self._subscribed = True
        self._send(p.frame(p.SUBSCRIBE, {"after_seq": after_seq}))
        self._last_seq = after_seq
        while True:
            item = await self._queue.get()
            if item is _END:
                break
            if isinstance(item, Exception):
                raise item
            batch: list[Envelope] = item  # type: ignore[assignment]
            if batch:
                self._last_seq = batch[-1].seq
                yield batch
        if not self.ended_cleanly and not self._closed:
            # Cut off (a crashed host, or one that closed before we caught up): whatever
            # it journaled is on disk, so finish from there when the journal is local.
            async for batch in self._journal_tail():
                yield batch

    async def _journal_tail(self) -> AsyncIterator[list[Envelope]]:
        if self._journal_dir is None or not self._journal_dir.is_dir():
            return
        with JournalReader(self._journal_dir) as reader:
            while True:
                batch = await asyncio.to_thread(reader.read, self._last_seq, 4096)
                if not batch:
                    return
                self._last_seq = batch[-1].seq
                self.recovered_from_journal += len(batch)
                yield batch

    async def command(
        self, cmd: str, *, reply_timeout: float = 10.0, **args: Any
    ) -> dict[str, Any]:
        """Send ``{"cmd": cmd, **args}`` and return the host's reply.

        Raises
        ------
        CommandError
            The host's handler failed or refused the command.
        CommandTimeout
            No reply within ``reply_timeout`` seconds.
        ChannelError
            The connection is lost.
        """
        if self._lost is not None or self._closed:
            raise ChannelError(f"channel to node {self.node_id!r} is closed")
        req_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        try:
            self._send(p.frame(p.COMMAND, {"id": req_id, "cmd": {"cmd": cmd, **args}}))
            return await asyncio.wait_for(fut, reply_timeout)
        except TimeoutError:
            raise CommandTimeout(
                f"node {self.node_id!r} did not answer {cmd!r} within {reply_timeout} s"
            ) from None
        finally:
            self._pending.pop(req_id, None)

    @property
    def is_open(self) -> bool:
        """Whether commands can still be sent: not closed here, not ended by the host."""
        return (
            not self._closed
            and self._lost is None
            and not self._read_task.done()
            and not self._writer.is_closing()
        )

    async def close(self) -> None:
        """Close the connection (the node keeps running)."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        self._read_task.cancel()
        with contextlib.suppress(BaseException):
            await self._read_task

    async def __aenter__(self) -> NodeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _send(self, data: bytes) -> None:
        if self._writer.is_closing():
            raise ChannelError(f"channel to node {self.node_id!r} is closed")
        self._writer.write(data)

    async def _read_loop(self) -> None:
        queue = self._queue
        try:
            while True:
                got = await p.read_frame(self._reader)
                if got is None:
                    break
                kind, body = got
                if kind == p.EVENTS:
                    await queue.put(p.decode_records(body))
                elif kind == p.REPLY:
                    self._reply(p.parse_body(body))
                elif kind == p.END:
                    self.ended_cleanly = True
                    break
                elif kind == p.ERROR:
                    await queue.put(ChannelError(str(p.parse_body(body).get("error"))))
        except (ConnectionError, OSError) as exc:
            self._lost = exc
        except asyncio.CancelledError:
            pass
        finally:
            lost = ChannelError(f"channel to node {self.node_id!r} closed")
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(lost)
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_END)
            if queue.full() and not self._closed:
                # Make room for the end marker: the consumer sees it after what it has.
                await queue.put(_END)

    def _reply(self, msg: dict[str, Any]) -> None:
        fut = self._pending.get(int(msg.get("id", -1)))
        if fut is None or fut.done():
            return
        if msg.get("ok"):
            fut.set_result(dict(msg.get("result") or {}))
        else:
            fut.set_exception(CommandError(str(msg.get("error"))))
