"""A trading node host's recovery: carry the journal's state over, restore, reconcile.

In the node host, around the node's start (``engine.host.trading``):

1. :meth:`NodeRecovery.before_start`: find the node's previous run (a restarted host is a
   new run of the same node), fold its journal into the state it ended in, and journal that
   as this run's ``StateBaseline`` with the node-level sequence (``seq_base``: the events of
   every earlier run, so ``seq_base + seq`` continues across runs without gap or repeat).
2. Nautilus builds (restoring its cache from Redis when configured) and reconciles with the
   venue's reports (``engine.recovery.sandbox_venue`` answers them for a sandbox venue).
3. :meth:`NodeRecovery.on_trader_start` (the gateway actor's start, before any strategy's):
   put the venue's working orders back into its matching engines, record from then on,
   compare journal, cache and venue (``engine.recovery.reconcile``) and journal the
   ``Reconciliation``; the node trades when they agree, is HALTED when not, before any
   strategy can send an order.

The ``reconcile`` channel command (:meth:`NodeRecovery.command`) compares the three views
again now, or accepts the venue's view.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from engine.orders.status import ORDER_RESTORED, restored_order_payload
from engine.recovery.reconcile import Reconciliation, StateView, reconcile
from engine.recovery.views import (
    BASELINES,
    RECONCILIATION,
    RECONCILIATION_ACCEPTED,
    STATE_BASELINE,
    JournalFold,
    cache_view,
    journal_view,
    venue_view,
    view_to_baseline,
)
from engine.runs import list_runs, read_meta, update_meta, write_json

if TYPE_CHECKING:
    from engine.config.model import NodeConfig
    from engine.host.host import NodeHost
    from engine.runs import Run

RECONCILIATION_FILE = "reconciliation.json"
WHO = "reconciliation"


def check_accept(value: Any) -> str | None:
    """What is wrong with a ``reconcile`` command's ``accept`` (None: nothing)."""
    if value is None or value == "venue":
        return None
    return f"accept: got {str(value)[:60]!r}, expected 'venue' or nothing"


def carry_over(previous: list[Run], reset_after: str | None = None) -> tuple[StateView, int, int]:
    """From a node's earlier runs (oldest first): the state its journals end in, the last
    run's last seq, and the node-level seq base of the next run.

    The state is the fold of the latest run that journaled any (a run that failed before
    it started journals none: the one before it still holds the state). The seq base is the
    number of events of every earlier run, from the latest run that recorded its own base.
    Runs up to ``reset_after`` (``gateway nodes state --reset``) carry no state over.
    """
    from engine.journal import JournalReader

    seqs: list[int] = []
    base_done = False
    total = 0
    carried: StateView | None = None
    for run in reversed(previous):
        reader = JournalReader(run.path)
        try:
            if not base_done:
                seq = reader.last_seq()
                seqs.append(seq)
                total += seq
                base = run.meta.extra.get("seq_base")
                if isinstance(base, int):
                    total += base
                    base_done = True
            if carried is None and reset_after is not None and run.run_id <= reset_after:
                carried = StateView("journal")  # reset: nothing carried from here back
            if carried is None:
                envelopes = reader.read()
                if any(e.type in BASELINES or e.kind == "order" for e in envelopes):
                    carried = journal_view(envelopes)
        finally:
            reader.close()
        if base_done and carried is not None:
            break
    return carried or StateView("journal"), (seqs[0] if seqs else 0), total


