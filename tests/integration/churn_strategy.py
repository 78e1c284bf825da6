"""A strategy that never stops trading: for the kill -9 recovery tests.

Loaded by real node hosts (``tests.integration.churn_strategy:Churn``). Every ``every``-th
quote it takes the next step of a cycle: rest a limit buy far below the bid, buy at market,
rest a limit sell far above the ask, cancel its oldest working order, sell at market. So at
any instant it has working orders, a position that moves, and orders in flight.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class ChurnConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    instrument_id: str
    quantity: str = "1000"
    every: int = 2
    max_working: int = 6
    offset: str = "0.01"


class Churn(Strategy):  # type: ignore[misc]
    """Cycle through resting, market and cancel orders on every ``every``-th quote."""

    def __init__(self, config: ChurnConfig) -> None:
        super().__init__(config)
        self._iid = InstrumentId.from_str(config.instrument_id)
        self._quotes = 0
        self._step = 0

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self._iid)

    def on_quote_tick(self, tick: Any) -> None:
        self._quotes += 1
        if self._quotes % self.config.every:
            return
        instrument = self.cache.instrument(self._iid)
        qty = instrument.make_qty(Decimal(self.config.quantity))
        offset = Decimal(self.config.offset)
        working = self.cache.orders_open(strategy_id=self.id)
        step = self._step % 5
        self._step += 1
        if step == 0 and len(working) < self.config.max_working:
            px = instrument.make_price(tick.bid_price.as_decimal() - offset)
            self.submit_order(self.order_factory.limit(self._iid, OrderSide.BUY, qty, px))
        elif step == 1:
            self.submit_order(self.order_factory.market(self._iid, OrderSide.BUY, qty))
        elif step == 2 and len(working) < self.config.max_working:
            px = instrument.make_price(tick.ask_price.as_decimal() + offset)
            self.submit_order(self.order_factory.limit(self._iid, OrderSide.SELL, qty, px))
        elif step == 3 and working:
            oldest = min(working, key=lambda o: o.ts_init)
            if not oldest.is_pending_cancel:
                self.cancel_order(oldest)
        elif step == 4:
            self.submit_order(self.order_factory.market(self._iid, OrderSide.SELL, qty))


def churning(tag: str, **config: Any) -> dict[str, Any]:
    """A node config's strategy entry for :class:`Churn` (strategy id ``Churn-{tag}``)."""
    return {
        "strategy_path": "tests.integration.churn_strategy:Churn",
        "config_path": "tests.integration.churn_strategy:ChurnConfig",
        "config": {"order_id_tag": tag, **config},
    }
