"""The offline market data client: a Nautilus ``LiveMarketDataClient`` with no network.

It behaves as a venue adapter does: its instruments reach the cache when it connects,
quotes and trades stream once a strategy subscribes, bar requests are answered (random
walk: seeded history bars, so strategies warm up at once) and bars themselves are
aggregated by Nautilus from quotes or trades (``…-INTERNAL`` bar types).

Every request gets a response, empty if need be: a strategy such as EMACross subscribes
to its bars only in the callback of its bar request, so an unanswered request would leave
it waiting forever.

Data is stamped with the node's clock when it is published, so time bars, the sandbox
matching engine and the portfolio all see "now", whether the data is generated or
replayed from a catalog.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.identifiers import ClientId

from engine.feed.config import OfflineDataClientConfig
from engine.feed.instruments import default_start_price, provider_instrument
from engine.feed.walk import RandomWalk

if TYPE_CHECKING:
    from nautilus_trader.cache.cache import Cache
    from nautilus_trader.common.component import LiveClock, MessageBus
    from nautilus_trader.core.data import Data
    from nautilus_trader.data.messages import (
        RequestBars,
        RequestData,
        RequestInstrument,
        RequestInstruments,
        RequestQuoteTicks,
        RequestTradeTicks,
    )
    from nautilus_trader.model.instruments import Instrument

# Ticks published between two yields to the event loop when running at full speed.
_MAX_BATCH = 200
# At a fixed rate, the generator wakes at most this often (it emits what is due).
_MIN_PERIOD_S = 0.005


class OfflineMarketDataClient(LiveMarketDataClient):  # type: ignore[misc]
    """Streams a seeded random walk or a catalog replay into a live node."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        config: OfflineDataClientConfig,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=None,  # routed by config.routing.venues: the instruments' venues
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=InstrumentProvider(),
            config=config,
        )
        self._feed = config
        # Resolved now, while the node is built, so a bad id fails the build, not a task.
        self._instruments: list[Instrument] = load_instruments(config)
        self._walk_list = self._walks() if config.source == "random_walk" else []
        self._stream_task: asyncio.Task[None] | None = None
        self._published = 0
        self.finished = asyncio.Event()  # set when a replay has published everything

    @property
    def published(self) -> int:
        """Quotes and trades published so far."""
        return self._published

    # -- connection --------------------------------------------------------------------------

    async def _connect(self) -> None:
        for instrument in self._instruments:
            self._cache.add_instrument(instrument)
            # Published too, so the sandbox venue and subscribers learn of it.
            self._handle_data(instrument)
        self._log.info(
            f"Offline feed ({self._feed.source}) ready: "
            + ", ".join(i.id.value for i in self._instruments)
        )

    async def _disconnect(self) -> None:
        if self._stream_task is not None:
            self._stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stream_task
            self._stream_task = None

    # -- streaming ---------------------------------------------------------------------------

    def _start_stream(self) -> None:
        # The stream starts with the first subscription, so subscribers see the first tick.
        if self._stream_task is not None or not self.is_connected:
            return
        if self._feed.source == "replay":
            self._stream_task = self._loop.create_task(self._run_replay(), name="offline-replay")
        else:
            self._stream_task = self._loop.create_task(self._run_walk(), name="offline-walk")
        self._stream_task.add_done_callback(self._on_stream_done)

    def _on_stream_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._log.exception("Offline feed stopped on an error", exc)

    def _publish(self, items: list[Data]) -> None:
        for item in items:
            self._handle_data(item)
        self._published += len(items)

    def _walks(self) -> list[RandomWalk]:
        cfg = self._feed
        prices = cfg.start_prices or {}
        return [
            RandomWalk(
                instrument,
                seed=cfg.seed * 1_000 + i,
                start_price=prices.get(instrument.id.value, default_start_price(instrument)),
                volatility_bp=cfg.volatility_bp,
                spread_ticks=cfg.spread_ticks,
                trade_every=cfg.trade_every if cfg.trades else None,
                quote_size=cfg.quote_size,
                book_levels=cfg.book_levels,
            )
            for i, instrument in enumerate(self._instruments)
        ]

    async def _run_walk(self) -> None:
        walks = self._walk_list
        rate = self._feed.rate
        if rate is None:  # as fast as the node takes it
            per_walk = max(1, _MAX_BATCH // len(walks))
            while True:
                ts = self._clock.timestamp_ns()
                for walk in walks:
                    self._publish(walk.next_ticks(per_walk, ts))
                await asyncio.sleep(0)
        period = max(1.0 / rate, _MIN_PERIOD_S)
        t0 = self._loop.time()
        emitted = 0
        while True:
            due = int((self._loop.time() - t0) * rate) - emitted
            if due > 0:
                # After a stall, catch up at most one second's worth: no bursts of stale data.
                burst = min(due, max(1, int(rate)))
                ts = self._clock.timestamp_ns()
                for walk in walks:
                    self._publish(walk.next_ticks(burst, ts))
                emitted += due
            await asyncio.sleep(period)

    async def _run_replay(self) -> None:
        data = await self._loop.run_in_executor(None, load_replay, self._feed)
        self._log.info(f"Replaying {len(data)} ticks at speed {self._feed.speed or 'max'}")
        speed = self._feed.speed
        if not data:
            self.finished.set()
            return
        first_ts = data[0].ts_init
        t0 = self._loop.time()
        i = 0
        while i < len(data):
            if speed is None:
                batch = data[i : i + _MAX_BATCH]
            else:
                # Everything due by now at this speed (at least the next tick).
                now_ns = first_ts + int((self._loop.time() - t0) * speed * 1e9)
                j = i
                while j < len(data) and data[j].ts_init <= now_ns and j - i < _MAX_BATCH:
                    j += 1
                if j == i:
                    wait = (data[i].ts_init - now_ns) / 1e9 / speed
                    await asyncio.sleep(min(max(wait, 0.0), 1.0))
                    continue
                batch = data[i:j]
            self._publish(restamp(batch, self._clock.timestamp_ns()))
            i += len(batch)
            await asyncio.sleep(0)
        self._log.info(f"Replay finished: {len(data)} ticks published")
        self.finished.set()

    # -- subscriptions: the stream carries everything; subscribing starts it -----------------

    async def _subscribe(self, command: Any) -> None:
        self._log.warning(f"Custom data is not offered by the offline feed: {command.data_type}")

    async def _subscribe_instruments(self, command: Any) -> None:
        pass  # instruments are fixed and published on connect

    async def _subscribe_instrument(self, command: Any) -> None:
        pass

    async def _subscribe_order_book_deltas(self, command: Any) -> None:
        pass  # no book: the sandbox matches on quotes (the order emulator asks anyway)

    async def _subscribe_order_book_depth(self, command: Any) -> None:
        pass

    async def _subscribe_quote_ticks(self, command: Any) -> None:
        self._start_stream()

    async def _subscribe_trade_ticks(self, command: Any) -> None:
        self._start_stream()

    async def _subscribe_bars(self, command: Any) -> None:
        # Internal bar types never reach a client (Nautilus subscribes quotes/trades instead).
        self._log.error(
            f"Cannot subscribe to {command.bar_type}: the offline feed has no venue bars; "
            "use an INTERNAL bar type (aggregated by Nautilus)"
        )

    async def _subscribe_mark_prices(self, command: Any) -> None:
        pass

    async def _subscribe_index_prices(self, command: Any) -> None:
        pass

    async def _subscribe_funding_rates(self, command: Any) -> None:
        pass

    async def _subscribe_instrument_status(self, command: Any) -> None:
        pass

    async def _subscribe_instrument_close(self, command: Any) -> None:
        pass

    async def _unsubscribe(self, command: Any) -> None:
        pass

    async def _unsubscribe_instruments(self, command: Any) -> None:
        pass

    async def _unsubscribe_instrument(self, command: Any) -> None:
        pass

    async def _unsubscribe_order_book_deltas(self, command: Any) -> None:
        pass

    async def _unsubscribe_order_book_depth(self, command: Any) -> None:
        pass

    async def _unsubscribe_quote_ticks(self, command: Any) -> None:
        pass  # the stream goes on: the sandbox venue still needs a market

    async def _unsubscribe_trade_ticks(self, command: Any) -> None:
        pass

    async def _unsubscribe_bars(self, command: Any) -> None:
        pass

    async def _unsubscribe_mark_prices(self, command: Any) -> None:
        pass

    async def _unsubscribe_index_prices(self, command: Any) -> None:
        pass

    async def _unsubscribe_funding_rates(self, command: Any) -> None:
        pass

    async def _unsubscribe_instrument_status(self, command: Any) -> None:
        pass

    async def _unsubscribe_instrument_close(self, command: Any) -> None:
        pass

    # -- requests: always answered, so a strategy waiting on a callback goes on --------------

    async def _request(self, request: RequestData) -> None:
        self._handle_data_response(
            request.data_type, [], request.id, request.start, request.end, request.params
        )

    async def _request_instrument(self, request: RequestInstrument) -> None:
        for instrument in self._instruments:
            if instrument.id == request.instrument_id:
                self._handle_instrument(
                    instrument, request.id, request.start, request.end, request.params
                )
                return
        self._log.error(f"Unknown instrument {request.instrument_id}")

    async def _request_instruments(self, request: RequestInstruments) -> None:
        mine = [i for i in self._instruments if i.id.venue == request.venue]
        self._handle_instruments(
            request.venue, mine, request.id, request.start, request.end, request.params
        )

    async def _request_quote_ticks(self, request: RequestQuoteTicks) -> None:
        self._handle_quote_ticks(
            request.instrument_id, [], request.id, request.start, request.end, request.params
        )

    async def _request_trade_ticks(self, request: RequestTradeTicks) -> None:
        self._handle_trade_ticks(
            request.instrument_id, [], request.id, request.start, request.end, request.params
        )

    async def _request_bars(self, request: RequestBars) -> None:
        bars = self._history_bars(request)
        self._handle_bars(
            request.bar_type, bars, request.id, request.start, request.end, request.params
        )

    def _history_bars(self, request: RequestBars) -> list[Any]:
        bar_type = request.bar_type
        if self._feed.source != "random_walk" or not bar_type.spec.is_time_aggregated():
            return []
        walk = next((w for w in self._walk_list if w.instrument.id == bar_type.instrument_id), None)
        if walk is None:
            return []
        step = bar_type.spec.timedelta.value  # nanoseconds
        now = self._clock.timestamp_ns()
        end = min(now, request.end.value) if request.end is not None else now
        end -= end % step  # the last closed bar
        count = self._feed.history_bars
        if request.start is not None:
            count = min(count, max(0, (end - request.start.value) // step + 1))
        if request.limit:
            count = min(count, request.limit)
        return walk.history_bars(bar_type, step, end, count)


class OfflineDataClientFactory(LiveDataClientFactory):  # type: ignore[misc]
    """Builds :class:`OfflineMarketDataClient` for ``TradingNode.add_data_client_factory``."""

    @staticmethod
    def create(
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: OfflineDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> OfflineMarketDataClient:
        """Return a new offline data client named ``name``."""
        return OfflineMarketDataClient(
            loop=loop,
            client_id=ClientId(name),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )


def load_instruments(config: OfflineDataClientConfig) -> list[Instrument]:
    """Return the feed's instruments: test fixtures, or the replay catalog's definitions.

    Raises
    ------
    ValueError
        If an instrument has no definition, or the replay catalog is missing.
    """
    if config.source != "replay":
        return [provider_instrument(i) for i in config.instrument_ids]
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    path = _catalog_dir(config)
    found = ParquetDataCatalog(str(path)).instruments(instrument_ids=list(config.instrument_ids))
    by_id = {i.id.value: i for i in found}
    missing = [i for i in config.instrument_ids if i not in by_id]
    if missing:
        raise ValueError(f"replay catalog {path} has no instrument definition for {missing}")
    return [by_id[i] for i in config.instrument_ids]


def load_replay(config: OfflineDataClientConfig) -> list[Data]:
    """Read the replay's quotes (and trades) from the catalog, merged in time order."""
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    catalog = ParquetDataCatalog(str(_catalog_dir(config)))
    ids = list(config.instrument_ids)
    window = {"start": config.start_ns, "end": config.end_ns}
    quotes = catalog.query(QuoteTick, identifiers=ids, **window)
    trades = catalog.query(TradeTick, identifiers=ids, **window) if config.trades else []
    # Each list is sorted by ts_init; merge keeps quotes before trades at equal times.
    return list(heapq.merge(quotes, trades, key=lambda d: d.ts_init))


def _catalog_dir(config: OfflineDataClientConfig) -> Path:
    path = Path(config.catalog_path or "")
    if not path.is_dir():
        raise ValueError(f"replay catalog {path} does not exist")
    return path


def restamp(items: list[Data], ts_ns: int) -> list[Data]:
    """Copy quotes and trades with ``ts_event`` and ``ts_init`` set to ``ts_ns``."""
    out: list[Data] = []
    for d in items:
        if isinstance(d, QuoteTick):
            out.append(
                QuoteTick(
                    d.instrument_id,
                    d.bid_price,
                    d.ask_price,
                    d.bid_size,
                    d.ask_size,
                    ts_ns,
                    ts_ns,
                )
            )
        elif isinstance(d, TradeTick):
            out.append(
                TradeTick(
                    d.instrument_id,
                    d.price,
                    d.size,
                    d.aggressor_side,
                    d.trade_id,
                    ts_ns,
                    ts_ns,
                )
            )
    return out
