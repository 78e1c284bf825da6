"""The sandbox venue's book, the journal's view and the three-way reconciliation (pure)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.events.envelope import Envelope
from engine.recovery.reconcile import OrderFacts, Reconciliation, StateView, reconcile
from engine.recovery.venue_book import VenueBook
from engine.recovery.venue_store import VenueStateError, load_book, reset_books, save_book
from engine.recovery.views import (
    RECONCILIATION_ACCEPTED,
    STATE_BASELINE,
    baseline_view,
    journal_view,
    venue_view,
    view_to_baseline,
)
from engine.workspace import Workspace

INSTR = "EUR/USD.SIM"


def order_dict(coid: str, side: str = "BUY", qty: str = "100000", price: str = "1.0") -> dict:
    return {
        "client_order_id": coid,
        "venue_order_id": None,
        "instrument_id": INSTR,
        "strategy_id": "S-1",
        "side": side,
        "type": "LIMIT",
        "quantity": qty,
        "filled_qty": "0",
        "status": "SUBMITTED",
        "time_in_force": "GTC",
        "price": price,
    }


def fill(coid: str, side: str, qty: str, px: str, trade: str) -> dict:
    return {
        "client_order_id": coid,
        "venue_order_id": f"V-{coid}",
        "instrument_id": INSTR,
        "order_side": side,
        "last_qty": qty,
        "last_px": px,
        "trade_id": trade,
        "ts_event": 1,
    }


def test_book_folds_accept_partial_fill_cancel_and_positions() -> None:
    book = VenueBook("SIM")
    assert book.apply(
        "OrderAccepted", {"client_order_id": "A", "venue_order_id": "V-A"}, order_dict("A")
    )
    assert book.orders["A"].status == "ACCEPTED"
    assert book.apply("OrderFilled", fill("A", "BUY", "40000", "1.1", "T1"))
    assert book.orders["A"].status == "PARTIALLY_FILLED"
    assert book.orders["A"].filled_qty == "40000"
    assert not book.apply("OrderFilled", fill("A", "BUY", "40000", "1.1", "T1")), "a replayed trade"
    assert book.apply("OrderFilled", fill("A", "BUY", "60000", "1.2", "T2"))
    assert "A" not in book.orders
    pos = book.positions[INSTR]
    assert Decimal(pos.net) == 100000 and Decimal(pos.avg_px or 0) == Decimal("1.16")
    book.apply("OrderAccepted", {"client_order_id": "B"}, order_dict("B", "SELL"))
    assert book.apply("OrderCanceled", {"client_order_id": "B"})
    assert not book.orders
    book.apply(
        "OrderFilled", fill("C", "SELL", "150000", "1.3", "T3"), order_dict("C", "SELL", "150000")
    )
    assert book.positions[INSTR].side == "SHORT"
    assert Decimal(book.positions[INSTR].avg_px or 0) == Decimal("1.3"), "crossing flat: new price"


def test_book_round_trips_and_store_is_atomic(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    book = VenueBook("SIM")
    book.apply("OrderAccepted", {"client_order_id": "A", "venue_order_id": "V"}, order_dict("A"))
    book.apply("OrderFilled", fill("X", "BUY", "1000", "1.1", "T"), order_dict("X", qty="1000"))
    save_book(ws, "n1", book)
    again = load_book(ws, "n1", "SIM")
    assert again.to_dict() == book.to_dict()
    assert load_book(ws, "n1", "OTHER").orders == {}, "a venue that never held anything"
    path = tmp_path / "state" / "n1" / "venue-SIM.json"
    path.write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(VenueStateError, match="schema_version"):
        load_book(ws, "n1", "SIM")
    assert reset_books(ws, "n1") == ["SIM"]
    assert not path.exists()


def env(seq: int, kind: str, type: str, payload: dict) -> Envelope:
    return Envelope(seq, seq, "n", "r", kind, type, payload)


def test_journal_view_folds_from_the_last_baseline() -> None:
    old = StateView("journal", {"OLD": facts()}, {INSTR: "7"})
    base = view_to_baseline(baseline_view("journal", view_to_baseline(old)))
    envs = [
        env(1, "order", "OrderInitialized", {"client_order_id": "GONE", "quantity": "1"}),
        env(2, "node", STATE_BASELINE, {"baseline": base}),
        env(
            3,
            "order",
            "OrderInitialized",
            {"client_order_id": "A", "quantity": "10", "order_side": "BUY", "instrument_id": INSTR},
        ),
        env(4, "order", "OrderAccepted", {"client_order_id": "A", "venue_order_id": "V"}),
        env(5, "order", "OrderFilled", {**fill("A", "BUY", "4", "1", "T"), "client_order_id": "A"}),
        env(6, "order", "OrderPendingCancel", {"client_order_id": "A"}),
        env(7, "order", "OrderCancelRejected", {"client_order_id": "A"}),
    ]
    view = journal_view(envs)
    assert set(view.working()) == {"A", "OLD"}
    assert view.orders["A"].status == "PARTIALLY_FILLED" and view.orders["A"].filled_qty == "4"
    assert view.positions == {INSTR: "11"}
    accepted = env(
        8, "node", RECONCILIATION_ACCEPTED, {"baseline": {"orders": {}, "positions": {}}}
    )
    assert journal_view([*envs, accepted]).working() == {}


def facts(
    status: str = "ACCEPTED", filled: str = "0", qty: str = "10", vid: str | None = "V"
) -> OrderFacts:
    return OrderFacts(status, status not in ("CANCELED", "FILLED"), INSTR, "BUY", qty, filled, vid)


def test_agreeing_views_let_the_node_run() -> None:
    j = StateView("journal", {"A": facts()}, {INSTR: "5"})
    c = StateView("cache", {"A": facts(), "Z": facts("FILLED")}, {INSTR: "5"})
    v = StateView("venue", {"A": facts()}, {INSTR: "5.0"})
    result = reconcile(j, c, v)
    assert result.agree, result.to_dict()
    assert [r.key for r in result.orders] == ["A"] and result.positions[0].venue == "long 5"
    assert Reconciliation.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_each_kind_of_difference_is_a_row_that_disagrees() -> None:
    j = StateView("journal", {"A": facts(vid="VA"), "B": facts()}, {INSTR: "5"})
    # the cache: B lost, a synthetic opposite fill flattened the position, C duplicated as D
    c = StateView("cache", {"A": facts(vid="VA"), "C": facts(vid="VC"), "D": facts(vid="VC")}, {})
    v = StateView(
        "venue",
        {"A": facts(filled="3", vid="VA"), "B": facts(), "C": facts(vid="VC")},
        {INSTR: "5"},
    )
    result = reconcile(j, c, v)
    rows = {r.key: r for r in result.orders}
    assert not result.agree
    assert rows["A"].note == "filled_qty differs"
    assert rows["B"].cache == "-" and "journal, venue" in rows["B"].note
    assert rows["D"].note.startswith("duplicated")
    assert result.positions[0].cache == "flat" and not result.positions[0].agree
    assert result.summary() == "4 orders and 1 position differ"


def test_an_unreadable_source_never_agrees() -> None:
    broken = StateView("venue", available=False, problem="cannot read")
    result = reconcile(StateView("journal"), StateView("cache"), broken)
    assert not result.agree and result.summary() == "venue: cannot read"


sides = st.sampled_from(["BUY", "SELL"])
qtys = st.integers(min_value=1, max_value=10).map(lambda n: str(n * 1000))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["acc", "fill", "cancel"]), st.integers(0, 4), sides, qtys),
        max_size=30,
    )
)
def test_book_and_journal_agree_on_any_event_sequence(
    steps: list[tuple[str, int, str, str]],
) -> None:
    """The venue's fold and the journal's fold of the same events never disagree."""
    book = VenueBook("SIM")
    envs: list[Envelope] = []
    seq = 0
    known: dict[str, dict] = {}
    for n, (what, i, side, qty) in enumerate(steps):
        coid = f"O-{i}"
        if what == "acc" and coid not in known:
            known[coid] = order_dict(coid, side, qty)
            init = {
                "client_order_id": coid,
                "order_side": side,
                "quantity": qty,
                "instrument_id": INSTR,
            }
            accepted = {"client_order_id": coid, "venue_order_id": f"V-{i}"}
            book.apply("OrderAccepted", accepted, known[coid])
            envs += [
                env(seq + 1, "order", "OrderInitialized", init),
                env(seq + 2, "order", "OrderAccepted", accepted),
            ]
            seq += 2
        elif what == "fill" and coid in book.orders:
            o = book.orders[coid]
            last = str(min(Decimal(qty), o.leaves))
            event = fill(coid, o.side, last, "1.1", f"T{n}")
            book.apply("OrderFilled", event)
            seq += 1
            envs.append(env(seq, "order", "OrderFilled", event))
        elif what == "cancel" and coid in book.orders:
            book.apply("OrderCanceled", {"client_order_id": coid})
            seq += 1
            envs.append(env(seq, "order", "OrderCanceled", {"client_order_id": coid}))
    venue = venue_view([VenueBook.from_dict(json.loads(json.dumps(book.to_dict())))])
    journal = journal_view(envs)
    cache = StateView("cache", venue.orders, venue.positions)
    result = reconcile(journal, cache, venue)
    assert result.agree, result.to_dict()


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=12,
    )
)
def test_a_stored_venue_book_is_read_or_refused_never_crashes(data: object) -> None:
    """Whatever a venue file holds: a book, or a ValueError naming what is wrong."""
    from engine.recovery.venue_book import SCHEMA_VERSION

    for doc in (
        data,
        {"schema_version": SCHEMA_VERSION, "venue": "SIM", "orders": data},
        {"schema_version": SCHEMA_VERSION, "venue": "SIM", "positions": data},
    ):
        try:
            book = VenueBook.from_dict(doc) if isinstance(doc, dict) else None
        except ValueError:
            continue
        if book is not None:
            book.open_positions()
            venue_view([book])


@given(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.lists(st.text(max_size=3))
)
def test_the_reconcile_command_accepts_venue_or_nothing(value: object) -> None:
    from engine.recovery.host_recovery import check_accept

    problem = check_accept(value)
    assert (problem is None) == (value is None or value == "venue")
    if problem is not None:
        assert problem.startswith("accept: got")


def test_carry_over_folds_the_latest_journal_with_state_and_counts_every_run(
    tmp_path: Path,
) -> None:
    from engine.journal import JournalWriter
    from engine.recovery.host_recovery import carry_over
    from engine.runs import create_run, list_runs, update_meta

    ws = Workspace(tmp_path).ensure()

    def run(rid: str, events: list[tuple[str, str, dict]], seq_base: int | None = None) -> None:
        r = create_run(ws, "n1", "sandbox", run_id=rid)
        if seq_base is not None:
            update_meta(r.path, extra={"seq_base": seq_base})
        with JournalWriter(r.path, "n1", rid) as w:
            for kind, type_, payload in events:
                w.append(kind, type_, payload)

    init = {"client_order_id": "A", "quantity": "5", "order_side": "BUY", "instrument_id": INSTR}
    run(
        "20260101T000000000Z-aaaaaa",
        [
            ("node", "NodeStateChanged", {}),
            ("order", "OrderInitialized", init),
            ("order", "OrderAccepted", {"client_order_id": "A"}),
        ],
        seq_base=0,
    )
    # a run that failed before it started: no state of its own, its events still count
    run("20260101T000001000Z-bbbbbb", [("node", "NodeStateChanged", {}), ("node", "NodeError", {})])
    runs = list_runs(ws, "n1")
    carried, last_seq, base = carry_over(runs)
    assert set(carried.working()) == {"A"}
    assert (last_seq, base) == (2, 3 + 2)
    carried, _, base = carry_over(runs, reset_after="20260101T000001000Z-bbbbbb")
    assert carried.working() == {} and base == 5, "a reset carries no state, the seq goes on"
    run(
        "20260101T000002000Z-cccccc",
        [
            (
                "node",
                STATE_BASELINE,
                {"baseline": view_to_baseline(StateView("journal", {"B": facts()}))},
            )
        ],
        seq_base=5,
    )
    carried, last_seq, base = carry_over(
        list_runs(ws, "n1"), reset_after="20260101T000001000Z-bbbbbb"
    )
    assert set(carried.working()) == {"B"} and (last_seq, base) == (1, 6)


def test_orders_no_venue_has_seen_are_not_compared_as_working() -> None:
    init = {"client_order_id": "E", "quantity": "1", "order_side": "BUY", "instrument_id": INSTR}
    view = journal_view(
        [
            env(1, "order", "OrderInitialized", init),
            env(2, "order", "OrderEmulated", {"client_order_id": "E"}),
        ]
    )
    assert view.working() == {}
    assert reconcile(view, StateView("cache"), StateView("venue")).agree


def test_the_venue_log_replays_to_the_same_book_and_drops_a_cut_off_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changes are appended, not the whole book rewritten; a kill mid-line loses only it."""
    from engine.recovery import venue_store
    from engine.recovery.venue_store import VenueLog, log_path

    monkeypatch.setattr(venue_store, "COMPACT_EVERY", 3)  # compactions happen in the run
    ws = Workspace(tmp_path)
    book, log = VenueBook("SIM"), VenueLog(ws, "n1")
    for i in range(8):
        coid = f"A{i}"
        event = {"client_order_id": coid, "venue_order_id": f"V{i}"}
        assert book.apply("OrderAccepted", event, order_dict(coid))
        log.append(book, {"type": "OrderAccepted", "event": event, "order": order_dict(coid)})
        again = load_book(ws, "n1", "SIM")
        assert again.to_dict() == book.to_dict(), i
    assert book.set_balances([{"total": "5", "locked": "0", "free": "5"}])
    log.append(book, {"balances": book.balances})
    assert load_book(ws, "n1", "SIM").to_dict() == book.to_dict()
    whole = book.to_dict()
    with log_path(ws, "n1", "SIM").open("ab") as fh:  # a kill in the middle of a line
        fh.write(b'{"type":"OrderCanceled","event":{"client_order_id":"A7"')
    assert load_book(ws, "n1", "SIM").to_dict() == whole
    assert reset_books(ws, "n1") == ["SIM"]
    assert not log_path(ws, "n1", "SIM").exists()
