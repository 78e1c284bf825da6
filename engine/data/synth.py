"""Seeded random-walk quote ticks written to a ParquetDataCatalog.

Everything is deterministic for a given seed, so a parity test or a benchmark can rebuild
the same catalog anywhere. Nautilus is imported inside functions: the CLI stays cheap.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.workspace import Workspace

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import Instrument

DEMO_INSTRUMENT = "EUR/USD.SIM"
# 30k ticks one second apart: ~8 hours of 10-second bars (~250 orders), ~1 s to backtest.
DEMO_TICKS = 30_000
DEMO_SEED = 42
DEFAULT_START = datetime(2024, 1, 2, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SynthResult:
    """What :func:`synth` wrote."""

    catalog_path: Path
    instrument_id: str
    n_ticks: int
    start_ns: int
    end_ns: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "catalog_path": str(self.catalog_path),
            "instrument_id": self.instrument_id,
            "n_ticks": self.n_ticks,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
        }


def provider_instrument(instrument_id: str) -> Instrument:
    """Return a ``TestInstrumentProvider`` instrument for ``SYMBOL.VENUE``.

    FX pairs ``AAA/BBB`` on any venue come from ``default_fx_ccy``; a few named crypto
    instruments (``BTCUSDT.BINANCE``, ``ETHUSDT.BINANCE``) are also known.
    """
    from nautilus_trader.model.identifiers import InstrumentId, Venue
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    try:
        iid = InstrumentId.from_str(instrument_id)
    except ValueError as exc:
        raise ValueError(f"instrument {instrument_id!r}: expected SYMBOL.VENUE ({exc})") from None
    symbol = iid.symbol.value
    if "/" in symbol and len(symbol) == 7:
        return TestInstrumentProvider.default_fx_ccy(symbol, Venue(iid.venue.value))
    named = {
        "BTCUSDT.BINANCE": TestInstrumentProvider.btcusdt_binance,
        "ETHUSDT.BINANCE": TestInstrumentProvider.ethusdt_binance,
    }
    if instrument_id in named:
        return named[instrument_id]()
    raise ValueError(
        f"instrument {instrument_id!r}: expected an FX pair like EUR/USD.SIM or one of "
        f"{sorted(named)}"
    )


def _mid_start(instrument: Instrument) -> float:
    symbol = instrument.id.symbol.value
    if "JPY" in symbol:
        return 150.0
    if symbol.endswith("USDT"):
        return 3000.0 if symbol.startswith("ETH") else 50_000.0
    return 1.1


def synth(
    catalog: str | Path,
    instrument: str | Instrument,
    n_ticks: int,
    seed: int = DEMO_SEED,
    *,
    start: datetime = DEFAULT_START,
    interval_ms: int = 1000,
    volatility_bps: float = 0.5,
    overwrite: bool = True,
) -> SynthResult:
    """Write ``n_ticks`` seeded random-walk quotes for ``instrument`` to ``catalog``.

    Parameters
    ----------
    catalog : str | Path
        The ParquetDataCatalog directory (created if missing).
    instrument : str | Instrument
        An instrument id known to :func:`provider_instrument`, or an instrument.
    n_ticks : int
        How many quote ticks to write (at least 2).
    seed : int
        The random seed: the same seed gives the same ticks.
    start : datetime
        The first tick's timestamp (UTC).
    interval_ms : int
        Milliseconds between ticks.
    volatility_bps : float
        Standard deviation of one step of the mid price, in basis points.
    overwrite : bool
        Replace existing quotes of this instrument (else the catalog refuses overlaps).
    """
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]
    from nautilus_trader.persistence.catalog import ParquetDataCatalog
    from nautilus_trader.persistence.wranglers import QuoteTickDataWrangler

    if n_ticks < 2:
        raise ValueError(f"n_ticks: expected at least 2, got {n_ticks}")
    if interval_ms < 1:
        raise ValueError(f"interval_ms: expected at least 1, got {interval_ms}")
    inst = provider_instrument(instrument) if isinstance(instrument, str) else instrument
    path = Path(catalog)
    path.mkdir(parents=True, exist_ok=True)
    if overwrite:
        _remove_quotes(path, inst.id.value)

    rng = np.random.default_rng(seed)
    mid0 = _mid_start(inst)
    steps = rng.normal(0.0, volatility_bps * 1e-4, n_ticks)
    mid = mid0 * np.exp(np.cumsum(steps))
    tick = float(inst.price_increment)
    half_spread = np.maximum(tick, np.round(mid * 0.5e-4 / tick) * tick)
    bid = np.round((mid - half_spread) / tick) * tick
    ask = np.round((mid + half_spread) / tick) * tick
    ask = np.maximum(ask, bid + tick)
    index = pd.date_range(start=start, periods=n_ticks, freq=pd.Timedelta(milliseconds=interval_ms))
    # Writable copies: pandas 3 hands Cython read-only buffers otherwise.
    frame = pd.DataFrame(
        {
            "bid_price": bid.copy(),
            "ask_price": ask.copy(),
            "bid_size": np.full(n_ticks, 1_000_000.0),
            "ask_size": np.full(n_ticks, 1_000_000.0),
        },
        index=index,
    )
    with warnings.catch_warnings():  # Nautilus's wrangler uses a pandas 3 deprecated argument
        warnings.simplefilter("ignore")
        ticks = QuoteTickDataWrangler(inst).process(frame)
    cat = ParquetDataCatalog(str(path))
    cat.write_data([inst])
    cat.write_data(ticks)
    return SynthResult(path, inst.id.value, n_ticks, ticks[0].ts_event, ticks[-1].ts_event)


def _remove_quotes(catalog: Path, instrument_id: str) -> None:
    # The catalog stores quotes under data/quote_tick/<instrument id with '/' removed>/.
    base = catalog / "data" / "quote_tick"
    if not base.is_dir():
        return
    key = instrument_id.replace("/", "")
    for sub in base.iterdir():
        if sub.name in (key, instrument_id):
            shutil.rmtree(sub)


def catalog_has_instrument(catalog: str | Path, instrument_id: str) -> bool:
    """Whether the catalog at ``catalog`` holds the instrument definition."""
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    if not Path(catalog).is_dir():
        return False
    found = ParquetDataCatalog(str(catalog)).instruments(instrument_ids=[instrument_id])
    return bool(found)


def write_demo_catalog(workspace: Workspace, *, overwrite: bool = False) -> SynthResult | None:
    """Create the demo catalog (EUR/USD.SIM quotes) unless it exists; return what was written."""
    path = workspace.catalog_dir
    exists = (path / "data" / "quote_tick").is_dir() and catalog_has_instrument(
        path, DEMO_INSTRUMENT
    )
    if exists and not overwrite:
        return None
    return synth(path, DEMO_INSTRUMENT, DEMO_TICKS, DEMO_SEED)
