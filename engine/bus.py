"""The console process's EventBus: fan node events out to subscribers in batches.

Each subscriber has a bounded queue. One that falls behind loses events rather than
memory or the publisher's time: in their place it gets a :class:`Gap` naming the run and
the seq range it missed, which it can re-read from the journal (:func:`read_gap`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.events.envelope import Envelope, Gap
from engine.journal.reader import JournalReader

__all__ = ["EventBus", "Gap", "Subscription", "read_gap"]

Item = Envelope | Gap
Filter = Callable[[Envelope], bool]


class Subscription:
    """One subscriber's bounded queue of envelopes and gap markers.

    Attributes
    ----------
    name
        The subscriber's name (unique on its bus).
    dropped
        Events this subscriber missed in total (each reported in a :class:`Gap`).
    """

    def __init__(
        self, bus: EventBus | None, name: str, max_queue: int, filter: Filter | None
    ) -> None:
        if max_queue < 1:
            raise ValueError(f"subscription 'max_queue': got {max_queue}, expected >= 1")
        self.name = name
        self.max_queue = max_queue
        self.filter = filter
        self.dropped = 0
        self._bus = bus
        self._items: deque[Item] = deque()
        # Open gaps per (node_id, run_id), in the order they opened: [first_seq, last_seq].
        self._gaps: dict[tuple[str, str], list[int]] = {}
        self._lock = threading.Lock()
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Return whether :meth:`close` was called."""
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def drain(self, max_items: int | None = None) -> list[Item]:
        """Return what is queued (at most ``max_items``) without waiting."""
        with self._lock:
            items = self._items
            if max_items is None or max_items >= len(items):
                out = list(items)
                items.clear()
            else:
                out = [items.popleft() for _ in range(max(max_items, 0))]
            if self._gaps and len(items) <= self.max_queue // 2:
                if max_items is None or len(out) < max_items:
                    out.extend(self._close_gaps())
                else:
                    items.extend(self._close_gaps())
            return out

    async def get_batch(self, timeout: float | None = None) -> list[Item]:  # noqa: ASYNC109
        """Wait until something is queued (or ``timeout`` passes) and drain it.

        Returns an empty list on timeout or when the subscription is closed.
        """
        out = self.drain()
        if out or self._closed:
            return out
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._items or self._gaps:
                fut.set_result(None)
            else:
                self._waiter = (loop, fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return []
        finally:
            self._waiter = None
        return self.drain()

    def close(self) -> None:
        """Stop receiving events and wake a waiting :meth:`get_batch`."""
        self._closed = True
        if self._bus is not None:
            self._bus._remove(self)
        self._wake()

    # -- publisher side -------------------------------------------------------------------

    def _offer(self, batch: Sequence[Envelope]) -> None:
        flt = self.filter
        with self._lock:
            items = self._items
            gaps = self._gaps
            if gaps and len(items) <= self.max_queue // 2:
                items.extend(self._close_gaps())
            room = self.max_queue - len(items)
            if not gaps and flt is None and len(batch) <= room:
                items.extend(batch)  # the common case: no filter, no backlog
            else:
                for env in batch:
                    if flt is not None and not flt(env):
                        continue
                    key = (env.node_id, env.run_id)
                    gap = gaps.get(key)
                    if gap is not None:
                        gap[1] = env.seq  # keep dropping: the marker must come first
                        self.dropped += 1
                    elif len(items) < self.max_queue:
                        items.append(env)
                    else:
                        gaps[key] = [env.seq, env.seq]
                        self.dropped += 1
        self._wake()

    def _close_gaps(self) -> list[Gap]:
        out = [Gap(node, run, first, last) for (node, run), (first, last) in self._gaps.items()]
        self._gaps.clear()
        return out

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is None:
            return
        loop, fut = waiter
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            _resolve(fut)
        else:
            with contextlib.suppress(RuntimeError):  # the waiting loop is gone
                loop.call_soon_threadsafe(_resolve, fut)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class EventBus:
    """Deliver batches of envelopes to named subscribers, never blocking the publisher.

    Parameters
    ----------
    max_queue
        Default bound of each subscriber's queue, in events.
    """

    def __init__(self, max_queue: int = 10_000) -> None:
        if max_queue < 1:
            raise ValueError(f"EventBus 'max_queue': got {max_queue}, expected >= 1")
        self.max_queue = max_queue
        self._subs: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()

    def subscribe(
        self,
        name: str,
        *,
        max_queue: int | None = None,
        filter: Filter | None = None,
    ) -> Subscription:
        """Add a subscriber; ``filter`` keeps only the envelopes it returns true for.

        Raises
        ------
        ValueError
            ``name`` is already subscribed, or ``max_queue`` is below 1.
        """
        with self._lock:
            if any(s.name == name for s in self._subs):
                raise ValueError(f"subscription 'name': {name!r} is already subscribed")
            bound = self.max_queue if max_queue is None else max_queue
            sub = Subscription(self, name, bound, filter)
            self._subs = (*self._subs, sub)
        return sub

    def unsubscribe(self, name: str) -> None:
        """Close the subscriber called ``name`` (no error if there is none)."""
        for sub in self._subs:
            if sub.name == name:
                sub.close()

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Return the current subscribers."""
        return self._subs

    def publish(self, batch: Sequence[Envelope]) -> None:
        """Queue ``batch`` for every subscriber; never blocks. Thread-safe."""
        if not batch:
            return
        for sub in self._subs:
            sub._offer(batch)

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)


def read_gap(gap: Gap, runs_dir: Path) -> list[Envelope]:
    """Re-read the events a :class:`Gap` stands for from ``runs_dir/<node>/<run>/``."""
    with JournalReader(Path(runs_dir) / gap.node_id / gap.run_id) as reader:
        return reader.read(after_seq=gap.first_seq - 1, limit=gap.count)
