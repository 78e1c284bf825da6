"""A run's present state from a few of its events: what a re-attached console folds first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events.envelope import Envelope
from engine.events.present import journal_present_events, present_events
from engine.journal import JournalWriter
from engine.orders.status import fold_orders

# One order's possible lives, as the event types it goes through.
LIVES = (
    ("OrderInitialized", "OrderSubmitted", "OrderAccepted"),  # working
    ("OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderCanceled"),
    ("OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderFilled"),
    ("OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderPartialFill"),  # working
    ("OrderInitialized", "OrderDenied"),
    ("OrderInitialized", "OrderSubmitted", "OrderAccepted", "OrderPendingCancel"),  # working
    (
        "OrderInitialized",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderPendingUpdate",
        "OrderModifyRejected",
    ),  # working again
)


def _payload(coid: str, type_: str) -> tuple[str, dict[str, Any]]:
    p: dict[str, Any] = {"client_order_id": coid}
    if type_ == "OrderInitialized":
        p.update(
            instrument_id="EUR/USD.SIM",
            order_side="BUY",
            order_type="LIMIT",
            quantity="100",
            options={"price": "1.0"},
        )
    if type_ == "OrderFilled":
        p.update(last_qty="100", last_px="1.0")
    if type_ == "OrderPartialFill":
        return "OrderFilled", {**p, "last_qty": "40", "last_px": "1.0"}
    return type_, p


def _stream(lives: list[int], order: list[int], positions: int) -> list[Envelope]:
    """Orders living ``lives`` (indexes into LIVES), their events interleaved as ``order``
    says (each entry: which still-unfinished order moves next), then position events."""
    queues = [[(f"O-{i}", t) for t in LIVES[life]] for i, life in enumerate(lives)]
    out: list[Envelope] = []

    def env(kind: str, type_: str, payload: dict[str, Any]) -> None:
        seq = len(out) + 1
        out.append(Envelope(seq, seq * 1000, "n", "r", kind, type_, payload))

    env("node", "NodeStateChanged", {"state": "running", "previous": "starting"})
    picks = iter(order)
    while any(queues):
        alive = [q for q in queues if q]
        queue = alive[next(picks, 0) % len(alive)]
        coid, type_ = queue.pop(0)
        env("order", *_payload(coid, type_))
        env("log", "LogLine", {"level": "INFO", "component": "x", "message": coid})
    for i in range(positions):
        pid = f"P-{i % 3}"
        env("position", "PositionClosed" if i % 2 else "PositionOpened", {"position_id": pid})
    return out


@settings(max_examples=200, deadline=None)
@given(
    lives=st.lists(st.integers(0, len(LIVES) - 1), max_size=30),
    order=st.lists(st.integers(0, 1000), max_size=200),
    positions=st.integers(0, 8),
    keep=st.integers(0, 10),
)
def test_folding_the_picked_events_gives_the_state_of_the_whole_stream(
    lives: list[int], order: list[int], positions: int, keep: int
) -> None:
    stream = _stream(lives, order, positions)
    picked = present_events(stream, keep_closed=keep)
    assert [e.seq for e in picked] == sorted({e.seq for e in picked})  # in order, once each
    full = {r.client_order_id: r for r in fold_orders(stream)}
    part = {r.client_order_id: r for r in fold_orders(picked)}
    # Every working order, exactly as the whole journal has it.
    assert {k: r for k, r in part.items() if r.is_open} == {
        k: r for k, r in full.items() if r.is_open
    }
    # The latest closed ones, as the whole journal has them.
    closed_full = [r for r in full.values() if not r.is_open]
    closed_part = [r for r in part.values() if not r.is_open]
    assert len(closed_part) == min(keep, len(closed_full))
    assert all(full[r.client_order_id] == r for r in closed_part)
    # Positions: each one's last event, every open one, at most ``keep`` unless open.
    last_position = {e.payload["position_id"]: e for e in stream if e.kind == "position"}
    got = {e.payload["position_id"]: e for e in picked if e.kind == "position"}
    assert all(last_position[k] == e for k, e in got.items())
    open_ = {k for k, e in last_position.items() if e.type != "PositionClosed"}
    assert open_ <= set(got) and len(got) <= max(keep, len(open_))
    assert picked[0].type == "NodeStateChanged"  # the node's state
    assert not [e for e in picked if e.kind == "log"]


def test_a_working_order_from_the_start_of_a_long_journal_is_picked(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, "n", "r") as writer:
        writer.append("node", "NodeStateChanged", {"state": "running", "previous": "starting"})
        for type_ in LIVES[0]:
            writer.append("order", *_payload("O-early", type_))
        for i in range(5000):
            writer.append("order", *_payload(f"O-{i}", "OrderInitialized"))
            writer.append("order", *_payload(f"O-{i}", "OrderDenied"))
        writer.append("risk", "TradingStateChanged", {"state": "REDUCING"})
        writer.append("alert", "AlertRaised", {"alert_id": "a1", "message": "m"})
        writer.append("alert", "AlertRaised", {"alert_id": "a2", "message": "m"})
        writer.append("alert", "AlertResolved", {"alert_id": "a2", "message": "m"})
        last = writer.append("metric", "MetricsSample", {}).seq
        writer.append("order", *_payload("O-after", "OrderInitialized"))
    picked = journal_present_events(tmp_path, last, keep_closed=3)
    rows = fold_orders(picked)
    assert [r.client_order_id for r in rows if r.is_open] == ["O-early"]
    assert len([r for r in rows if not r.is_open]) == 3
    assert {e.type for e in picked if e.kind != "order"} == {
        "NodeStateChanged",
        "TradingStateChanged",
        "AlertRaised",
        "MetricsSample",
    }
    assert [e.payload["alert_id"] for e in picked if e.kind == "alert"] == ["a1"]
    assert max(e.seq for e in picked) == last  # nothing after the seq asked for
    assert journal_present_events(tmp_path, 0) == []
