"""Build the three views :func:`engine.recovery.reconcile.reconcile` compares.

- the journal's: a fold of a run's order events from its last baseline (the state the run
  started from, its ``StateBaseline`` event, or the venue's view the user accepted, in
  ``ReconciliationAccepted``);
- Nautilus's cache: its open orders and open positions (duck-typed: no Nautilus import);
- the venue's: the sandbox venue's books (``engine.recovery.venue_book``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.events.envelope import Envelope
from engine.orders.status import CLOSED_STATUSES, ORDER_RESTORED, OrderRow, OrderStatusTable
from engine.recovery.reconcile import OrderFacts, StateView

if TYPE_CHECKING:
    from engine.recovery.venue_book import VenueBook

STATE_BASELINE = "StateBaseline"  # a run's first state: what its previous run's journal ended in
RECONCILIATION = "Reconciliation"  # the comparison after a restart (not a baseline)
RECONCILIATION_ACCEPTED = "ReconciliationAccepted"  # the venue's view, adopted by the user
BASELINES = frozenset({STATE_BASELINE, RECONCILIATION_ACCEPTED})
# Orders the node holds that no venue has seen yet (not sent, or held by the emulator):
# compared as not working, since a venue cannot report them.
LOCAL_STATUSES = frozenset({"INITIALIZED", "EMULATED", "RELEASED"})


def view_to_baseline(view: StateView) -> dict[str, Any]:
    """A view as the ``baseline`` a run's journal starts from (working orders only)."""
    return {
        "orders": {k: asdict(o) for k, o in view.working().items()},
        "positions": {i: n for i, n in view.positions.items() if Decimal(n) != 0},
    }


def baseline_view(source: str, baseline: Mapping[str, Any]) -> StateView:
    orders = {str(k): OrderFacts(**v) for k, v in dict(baseline.get("orders", {})).items()}
    positions = {str(k): str(v) for k, v in dict(baseline.get("positions", {})).items()}
    return StateView(source, orders, positions)


class JournalFold:
    """The journal's view, folded incrementally: feed envelopes in seq order as they come
    (a node host re-reads only what its journal gained since the last comparison).

    Orders go through the engine's one order fold (``engine.orders.status``), the one
    every front end shows; a baseline's orders enter it as ``OrderRestored`` events. Only
    the net position per instrument (from fills) is this fold's own.
    """

    def __init__(self, baseline: Mapping[str, Any] | None = None) -> None:
        self.table = OrderStatusTable()
        self.nets: dict[str, Decimal] = {}
        self.last_seq = 0
        if baseline is not None:
            self._reset(baseline)

    def _reset(self, baseline: Mapping[str, Any]) -> None:
        start = baseline_view("journal", baseline)
        self.table = OrderStatusTable()
        self.table.apply(
            Envelope(0, 0, "", "", "order", ORDER_RESTORED, _restored(coid, facts))
            for coid, facts in start.orders.items()
        )
        self.nets = {i: Decimal(n) for i, n in start.positions.items()}

    def feed(self, envelopes: Iterable[Envelope]) -> JournalFold:
        for env in envelopes:
            self.last_seq = env.seq
            if env.type in BASELINES and isinstance(env.payload.get("baseline"), dict):
                self._reset(env.payload["baseline"])
            elif env.kind == "order" and env.type != ORDER_RESTORED:
                # (OrderRestored is the cache's word, journaled for the front ends: the
                # journal's view must stay its own to be compared with the cache's.)
                self.table.apply((env,))
                if env.type == "OrderFilled":
                    self._fill(env.payload)
        return self

    def _fill(self, p: Mapping[str, Any]) -> None:
        row = self.table.get(str(p.get("client_order_id") or ""))
        qty = Decimal(str(p.get("last_qty") or "0"))
        side = str(p.get("order_side") or (row.side if row else ""))
        instrument = str(p.get("instrument_id") or (row.instrument_id if row else ""))
        self.nets[instrument] = self.nets.get(instrument, Decimal(0)) + (
            qty if side == "BUY" else -qty
        )

    @property
    def orders(self) -> dict[str, OrderFacts]:
        return {row.client_order_id: _facts(row) for row in self.table.rows()}

    def view(self) -> StateView:
        positions = {i: f"{n.normalize():f}" for i, n in self.nets.items() if n != 0}
        return StateView("journal", self.orders, positions)


def _restored(coid: str, facts: OrderFacts) -> dict[str, Any]:
    return {
        "client_order_id": coid,
        "instrument_id": facts.instrument_id,
        "order_side": facts.side,
        "quantity": facts.quantity,
        "filled_qty": facts.filled_qty,
        "venue_order_id": facts.venue_order_id,
        "status": facts.status,
    }


def _facts(row: OrderRow) -> OrderFacts:
    filled = _dec_or_none(row.filled_qty)
    return OrderFacts(
        row.status,
        row.status not in CLOSED_STATUSES and row.status not in LOCAL_STATUSES,
        row.instrument_id,
        row.side,
        row.quantity,
        None if filled is None else f"{filled.normalize():f}",
        row.venue_order_id,
    )


def _dec_or_none(value: str | None) -> Decimal | None:
    try:
        return None if value is None else Decimal(value)
    except ArithmeticError:
        return None


def journal_view(
    envelopes: Iterable[Envelope], baseline: Mapping[str, Any] | None = None
) -> StateView:
    """Fold a run's envelopes (in seq order) from its last baseline event."""
    return JournalFold(baseline).feed(envelopes).view()


def cache_view(cache: Any) -> StateView:
    """Nautilus's cache: its open and in-flight orders, its open positions netted per
    instrument."""
    orders: dict[str, OrderFacts] = {}
    for order in [*cache.orders_open(), *cache.orders_inflight()]:
        if order.status_string() in LOCAL_STATUSES:
            continue
        orders[order.client_order_id.value] = OrderFacts(
            order.status_string(),
            True,
            order.instrument_id.value,
            order.side_string(),
            str(order.quantity),
            str(order.filled_qty),
            None if order.venue_order_id is None else order.venue_order_id.value,
        )
    nets: dict[str, Decimal] = {}
    for position in cache.positions_open():
        key = position.instrument_id.value
        nets[key] = nets.get(key, Decimal(0)) + Decimal(str(position.signed_qty))
    return StateView("cache", orders, {i: f"{n.normalize():f}" for i, n in nets.items() if n != 0})


def venue_view(books: Iterable[VenueBook]) -> StateView:
    orders: dict[str, OrderFacts] = {}
    positions: dict[str, str] = {}
    for book in books:
        for o in book.orders.values():
            orders[o.client_order_id] = OrderFacts(
                o.status, True, o.instrument_id, o.side, o.quantity, o.filled_qty, o.venue_order_id
            )
        for key, p in book.open_positions().items():
            positions[key] = f"{Decimal(p.net).normalize():f}"
    return StateView("venue", orders, positions)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)
