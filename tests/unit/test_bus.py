"""The console's EventBus: batches, bounded queues, gap markers for slow subscribers."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from engine.bus import EventBus, Gap, read_gap
from engine.events import Envelope
from engine.journal import JournalWriter


def _events(first: int, last: int, kind: str = "order", run: str = "r1") -> list[Envelope]:
    return [
        Envelope(s, s, "node-a", run, kind, "OrderFilled", {"i": s}) for s in range(first, last + 1)
    ]


def test_every_subscriber_gets_each_batch_in_order() -> None:
    bus = EventBus()
    ui, log = bus.subscribe("ui"), bus.subscribe("log")
    bus.publish(_events(1, 3))
    bus.publish(_events(4, 5))
    assert [e.seq for e in ui.drain()] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    assert [e.seq for e in log.drain(max_items=2)] == [1, 2]  # type: ignore[union-attr]
    assert [e.seq for e in log.drain()] == [3, 4, 5]  # type: ignore[union-attr]
    assert ui.drain() == []


def test_filter_keeps_only_matching_events() -> None:
    bus = EventBus()
    logs = bus.subscribe("logs", filter=lambda e: e.kind == "log")
    bus.publish([*_events(1, 2), *_events(3, 3, kind="log"), *_events(4, 4)])
    assert [e.seq for e in logs.drain()] == [3]  # type: ignore[union-attr]


def test_a_full_subscriber_gets_a_gap_marker_and_others_are_unaffected() -> None:
    bus = EventBus(max_queue=10)
    slow = bus.subscribe("slow")
    fast = bus.subscribe("fast", max_queue=1000)
    bus.publish(_events(1, 8))
    bus.publish(_events(9, 25))  # 2 fit, 23 do not
    bus.publish(_events(26, 30))  # still backed up: part of the same gap
    assert slow.dropped == 20
    assert len(slow) <= 10  # bounded
    assert [e.seq for e in fast.drain()] == list(range(1, 31))  # type: ignore[union-attr]
    got = slow.drain()
    assert [e.seq for e in got[:-1]] == list(range(1, 11))  # type: ignore[union-attr]
    assert got[-1] == Gap("node-a", "r1", 11, 30)
    # Once drained, it receives again, after the marker.
    bus.publish(_events(31, 32))
    assert [e.seq for e in slow.drain()] == [31, 32]  # type: ignore[union-attr]


def test_gaps_are_per_run_and_seq_ranges_are_exact() -> None:
    bus = EventBus(max_queue=4)
    sub = bus.subscribe("s")
    bus.publish(_events(1, 4, run="a"))
    bus.publish([*_events(5, 6, run="a"), *_events(1, 3, run="b")])
    got = sub.drain()
    assert got[4:] == [Gap("node-a", "a", 5, 6), Gap("node-a", "b", 1, 3)]
    assert sub.dropped == 5


def test_publish_never_blocks_on_a_subscriber_nobody_drains() -> None:
    bus = EventBus(max_queue=100)
    sub = bus.subscribe("stuck")
    for first in range(1, 100_001, 1000):
        bus.publish(_events(first, first + 999))
    assert len(sub) <= 100 and sub.dropped == 100_000 - 100


async def test_get_batch_wakes_when_another_thread_publishes() -> None:
    bus = EventBus()
    sub = bus.subscribe("ui")
    timer = threading.Timer(0.05, bus.publish, args=(_events(1, 2),))
    timer.start()
    got = await sub.get_batch(timeout=5)
    assert [e.seq for e in got] == [1, 2]  # type: ignore[union-attr]
    timer.join()


async def test_get_batch_times_out_empty_and_close_wakes_it() -> None:
    bus = EventBus()
    sub = bus.subscribe("ui")
    assert await sub.get_batch(timeout=0.01) == []
    waiter = asyncio.create_task(sub.get_batch())
    await asyncio.sleep(0.01)
    sub.close()
    assert await asyncio.wait_for(waiter, 2) == []
    bus.publish(_events(1, 1))
    assert sub.drain() == [] and bus.subscriptions == ()


def test_duplicate_name_and_bad_bound_are_refused() -> None:
    bus = EventBus()
    bus.subscribe("ui")
    with pytest.raises(ValueError, match="'name': 'ui' is already subscribed"):
        bus.subscribe("ui")
    with pytest.raises(ValueError, match="'max_queue': got 0"):
        bus.subscribe("other", max_queue=0)


def test_a_gap_is_re_read_from_the_journal(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with JournalWriter(runs / "node-a" / "r1", "node-a", "r1") as writer:
        sent = [writer.append("order", "OrderFilled", {"i": i}) for i in range(30)]
    bus = EventBus(max_queue=10)
    sub = bus.subscribe("slow")
    bus.publish(sent)
    got = sub.drain()
    gap = got[-1]
    assert isinstance(gap, Gap)
    assert read_gap(gap, runs) == sent[10:]
