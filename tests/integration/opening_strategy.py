"""A strategy for close/flatten tests: it opens positions once, then only watches.

Loaded by real node hosts (``tests.integration.opening_strategy:OpenOnce``), so positions
and working orders of strategies other than the gateway's are on the node when a test
closes or flattens it. At its first quote it sends ``orders`` market orders of
``quantity`` (one position each on HEDGING, one net position on NETTING; a quantity above
the quote's size ends PARTIALLY_FILLED in the sandbox) and, with ``resting_offset``, a
limit order that far from the market, so it keeps working. With ``adds`` it then sends that
many more market orders of ``quantity`` into the position its first order opened (on
HEDGING, one position larger than a thin book's depth).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class OpenOnceConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    """What to open: side, quantity, how many market orders, an optional resting limit."""

    instrument_id: str
    side: str = "BUY"
    quantity: str = "100000"
    orders: int = 1
    resting_offset: str | None = None
    adds: int = 0


class OpenOnce(Strategy):  # type: ignore[misc]
    """Open positions at the first quote, never trade again."""

    def __init__(self, config: OpenOnceConfig) -> None:
        super().__init__(config)
        self._iid = InstrumentId.from_str(config.instrument_id)
        self._opened = False
        self._adds_left = config.adds

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self._iid)

    def on_position_opened(self, event: Any) -> None:
        self._add(event.position_id)

    def on_position_changed(self, event: Any) -> None:
        self._add(event.position_id)

    def _add(self, position_id: Any) -> None:
        # One add at a time, each once the last one filled (a thin book fills one at a time).
        if self._adds_left <= 0 or self.cache.orders_open_count(strategy_id=self.id):
            return
        self._adds_left -= 1
        instrument = self.cache.instrument(self._iid)
        order = self.order_factory.market(
            self._iid,
            OrderSide[self.config.side],
            instrument.make_qty(Decimal(self.config.quantity)),
        )
        self.submit_order(order, position_id=position_id)

    def on_quote_tick(self, tick: Any) -> None:
        if self._opened:
            return
        self._opened = True
        config = self.config
        instrument = self.cache.instrument(self._iid)
        side = OrderSide[config.side]
        for _ in range(config.orders):
            order = self.order_factory.market(
                self._iid, side, instrument.make_qty(Decimal(config.quantity))
            )
            self.submit_order(order)
        if config.resting_offset is not None:
            offset = Decimal(config.resting_offset)
            if side == OrderSide.BUY:
                px = tick.bid_price.as_decimal() - offset
            else:
                px = tick.ask_price.as_decimal() + offset
            qty = instrument.make_qty(Decimal(config.quantity))
            limit = self.order_factory.limit(self._iid, side, qty, instrument.make_price(px))
            self.submit_order(limit)


def opening(tag: str, **config: Any) -> dict[str, Any]:
    """A node config's strategy entry for :class:`OpenOnce` (strategy id ``OpenOnce-{tag}``)."""
    return {
        "strategy_path": "tests.integration.opening_strategy:OpenOnce",
        "config_path": "tests.integration.opening_strategy:OpenOnceConfig",
        "config": {"order_id_tag": tag, **config},
    }
