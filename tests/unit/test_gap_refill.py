"""A subscriber that falls behind loses log lines, never order or position events.

A real journal and a real EventBus with a small queue: the bus drops what does not fit
and leaves a Gap; GapRefill re-reads the gap's state events from the journal and keeps
every run's events in seq order.
"""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.bus import EventBus
from engine.events.envelope import Envelope, Gap
from engine.events.refill import STATE_KINDS, GapRefill, Refilled
from engine.journal.writer import JournalWriter


def _drain_all(refill: GapRefill, items: list[Envelope | Gap], out: Refilled) -> None:
    got = refill.feed(items)
    out.envelopes += got.envelopes
    out.dropped += got.dropped
    out.failed += got.failed
    deadline = time.monotonic() + 5
    while refill.waiting and time.monotonic() < deadline:
        time.sleep(0.001)
        got = refill.feed([])
        out.envelopes += got.envelopes
        out.dropped += got.dropped
        out.failed += got.failed
    assert not refill.waiting


def _publish(tmp: Path, kinds: list[str], run: str, max_queue: int, every: int) -> Refilled:
    runs = tmp / "runs"
    bus = EventBus()
    sub = bus.subscribe("console", max_queue=max_queue)
    refill = GapRefill(runs)
    out = Refilled()
    with JournalWriter(runs / "n1" / run, "n1", run) as journal:
        for i, kind in enumerate(kinds, 1):
            env = journal.append(kind, "OrderFilled" if kind == "order" else "LogLine", {"i": i})
            bus.publish([env])
            if i % every == 0:  # the consumer drains now and then, and falls behind
                _drain_all(refill, sub.drain(), out)
        journal.flush()
    for _ in range(3):
        _drain_all(refill, sub.drain(), out)
    refill.close()
    return out


def test_orders_missed_under_load_are_re_read_and_logs_counted(tmp_path: Path) -> None:
    kinds = ["log"] * 50 + ["order"] + ["log"] * 30 + ["order", "position"] + ["log"] * 20
    out = _publish(tmp_path, kinds, "r1", max_queue=8, every=40)
    state = [e for e in out.envelopes if e.kind in STATE_KINDS]
    assert [e.seq for e in state] == [51, 82, 83]
    seqs = [e.seq for e in out.envelopes]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert out.dropped == len(kinds) - len(out.envelopes) > 0
    assert not out.failed


@settings(max_examples=40, deadline=None)
@given(
    kinds=st.lists(
        st.sampled_from(["log", "metric", "order", "position", "account"]), min_size=1, max_size=300
    ),
    max_queue=st.integers(1, 20),
    every=st.integers(1, 60),
)
def test_every_state_event_arrives_once_in_order(
    tmp_path_factory: object, kinds: list[str], max_queue: int, every: int
) -> None:
    tmp = tmp_path_factory.mktemp("refill")  # type: ignore[attr-defined]
    out = _publish(tmp, kinds, "r1", max_queue, every)
    want = [i for i, k in enumerate(kinds, 1) if k in STATE_KINDS]
    got = [e.seq for e in out.envelopes if e.kind in STATE_KINDS]
    assert got == want
    seqs = [e.seq for e in out.envelopes]
    assert seqs == sorted(seqs)
    assert out.dropped + len(out.envelopes) == len(kinds)


def test_an_unreadable_journal_is_reported_not_hidden(tmp_path: Path) -> None:
    refill = GapRefill(tmp_path / "runs")
    out = Refilled()
    _drain_all(
        refill, [Gap("n1", "gone", 1, 10), Envelope(11, 0, "n1", "gone", "order", "X", {})], out
    )
    assert out.dropped == 10 and len(out.failed) == 1 and "n1/gone seq 1-10" in out.failed[0]
    assert [e.seq for e in out.envelopes] == [11]  # what came after still arrives


def test_the_console_feed_re_reads_gaps_from_the_workspace_journal(tmp_path: Path) -> None:
    from console.services import WorkspaceServices
    from engine.workspace import Workspace

    ws = Workspace(tmp_path / ".gateway").ensure()
    services = WorkspaceServices(ws, max_queue=4)
    feed = services.feed()
    assert feed is not None
    with JournalWriter(ws.runs_dir / "n1" / "r1", "n1", "r1") as journal:
        envs = [journal.append("log", "LogLine", {"i": i}) for i in range(20)]
        envs.append(journal.append("order", "OrderFilled", {"client_order_id": "O-1"}))
        envs += [journal.append("log", "LogLine", {"i": i}) for i in range(5)]
    services.bus.publish(envs)
    seen: list[Envelope] = []
    missed = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(e.kind == "order" for e in seen):
        drained = feed.drain()
        seen += drained.envelopes
        missed += drained.missed
        assert not drained.failed
        time.sleep(0.005)
    assert [e.type for e in seen if e.kind == "order"] == ["OrderFilled"]
    assert missed == 26 - len(seen)
