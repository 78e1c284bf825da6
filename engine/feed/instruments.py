"""Instrument definitions for the random-walk feed, from Nautilus's offline test fixtures.

Any FX pair at any venue (``EUR/USD.SIM``) is built with ``default_fx_ccy``; a few crypto
instruments (``BTCUSDT.BINANCE``, ``ETHUSDT-PERP.BINANCE``, …) come from their fixtures.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import Instrument

_FX = re.compile(r"^[A-Z]{3}/[A-Z]{3}$")
_FIXTURES = (
    "btcusdt_binance",
    "ethusdt_binance",
    "adausdt_binance",
    "adabtc_binance",
    "btcusdt_perp_binance",
    "ethusdt_perp_binance",
    "xbtusd_bitmex",
    "ethusd_bitmex",
    "xrpusdt_linear_bybit",
)


@functools.cache
def _fixtures() -> dict[str, Instrument]:
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    instruments = (getattr(TestInstrumentProvider, name)() for name in _FIXTURES)
    return {i.id.value: i for i in instruments}


def known_instruments() -> list[str]:
    """The fixed instrument ids on offer (FX pairs are on offer at any venue)."""
    return sorted(_fixtures())


def provider_instrument(instrument_id: str) -> Instrument:
    """Return the offline definition of ``instrument_id``.

    Raises
    ------
    ValueError
        If no offline definition exists; the message says which ids are on offer.
    """
    from nautilus_trader.model.identifiers import InstrumentId, Venue
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    iid = InstrumentId.from_str(instrument_id)  # raises ValueError naming the problem
    fixture = _fixtures().get(iid.value)
    if fixture is not None:
        return fixture
    if _FX.match(iid.symbol.value):
        try:
            return TestInstrumentProvider.default_fx_ccy(iid.symbol.value, Venue(iid.venue.value))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"unknown currency in {iid.symbol.value}: {exc}") from exc
    raise ValueError(
        "no offline definition: expected an FX pair like EUR/USD.SIM (any venue) or one of "
        + ", ".join(known_instruments())
    )


def default_start_price(instrument: Instrument) -> float:
    """A plausible first mid price for a random walk on ``instrument``."""
    symbol = instrument.id.symbol.value.upper()
    table = (("BTC", 50_000.0), ("XBT", 50_000.0), ("ETH", 3_000.0), ("ADA", 0.5), ("XRP", 0.6))
    for prefix, price in table:
        if symbol.startswith(prefix):
            return price if not symbol.endswith("BTC") else 0.00001
    if symbol.endswith("/JPY"):
        return 150.0
    return 1.1 if _FX.match(symbol) else 100.0
