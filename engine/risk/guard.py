"""The risk guard inside a node: every strategy's orders pass it before Nautilus's RiskEngine.

Strategies, the order emulator and execution algorithms all send their trading commands
to the message bus endpoint ``RiskEngine.execute``. The guard takes that endpoint over and
hands what it allows to the risk engine's own handler; what it refuses is denied through
the risk engine (``_deny_command``), so the order gets a normal ``OrderDenied`` with the
guard's reason. It runs on the kernel's thread, synchronously: a limit set at runtime is
in force for the next order.

The trading state lives here (ACTIVE, REDUCING, HALTED) and is mirrored into Nautilus's
risk engine, which publishes ``TradingStateChanged``. REDUCING means nothing may increase
an absolute position, from flat included (Nautilus alone lets a position open from flat).

The loss limits are measured from the day's PnL so far and the equity peak
(:mod:`engine.risk.loss_day`), which are stored with the risk state at most every
:data:`STORE_EVERY_NS` (and at every state or limit change), so a restarted host goes on
from them: a kill -9 loses at most that much of their movement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from nautilus_trader.execution.messages import SubmitOrder, SubmitOrderList
from nautilus_trader.model.enums import OrderSide, PositionSide, TradingState
from nautilus_trader.model.identifiers import Venue

from engine.risk.limits import RiskLimits, TradingStateName, apply_changes
from engine.risk.loss_day import DEFAULT_TIMEZONE, LossTracker
from engine.risk.rules import Exposure, OrderFacts, RateWindow, check_limits, check_state
from engine.risk.store import RiskState, now_iso

ENDPOINT = "RiskEngine.execute"
LIMIT_FIELDS = (
    "max_notional_per_order",
    "max_position_net",
    "max_position_gross",
    "max_open_orders",
    "max_order_rate_per_instrument",
)

STORE_EVERY_NS = 1_000_000_000  # the day's PnL and the peak are stored at most this often

type Persist = Callable[[RiskState], None]
type Publish = Callable[..., Any]


class RiskGuard:
    """Checks every submitted order; holds the trading state and the gateway's limits."""

    def __init__(
        self,
        kernel: Any,
        state: RiskState,
        *,
        instrument_notional: dict[str, Decimal] | None = None,
        persist: Persist | None = None,
        publish: Publish | None = None,
        day_timezone: str = DEFAULT_TIMEZONE,
        clock_ns: Callable[[], int] | None = None,
        hedging_venues: frozenset[str] = frozenset(),
    ) -> None:
        self._kernel = kernel
        self._risk_engine = kernel.risk_engine
        self._cache = kernel.cache
        self._portfolio = kernel.portfolio
        self.state = state
        self._rate = RateWindow(state.limits.max_order_rate_per_instrument)
        self._instrument_notional = dict(instrument_notional or {})
        self._persist = persist
        self._publish = publish
        self._forward: Callable[[Any], None] | None = None
        self.denied = 0
        self.checked = 0
        # The kernel's clock: wall time on a live node, simulated time in a backtest.
        self._clock_ns = clock_ns or kernel.clock.timestamp_ns
        self._loss = LossTracker(state.loss, day_timezone)
        self._stored_at_ns = 0
        self._hedging_venues = hedging_venues  # where an order may open a position of its own
        self._idle = self._nothing_to_check()

    # -- wiring ------------------------------------------------------------------------
    def install(self, *, watch_losses: bool = False) -> RiskGuard:
        """Take over the risk engine's endpoint and apply the stored trading state.

        ``watch_losses``: check the loss limits at every position and account event (a
        fill that crosses one halts the node in the same turn); a node host also checks
        them on a timer, for prices that move with no event of ours.
        """
        msgbus = self._kernel.msgbus
        forward = self._risk_engine.execute
        msgbus.deregister(ENDPOINT, forward)
        msgbus.register(ENDPOINT, self.execute)
        self._forward = forward
        self._mirror(self.state.trading_state)
        if watch_losses:
            for topic in ("events.position.*", "events.account.*"):
                msgbus.subscribe(topic=topic, handler=self._on_event)
        return self

    def _on_event(self, _event: Any) -> None:
        limits = self.state.limits
        if limits.max_daily_loss is None and limits.max_drawdown is None:
            return  # the host's timer keeps the day's PnL and the peak up to date
        try:
            self.evaluate()
        except Exception as exc:  # a measuring failure must not break the event's delivery
            if self._publish is not None:
                self._publish("risk", "RiskCheckFailed", {"error": repr(exc)[:500]})

    def _mirror(self, state: TradingStateName) -> None:
        if self._risk_engine.trading_state != TradingState[state]:
            self._risk_engine.set_trading_state(TradingState[state])

    # -- the check ---------------------------------------------------------------------
    def _nothing_to_check(self) -> bool:
        # What each order needs measured, so an order pays only for the limits set.
        limits = self.state.limits
        self._need_notional = bool(self._instrument_notional) or (
            limits.max_notional_per_order is not None
        )
        self._need_gross = limits.max_position_gross is not None
        self._need_net = (
            self.state.trading_state == "REDUCING"
            or self._need_gross
            or limits.max_position_net is not None
        )
        self._need_open = limits.max_open_orders is not None
        return (
            self.state.trading_state == "ACTIVE"
            and not self._instrument_notional
            and all(getattr(limits, name) is None for name in LIMIT_FIELDS)
        )

    def execute(self, command: Any) -> None:
        if self._idle:  # ACTIVE with no limit set: straight through, as without the guard
            self._send(command)
            return
        if isinstance(command, SubmitOrder):
            orders = [command.order]
        elif isinstance(command, SubmitOrderList):
            orders = list(command.order_list.orders)
        else:
            self._send(command)
            return
        self.checked += 1
        reason = self._check(orders, getattr(command, "position_id", None))
        if reason is None:
            self._send(command)
            return
        self.denied += 1
        self._risk_engine._deny_command(command, reason)
        if self._publish is not None:
            first = orders[0]
            self._publish(
                "risk",
                "RiskBreach",
                {
                    "client_order_id": first.client_order_id.value,
                    "strategy_id": first.strategy_id.value,
                    "instrument_id": first.instrument_id.value,
                    "reason": reason,
                },
            )

    def _send(self, command: Any) -> None:
        assert self._forward is not None, "install() first"
        self._forward(command)

    def _check(self, orders: list[Any], position_id: Any = None) -> str | None:
        limits = self.state.limits
        for order in orders:
            instrument = self._cache.instrument(order.instrument_id)
            if instrument is None:
                return None  # Nautilus denies it with its own reason
            facts = self._facts(order, instrument)
            exposure = self._exposure(order, position_id)
            if not order.is_reduce_only:
                reason = check_state(self.state.trading_state, facts, exposure)
                if reason is not None:
                    return reason
            reason = check_limits(
                limits,
                facts,
                exposure,
                instrument_notional_limit=self._instrument_notional.get(facts.instrument_id),
            )
            if reason is not None:
                return reason
        for order in orders:
            reason = self._rate.check(order.instrument_id.value, time.monotonic())
            if reason is not None:
                return reason
        return None

    def _facts(self, order: Any, instrument: Any) -> OrderFacts:
        qty = order.quantity.as_decimal()
        signed = qty if order.side == OrderSide.BUY else -qty
        price = None
        if not self._need_notional:
            pass
        elif order.has_price:
            price = order.price
        elif order.has_trigger_price:
            price = order.trigger_price
        else:
            quote = self._cache.quote_tick(order.instrument_id)
            if quote is not None:
                price = quote.ask_price if order.side == OrderSide.BUY else quote.bid_price
            else:
                trade = self._cache.trade_tick(order.instrument_id)
                price = trade.price if trade is not None else None
        notional = currency = None
        if price is not None:
            money = instrument.notional_value(order.quantity, price)
            notional, currency = money.as_decimal(), money.currency.code
        return OrderFacts(
            instrument_id=order.instrument_id.value,
            signed_qty=signed,
            notional=notional,
            currency=currency or "",
            reduce_only=bool(order.is_reduce_only),
        )

    def _exposure(self, order: Any, position_id: Any) -> Exposure:
        instrument_id = order.instrument_id
        zero = Decimal(0)
        net = zero
        if self._need_net:
            net = self._portfolio.net_position(instrument_id)
            if not isinstance(net, Decimal):
                net = Decimal(str(net))
        gross = zero
        acted_on = None
        hedging = instrument_id.venue.value in self._hedging_venues
        if self._need_gross:
            for p in self._cache.positions_open(instrument_id=instrument_id):
                gross += p.quantity.as_decimal()
        if self._need_gross or (hedging and self.state.trading_state == "REDUCING"):
            acted_on = self._acted_on(order, position_id)
        working = 0
        if self._need_open:
            working = self._cache.orders_open_count() + self._cache.orders_inflight_count()
        return Exposure(
            net=net, gross=gross, open_orders=working, acted_on=acted_on, hedging=hedging
        )

    def _acted_on(self, order: Any, position_id: Any) -> Decimal:
        """The signed size of the position the order trades into (gross is sum of sizes)."""
        if order.instrument_id.venue.value in self._hedging_venues:
            if position_id is None:
                return Decimal(0)  # HEDGING: a new position of its own
            positions = [self._cache.position(position_id)]
        else:  # NETTING: the strategy's one position in the instrument
            positions = self._cache.positions_open(
                instrument_id=order.instrument_id, strategy_id=order.strategy_id
            )
        total = Decimal(0)
        for p in positions:
            if p is not None and p.is_open:
                size = p.quantity.as_decimal()
                total += size if p.side == PositionSide.LONG else -size
        return total

    # -- runtime changes ---------------------------------------------------------------
    def set_trading_state(self, state: TradingStateName, who: str, reason: str = "") -> RiskState:
        new = RiskState(state, self.state.limits, who, now_iso(), reason, self._loss.baseline())
        self._commit(new)
        self._mirror(state)
        return new

    def set_limits(self, changes: dict[str, Any], who: str) -> RiskState:
        """Apply ``changes`` as a whole (``LimitsError`` names every bad field; nothing changes)."""
        limits = apply_changes(self.state.limits, changes)
        new = RiskState(
            self.state.trading_state,
            limits,
            who,
            now_iso(),
            "limits changed",
            self._loss.baseline(),
        )
        self._commit(new)
        if limits.max_order_rate_per_instrument != self._rate.rate:
            self._rate = RateWindow(limits.max_order_rate_per_instrument)
        if self._publish is not None:
            self._publish("risk", "RiskLimitsChanged", {"limits": limits.describe(), "by": who})
        return new

    def _commit(self, new: RiskState) -> None:
        if self._persist is not None:
            self._stored_at_ns = self._clock_ns()
            self._persist(new)  # stored before it is in force or reported
        self.state = new
        self._idle = self._nothing_to_check()

    def _store_baseline(self, now_ns: int) -> None:
        """Store the day's PnL and the peak when they moved, at most every STORE_EVERY_NS
        (at once on a new day)."""
        if self._persist is None:
            return
        baseline = self._loss.baseline()
        stored = self.state.loss
        if stored == baseline:
            return
        new_day = stored is None or stored.day != baseline.day
        if not new_day and now_ns - self._stored_at_ns < STORE_EVERY_NS:
            return
        self._stored_at_ns = now_ns  # a failing write is retried at the next period
        new = replace(self.state, loss=baseline)
        self._persist(new)
        self.state = new

    # -- loss monitors -----------------------------------------------------------------
    def usage(self) -> dict[str, Any]:
        """What the limits are measured against now (for ``risk show``)."""
        daily, drawdown = self._pnl_measures()
        return {
            "open_orders": self._cache.orders_open_count() + self._cache.orders_inflight_count(),
            "positions": {
                p.instrument_id.value: str(self._portfolio.net_position(p.instrument_id))
                for p in self._cache.positions_open()
            },
            "gross": self._gross_by_instrument(),
            "daily_pnl": {k: str(v) for k, v in daily.items()},
            "day": self._loss.day,
            "day_timezone": self._loss.timezone,
            "drawdown": {k: str(v) for k, v in drawdown.items()},
            "equity_peak": {k: str(v) for k, v in self._loss.peak.items()},
            "checked": self.checked,
            "denied": self.denied,
        }

    def _gross_by_instrument(self) -> dict[str, str]:
        gross: dict[str, Decimal] = {}
        for p in self._cache.positions_open():
            iid = p.instrument_id.value
            gross[iid] = gross.get(iid, Decimal(0)) + p.quantity.as_decimal()
        return {k: str(v) for k, v in gross.items()}

    def _pnl_measures(self) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        totals: dict[str, Decimal] = {}
        equity: dict[str, Decimal] = {}
        for account in self._cache.accounts():
            v = Venue(account.id.get_issuer())
            for cur, money in (self._portfolio.total_pnls(v) or {}).items():
                totals[cur.code] = totals.get(cur.code, Decimal(0)) + money.as_decimal()
            for cur, money in (self._portfolio.equity(v) or {}).items():
                equity[cur.code] = equity.get(cur.code, Decimal(0)) + money.as_decimal()
        now_ns = self._clock_ns()
        daily, drawdown = self._loss.measure(now_ns, totals, equity)
        self._store_baseline(now_ns)
        return daily, drawdown

    def evaluate(self) -> str | None:
        """Check the loss limits; move to the rule's state on a breach. Returns the breach.

        Measures (and stores) the day's PnL and the peak with no loss limit set too, so a
        limit set later in the day counts the day's loss from its start.
        """
        daily, drawdown = self._pnl_measures()
        limits = self.state.limits
        breach: tuple[str, TradingStateName] | None = None
        for cur, pnl in daily.items():
            if limits.max_daily_loss is not None and -pnl >= limits.max_daily_loss:
                breach = (
                    f"RISK max_daily_loss: {-pnl:f} {cur} lost today, the limit is "
                    f"{limits.max_daily_loss:f}",
                    limits.on_daily_loss,
                )
        for cur, dd in drawdown.items():
            if breach is None and limits.max_drawdown is not None and dd >= limits.max_drawdown:
                breach = (
                    f"RISK max_drawdown: {dd:f} {cur} below the equity peak, the limit is "
                    f"{limits.max_drawdown:f}",
                    limits.on_drawdown,
                )
        if breach is None:
            return None
        reason, target = breach
        current = self.state.trading_state
        if current == "HALTED" or current == target:
            return None
        self.set_trading_state(target, "risk-guard", reason)
        if self._publish is not None:
            self._publish("risk", "RiskBreach", {"reason": reason, "trading_state": target})
        return reason


def guard_state(state: RiskState | None, limits: RiskLimits) -> RiskState:
    """The state a new host starts with: the stored one, else ACTIVE with the config's limits."""
    return state if state is not None else RiskState("ACTIVE", limits)
