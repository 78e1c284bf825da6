"""A strategy that floods the venue with random orders, for the halt tests.

Loaded by real node hosts (``tests.integration.flood_strategy:Flood``): at every quote it
sends ``per_quote`` orders, seeded random: market or marketable limit, buy or sell, a
random size, so that whatever the risk guard lets through fills or rests at once.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class FloodConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    instrument_id: str
    seed: int = 1
    per_quote: int = 2


class Flood(Strategy):  # type: ignore[misc]
    """Random orders at every quote, for as long as it runs."""

    def __init__(self, config: FloodConfig) -> None:
        super().__init__(config)
        self._iid = InstrumentId.from_str(config.instrument_id)
        self._rng = random.Random(config.seed)

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self._iid)

    def on_quote_tick(self, tick: Any) -> None:
        instrument = self.cache.instrument(self._iid)
        for _ in range(self.config.per_quote):
            side = self._rng.choice([OrderSide.BUY, OrderSide.SELL])
            qty = instrument.make_qty(Decimal(self._rng.randint(1, 20) * 1000))
            if self._rng.random() < 0.5:
                order = self.order_factory.market(self._iid, side, qty)
            else:
                through = Decimal("0.001") if side == OrderSide.BUY else Decimal("-0.001")
                ref = tick.ask_price if side == OrderSide.BUY else tick.bid_price
                px = instrument.make_price(ref.as_decimal() + through)
                order = self.order_factory.limit(self._iid, side, qty, px)
            self.submit_order(order)
