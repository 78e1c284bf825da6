"""The offline feed's options: a bad option is an error naming its full field path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.config.validate import validate_node
from engine.demo import demo_sandbox
from engine.feed.options import (
    FeedOptionsInvalid,
    RandomWalkOptions,
    ReplayOptions,
    parse_options,
)
from engine.workspace import Workspace

BASE = "data_clients[0].options"
WALK = {"source": "random_walk", "instrument_ids": ["EUR/USD.SIM"]}
REPLAY = {"source": "replay", "instrument_ids": ["EUR/USD.SIM"]}


def errors(raw: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(FeedOptionsInvalid) as info:
        parse_options(raw, BASE)
    assert isinstance(info.value, ValueError)  # builders raise ValueError subclasses
    return {i.path: i for i in info.value.issues}


def sandbox_with(options: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(demo_sandbox())
    doc["data_clients"][0]["options"] = options
    return doc


def test_demo_sandbox_validates_deep(workspace: Workspace) -> None:
    report = validate_node(demo_sandbox(), workspace, deep=True)
    assert report.ok, [i.render() for i in report.issues]


def test_defaults_and_max_speed() -> None:
    walk = parse_options({**WALK, "rate": "max"}, BASE)
    assert isinstance(walk, RandomWalkOptions)
    assert (walk.rate, walk.seed, walk.trades) == ("max", 0, True)
    replay = parse_options({**REPLAY, "speed": 10}, BASE)
    assert isinstance(replay, ReplayOptions)
    assert (replay.speed, replay.catalog_path) == (10.0, "catalog")


@pytest.mark.parametrize(
    ("raw", "path", "words"),
    [
        ({"instrument_ids": ["EUR/USD.SIM"]}, "source", "required"),
        ({**WALK, "source": "tape"}, "source", "'random_walk' or 'replay'"),
        ({**WALK, "rate": 0}, "rate", "quotes per second"),
        ({**WALK, "rate": "fast"}, "rate", "'max'"),
        ({**REPLAY, "speed": -1}, "speed", "replay speed"),
        ({**WALK, "seed": -5}, "seed", ">= 0"),
        ({**WALK, "volatility_bp": 0}, "volatility_bp", "basis points"),
        ({**WALK, "instrument_ids": []}, "instrument_ids", "non-empty"),
        ({**WALK, "instrument_ids": ["EURUSD"]}, "instrument_ids[0]", "SYMBOL.VENUE"),
        ({**WALK, "speed": 2}, "speed", "unknown field; expected one of"),
        ({**WALK, "start_prices": {"GBP/USD.SIM": 1.3}}, "start_prices.GBP/USD.SIM", "not among"),
        ({**REPLAY, "start": "2024-01-02", "end": "2024-01-01"}, "end", "after start"),
        ({**WALK, "book_levels": 11}, "book_levels", "from 0 to 10"),
        ({**WALK, "book_levels": "deep"}, "book_levels", "from 0 to 10"),
        ({**WALK, "quote_size": 0}, "quote_size", "size > 0"),
        ({**WALK, "quote_size": "nan"}, "quote_size", "size > 0"),
    ],
)
def test_bad_option_names_its_field(raw: dict[str, Any], path: str, words: str) -> None:
    found = errors(raw)
    assert f"{BASE}.{path}" in found, found
    assert words in found[f"{BASE}.{path}"].message


def test_every_bad_field_is_reported_at_once() -> None:
    found = errors({**WALK, "rate": -1, "spread_ticks": 0, "typo": True})
    assert set(found) == {f"{BASE}.rate", f"{BASE}.spread_ticks", f"{BASE}.typo"}
    assert found[f"{BASE}.rate"].value == -1


@pytest.mark.parametrize(
    ("options", "path", "words"),
    [
        ({**WALK, "rate": -1}, "rate", "quotes per second"),
        ({**WALK, "instrument_ids": ["FOO.BAR"]}, "instrument_ids[0]", "EUR/USD.SIM"),
        ({"source": "random_walk"}, "instrument_ids", "required"),
    ],
)
def test_deep_validation_places_feed_errors_on_fields(
    workspace: Workspace, options: dict[str, Any], path: str, words: str
) -> None:
    report = validate_node(sandbox_with(options), workspace, deep=True)
    found = {i.path: i for i in report.errors}
    assert f"{BASE}.{path}" in found, [i.render() for i in report.issues]
    assert words in found[f"{BASE}.{path}"].message


def test_replay_builds_with_catalog_in_workspace(workspace: Workspace) -> None:
    from engine.config.nautilus_build import trading_node_parts

    doc = sandbox_with({**REPLAY, "speed": "max", "start": "2024-01-01T00:00:00Z"})
    config = validate_node(doc, workspace, deep=True).raise_for_errors()
    parts = trading_node_parts(config, workspace)
    feed = parts.config.data_clients["SIM"]
    assert feed.catalog_path == str(workspace.root / "catalog")
    assert feed.speed is None  # "max"
    assert feed.start_ns == 1_704_067_200_000_000_000
    assert parts.data_factories["SIM"].__name__ == "OfflineDataClientFactory"


def test_a_thin_book_follows_each_quote_with_its_levels() -> None:
    from nautilus_trader.model.data import OrderBookDepth10, QuoteTick
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    from engine.feed.walk import RandomWalk

    fx = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    walk = RandomWalk(
        fx,
        seed=1,
        start_price=1.1,
        volatility_bp=0.5,
        spread_ticks=2,
        trade_every=None,
        quote_size=100_000,
        book_levels=3,
    )
    ticks = walk.next_ticks(4, 1)
    assert [type(t) for t in ticks] == [OrderBookDepth10, QuoteTick] * 4
    depth, quote = ticks[-2], ticks[-1]
    assert quote.bid_size == quote.ask_size == 100_000
    bids = [b for b in depth.bids if b.size > 0]
    asks = [a for a in depth.asks if a.size > 0]
    assert len(bids) == len(asks) == 3 and all(b.size == 100_000 for b in bids + asks)
    assert bids[0].price == quote.bid_price and asks[0].price == quote.ask_price
    assert asks[2].price.as_double() - asks[0].price.as_double() == pytest.approx(2e-5)
