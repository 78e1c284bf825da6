"""Give Nautilus's sandbox venue a memory that survives a restart or a kill -9.

Nautilus 1.231's ``SandboxExecutionClient`` runs a backtest ``SimulatedExchange`` in a live
node: its working orders live only in the matching engines' memory, and its reports
(``generate_order_status_reports``, ``generate_position_status_reports``) are empty, so
after a restart the venue has forgotten everything and Nautilus's reconciliation has
nothing to reconcile against. :class:`SandboxVenueMemory`:

- records every event the venue generates into its :class:`VenueBook`, stored atomically
  before the node applies the event (``engine.feed.sandbox.apply_sandbox_events_inline``'s
  ``before`` hook), and the account's balances after each fill;
- answers Nautilus's reconciliation with reports built from the stored book (the node's
  ``LiveExecEngineConfig.reconciliation`` is on by default), so a node whose cache was lost
  gets its orders and positions back from the venue, as against a real venue;
- once Nautilus has reconciled and before any strategy starts, puts the working orders
  back into the matching engines
  (``OrderMatchingEngine.accept_order``: an ACCEPTED order is re-added without a new event)
  and the balances back into the account.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.recovery.venue_book import VenueBook
from engine.recovery.venue_store import VenueLog, load_book
from engine.workspace import Workspace

Publish = Callable[..., Any]


def sandbox_clients(kernel: Any) -> dict[str, Any]:
    """The node's sandbox execution clients by venue name."""
    from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient

    clients = getattr(kernel.exec_engine, "_clients", {})  # no public accessor in 1.231
    return {c.venue.value: c for c in clients.values() if isinstance(c, SandboxExecutionClient)}