class NodeRecovery:
    """One run's recovery (see the module docstring)."""

    def __init__(self, host: NodeHost, node: NodeConfig) -> None:
        from engine.recovery.sandbox_venue import SandboxVenueMemory

        self.host = host
        self.node = node
        venues = [c.name for c in node.exec_clients if c.adapter == "sandbox"]
        self.memory = (
            SandboxVenueMemory(host.workspace, node.node_id, venues, host.publish)
            if venues
            else None
        )
        self.cache: Any = None
        self.last: Reconciliation | None = None
        self.previous_run_id: str | None = None
        self.restored: dict[str, Any] = {}
        self.fold = JournalFold()  # this run's journal, folded as far as it was read
        self.reconciled: Reconciliation | None = None

    # -- 1. before the node starts -----------------------------------------------------
    def before_start(self) -> None:
        previous = [
            r
            for r in list_runs(self.host.workspace, self.node.node_id)
            if r.run_id < self.host.run_id and r.meta.mode == self.host.mode
        ]
        from engine.recovery.venue_store import reset_after

        reset = reset_after(self.host.workspace, self.node.node_id)
        carried, last_seq, seq_base = carry_over(previous, reset)
        if previous:
            self.previous_run_id = previous[-1].run_id
        with contextlib.suppress(Exception):  # meta is informative; the event is the truth
            meta = read_meta(self.host.run_dir)
            extra = dict(meta.extra) if meta else {}
            update_meta(self.host.run_dir, extra={**extra, "seq_base": seq_base})
        self.host.publish(
            "node",
            STATE_BASELINE,
            {
                "baseline": view_to_baseline(carried),
                "previous_run_id": self.previous_run_id,
                "previous_last_seq": last_seq,
                "seq_base": seq_base,
            },
        )

    def attach(self, kernel: Any) -> bool:
        """Record the sandbox venues' events and answer reconciliation from their books."""
        self.cache = kernel.cache
        if self.memory is None:
            return False
        return self.memory.attach(kernel)

    # -- 3. once the node runs -----------------------------------------------------------
    def on_trader_start(self) -> None:
        """When the trader starts: Nautilus has loaded its cache and reconciled it with the
        venue's reports, the gateway actor starts, no strategy has yet. The venue's orders
        go back into its matching engines (it records from here on), then journal, cache
        and venue are compared: a node whose views differ is HALTED before any strategy
        can send an order, and one whose views agree never halts at all."""
        if self.reconciled is not None:
            return
        try:
            if self.memory is not None and not self.memory.armed:
                self.restored = self.memory.restore()
            result = self.compare()
            halted = self._settle(result, "after a restart")
            payload = {**result.to_dict(), **self.restored, "halted": halted}
        except Exception as exc:  # never trade on a state nobody checked
            message = f"{type(exc).__name__}: {exc}"
            result = Reconciliation((), (), (f"the comparison failed: {message}",))
            halted = self._settle(result, "after a restart")
            payload = {**result.to_dict(), "halted": halted}
        payload["previous_run_id"] = self.previous_run_id
        self.reconciled = result
        self._publish_restored()
        self.host.publish("node", RECONCILIATION, payload)

    def _publish_restored(self) -> None:
        """Journal each order the node holds from before this run as an ``OrderRestored``
        event: this run's journal never saw its earlier events, and every front end folds
        orders from the run's journal (without this, ``orders list`` said "no open orders"
        beside a restored working order)."""
        if self.cache is None:
            return
        with contextlib.suppress(Exception):  # never keep the node from trading over this
            for order in [*self.cache.orders_open(), *self.cache.orders_inflight()]:
                self.host.publish("order", ORDER_RESTORED, restored_order_payload(order))

    def after_start(self) -> Reconciliation | None:
        """Once the node runs: the comparison, made now if the trader's start did not."""
        self.on_trader_start()
        return self.reconciled

    def compare(self) -> Reconciliation:
        """Journal, cache and venue now (the journal is flushed first)."""
        from engine.journal import JournalReader

        self.host.journal.flush()
        reader = JournalReader(self.host.run_dir)
        try:  # only what the journal gained since the last comparison
            journal = self.fold.feed(reader.iter_after(self.fold.last_seq)).view()
        finally:
            reader.close()
        cache = cache_view(self.cache)
        if self.memory is not None:
            venue = venue_view(self.memory.books.values())
        else:  # a live venue: Nautilus reconciled the cache against its reports at start
            venue = replace(cache, source="venue")
        self.last = reconcile(journal, cache, venue)
        with contextlib.suppress(Exception):
            write_json(self.host.run_dir / RECONCILIATION_FILE, self.last.to_dict())
        return self.last

    def _settle(self, result: Reconciliation, when: str) -> bool:
        """HALTED when the views differ; back to ACTIVE when they agree and the halt was
        ours. Returns whether the node is halted."""
        risk = self.host.risk
        if risk is None:
            return False
        state = risk.state
        if not result.agree:
            if state.trading_state != "HALTED" or state.changed_by == WHO:
                risk.set_trading_state("HALTED", WHO, f"reconciliation {when}: {result.summary()}")
            return True
        if state.trading_state == "HALTED" and state.changed_by == WHO:
            risk.set_trading_state("ACTIVE", WHO, f"reconciliation {when}: {result.summary()}")
        return bool(risk.state.trading_state == "HALTED")

    # -- the channel command ------------------------------------------------------------
    def command(self, command: dict[str, Any]) -> dict[str, Any]:
        """``{"cmd": "reconcile"}`` compares now; ``"accept": "venue"`` adopts the venue's view."""
        accept = command.get("accept")
        problem = check_accept(accept)
        if problem is not None:
            return {"ok": False, "code": "invalid_command", "message": problem, "field": "accept"}
        if accept is None:
            result = self.compare()
            return {"ok": True, **result.to_dict(), **self._risk_state()}
        return self.accept_venue(str(command.get("who") or "unknown"))

    def accept_venue(self, who: str) -> dict[str, Any]:
        """Make the node's view the venue's: cancel locally what the venue does not work,
        journal the venue's view as the new baseline; ACTIVE again once all agree."""
        before = self.compare()
        actions = self._cancel_unknown_to_venue()
        venue = self._venue_view()
        self.host.publish(
            "node",
            RECONCILIATION_ACCEPTED,
            {
                "baseline": view_to_baseline(venue),
                "by": who,
                "before": before.to_dict(),
                "actions": actions,
            },
        )
        after = self.compare()
        risk = self.host.risk
        state = None if risk is None else risk.state
        ours = state is not None and state.trading_state == "HALTED" and state.changed_by == WHO
        if after.agree and ours and risk is not None:
            risk.set_trading_state("ACTIVE", who, "reconciliation: venue's view accepted")
        return {
            "ok": after.agree,
            "accepted": True,
            "actions": actions,
            **after.to_dict(),
            **self._risk_state(),
            **({} if after.agree else {"code": "still_differs", "message": after.summary()}),
        }

    def _venue_view(self) -> StateView:
        if self.memory is not None:
            return venue_view(self.memory.books.values())
        return replace(cache_view(self.cache), source="venue")

    def _cancel_unknown_to_venue(self) -> list[str]:
        """Orders the cache works that the venue does not: the venue's answer is that they
        are gone, so the node is told so (rejected if never accepted, else canceled)."""
        if self.memory is None or self.cache is None:
            return []
        venue = self._venue_view().working()
        done = []
        for order in [*self.cache.orders_open(), *self.cache.orders_inflight()]:
            coid = order.client_order_id.value
            client = self.memory.clients.get(order.instrument_id.venue.value)
            if coid in venue or client is None:
                continue
            ts = client._clock.timestamp_ns()
            with contextlib.suppress(Exception):
                if order.venue_order_id is None:
                    client.generate_order_rejected(
                        order.strategy_id,
                        order.instrument_id,
                        order.client_order_id,
                        "not at the venue after a restart",
                        ts,
                    )
                else:
                    client.generate_order_canceled(
                        order.strategy_id,
                        order.instrument_id,
                        order.client_order_id,
                        order.venue_order_id,
                        ts,
                    )
                done.append(f"{coid}: closed (not at the venue)")
        return done

    def _risk_state(self) -> dict[str, Any]:
        risk = self.host.risk
        if risk is None:
            return {"trading_state": None}
        return {"trading_state": risk.state.trading_state, "reason": risk.state.reason}
