"""Synthetic market data for offline backtests and benchmarks."""

from engine.data.synth import (
    DEMO_TICKS,
    SynthResult,
    catalog_has_instrument,
    provider_instrument,
    synth,
    write_demo_catalog,
)

__all__ = [
    "DEMO_TICKS",
    "SynthResult",
    "catalog_has_instrument",
    "provider_instrument",
    "synth",
    "write_demo_catalog",
]
