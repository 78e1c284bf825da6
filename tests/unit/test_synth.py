"""Synthetic quotes: deterministic for a seed, sane prices, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data import catalog_has_instrument, provider_instrument, synth, write_demo_catalog
from engine.workspace import Workspace


def _quotes(path: Path, iid: str = "EUR/USD.SIM") -> list[tuple[float, float, int]]:
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    ticks = ParquetDataCatalog(str(path)).quote_ticks(instrument_ids=[iid])
    return [(float(t.bid_price), float(t.ask_price), t.ts_event) for t in ticks]


def test_same_seed_gives_the_same_ticks(tmp_path: Path) -> None:
    a = synth(tmp_path / "a", "EUR/USD.SIM", 500, seed=3)
    b = synth(tmp_path / "b", "EUR/USD.SIM", 500, seed=3)
    assert (a.start_ns, a.end_ns) == (b.start_ns, b.end_ns)
    assert _quotes(tmp_path / "a") == _quotes(tmp_path / "b")


def test_another_seed_gives_other_prices(tmp_path: Path) -> None:
    synth(tmp_path / "a", "EUR/USD.SIM", 500, seed=3)
    synth(tmp_path / "b", "EUR/USD.SIM", 500, seed=4)
    assert _quotes(tmp_path / "a") != _quotes(tmp_path / "b")


def test_ticks_are_ordered_with_bid_below_ask(tmp_path: Path) -> None:
    result = synth(tmp_path, "EUR/USD.SIM", 1_000, seed=1, interval_ms=250)
    quotes = _quotes(tmp_path)
    assert len(quotes) == result.n_ticks == 1_000
    assert all(bid < ask for bid, ask, _ in quotes)
    stamps = [ts for _, _, ts in quotes]
    assert stamps == sorted(stamps)
    assert stamps[1] - stamps[0] == 250_000_000
    assert result.end_ns - result.start_ns == 999 * 250_000_000
    assert catalog_has_instrument(tmp_path, "EUR/USD.SIM")
    assert not catalog_has_instrument(tmp_path, "GBP/USD.SIM")


def test_rewriting_an_instrument_replaces_its_quotes(tmp_path: Path) -> None:
    synth(tmp_path, "EUR/USD.SIM", 800, seed=1)
    synth(tmp_path, "EUR/USD.SIM", 300, seed=2)
    assert len(_quotes(tmp_path)) == 300


@pytest.mark.parametrize(
    ("iid", "ticks", "expected"),
    [
        ("EURUSD", 10, "expected SYMBOL.VENUE"),
        ("FOO.SIM", 10, "expected an FX pair"),
        ("EUR/USD.SIM", 1, "n_ticks: expected at least 2"),
    ],
)
def test_bad_input_names_the_field(tmp_path: Path, iid: str, ticks: int, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        synth(tmp_path, iid, ticks)


def test_instruments_come_from_the_test_provider() -> None:
    assert provider_instrument("GBP/JPY.IDEALPRO").id.value == "GBP/JPY.IDEALPRO"
    assert provider_instrument("BTCUSDT.BINANCE").id.value == "BTCUSDT.BINANCE"


def test_demo_catalog_is_written_once(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / ".gateway").ensure()  # no catalog yet
    first = write_demo_catalog(workspace)
    assert first is not None and first.instrument_id == "EUR/USD.SIM"
    assert write_demo_catalog(workspace) is None  # already there: left alone
