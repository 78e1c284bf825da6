"""A seeded random walk of quotes and trades for one instrument.

The same seed gives the same prices, whatever the rate or the wall clock: only the
timestamps come from the node's clock. Steps are log-normal (a price never goes below
one increment), rounded to the instrument's price increment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nautilus_trader.core.data import Data
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.instruments import Instrument

# Steps per history bar: enough for distinct open/high/low/close.
_STEPS_PER_BAR = 10


class RandomWalk:
    """Quotes (and before every ``trade_every``-th, a trade) for one instrument.

    Parameters
    ----------
    instrument : Instrument
        What is quoted; gives the price increment and precisions.
    seed : int
        Seed of this walk (the client mixes the instrument's index into it).
    start_price : float
        First mid price.
    volatility_bp : float
        Standard deviation of one step, in basis points.
    spread_ticks : int
        Bid/ask spread in price increments.
    trade_every : int | None
        One trade tick every N quotes; ``None`` for no trades.
    quote_size : float | None
        Size on each side of the top of book (and of each book level); ``None``: 1,000,000
        units (100 for instruments traded in fractions).
    book_levels : int
        With N > 0, every quote is followed by an order book of N levels a side
        (``OrderBookDepth10``), each of ``quote_size``, one increment apart: a thin book
        for a sandbox venue whose ``book_type`` is ``L2_MBP`` (its market orders fill only
        what the book holds, where an L1 book fills any size).
    """

    def __init__(
        self,
        instrument: Instrument,
        *,
        seed: int,
        start_price: float,
        volatility_bp: float,
        spread_ticks: int,
        trade_every: int | None,
        quote_size: float | None = None,
        book_levels: int = 0,
    ) -> None:
        from nautilus_trader.model.objects import Quantity

        self.instrument = instrument
        self._rng = np.random.default_rng(seed)
        self._history_rng = np.random.default_rng([seed, 1])
        self._increment = float(instrument.price_increment)
        self._precision = instrument.price_precision
        self._sigma = volatility_bp / 10_000.0
        self._spread = spread_ticks
        self._log_mid = float(np.log(max(start_price, self._increment * (spread_ticks + 1))))
        self._start_log_mid = self._log_mid
        self._trade_every = trade_every
        self._count = 0
        size = quote_size or (1_000_000 if float(instrument.size_increment) >= 1 else 100)
        self._book_levels = min(book_levels, 10)
        self._size = Quantity(size, instrument.size_precision)
        self._trade_size = Quantity(size / 10, instrument.size_precision)

    @property
    def count(self) -> int:
        """Quotes generated so far."""
        return self._count

    def _bids(self, log_mids: np.ndarray) -> np.ndarray:
        # Bid in whole increments, at least one increment above zero.
        ticks = np.floor(np.exp(log_mids) / self._increment) - self._spread // 2
        bids: np.ndarray = np.maximum(ticks, 1.0)
        return bids

    def next_ticks(self, n: int, ts_ns: int) -> list[Data]:
        """Return the next ``n`` quotes (with their trades), stamped ``ts_ns``."""
        from nautilus_trader.model.data import QuoteTick, TradeTick
        from nautilus_trader.model.enums import AggressorSide
        from nautilus_trader.model.identifiers import TradeId
        from nautilus_trader.model.objects import Price

        steps = self._rng.standard_normal(n) * self._sigma
        log_mids = self._log_mid + np.cumsum(steps)
        self._log_mid = float(log_mids[-1])
        bids = self._bids(log_mids) * self._increment
        asks = bids + self._spread * self._increment
        sides = self._rng.random(n) < 0.5 if self._trade_every else None
        out: list[Data] = []
        iid, prec, size = self.instrument.id, self._precision, self._size
        for i in range(n):
            bid = Price(float(bids[i]), prec)
            ask = Price(float(asks[i]), prec)
            self._count += 1
            if self._trade_every and self._count % self._trade_every == 0:
                # The trade goes out before its quote: a sandbox's L1 book takes a trade
                # tick as its whole top of book (the trade price on both sides, the trade
                # size), so the quote after it puts the real bid/ask and sizes back.
                buyer = bool(sides[i]) if sides is not None else True
                out.append(
                    TradeTick(
                        iid,
                        ask if buyer else bid,
                        self._trade_size,
                        AggressorSide.BUYER if buyer else AggressorSide.SELLER,
                        TradeId(str(self._count)),
                        ts_ns,
                        ts_ns,
                    )
                )
            if self._book_levels:  # the book first: a strategy's order on the quote meets it
                out.append(self._depth(float(bids[i]), float(asks[i]), ts_ns))
            out.append(QuoteTick(iid, bid, ask, size, size, ts_ns, ts_ns))
        return out

    def _depth(self, bid: float, ask: float, ts_ns: int) -> Data:
        from nautilus_trader.model.data import BookOrder, OrderBookDepth10
        from nautilus_trader.model.enums import OrderSide, RecordFlag
        from nautilus_trader.model.objects import Price, Quantity

        n, inc, prec, size = self._book_levels, self._increment, self._precision, self._size
        bids = [BookOrder(OrderSide.BUY, Price(bid - i * inc, prec), size, 0) for i in range(n)]
        asks = [BookOrder(OrderSide.SELL, Price(ask + i * inc, prec), size, 0) for i in range(n)]
        # Depth10 holds ten levels a side: the rest are empty.
        empty = [
            BookOrder(OrderSide.NO_ORDER_SIDE, Price(0, prec), Quantity(0, size.precision), 0)
        ] * (10 - n)
        counts = [1] * n + [0] * (10 - n)
        return OrderBookDepth10(
            self.instrument.id,
            bids + empty,
            asks + empty,
            counts,
            counts,
            RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST,
            self._count,
            ts_ns,
            ts_ns,
        )

    def history_bars(self, bar_type: BarType, step_ns: int, end_ns: int, count: int) -> list[Bar]:
        """Return ``count`` bars closing every ``step_ns`` up to ``end_ns``.

        The history ends at the walk's first price, so live bars continue it without a gap.
        """
        from nautilus_trader.model.data import Bar
        from nautilus_trader.model.enums import PriceType
        from nautilus_trader.model.objects import Price, Quantity

        if count <= 0:
            return []
        steps = self._history_rng.standard_normal(count * _STEPS_PER_BAR) * self._sigma
        # Walk backwards from the start price, then read it forwards.
        log_mids = (self._start_log_mid - np.cumsum(steps))[::-1]
        bids = self._bids(log_mids) * self._increment
        offset = {
            PriceType.BID: 0.0,
            PriceType.ASK: float(self._spread),
            PriceType.MID: self._spread / 2,
        }.get(bar_type.spec.price_type, 0.0)
        prices = (bids + offset * self._increment).reshape(count, _STEPS_PER_BAR)
        volume = Quantity(float(self._size) * _STEPS_PER_BAR, self.instrument.size_precision)
        prec = self._precision
        bars = []
        for i, row in enumerate(prices):
            ts = end_ns - (count - 1 - i) * step_ns
            bars.append(
                Bar(
                    bar_type,
                    Price(float(row[0]), prec),
                    Price(float(row.max()), prec),
                    Price(float(row.min()), prec),
                    Price(float(row[-1]), prec),
                    volume,
                    ts,
                    ts,
                )
            )
        return bars
