"""The events of a run that still shape its present state, picked out of its whole journal.

A client that attaches to a running node reads only the recent end of its journal (the
event log's worth), so an order placed hours ago and still working, or a position opened
then, would be missing from what it shows. Folding the whole journal on the client's
event loop is not an option for a long run; instead this picks, in a worker thread, the
few events needed to rebuild the state as of a seq: every event of each order still
working then (and of the last closed ones), the last event of each position, the node's
state changes, its last trading state, the alerts still active and the last metrics
sample. They are the node's own events, so any fold of them (the console's, the CLI's)
gives the state the full journal gives.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from engine.events.envelope import Envelope
from engine.orders.status import OrderRow, apply_event

KEEP_CLOSED = 200  # closed orders and positions kept: what the console's panes keep


def present_events(
    envelopes: Iterable[Envelope], *, keep_closed: int = KEEP_CLOSED
) -> list[Envelope]:
    """Return the events of ``envelopes`` that a fold needs to reach their end state, in
    seq order.

    Parameters
    ----------
    envelopes : Iterable[Envelope]
        One run's events in seq order (a journal read from its start).
    keep_closed : int, optional
        Closed orders and positions whose events are kept (the latest ones).
    """
    working: dict[str, tuple[OrderRow, list[Envelope]]] = {}
    closed: OrderedDict[str, list[Envelope]] = OrderedDict()
    positions: OrderedDict[str, Envelope] = OrderedDict()
    alerts: dict[str, Envelope] = {}
    node_states: list[Envelope] = []
    last: dict[str, Envelope] = {}  # trading state, metrics sample
    for env in envelopes:
        kind = env.kind
        if kind == "order":
            _order(env, working, closed, keep_closed)
        elif kind == "position":
            pid = str(env.payload.get("position_id", "?"))
            positions.pop(pid, None)
            positions[pid] = env
            if len(positions) > keep_closed:
                _drop_oldest_closed(positions)
        elif kind == "node" and env.type == "NodeStateChanged":
            node_states.append(env)
        elif kind == "risk" and env.type == "TradingStateChanged":
            last["trading_state"] = env
        elif kind == "metric":
            last["metric"] = env
        elif kind == "alert":
            alert_id = str(env.payload.get("alert_id", ""))
            if env.type == "AlertRaised":
                alerts[alert_id] = env
            elif env.type == "AlertResolved":
                alerts.pop(alert_id, None)
    picked: list[Envelope] = [*node_states, *positions.values(), *alerts.values()]
    picked.extend(last.values())
    for events in closed.values():
        picked.extend(events)
    for _row, events in working.values():
        picked.extend(events)
    picked.sort(key=lambda e: e.seq)
    return picked


def _order(
    env: Envelope,
    working: dict[str, tuple[OrderRow, list[Envelope]]],
    closed: OrderedDict[str, list[Envelope]],
    keep_closed: int,
) -> None:
    coid = env.payload.get("client_order_id")
    if not isinstance(coid, str):
        return
    if coid in closed:  # a late event of a closed order (a fill after a cancel request …)
        closed[coid].append(env)
        closed.move_to_end(coid)
        return
    row, events = working.get(coid, (None, []))
    new = apply_event(row, env)
    if new is None:
        return
    events.append(env)
    if new.is_open:
        working[coid] = (new, events)
        return
    working.pop(coid, None)
    closed[coid] = events
    while len(closed) > keep_closed:
        closed.popitem(last=False)


def _drop_oldest_closed(positions: OrderedDict[str, Envelope]) -> None:
    """Drop the least recently changed closed position (open ones always stay)."""
    for pid, env in positions.items():
        if env.type == "PositionClosed":
            del positions[pid]
            return


def journal_present_events(
    run_dir: Path, upto_seq: int, *, keep_closed: int = KEEP_CLOSED
) -> list[Envelope]:
    """:func:`present_events` of a run's journal up to and including ``upto_seq``.

    Blocking (reads the whole journal up to there): call it from a worker thread.
    """
    from engine.journal import JournalReader

    def upto(reader: JournalReader) -> Iterable[Envelope]:
        seq = 0
        while seq < upto_seq:
            batch = reader.read(seq, min(4096, upto_seq - seq))
            if not batch:
                return
            yield from (e for e in batch if e.seq <= upto_seq)
            seq = batch[-1].seq

    if upto_seq <= 0:
        return []
    with JournalReader(run_dir) as reader:
        return present_events(upto(reader), keep_closed=keep_closed)