class SandboxVenueMemory:
    """The stored books of a node's sandbox venues, and their glue into the running node.

    Parameters
    ----------
    workspace, node_id
        Where the books are stored (``engine.recovery.venue_store``).
    venues
        The node's sandbox venue names.
    publish
        ``publish(kind, type, payload)``: a book that cannot be stored is reported.
    """

    def __init__(
        self, workspace: Workspace, node_id: str, venues: list[str], publish: Publish
    ) -> None:
        self.workspace = workspace
        self.node_id = node_id
        self.publish = publish
        self.books = {v: load_book(workspace, node_id, v) for v in venues}
        self.log = VenueLog(workspace, node_id)
        # What the venues held when the host started (the venue's view for reconciliation).
        self.at_start = {v: copy.deepcopy(b) for v, b in self.books.items()}
        self.clients: dict[str, Any] = {}
        self.cache: Any = None
        self.armed = (
            False  # records only once restored: reconciliation's events are not the venue's
        )

    # -- wiring --------------------------------------------------------------------------
    def attach(self, kernel: Any) -> bool:
        """Record the venue's events and answer reconciliation from the books."""
        from engine.feed.sandbox import apply_sandbox_events_inline

        self.cache = kernel.cache
        self.clients = {v: c for v, c in sandbox_clients(kernel).items() if v in self.books}
        for venue, client in self.clients.items():
            self._install_reports(venue, client)
        return apply_sandbox_events_inline(kernel, before=self.record, after=self.after)

    def _install_reports(self, venue: str, client: Any) -> None:
        async def order_reports(command: Any) -> list[Any]:
            return self.order_reports(venue, client, getattr(command, "instrument_id", None))

        async def order_report(command: Any) -> Any:
            coid = getattr(command, "client_order_id", None)
            reports = self.order_reports(venue, client, None)
            return next(
                (r for r in reports if coid is not None and r.client_order_id == coid), None
            )

        async def position_reports(command: Any) -> list[Any]:
            return self.position_reports(venue, client, getattr(command, "instrument_id", None))

        # Instance attributes shadow the class's empty answers (plain Python methods).
        client.generate_order_status_reports = order_reports
        client.generate_order_status_report = order_report
        client.generate_position_status_reports = position_reports

    # -- recording -----------------------------------------------------------------------
    def _book_for(self, event: Any) -> VenueBook | None:
        instrument_id = getattr(event, "instrument_id", None)
        if instrument_id is None:
            return None
        return self.books.get(instrument_id.venue.value)

    def record(self, event: Any) -> None:
        """Fold a venue event into its book and store the book, before the node sees it."""
        if not self.armed:
            return
        book = self._book_for(event)
        if book is None:
            return
        from engine.host.actor import event_payload

        order = self.cache.order(event.client_order_id) if self.cache is not None else None
        kind, payload = type(event).__name__, event_payload(event)
        snapshot = order.to_dict() if order else None
        if book.apply(kind, payload, snapshot):
            self._store(book, {"type": kind, "event": payload, "order": snapshot})

    def after(self, event: Any) -> None:
        """After a fill is applied: the account's balances as the venue now holds them."""
        if not self.armed or type(event).__name__ != "OrderFilled":
            return
        book = self._book_for(event)
        balances = self._balances(book.venue) if book is not None else []
        if book is not None and book.set_balances(balances):
            self._store(book, {"balances": balances})

    def _balances(self, venue: str) -> list[dict[str, str]]:
        from nautilus_trader.model.identifiers import Venue

        account = self.cache.account_for_venue(Venue(venue))
        if account is None:
            return []
        return [
            {"total": str(b.total), "locked": str(b.locked), "free": str(b.free)}
            for b in account.balances().values()
        ]

    def _store(self, book: VenueBook, op: dict[str, Any]) -> None:
        try:
            self.log.append(book, op)
        except Exception as exc:  # the node goes on; the next reconciliation shows the gap
            self.publish(
                "node",
                "VenueStateNotStored",
                {"venue": book.venue, "message": f"{type(exc).__name__}: {exc}"},
            )

    # -- reports -------------------------------------------------------------------------
    def order_reports(self, venue: str, client: Any, instrument_id: Any) -> list[Any]:
        from nautilus_trader.core.uuid import UUID4
        from nautilus_trader.execution.reports import OrderStatusReport
        from nautilus_trader.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
        from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, VenueOrderId
        from nautilus_trader.model.objects import Price, Quantity

        now = client._clock.timestamp_ns()
        out = []
        for o in self.books[venue].orders.values():
            if instrument_id is not None and o.instrument_id != instrument_id.value:
                continue
            out.append(
                OrderStatusReport(
                    account_id=client.account_id,
                    instrument_id=InstrumentId.from_str(o.instrument_id),
                    venue_order_id=VenueOrderId(o.venue_order_id or o.client_order_id),
                    order_side=OrderSide[o.side],
                    order_type=OrderType[o.type],
                    time_in_force=TimeInForce[o.time_in_force],
                    order_status=OrderStatus[o.status],
                    quantity=Quantity.from_str(o.quantity),
                    filled_qty=Quantity.from_str(o.filled_qty),
                    report_id=UUID4(),
                    ts_accepted=o.ts_last,
                    ts_last=o.ts_last,
                    ts_init=now,
                    client_order_id=ClientOrderId(o.client_order_id),
                    price=None if o.price is None else Price.from_str(o.price),
                    trigger_price=None
                    if o.trigger_price is None
                    else Price.from_str(o.trigger_price),
                    post_only=o.post_only,
                    reduce_only=o.reduce_only,
                )
            )
        return out

    def position_reports(self, venue: str, client: Any, instrument_id: Any) -> list[Any]:
        from nautilus_trader.core.uuid import UUID4
        from nautilus_trader.execution.reports import PositionStatusReport
        from nautilus_trader.model.enums import PositionSide
        from nautilus_trader.model.identifiers import InstrumentId
        from nautilus_trader.model.objects import Quantity

        now = client._clock.timestamp_ns()
        out = []
        for key, p in self.books[venue].open_positions().items():
            if instrument_id is not None and key != instrument_id.value:
                continue
            net = Decimal(p.net)
            out.append(
                PositionStatusReport(
                    account_id=client.account_id,
                    instrument_id=InstrumentId.from_str(key),
                    position_side=PositionSide.LONG if net > 0 else PositionSide.SHORT,
                    quantity=Quantity.from_str(f"{abs(net).normalize():f}"),
                    report_id=UUID4(),
                    ts_last=p.ts_last,
                    ts_init=now,
                    avg_px_open=None if p.avg_px is None else Decimal(p.avg_px),
                )
            )
        return out

    # -- restore -------------------------------------------------------------------------
    def restore(self) -> dict[str, Any]:
        """Put the books' working orders back into the matching engines, the balances into
        the accounts; then record from here on. Returns what was restored and what not."""
        restored: list[str] = []
        missing: list[str] = []
        for venue, book in self.books.items():
            client = self.clients.get(venue)
            if client is None:
                missing.extend(book.orders)
                continue
            for coid in list(book.orders):
                if self._reinstate(client, coid):
                    restored.append(coid)
                else:
                    missing.append(coid)
            self._restore_balances(client, book)
        self.armed = True
        return {"orders_restored": restored, "orders_not_restored": missing}

    def _reinstate(self, client: Any, coid: str) -> bool:
        from nautilus_trader.model.identifiers import ClientOrderId

        order = self.cache.order(ClientOrderId(coid))
        if order is None or not order.is_open:
            return False
        engine = client.exchange.get_matching_engine(order.instrument_id)
        if engine is None:
            return False
        if not engine.order_exists(order.client_order_id):
            engine.accept_order(order)  # ACCEPTED: re-added without a new event
        return bool(engine.order_exists(order.client_order_id))

    def _restore_balances(self, client: Any, book: VenueBook) -> None:
        if not book.balances:
            return
        from nautilus_trader.model.objects import AccountBalance, Money

        with contextlib.suppress(Exception):  # a bad stored balance leaves the starting ones
            balances = [
                AccountBalance(
                    Money.from_str(b["total"]),
                    Money.from_str(b["locked"]),
                    Money.from_str(b["free"]),
                )
                for b in book.balances
            ]
            client.generate_account_state(balances, [], True, client._clock.timestamp_ns())
