"""The Nautilus config of the offline data client (a ``LiveDataClientConfig``).

Plain values only, so a ``TradingNodeConfig`` holding it still serialises. Build it from
validated options with :func:`engine.feed.client_config.build_offline_data`.
"""

from __future__ import annotations

from nautilus_trader.config import LiveDataClientConfig


class OfflineDataClientConfig(LiveDataClientConfig, frozen=True, kw_only=True):  # type: ignore[misc,call-arg]
    """Configuration for :class:`engine.feed.client.OfflineMarketDataClient`.

    Parameters
    ----------
    source : str
        ``"random_walk"`` or ``"replay"``.
    instrument_ids : tuple[str, ...]
        Instruments streamed.
    trades : bool
        Also stream trade ticks.
    seed, rate, volatility_bp, spread_ticks, trade_every, start_prices, history_bars,
    quote_size, book_levels
        Random walk: see :class:`engine.feed.options.RandomWalkOptions`; ``rate=None`` is
        as fast as the node takes it.
    catalog_path, speed, start_ns, end_ns
        Replay: an absolute catalog directory, the speed (``None`` as fast as possible)
        and an optional time window in UNIX nanoseconds.
    """

    source: str
    instrument_ids: tuple[str, ...]
    trades: bool = True
    seed: int = 0
    rate: float | None = 10.0
    volatility_bp: float = 0.5
    spread_ticks: int = 2
    trade_every: int = 5
    start_prices: dict[str, float] | None = None
    history_bars: int = 100
    quote_size: float | None = None
    book_levels: int = 0
    catalog_path: str | None = None
    speed: float | None = 1.0
    start_ns: int | None = None
    end_ns: int | None = None
